#!/bin/sh
# train.sh — reproduces the bundled default model (`make model`): a synthetic 12-lead corpus from
# `ecgfm synth`, then CPC pretraining of the small S4 encoder on it (one thread: same bits each run).
set -eu
ECGFM=${ECGFM:-build/ecgfm}
WORK=${WORK:-build/model}
OUT=$(dirname "$0")

rm -rf "$WORK"
mkdir -p "$WORK"
# 2000 records x 10 s, as docs/results/pretrain_smoke.md; CPC at 10x the study's lr learns most in
# 5 epochs there (val cpc_acc 0.085 against 0.0078 chance), in about a minute of one core.
"$ECGFM" synth --out "$WORK/corpus" --n 2000 --seed 1
"$ECGFM" pretrain --config configs/pretrain/small_cpc.json --dataset "$WORK/corpus" \
    --out "$WORK/run" --threads 1 --lr 0.03 --quiet >"$WORK/train.log" 2>&1 || {
    cat "$WORK/train.log"
    exit 1
}
{
    echo "# $ECGFM pretrain --config configs/pretrain/small_cpc.json --dataset <synth --n 2000 --seed 1> --threads 1 --lr 0.03"
    cat "$WORK/train.log"
} >"$OUT/train.log"
cp configs/pretrain/small_cpc.json "$OUT/pretrain_config.json"
cp configs/models/small.json "$OUT/model_config.json"
cp "$WORK/run/checkpoint.safetensors" "$OUT/checkpoint.safetensors"
chmod 644 "$OUT/checkpoint.safetensors"
echo "model: $OUT/checkpoint.safetensors"

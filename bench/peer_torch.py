"""peer_torch.py — the PyTorch reference encoder (tests/parity/ref_encoder.py, float32, the same
paper-size S4 config) timed the way bench_encoder.c times ecgfm, in the same invocation.

Prints "peer <name> <value>" lines for bench_encoder.c to read."""
import argparse
import os
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "parity"))
from ref_encoder import Encoder, default_config  # noqa: E402


def timed(fn, seconds, min_reps):
    fn()
    ts, start = [], time.perf_counter()
    while len(ts) < min_reps or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Encoder(default_config("s4")).float()
    B = 32
    x = 0.2 * torch.randn(B, 12, 600)
    r = torch.randn(B, 512)
    model.eval()
    with torch.no_grad():
        t1 = timed(lambda: model(x[:1]), a.seconds, 5)
        t32 = timed(lambda: model(x), a.seconds, 5)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-3)

    def step():
        opt.zero_grad(set_to_none=False)
        _, emb = model(x)
        (emb * r).sum().backward()
        opt.step()

    tt = timed(step, a.seconds, 3)
    print(f"peer: torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"peer encoder_fwd_b1 {1 / t1:.6g}")
    print(f"peer encoder_latency_b1 {t1 * 1e3:.6g}")
    print(f"peer encoder_fwd_b32 {B / t32:.6g}")
    print(f"peer encoder_train_b32 {B / tt:.6g}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()

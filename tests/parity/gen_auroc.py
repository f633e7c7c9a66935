"""gen_auroc.py — scikit-learn's roc_auc_score on fixed scores with many ties, and PyTorch's
BCEWithLogitsLoss, for ECG fine-tuning's scoring (core/transfer/auroc.h) and multi-label loss
(core/transfer/finetune_ecg.h), into auroc.safetensors.

Scores are multiples of 1/16 or 1/4 (exact in float32, so the C side sees the very values sklearn
saw, and ties are many). Cases: "bin" (binary, 61 rows, 9 score levels), "flat" (every score
equal: 0.5), "ml" (multi-label, 40 x 6: column 4 all negative and column 5 all positive, which
have no AUROC and are skipped; macro = sklearn's average='macro' over the other columns), "mc"
(single-label, 4 classes, probability rows: sklearn's multi_class='ovr' macro) and "mc_absent"
(single-label, class 3 never true: per class by hand, class 3 skipped). Expected per-class values
are NaN where skipped. AUROCs are stored as float32 (st.py)."""
import os

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

import st


def generate(outdir):
    rng = np.random.default_rng(61)
    out = {}
    # binary with ties
    y = rng.integers(0, 2, 61)
    s = np.floor(np.clip(rng.normal(0.5 + 0.15 * y, 0.2), 0, 0.999) * 9) / 8
    out["bin/score"], out["bin/y"] = s.astype(np.float32), y.astype(np.int32)
    out["bin/auroc"] = np.array([roc_auc_score(y, s)])
    y = rng.integers(0, 2, 12)
    out["flat/score"], out["flat/y"] = np.full(12, 0.25, np.float32), y.astype(np.int32)
    out["flat/auroc"] = np.array([roc_auc_score(y, np.full(12, 0.25))])
    # multi-label, two degenerate columns
    n, K = 40, 6
    Y = (rng.random((n, K)) < 0.4).astype(np.int64)
    Y[:, 4], Y[:, 5] = 0, 1
    S = np.round(np.clip(rng.normal(0.5 + 0.2 * Y, 0.25), 0, 1) * 16) / 16
    out["ml/score"], out["ml/y"] = S.astype(np.float32), Y.astype(np.uint8)
    per = np.full(K, np.nan)
    for c in range(4):
        per[c] = roc_auc_score(Y[:, c], S[:, c])
    out["ml/per_class"] = per
    out["ml/auroc"] = np.array([roc_auc_score(Y[:, :4], S[:, :4], average="macro")])
    # single-label, probabilities in quarters (rows sum to 1 exactly)
    for name, absent in (("mc", False), ("mc_absent", True)):
        n, K = 50, 4
        y = rng.integers(0, 3 if absent else 4, n)
        P = rng.multinomial(4, np.full(K, 0.25), n).astype(np.float64)
        P[np.arange(n), y] += 2
        P /= P.sum(1, keepdims=True)
        P = P.astype(np.float32).astype(np.float64)
        out[name + "/score"], out[name + "/y"] = P.astype(np.float32), y.astype(np.int32)
        per = np.full(K, np.nan)
        for c in range(K):
            if 0 < (y == c).sum() < n:
                per[c] = roc_auc_score(y == c, P[:, c])
        out[name + "/per_class"] = per
        if absent:
            out[name + "/auroc"] = np.array([np.nanmean(per)])
        else:
            out[name + "/auroc"] = np.array([roc_auc_score(y, P, multi_class="ovr",
                                                           average="macro")])
    # BCE with logits, mean over every element, and its gradient
    z = torch.tensor(rng.normal(0, 3, (6, 5)), dtype=torch.float32, requires_grad=True)
    t = torch.tensor(rng.integers(0, 2, (6, 5)), dtype=torch.float32)
    loss = torch.nn.BCEWithLogitsLoss()(z, t)
    loss.backward()
    out["bce/z"], out["bce/y"] = z.detach(), t.to(torch.uint8)
    out["bce/loss"], out["bce/grad"] = loss.detach().reshape(1), z.grad
    st.save(os.path.join(outdir, "auroc.safetensors"), out)

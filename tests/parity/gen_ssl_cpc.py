"""gen_ssl_cpc.py — fixtures for tests/unit/test_cpc.c: ssl_cpc.safetensors.

loss.*: the CPC loss alone (no encoder) on random context tokens c, targets z (B, T, d), head W
(d, d) and negatives idx (B, T - k, K, int32; duplicates included): loss.loss, loss.acc and the
gradients loss.dW, loss.dc, loss.dz. Metadata loss.k.
enc.*: ref_ssl_cpc.CPCModel over the small causal S4 encoder (dropout 0: the C and PyTorch dropout
streams differ; norm affines, BatchNorm statistics and S4's A moved off their init values), with
fixed weights p.<C name> (the head included), input x (B, 12, 600), negatives idx: train mode
enc.train.loss, .acc, .g.<C name> for every parameter and .buf.<running stat> after the forward;
eval mode enc.eval.loss, .acc. Encoder config in the metadata (ecgfm.encoder.* keys).
Every reference is computed in float64 (S4 kernels in complex128) from the float32 values stored,
and checked against the study's gather-then-einsum formulation of the loss."""
import copy
import os

import numpy as np
import torch

import st
from ref_encoder import config_to_metadata, perturb_, small_config, tokens_of
from ref_ssl_cpc import HEAD, CPCModel, cpc_loss, cpc_loss_study, sample_negatives


def loss_case(t, gen):
    B, T, d, k, K = 3, 40, 16, 5, 24
    c = torch.randn(B, T, d, generator=gen)
    z = torch.randn(B, T, d, generator=gen)
    W = torch.randn(d, d, generator=gen) / d ** 0.5
    idx = sample_negatives(B, T, k, K, gen)
    cd, zd, Wd = (a.double().requires_grad_(True) for a in (c, z, W))
    loss, acc = cpc_loss(cd @ Wd.T, zd, idx, k)
    loss.backward()
    ls, acs = cpc_loss_study(c.double() @ W.double().T, z.double(), idx, k)
    assert abs(ls.item() - loss.item()) < 1e-10 * abs(loss.item()) and acs == acc
    t.update({"loss.c": c, "loss.z": z, "loss.W": W, "loss.idx": idx.int(),
              "loss.loss": loss.detach().reshape(1), "loss.acc": acc.reshape(1),
              "loss.dW": Wd.grad, "loss.dc": cd.grad, "loss.dz": zd.grad})
    return k


def enc_case(t, gen, meta):
    cfg = small_config("s4")
    cfg.update(causal=True, dropout=0.0)
    B = 2
    model = CPCModel(cfg)
    perturb_(model, gen)
    with torch.no_grad():
        d = cfg["d_model"]
        model.ssl.cpc.proj.weight.copy_((2 * torch.rand(d, d, generator=gen) - 1) / d ** 0.5)
    T = tokens_of(cfg)
    x = 0.5 * torch.randn(B, cfg["in_channels"], cfg["in_samples"], generator=gen)
    idx = sample_negatives(B, T, model.k, model.K, gen)
    for n, v in model.state_dict().items():
        if "num_batches" not in n:
            t["p." + n] = v.float()
    t["enc.x"], t["enc.idx"] = x, idx.int()
    for mode in ("train", "eval"):
        m = copy.deepcopy(model).double()
        m.train(mode == "train")
        z, c = m.tokens(x.double())
        pred = m.ssl.cpc.proj(c)
        loss, acc = cpc_loss(pred, z, idx, m.k)
        ls, acs = cpc_loss_study(pred, z, idx, m.k)
        assert abs(ls.item() - loss.item()) < 1e-10 * abs(loss.item()) and acs == acc
        t[f"enc.{mode}.loss"], t[f"enc.{mode}.acc"] = loss.detach().reshape(1), acc.reshape(1)
        if mode == "train":
            loss.backward()
            for n, p in m.named_parameters():
                if p.grad is not None:
                    t[f"enc.train.g.{n}"] = p.grad
            for n, b in m.named_buffers():
                if "num_batches" not in n:
                    t[f"enc.train.buf.{n}"] = b
    assert f"enc.train.g.{HEAD}" in t
    meta.update(config_to_metadata(cfg))
    meta["cpc.steps_ahead"], meta["cpc.negatives"] = str(model.k), str(model.K)


def generate(outdir):
    gen = torch.Generator().manual_seed(4242)
    t, meta = {}, {"generator": "tests/parity/gen_ssl_cpc.py", "reference": "float64/complex128"}
    meta["loss.k"] = str(loss_case(t, gen))
    enc_case(t, gen, meta)
    st.save(os.path.join(outdir, "ssl_cpc.safetensors"), t, meta)


if __name__ == "__main__":
    import sys
    generate(sys.argv[1] if len(sys.argv) > 1 else "build/fixtures")

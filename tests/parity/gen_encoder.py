"""gen_encoder.py — fixtures for tests/unit/test_encoder.c and test_adamw.c.

encoder_<case>.safetensors for each small case (S4 bidirectional and causal, Transformer
bidirectional and causal, CNN) with the config in the metadata (ecgfm.encoder.* keys, as the C
checkpoint writes them), fixed weights p.<state_dict name> (norm affines, BatchNorm statistics and
S4's A moved away from their init values), input x (B, 12, 600), upstream gradients dtok (B, T, d)
and demb (B, d) (loss = sum(tokens * dtok) + sum(emb * demb)), and for mode in (eval, train):
<mode>.tokens, <mode>.emb, <mode>.dx, <mode>.g.<param>; train also <mode>.buf.<running stat> after
the forward. Train mode uses dropout 0 (the C and PyTorch random streams differ), so it checks
BatchNorm's batch statistics and running-stat updates.
encoder_s4_paper.safetensors: the same for the paper-size S4 encoder (d 512, 4 layers), 2 windows.
adamw.safetensors: torch.optim.AdamW with two parameter groups (different lr factor and weight
decay) over 6 steps with given gradients and learning rates; the state after every step.

Every reference is computed in float64 from the float32 values stored (S4 kernels in complex128),
so the fixtures hold the exact answer rounded to float32."""
import copy
import os

import numpy as np
import torch

import st
from ref_encoder import Encoder, config_to_metadata, default_config, perturb_, small_config, tokens_of

CASES = {
    # name: (backbone, overrides, batch, paper size)
    "s4_small": ("s4", {}, 3, False),
    "s4_small_causal": ("s4", {"causal": True}, 2, False),
    "tf_small": ("transformer", {}, 2, False),
    "tf_small_causal": ("transformer", {"causal": True}, 2, False),
    "cnn_small": ("cnn", {"cnn_kernel": 5}, 2, False),
    "s4_paper": ("s4", {}, 2, True),
}


def case_config(backbone, overrides, paper):
    cfg = default_config(backbone) if paper else small_config(backbone)
    cfg.update(overrides)
    cfg["dropout"] = 0.0
    return cfg


def run(model, x, dtok, demb, train):
    """Forward + backward in float64 on a copy; returns outputs, dx, grads, buffers after."""
    m = copy.deepcopy(model).double()
    m.train(train)
    xi = x.double().requires_grad_(True)
    tokens, emb = m(xi)
    loss = (tokens * dtok.double()).sum() + (emb * demb.double()).sum()
    loss.backward()
    grads = {n: p.grad for n, p in m.named_parameters() if p.grad is not None}
    bufs = {n: b for n, b in m.named_buffers() if "num_batches" not in n}
    return tokens.detach(), emb.detach(), xi.grad, grads, bufs


def encoder_case(outdir, name, backbone, overrides, B, paper, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    cfg = case_config(backbone, overrides, paper)
    model = Encoder(cfg)
    perturb_(model, gen)
    T, d = tokens_of(cfg), cfg["d_model"]
    x = torch.randn(B, cfg["in_channels"], cfg["in_samples"], generator=gen)
    dtok = torch.randn(B, T, d, generator=gen)
    demb = torch.randn(B, d, generator=gen)
    t = {}
    for n, v in model.state_dict().items():
        if "num_batches" not in n:
            t["p." + n] = v.float()
    t["x"], t["dtok"], t["demb"] = x, dtok, demb
    for mode in ("eval", "train"):
        tokens, emb, dx, grads, bufs = run(model, x, dtok, demb, mode == "train")
        t[f"{mode}.tokens"], t[f"{mode}.emb"], t[f"{mode}.dx"] = tokens, emb, dx
        for n, g in grads.items():
            t[f"{mode}.g.{n}"] = g
        if mode == "train":
            for n, b in bufs.items():
                t[f"{mode}.buf.{n}"] = b
    meta = config_to_metadata(cfg)
    meta["generator"] = "tests/parity/gen_encoder.py"
    meta["reference"] = "float64/complex128"
    st.save(os.path.join(outdir, f"encoder_{name}.safetensors"), t, meta)


def adamw_case(outdir):
    """Two groups: backbone (lr factor 0.1, wd 1e-3) and head (lr factor 1, wd 0.05)."""
    gen = torch.Generator().manual_seed(5)
    shapes = {"a.w": (7, 5), "a.b": (7,), "h.w": (3, 7), "h.b": (3,)}
    groups = {"a.w": 0, "a.b": 0, "h.w": 1, "h.b": 1}
    factors = np.array([0.1, 1.0], dtype=np.float32)
    wds = np.array([1e-3, 0.05], dtype=np.float32)
    steps = 6
    lrs = np.array([3e-3, 3e-3, 2e-3, 1e-2, 5e-4, 3e-3], dtype=np.float32)
    params = {n: torch.randn(s, generator=gen) for n, s in shapes.items()}
    t = {"init." + n: p.clone() for n, p in params.items()}
    t["lr"] = torch.tensor(lrs)
    t["factors"], t["wd"] = torch.tensor(factors), torch.tensor(wds)
    ps = {n: torch.nn.Parameter(p.clone()) for n, p in params.items()}
    pg = [{"params": [ps[n] for n in shapes if groups[n] == g], "weight_decay": float(wds[g]),
           "lr": 0.0} for g in range(2)]
    opt = torch.optim.AdamW(pg, betas=(0.9, 0.999), eps=1e-8)
    for s in range(steps):
        for g in range(2):
            opt.param_groups[g]["lr"] = float(lrs[s]) * float(factors[g])
        for n, p in ps.items():
            p.grad = torch.randn(shapes[n], generator=gen) * (10.0 if s == 3 else 1.0)
            t[f"grad.{s}.{n}"] = p.grad.clone()
        opt.step()
        for n, p in ps.items():
            t[f"param.{s}.{n}"] = p.detach().clone()
            t[f"m.{s}.{n}"] = opt.state[p]["exp_avg"].clone()
            t[f"v.{s}.{n}"] = opt.state[p]["exp_avg_sq"].clone()
    st.save(os.path.join(outdir, "adamw.safetensors"), t,
            {"generator": "tests/parity/gen_encoder.py", "steps": str(steps),
             "reference": "torch.optim.AdamW float32, foreach=False"})


def generate(outdir):
    for i, (name, (backbone, overrides, B, paper)) in enumerate(CASES.items()):
        encoder_case(outdir, name, backbone, overrides, B, paper, 1000 + i)
    adamw_case(outdir)


if __name__ == "__main__":
    import sys
    generate(sys.argv[1] if len(sys.argv) > 1 else "build/fixtures")

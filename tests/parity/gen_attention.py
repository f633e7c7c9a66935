"""gen_attention.py — fixtures for tests/unit/test_attention.c: attention.safetensors.

For each configuration <name>: <name>.qkv (B, T, 3D) input, <name>.r (B, T, D) upstream gradient
(loss = sum(out * r)), <name>.out and <name>.dqkv. The reference runs in float64 on the float32
inputs, so the fixture holds the exact answer rounded to float32, not PyTorch's float32 rounding."""
import os

import torch

import st
from ref_attention import attention

# name: (B, T, nh, hd, rope_base, causal). T >= 150 spans several of the C code's row blocks;
# hd = 64 with T >= 150 also cuts the keys into several column chunks.
CONFIGS = {
    "bidir": (1, 150, 2, 64, 10000.0, 0),
    "causal": (2, 150, 2, 16, 10000.0, 1),
    "norope": (2, 37, 2, 8, 0.0, 1),
    "encoder": (1, 300, 8, 64, 10000.0, 1),
}


def generate(outdir):
    g = torch.Generator().manual_seed(1234)
    tensors = {}
    for name, (B, T, nh, hd, base, causal) in CONFIGS.items():
        D = nh * hd
        qkv = torch.randn(B, T, 3 * D, generator=g, dtype=torch.float32)
        r = torch.randn(B, T, D, generator=g, dtype=torch.float32)
        x = qkv.double().requires_grad_(True)
        out = attention(x, nh, base, causal)
        (out * r.double()).sum().backward()
        tensors[f"{name}.qkv"] = qkv
        tensors[f"{name}.r"] = r
        tensors[f"{name}.out"] = out.detach().float()
        tensors[f"{name}.dqkv"] = x.grad.float()
    st.save(os.path.join(outdir, "attention.safetensors"), tensors,
            {"generator": "tests/parity/gen_attention.py", "reference": "float64"})

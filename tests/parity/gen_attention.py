"""gen_attention.py — fixtures for tests/unit/test_attention.c: attention.safetensors.

For each configuration <name>: <name>.qkv (B, T, 3D) input, <name>.r (B, T, D) upstream gradient
(loss = sum(out * r)), <name>.out and <name>.dqkv. The reference runs in float64 on the float32
inputs, so the fixture holds the exact answer rounded to float32, not PyTorch's float32 rounding."""
import os

import torch
import torch.nn.functional as F

import st
from ref_attention import apply_rope, attention, rope_tables

# name: (B, T, nh, hd, rope_base, causal). T >= 150 spans several of the C code's row blocks;
# hd = 64 with T >= 150 also cuts the keys into several column chunks.
CONFIGS = {
    "bidir": (1, 150, 2, 64, 10000.0, 0),
    "causal": (2, 150, 2, 16, 10000.0, 1),
    "norope": (2, 37, 2, 8, 0.0, 1),
    "encoder": (1, 300, 8, 64, 10000.0, 1),
}


def _check_reference():
    """The reference against PyTorch's own attention (RoPE off), and RoPE against rotating
    complex numbers z_i = x_i + j x_(i + hd/2) by t * theta_i, so it is not checked against
    itself."""
    B, T, nh, hd = 2, 11, 2, 8
    D = nh * hd
    f64 = torch.float64
    qkv = torch.randn(B, T, 3 * D, dtype=f64)
    eye = torch.eye(D, dtype=f64)
    q, k, v = (x.transpose(0, 1) for x in qkv.split(D, dim=-1))  # (T, B, D)
    for causal in (0, 1):
        mask = torch.ones(T, T, dtype=torch.bool).triu(1) if causal else None
        want, _ = F.multi_head_attention_forward(
            q, k, v, D, nh, None, torch.zeros(3 * D, dtype=f64), None, None, False, 0.0, eye,
            torch.zeros(D, dtype=f64), training=False, need_weights=False, attn_mask=mask,
            use_separate_proj_weight=True, q_proj_weight=eye, k_proj_weight=eye, v_proj_weight=eye)
        got = attention(qkv, nh, 0.0, causal).transpose(0, 1)
        assert torch.allclose(got, want, atol=1e-12), f"reference != torch MHA (causal={causal})"
    x = torch.randn(T, hd, dtype=f64)
    cos, sin = rope_tables(T, hd, 10000.0, f64)
    h = hd // 2
    theta = 10000.0 ** (-2.0 * torch.arange(h, dtype=f64) / hd)
    angle = torch.arange(T, dtype=f64)[:, None] * theta
    z = torch.complex(x[:, :h], x[:, h:]) * torch.polar(torch.ones_like(angle), angle)
    assert torch.allclose(apply_rope(x, cos, sin), torch.cat([z.real, z.imag], -1), atol=1e-12)


def generate(outdir):
    _check_reference()
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

"""ref_attention.py — PyTorch reference of core/nn/attention.h, written plainly (matmul, softmax).

attention(qkv, nh, rope_base, causal): qkv (B, T, 3D) channels-last, q | k | v, each split into nh
heads of hd = D / nh contiguous channels; RoPE in the rotate-half form (GPT-NeoX / HF LLaMA: pairs
(i, i + hd/2), theta_i = base^(-2i/hd), positions 0..T-1) on q and k when rope_base > 0; scores
scaled by 1/sqrt(hd); with causal, position t sees s <= t only. Returns (B, T, D), heads
concatenated. Works in the dtype of qkv; the cos/sin tables are computed in float64 and rounded to
that dtype, as the C code does. Differentiable, so autograd gives the reference dqkv."""
import math

import torch


def rope_tables(T, hd, base, dtype, device=None):
    """cos, sin of shape (T, hd): angle t * base^(-2i/hd) repeated for both halves."""
    i = torch.arange(hd // 2, dtype=torch.float64, device=device)
    theta = torch.pow(torch.tensor(float(base), dtype=torch.float64), -2.0 * i / hd)
    ang = torch.arange(T, dtype=torch.float64, device=device)[:, None] * theta[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().to(dtype), ang.sin().to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def apply_rope(x, cos, sin):
    """x (..., T, hd); cos, sin (T, hd)."""
    return x * cos + rotate_half(x) * sin


def attention(qkv, nh, rope_base, causal):
    B, T, D3 = qkv.shape
    D = D3 // 3
    hd = D // nh
    q, k, v = qkv.split(D, dim=-1)
    # (B, T, D) -> (B, nh, T, hd)
    q, k, v = (x.reshape(B, T, nh, hd).transpose(1, 2) for x in (q, k, v))
    if rope_base > 0:
        cos, sin = rope_tables(T, hd, rope_base, qkv.dtype, qkv.device)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
    if causal:
        future = torch.ones(T, T, dtype=torch.bool, device=qkv.device).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
    p = torch.softmax(scores, dim=-1)
    out = torch.matmul(p, v)
    return out.transpose(1, 2).reshape(B, T, D)


class Attention(torch.nn.Module):
    """The same as a module without parameters, for building the encoder reference."""

    def __init__(self, nh, rope_base=10000.0, causal=False):
        super().__init__()
        self.nh, self.rope_base, self.causal = nh, rope_base, causal

    def forward(self, qkv):
        return attention(qkv, self.nh, self.rope_base, self.causal)

"""gen_s4.py — fixtures for tests/unit/test_s4.c: s4.safetensors.

legs<N>.w, legs<N>.b (N = 8, 64): numpy's diagonalisation of HiPPO-LegS (positive imaginary parts
of the eigenvalues ascending, |V^H B|), checked here against a general eigen-solver.
For each configuration <name>: the parameters <name>.log_dt, .C, .log_A_real, .A_imag, .D (the
reference init, with log_A_real and A_imag perturbed so the test does not lean on their init
values), input <name>.u (B, L, H), upstream gradient <name>.dy (loss = sum(y * dy)), and the
reference <name>.k (ch, H, L), .y, .du, .dk, .dD and the parameter gradients .g_<param>.
Everything is computed in float64 / complex128 from the float32 values stored, so the fixture holds
the exact answer rounded to float32."""
import copy
import os

import numpy as np
import torch

import st
from ref_s4 import S4Layer, legs_normal_eigs, legs_s4d, s4_conv

# name: (B, L, H, N, bidirectional). Odd B leaves one row without a partner in the C code's
# two-rows-per-transform packing; H = 70 at L = 300 spans a full (64) and a partial channel tile,
# and an odd channel count leaves one channel alone in the two-channels-per-transform dk pass.
CONFIGS = {
    "causal": (3, 40, 6, 8, False),
    "bidir": (2, 37, 5, 8, True),
    "bidir64": (2, 50, 3, 64, True),
    "enc_causal": (3, 300, 70, 8, False),
    "enc_bidir": (2, 300, 69, 8, True),
}
PARAMS = ("log_dt", "C", "log_A_real", "A_imag", "D")


def direct_conv(u, k, D):
    """The definition in s4.h, O(L^2), float64: an independent check of s4_conv."""
    B, L, H = u.shape
    y = D[None, None, :] * u
    for t in range(L):
        for s in range(L):
            if s <= t:
                y[:, t, :] += k[0, :, t - s] * u[:, s, :]
            elif k.shape[0] == 2:
                y[:, t, :] += k[1, :, s - t - 1] * u[:, s, :]
    return y


def generate(outdir):
    torch.manual_seed(4321)
    tensors = {}
    for N in (8, 64):
        w, b = legs_s4d(N)
        e = legs_normal_eigs(N)
        assert np.allclose(e.real, -0.5, atol=1e-9), "normal part must have real part -1/2"
        assert np.allclose(e.imag[N // 2:], w, rtol=1e-9), "eigh and eig disagree"
        tensors[f"legs{N}.w"] = w
        tensors[f"legs{N}.b"] = b
    for name, (B, L, H, N, bidir) in CONFIGS.items():
        layer = S4Layer(H, N, bidir)
        with torch.no_grad():
            layer.log_A_real.add_(0.3 * torch.randn_like(layer.log_A_real))
            layer.A_imag.mul_(1 + 0.05 * torch.randn_like(layer.A_imag))
        u = torch.randn(B, L, H)
        dy = torch.randn(B, L, H)
        ref = copy.deepcopy(layer).double()
        x = u.double().requires_grad_(True)
        k = ref.kernel(L)
        k.retain_grad()
        y = s4_conv(x, k, ref.D)
        (y * dy.double()).sum().backward()
        if L <= 50:
            yd = direct_conv(u.double(), k.detach(), ref.D.detach())
            assert torch.allclose(yd, y.detach(), rtol=1e-9, atol=1e-9), "FFT conv != definition"
        for p in PARAMS:
            tensors[f"{name}.{p}"] = getattr(layer, p).detach()
        tensors[f"{name}.u"] = u
        tensors[f"{name}.dy"] = dy
        tensors[f"{name}.k"] = k.detach().float()
        tensors[f"{name}.y"] = y.detach().float()
        tensors[f"{name}.du"] = x.grad.float()
        tensors[f"{name}.dk"] = k.grad.float()
        tensors[f"{name}.dD"] = ref.D.grad.float()
        for p in PARAMS:
            tensors[f"{name}.g_{p}"] = getattr(ref, p).grad.float()
    st.save(os.path.join(outdir, "s4.safetensors"), tensors,
            {"generator": "tests/parity/gen_s4.py", "reference": "float64/complex128"})

"""ref_s4.py — PyTorch reference of core/nn/s4.h: the S4D layer (HiPPO-LegS init, bilinear kernel,
FFT convolution with 2L padding), written plainly.

S4Layer(H, N, bidirectional) has the parameters of s4.h under the same names and shapes:
log_dt [H], C [ch, H, N/2, 2] (real, imag), log_A_real [H, N/2], A_imag [H, N/2], D [H].
forward(u) takes channels-last u (B, L, H) and returns K * u + D * u, same shape and dtype.
The kernel is always computed in complex128 (as the C code computes it in double) and rounded to
u's dtype; the convolution runs in u's dtype. So a float64 input gives a float64 reference, a
float32 input behaves like the C code (float FFT). Differentiable; autograd gives every gradient.

The init follows s4_init (same distributions, not the same random stream): A = -1/2 + i w with w
the positive eigenvalues of -i S (S the skew part of HiPPO-LegS), B = |V^H B| per mode, C =
(randn + i randn)/sqrt(2) * B, log_dt uniform in [log dt_min, log dt_max], D ~ randn."""
import math

import numpy as np
import torch
from torch import nn


def legs_s4d(N):
    """(w, b): the N/2 positive imaginary parts of the eigenvalues of the normal part of
    HiPPO-LegS, ascending, and |V^H B| for their eigenvectors. numpy float64. The normal part is
    computed as in the S4 code (nplr): A + P P^T with P = sqrt(n + 1/2)."""
    q = np.arange(N, dtype=np.float64)
    col, row = np.meshgrid(q, q)
    r = 2 * q + 1
    M = -(np.where(row >= col, r, 0) - np.diag(q))
    T = np.sqrt(np.diag(2 * q + 1))
    A = T @ M @ np.linalg.inv(T)
    B = np.diag(T).copy()
    P = np.sqrt(0.5 + q)
    AP = A + np.outer(P, P)
    w, V = np.linalg.eigh(AP * -1j)
    b = V.conj().T @ B
    return w[N // 2:].copy(), np.abs(b[N // 2:])


def legs_normal_eigs(N):
    """All eigenvalues of the normal part of HiPPO-LegS by the general eigen-solver (no use of its
    structure), sorted by imaginary part: an independent check of legs_s4d."""
    q = np.arange(N, dtype=np.float64)
    col, row = np.meshgrid(q, q)
    r = 2 * q + 1
    M = -(np.where(row >= col, r, 0) - np.diag(q))
    T = np.sqrt(np.diag(2 * q + 1))
    A = T @ M @ np.linalg.inv(T)
    P = np.sqrt(0.5 + q)
    e = np.linalg.eigvals(A + np.outer(P, P))
    return e[np.argsort(e.imag)]


class S4Layer(nn.Module):
    def __init__(self, H, N=8, bidirectional=False, dt_min=1e-3, dt_max=1e-1):
        super().__init__()
        self.H, self.N, self.ch = H, N, 2 if bidirectional else 1
        M = N // 2
        w, b = legs_s4d(N)
        lo, hi = math.log(dt_min), math.log(dt_max)
        self.log_dt = nn.Parameter(torch.rand(H) * (hi - lo) + lo)
        c = torch.randn(self.ch, H, M, 2) / math.sqrt(2) * torch.tensor(b, dtype=torch.float32)[:, None]
        self.C = nn.Parameter(c)
        self.log_A_real = nn.Parameter(torch.full((H, M), math.log(0.5)))
        self.A_imag = nn.Parameter(torch.tensor(w, dtype=torch.float32).repeat(H, 1))
        self.D = nn.Parameter(torch.randn(H))

    def kernel(self, L):
        """k (ch, H, L), complex128 arithmetic, returned as float64."""
        dt = torch.exp(self.log_dt.double())[:, None]  # (H, 1)
        A = torch.complex(-torch.exp(self.log_A_real.double()), self.A_imag.double())  # (H, M)
        den = 1 - dt * A / 2
        dA = (1 + dt * A / 2) / den
        dB = dt / den
        C = torch.view_as_complex(self.C.double().contiguous())  # (ch, H, M)
        W = C * dB  # (ch, H, M)
        l = torch.arange(L, dtype=torch.float64)
        P = torch.exp(torch.log(dA)[..., None] * l)  # (H, M, L) = dA^l
        return 2 * torch.einsum("chm,hml->chl", W, P).real

    def forward(self, u):
        return s4_conv(u, self.kernel(u.shape[1]).to(u.dtype), self.D.to(u.dtype))


def s4_conv(u, k, D):
    """y = K * u + D * u for u (B, L, H) and k (ch, H, L): causal for ch = 1; for ch = 2 the
    kernel k = pad(k0, right L) + pad(flip(k1), left L) of length 2L, circular convolution of
    length 2L, first L outputs kept."""
    L = u.shape[1]
    n = 2 * L
    kk = nn.functional.pad(k[0], (0, L))
    if k.shape[0] == 2:
        kk = kk + nn.functional.pad(k[1].flip(-1), (L, 0))
    x = u.transpose(1, 2)  # (B, H, L)
    y = torch.fft.irfft(torch.fft.rfft(x, n=n) * torch.fft.rfft(kk, n=n), n=n)[..., :L]
    y = y + D[:, None] * x
    return y.transpose(1, 2)

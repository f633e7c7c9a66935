"""ref_ssl_masked.py — PyTorch reference of the masked objectives data2vec and JEPA
(core/ssl/data2vec.c, core/ssl/jepa.c, core/ssl/teacher.h), written plainly.

Shared pieces: PTB-XL z-scoring (zscore), the learned mask vector written into masked stem tokens
(student_forward), layer norm without affine per token over channels (layernorm_rows), SmoothL1
with beta 1 (smooth_l1). Masks are given (bool (B, T)), never drawn here: the fixtures carry them
so both sides use the same.

data2vec_loss: targets = mean over the teacher's last K backbone layers of layernorm_rows(layer
output) (teacher in eval mode, clean input, no gradient); loss = sum over masked tokens and
channels of SmoothL1(head(student output) - target) / sqrt(d) / (number of masked tokens).

jepa_loss: student input = stem tokens with mask_emb outside the context; predictor input U =
student output with the predictor's mask token at target tokens; P = Linear(LayerNorm(U +
GLU(Linear(GELU(S4(U)))))) with a bidirectional S4 layer; target = layernorm_rows(teacher output);
loss = mean over target tokens and channels of SmoothL1(P - target)."""
import math

import torch
from torch import nn
import torch.nn.functional as F

from ref_s4 import S4Layer

PTBXL_MEAN = [-0.00184586, -0.00130277, 0.00017031, -0.00091313, -0.00148835, -0.00174687,
              -0.00077071, -0.00207407, 0.00054329, 0.00155546, -0.00114379, -0.00035649]
PTBXL_STD = [0.16401004, 0.1647168, 0.23374124, 0.33767231, 0.33362807, 0.30583013,
             0.2731171, 0.27554379, 0.17128962, 0.14030828, 0.14606956, 0.14656108]


def zscore(x):
    """x (B, 12, L) millivolts -> z-scored per lead (float32 constants, as the C code)."""
    mu = torch.tensor(PTBXL_MEAN, dtype=torch.float32).to(x.dtype)[:, None]
    sd = torch.tensor(PTBXL_STD, dtype=torch.float32).to(x.dtype)[:, None]
    return (x - mu) * (1 / sd)


def smooth_l1(a, b):
    return F.smooth_l1_loss(a, b, reduction="none", beta=1.0)


def layernorm_rows(x, eps):
    return F.layer_norm(x, (x.shape[-1],), eps=eps)


def stem_tokens(enc, x):
    for block in enc.stem:
        x = block(x)
    return x.transpose(1, 2)  # (B, T, d)


def backbone_layers(enc, h):
    """The output of every backbone layer (before a Transformer's final norm) and the tokens."""
    outs = []
    kind = enc.cfg["backbone"]
    if kind == "cnn":
        h = h.transpose(1, 2)
        for layer in enc.backbone.layers:
            h = layer(h)
            outs.append(h.transpose(1, 2))
        return outs, outs[-1]
    for layer in enc.backbone.layers:
        h = layer(h)
        outs.append(h)
    tokens = enc.backbone.norm(h) if kind == "transformer" else h
    return outs, tokens


def student_forward(enc, xz, hide, mask_emb):
    """Stem, mask vector at hidden tokens, backbone: returns (layer outputs, tokens)."""
    h = stem_tokens(enc, xz)
    h = torch.where(hide[..., None], mask_emb.to(h.dtype), h)
    return backbone_layers(enc, h)


def teacher_targets_d2v(teacher, xz, top_layers):
    with torch.no_grad():
        teacher.eval()
        outs, _ = backbone_layers(teacher, stem_tokens(teacher, xz))
        eps = teacher.cfg["ln_eps"]
        ys = [layernorm_rows(o, eps) for o in outs[-top_layers:]]
        return sum(ys) / top_layers


def data2vec_loss(student, teacher, head, mask_emb, x, mask, top_layers):
    """x raw (B, 12, L); mask bool (B, T). Returns (loss, targets)."""
    xz = zscore(x)
    y = teacher_targets_d2v(teacher, xz, top_layers)
    _, tokens = student_forward(student, xz, mask, mask_emb)
    d = tokens.shape[-1]
    h = head(tokens[mask])
    nm = int(mask.sum())
    loss = smooth_l1(h, y[mask]).sum() / math.sqrt(d) / nm
    return loss, y


class JepaPredictor(nn.Module):
    """ssl.jepa.pred.*: mask_emb, s4.{log_dt,C,log_A_real,A_imag,D}, s4.out, s4.norm, out."""

    def __init__(self, d, N, dt_min=1e-3, dt_max=1e-1, ln_eps=1e-5):
        super().__init__()
        self.mask_emb = nn.Parameter(0.02 * torch.randn(d))
        self.s4 = S4Layer(d, N, bidirectional=True, dt_min=dt_min, dt_max=dt_max)
        self.s4.out = nn.Linear(d, 2 * d)
        self.s4.norm = nn.LayerNorm(d, eps=ln_eps)
        self.out = nn.Linear(d, d)

    def forward(self, s, target):
        u = torch.where(target[..., None], self.mask_emb.to(s.dtype), s)
        y = F.gelu(self.s4(u))
        h = self.s4.norm(u + F.glu(self.s4.out(y), dim=-1))
        return self.out(h)


def jepa_loss(student, teacher, pred, mask_emb, x, target, context):
    xz = zscore(x)
    with torch.no_grad():
        teacher.eval()
        _, tt = backbone_layers(teacher, stem_tokens(teacher, xz))
        y = layernorm_rows(tt, teacher.cfg["ln_eps"])
    _, tokens = student_forward(student, xz, ~context, mask_emb)
    p = pred(tokens, target)
    return smooth_l1(p[target], y[target]).mean(), y

"""ref_encoder.py — PyTorch reference of core/model/encoder.h: CNN stem + S4 / Transformer / CNN
backbone + mean pooling, written plainly from torch.nn modules.

Encoder(cfg).state_dict() names equal the C tensor names one to one (stem.0.conv.weight,
backbone.layers.0.s4.log_dt, ...). cfg is a dict with the keys of struct encoder_config (see
core/model/config.c); config_from_metadata() reads it from checkpoint metadata
("ecgfm.encoder.<key>" strings). forward(x) takes (B, in_channels, in_samples) and returns
(tokens (B, T, d), embedding (B, d)). Works in any dtype (the fixtures use float64)."""
import math

import torch
from torch import nn
import torch.nn.functional as F

from ref_attention import attention
from ref_s4 import S4Layer

KV_PREFIX = "ecgfm.encoder."

# The C presets (encoder_config_default); keep in step with core/model/config.c.
_COMMON = dict(in_channels=12, in_samples=600, d_model=512, stem_layers=4, causal=False,
               s4_state=8, s4_dt_min=1e-3, s4_dt_max=1e-1, s4_train_A=True, n_heads=8,
               ff_dim=2048, rope_base=10000.0, cnn_kernel=3, bn_momentum=0.1, bn_eps=1e-5,
               ln_eps=1e-5)
_BACKBONE = {"s4": dict(n_layers=4, dropout=0.2), "transformer": dict(n_layers=6, dropout=0.1),
             "cnn": dict(n_layers=4, dropout=0.0)}
INT_KEYS = ("in_channels", "in_samples", "d_model", "stem_layers", "n_layers", "s4_state",
            "n_heads", "ff_dim", "cnn_kernel")
BOOL_KEYS = ("causal", "s4_train_A")


def default_config(backbone):
    return dict(backbone=backbone, **_COMMON, **_BACKBONE[backbone])


def small_config(backbone):
    c = default_config(backbone)
    c.update(d_model=64, n_layers=2, n_heads=4, ff_dim=256)
    return c


def config_to_metadata(cfg):
    """The flat key/value form of encoder_config_to_kv (values as strings C parses back)."""
    out = {}
    for k, v in cfg.items():
        if k in BOOL_KEYS:
            v = "true" if v else "false"
        elif isinstance(v, float):
            v = repr(float(v))
        out[KV_PREFIX + k] = str(v)
    return out


def config_from_metadata(meta):
    cfg = {}
    for k, v in meta.items():
        if not k.startswith(KV_PREFIX):
            continue
        k = k[len(KV_PREFIX):]
        if k == "backbone":
            cfg[k] = v
        elif k in BOOL_KEYS:
            cfg[k] = v in ("true", "1")
        elif k in INT_KEYS:
            cfg[k] = int(v)
        else:
            cfg[k] = float(v)
    missing = set(default_config("s4")) - set(cfg)
    if missing:
        raise ValueError(f"config keys missing from metadata: {sorted(missing)}")
    return cfg


def tokens_of(cfg):
    return (cfg["in_samples"] + 2 - 3) // 2 + 1


class StemBlock(nn.Module):
    def __init__(self, cin, d, k, stride, pad, cfg):
        super().__init__()
        self.conv = nn.Conv1d(cin, d, k, stride=stride, padding=pad, bias=False)
        self.bn = nn.BatchNorm1d(d, eps=cfg["bn_eps"], momentum=cfg["bn_momentum"])

    def forward(self, x):  # (B, C, L)
        return F.relu(self.bn(self.conv(x)))


class S4Block(nn.Module):
    """Post-norm: x = LayerNorm(x + dropout(GLU(Linear(GELU(S4(x))))))."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg["d_model"]
        self.s4 = S4Layer(d, cfg["s4_state"], bidirectional=not cfg["causal"],
                          dt_min=cfg["s4_dt_min"], dt_max=cfg["s4_dt_max"])
        if not cfg["s4_train_A"]:
            self.s4.log_A_real.requires_grad_(False)
            self.s4.A_imag.requires_grad_(False)
        self.out = nn.Linear(d, 2 * d)
        self.norm = nn.LayerNorm(d, eps=cfg["ln_eps"])
        self.drop = nn.Dropout(cfg["dropout"])

    def forward(self, x):  # (B, T, d)
        y = F.gelu(self.s4(x))
        y = self.drop(F.glu(self.out(y), dim=-1))
        return self.norm(x + y)


class S4Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([S4Block(cfg) for _ in range(cfg["n_layers"])])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class TransformerBlock(nn.Module):
    """Pre-norm: x += drop(proj(attn(qkv(norm1(x))))); x += drop(ff2(GELU(ff1(norm2(x)))))."""

    def __init__(self, cfg):
        super().__init__()
        d, ff = cfg["d_model"], cfg["ff_dim"]
        self.nh, self.rope_base, self.causal = cfg["n_heads"], cfg["rope_base"], cfg["causal"]
        self.norm1 = nn.LayerNorm(d, eps=cfg["ln_eps"])
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, eps=cfg["ln_eps"])
        self.ff1 = nn.Linear(d, ff)
        self.ff2 = nn.Linear(ff, d)
        self.drop = nn.Dropout(cfg["dropout"])

    def forward(self, x):
        a = attention(self.qkv(self.norm1(x)), self.nh, self.rope_base, self.causal)
        x = x + self.drop(self.proj(a))
        return x + self.drop(self.ff2(F.gelu(self.ff1(self.norm2(x)))))


class TransformerBackbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([TransformerBlock(cfg) for _ in range(cfg["n_layers"])])
        self.norm = nn.LayerNorm(cfg["d_model"], eps=cfg["ln_eps"])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class CNNBlock(nn.Module):
    """out = ReLU(BN2(Conv2(ReLU(BN1(Conv1(x))))) + x); a simplification of Net1D (no groups, no SE,
    no downsampling)."""

    def __init__(self, cfg):
        super().__init__()
        d, k = cfg["d_model"], cfg["cnn_kernel"]
        bn = dict(eps=cfg["bn_eps"], momentum=cfg["bn_momentum"])
        self.conv1 = nn.Conv1d(d, d, k, padding=k // 2, bias=False)
        self.bn1 = nn.BatchNorm1d(d, **bn)
        self.conv2 = nn.Conv1d(d, d, k, padding=k // 2, bias=False)
        self.bn2 = nn.BatchNorm1d(d, **bn)

    def forward(self, x):  # (B, d, T)
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + x)


class CNNBackbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([CNNBlock(cfg) for _ in range(cfg["n_layers"])])

    def forward(self, x):  # (B, T, d) in and out
        x = x.transpose(1, 2)
        for layer in self.layers:
            x = layer(x)
        return x.transpose(1, 2)


BACKBONES = {"s4": S4Backbone, "transformer": TransformerBackbone, "cnn": CNNBackbone}


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        d = cfg["d_model"]
        blocks = [StemBlock(cfg["in_channels"], d, 3, 2, 1, cfg)]
        blocks += [StemBlock(d, d, 1, 1, 0, cfg) for _ in range(cfg["stem_layers"] - 1)]
        self.stem = nn.ModuleList(blocks)
        self.backbone = BACKBONES[cfg["backbone"]](cfg)

    def forward(self, x):
        for block in self.stem:
            x = block(x)
        tokens = self.backbone(x.transpose(1, 2))
        return tokens, tokens.mean(dim=1)


def perturb_(model, gen):
    """Move every norm's affine parameters and running statistics away from their init values, so
    parity does not lean on ones and zeros. gen is a torch.Generator."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.LayerNorm)):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
            if isinstance(m, S4Layer):
                m.log_A_real.add_(0.3 * torch.randn(m.log_A_real.shape, generator=gen))
                m.A_imag.mul_(1 + 0.05 * torch.randn(m.A_imag.shape, generator=gen))


def count_trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


if __name__ == "__main__":
    torch.manual_seed(0)
    m = Encoder(default_config("s4"))
    print("paper S4 encoder trainable parameters:", count_trainable(m))
    print("first names:", list(m.state_dict())[:8])

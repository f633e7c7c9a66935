"""gen_layers.py — PyTorch reference for core/nn/layers.c, written to layers.safetensors.

Every case runs a torch module forward in float32, then backward with dout = r (a fixed random
tensor, i.e. loss = sum(out * r)), and saves input, parameters, r, output and every gradient.
Activations are saved channels-last (B, L, C) as ecgfm holds them; weights keep torch layouts.
Each case also stores "<name>.cfg" (F32) with its shape so the C test can check it agrees."""
import os

import numpy as np
import torch

import st

# name: (B, L, cin, cout, K, stride, pad, bias). conv0 is the stem's first conv (k3 s2 p1, no
# bias, 12 leads in); conv1/conv2 take the K == 1 path that skips im2col.
CONV = {
    "conv0": (2, 12, 12, 8, 3, 2, 1, 0),
    "conv1": (2, 9, 6, 5, 1, 1, 0, 0),
    "conv2": (2, 9, 6, 5, 1, 1, 0, 1),
    "conv3": (3, 11, 4, 5, 5, 1, 2, 1),
    "conv4": (2, 13, 3, 4, 4, 3, 0, 1),
    "conv5": (1, 10, 5, 3, 3, 1, 0, 0),
    "conv6": (2, 8, 4, 3, 1, 2, 0, 1),
    "conv7": (2, 6, 3, 4, 2, 1, 2, 1),
}
# name: (n, in, out, bias)
LINEAR = {"lin0": (7, 5, 6, 1), "lin1": (4, 9, 3, 0), "lin2": (5, 3, 70, 1)}
# name: (B, C, L, train, offset): offset shifts the input to test the variance far from zero mean.
# bn3/bn4 have more than 64 channels (and bn4 more than 64 rows) to cross the C code's chunks.
BN = {"bn0": (3, 5, 7, 1, 0.0), "bn1": (3, 5, 7, 0, 0.0), "bn2": (4, 6, 9, 1, 30.0),
      "bn3": (2, 70, 5, 1, 0.0), "bn4": (3, 70, 30, 0, 0.0)}
# name: (n, c, affine)
LN = {"ln0": (6, 10, 1), "ln1": (5, 7, 0), "ln2": (4, 130, 1)}
BN_EPS, BN_MOM, LN_EPS = 1e-5, 0.1, 1e-5


def cl(x):
    """(B, C, L) -> (B, L, C), contiguous."""
    return x.permute(0, 2, 1).contiguous()


def f32(*v):
    return np.array(v, dtype=np.float32)


def conv_cases(t):
    for name, (B, L, cin, cout, K, s, p, bias) in CONV.items():
        torch.manual_seed(100 + int(name[4:]))
        m = torch.nn.Conv1d(cin, cout, K, stride=s, padding=p, bias=bool(bias))
        x = torch.randn(B, cin, L, requires_grad=True)
        y = m(x)
        r = torch.randn_like(y)
        y.backward(r)
        t[f"{name}.cfg"] = f32(B, L, cin, cout, K, s, p, bias)
        t[f"{name}.x"] = cl(x.detach())
        t[f"{name}.w"] = m.weight.detach()
        if bias:
            t[f"{name}.b"] = m.bias.detach()
            t[f"{name}.db"] = m.bias.grad
        t[f"{name}.out"] = cl(y.detach())
        t[f"{name}.r"] = cl(r)
        t[f"{name}.dx"] = cl(x.grad)
        t[f"{name}.dw"] = m.weight.grad


def linear_cases(t):
    for i, (name, (n, di, do, bias)) in enumerate(LINEAR.items()):
        torch.manual_seed(200 + i)
        m = torch.nn.Linear(di, do, bias=bool(bias))
        x = torch.randn(n, di, requires_grad=True)
        y = m(x)
        r = torch.randn_like(y)
        y.backward(r)
        t[f"{name}.cfg"] = f32(n, di, do, bias)
        t[f"{name}.x"], t[f"{name}.w"] = x.detach(), m.weight.detach()
        if bias:
            t[f"{name}.b"], t[f"{name}.db"] = m.bias.detach(), m.bias.grad
        t[f"{name}.out"], t[f"{name}.r"] = y.detach(), r
        t[f"{name}.dx"], t[f"{name}.dw"] = x.grad, m.weight.grad


def bn_cases(t):
    for i, (name, (B, C, L, train, off)) in enumerate(BN.items()):
        torch.manual_seed(300 + i)
        m = torch.nn.BatchNorm1d(C, eps=BN_EPS, momentum=BN_MOM)
        with torch.no_grad():
            m.weight.copy_(1 + 0.5 * torch.randn(C))
            m.bias.copy_(0.5 * torch.randn(C))
            m.running_mean.copy_(0.3 * torch.randn(C) + off)
            m.running_var.copy_(0.5 + torch.rand(C))
        rm0, rv0 = m.running_mean.clone(), m.running_var.clone()
        m.train(bool(train))
        x = (1.5 * torch.randn(B, C, L) + 0.7 * torch.randn(1, C, 1) + off).requires_grad_(True)
        y = m(x)
        r = torch.randn_like(y)
        y.backward(r)
        t[f"{name}.cfg"] = f32(B * L, C, train, off)
        t[f"{name}.x"] = cl(x.detach()).reshape(B * L, C)
        t[f"{name}.gamma"], t[f"{name}.beta"] = m.weight.detach(), m.bias.detach()
        t[f"{name}.rm0"], t[f"{name}.rv0"] = rm0, rv0
        t[f"{name}.rm1"], t[f"{name}.rv1"] = m.running_mean.clone(), m.running_var.clone()
        t[f"{name}.out"] = cl(y.detach()).reshape(B * L, C)
        t[f"{name}.r"] = cl(r).reshape(B * L, C)
        t[f"{name}.dx"] = cl(x.grad).reshape(B * L, C)
        t[f"{name}.dgamma"], t[f"{name}.dbeta"] = m.weight.grad, m.bias.grad


def ln_cases(t):
    for i, (name, (n, c, affine)) in enumerate(LN.items()):
        torch.manual_seed(400 + i)
        m = torch.nn.LayerNorm(c, eps=LN_EPS, elementwise_affine=bool(affine))
        if affine:
            with torch.no_grad():
                m.weight.copy_(1 + 0.5 * torch.randn(c))
                m.bias.copy_(0.5 * torch.randn(c))
        x = (2 * torch.randn(n, c) + torch.randn(n, 1)).requires_grad_(True)
        y = m(x)
        r = torch.randn_like(y)
        y.backward(r)
        t[f"{name}.cfg"] = f32(n, c, affine)
        t[f"{name}.x"], t[f"{name}.out"], t[f"{name}.r"] = x.detach(), y.detach(), r
        t[f"{name}.dx"] = x.grad
        if affine:
            t[f"{name}.w"], t[f"{name}.b"] = m.weight.detach(), m.bias.detach()
            t[f"{name}.dw"], t[f"{name}.db"] = m.weight.grad, m.bias.grad


def unary(t, name, module, x, seed):
    torch.manual_seed(seed)
    x = x.clone().requires_grad_(True)
    y = module(x)
    r = torch.randn_like(y)
    y.backward(r)
    t[f"{name}.x"], t[f"{name}.out"] = x.detach(), y.detach()
    t[f"{name}.r"], t[f"{name}.dx"] = r, x.grad


def generate(outdir):
    t = {}
    conv_cases(t)
    linear_cases(t)
    bn_cases(t)
    ln_cases(t)
    torch.manual_seed(500)
    unary(t, "relu", torch.nn.ReLU(), 2 * torch.randn(4, 7, 6), 501)
    torch.manual_seed(510)
    unary(t, "gelu", torch.nn.GELU(approximate="none"), 2.5 * torch.randn(4, 7, 6), 511)
    torch.manual_seed(520)
    unary(t, "glu", torch.nn.GLU(dim=-1), 2 * torch.randn(5, 2 * 6), 521)
    t["glu.cfg"] = f32(5, 6)
    torch.manual_seed(530)
    unary(t, "meanpool", lambda x: x.mean(dim=1), torch.randn(3, 7, 5), 531)
    t["meanpool.cfg"] = f32(3, 7, 5)
    torch.manual_seed(535)
    unary(t, "meanpool2", lambda x: x.mean(dim=1), torch.randn(2, 9, 70), 536)
    t["meanpool2.cfg"] = f32(2, 9, 70)
    torch.manual_seed(540)
    a, b = torch.randn(37), torch.randn(37)
    t["vec.a"], t["vec.b"], t["vec.sum"] = a, b, a + b
    st.save(os.path.join(outdir, "layers.safetensors"), t,
            metadata={"generator": "tests/parity/gen_layers.py", "torch": torch.__version__})

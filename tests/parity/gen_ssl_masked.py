"""gen_ssl_masked.py — fixtures for tests/unit/test_data2vec.c and test_jepa.c.

ssl_data2vec.safetensors and ssl_jepa.safetensors: a small bidirectional S4 encoder config in the
metadata (ecgfm.encoder.* keys), the student's weights p.<name> (norms, BN statistics and S4's A
moved off their init values) including the objective's head parameters p.ssl.*, a different
teacher teacher.<name> (parameters and BN running statistics), input x (B, 12, L) millivolts, the
masks as float 0/1 (data2vec: mask (B, T); JEPA: target and context (B, T)), and from the reference
(ref_ssl_masked.py, student in train mode with dropout 0, teacher in eval mode, all in float64 from
the stored float32 values, S4 kernels in complex128): loss, and g.<name> for every student
parameter that gets a gradient; loss_eval with the student in eval mode (validation)."""
import copy
import os

import torch

import st
from ref_encoder import Encoder, config_to_metadata, perturb_, small_config, tokens_of
from ref_ssl_masked import JepaPredictor, data2vec_loss, jepa_loss

B = 3


def config():
    cfg = small_config("s4")
    cfg.update(d_model=32, n_layers=3, dropout=0.0, in_samples=600)
    return cfg


def encoders(gen, cfg):
    student = Encoder(cfg)
    perturb_(student, gen)
    teacher = copy.deepcopy(student)
    with torch.no_grad():
        for p in teacher.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
        for name, b in teacher.named_buffers():
            if "running_var" in name:
                b.mul_(1 + 0.1 * torch.rand(b.shape, generator=gen))
            elif "running_mean" in name:
                b.add_(0.05 * torch.randn(b.shape, generator=gen))
    return student, teacher


def state(t, prefix, module):
    for n, v in module.state_dict().items():
        if "num_batches" not in n:
            t[prefix + n] = v.float()


def span_mask(gen, T, p, span):
    starts = torch.rand(B, T, generator=gen) < p
    m = torch.zeros(B, T, dtype=torch.bool)
    for k in range(span):
        m[:, k:] |= starts[:, :T - k]
    return m


def d2v_case(outdir):
    gen = torch.Generator().manual_seed(71)
    torch.manual_seed(71)
    cfg = config()
    T, d = tokens_of(cfg), cfg["d_model"]
    student, teacher = encoders(gen, cfg)
    head = torch.nn.Linear(d, d)
    mask_emb = torch.rand(d, generator=gen)
    x = 0.3 * torch.randn(B, 12, cfg["in_samples"], generator=gen)
    mask = span_mask(gen, T, 0.02, 10)
    mask[0, :3] = True  # both ends of a sequence
    mask[1, T - 4:] = True
    t = {}
    state(t, "p.", student)
    t["p.ssl.mask_emb"] = mask_emb
    t["p.ssl.d2v.head.weight"], t["p.ssl.d2v.head.bias"] = head.weight, head.bias
    state(t, "teacher.", teacher)
    t["x"], t["mask"] = x, mask.float()
    s, te = copy.deepcopy(student).double(), copy.deepcopy(teacher).double()
    h = copy.deepcopy(head).double()
    s.train()
    me = mask_emb.double().requires_grad_(True)
    loss, y = data2vec_loss(s, te, h, me, x.double(), mask, top_layers=2)
    loss.backward()
    t["loss"] = loss.detach().reshape(1)
    with torch.no_grad():  # validation: the student in eval mode, BN statistics as stored
        se = copy.deepcopy(student).double().eval()
        t["loss_eval"] = data2vec_loss(se, te, h, me, x.double(), mask, top_layers=2)[0].reshape(1)
    t["targets"] = y
    for n, p in s.named_parameters():
        if p.grad is not None:
            t["g." + n] = p.grad
    t["g.ssl.mask_emb"] = me.grad
    t["g.ssl.d2v.head.weight"], t["g.ssl.d2v.head.bias"] = h.weight.grad, h.bias.grad
    meta = config_to_metadata(cfg)
    meta.update(generator="tests/parity/gen_ssl_masked.py", reference="float64/complex128",
                d2v_top_layers="2")
    st.save(os.path.join(outdir, "ssl_data2vec.safetensors"), t, meta)


def jepa_case(outdir):
    gen = torch.Generator().manual_seed(72)
    torch.manual_seed(72)
    cfg = config()
    T, d, N = tokens_of(cfg), cfg["d_model"], 16
    student, teacher = encoders(gen, cfg)
    pred = JepaPredictor(d, N, ln_eps=cfg["ln_eps"])
    with torch.no_grad():
        pred.s4.log_A_real.add_(0.3 * torch.randn(pred.s4.log_A_real.shape, generator=gen))
        pred.s4.norm.weight.copy_(1 + 0.2 * torch.randn(d, generator=gen))
        pred.s4.norm.bias.copy_(0.1 * torch.randn(d, generator=gen))
        pred.mask_emb.copy_(0.3 * torch.randn(d, generator=gen))
    mask_emb = torch.rand(d, generator=gen)
    x = 0.3 * torch.randn(B, 12, cfg["in_samples"], generator=gen)
    # 4 target blocks of 20 tokens (two overlap in sequence 1, as mask_draw_jepa allows); the
    # context block minus the targets
    target = torch.zeros(B, T, dtype=torch.bool)
    context = torch.zeros(B, T, dtype=torch.bool)
    for b in range(B):
        starts = [5 + 3 * b, 70 + b if b != 1 else 18, 160 - 7 * b, 300 - 20 - 11 * b]
        for s0 in starts:
            target[b, s0:s0 + 20] = True
        c0 = 10 * b
        context[b, c0:c0 + 255 - 5 * b] = True
    context &= ~target
    t = {}
    state(t, "p.", student)
    t["p.ssl.mask_emb"] = mask_emb
    for n, v in pred.state_dict().items():
        t["p.ssl.jepa.pred." + n] = v
    state(t, "teacher.", teacher)
    t["x"], t["target"], t["context"] = x, target.float(), context.float()
    s, te = copy.deepcopy(student).double(), copy.deepcopy(teacher).double()
    pr = copy.deepcopy(pred).double()
    s.train()
    me = mask_emb.double().requires_grad_(True)
    loss, y = jepa_loss(s, te, pr, me, x.double(), target, context)
    loss.backward()
    t["loss"] = loss.detach().reshape(1)
    with torch.no_grad():  # validation: the student in eval mode, BN statistics as stored
        se = copy.deepcopy(student).double().eval()
        t["loss_eval"] = jepa_loss(se, te, pr, me, x.double(), target, context)[0].reshape(1)
    for n, p in s.named_parameters():
        if p.grad is not None:
            t["g." + n] = p.grad
    t["g.ssl.mask_emb"] = me.grad
    for n, p in pr.named_parameters():
        t["g.ssl.jepa.pred." + n] = p.grad
    meta = config_to_metadata(cfg)
    meta.update(generator="tests/parity/gen_ssl_masked.py", reference="float64/complex128",
                jepa_predictor_state=str(N))
    st.save(os.path.join(outdir, "ssl_jepa.safetensors"), t, meta)


def generate(outdir):
    d2v_case(outdir)
    jepa_case(outdir)


if __name__ == "__main__":
    import sys
    generate(sys.argv[1] if len(sys.argv) > 1 else "build/fixtures")

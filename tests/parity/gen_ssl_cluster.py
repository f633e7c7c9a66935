"""gen_ssl_cluster.py — fixtures for tests/unit/test_cluster.c, test_dinosr.c and test_hubert.c.

ssl_cluster.safetensors: Sinkhorn-Knopp of scores S (n 50, K 12) after 3 iterations (Q3); a DinoSR
codebook EMA step (y, code/sum/cnt before, the nearest-codeword assignment, after); a prototype
EMA step (P, f, Q, after).
ssl_dinosr.safetensors / ssl_hubert.safetensors: one full objective step of the small bidirectional
S4 encoder (dropout 0) on a fixed batch x (B 2, 12, 600) with FIXED masks (mask, (B, T) U8):
weights p.<name> (encoder, heads, ssl.mask_emb), objective state s.<name> (codebook / prototypes),
and the results: loss, the targets, every student gradient g.<name>, and the state after the
EMA update. The teacher is the student's exact copy (as at creation), eval mode; the student runs
in train mode (BatchNorm batch statistics). Every reference is computed in float64 (S4 kernels in
complex128) from the float32 values stored."""
import copy
import os

import numpy as np
import torch
import torch.nn.functional as F

import st
import ref_ssl_cluster as R
from ref_encoder import Encoder, config_to_metadata, perturb_, small_config, tokens_of

B = 2


def f32(v):
    """A config constant as the C code holds it (a float), so EMA weights agree to the last bit."""
    return float(np.float32(v))


def cluster_case(outdir):
    gen = torch.Generator().manual_seed(31)
    t = {}
    n, K = 50, 12
    S = torch.randn(n, K, generator=gen) * 3.0
    t["S"] = S
    t["Q3"] = R.sinkhorn_knopp(S.double(), 3)
    n, K, d, m = 40, 6, 8, f32(0.9)
    y = torch.randn(n, d, generator=gen)
    code = torch.randn(K, d, generator=gen)
    csum = code * 2.0
    ccnt = torch.rand(K, generator=gen) * 2 + 1.5
    ccnt[K - 1] = 0.7
    code = csum / ccnt[:, None]
    assign, gap = R.nearest(y.double(), code.double())
    assert float(gap.min()) > 1e-3
    t["cb.nearest"] = assign.to(torch.int32).clone()
    assign[assign == K - 1] = 0  # leave one codeword unused: it must keep its place
    new_code, new_sum, new_cnt = R.codebook_update(csum.double(), ccnt.double(), y.double(), assign, m)
    t.update({"cb.y": y, "cb.code": code, "cb.sum": csum, "cb.cnt": ccnt,
              "cb.assign": assign.to(torch.int32), "cb.code_after": new_code,
              "cb.sum_after": new_sum, "cb.cnt_after": new_cnt})
    P = F.normalize(torch.randn(K, d, generator=gen), dim=1)
    f = F.normalize(torch.randn(n, d, generator=gen), dim=1)
    Q = R.sinkhorn_knopp((f.double() @ P.double().T) / 0.07, 3)
    t.update({"pu.P": P, "pu.f": f, "pu.Q": Q.float(),
              "pu.P_after": R.proto_update(P.double(), f.double(), Q.float().double(), f32(0.99))})
    st.save(os.path.join(outdir, "ssl_cluster.safetensors"), t,
            {"generator": "tests/parity/gen_ssl_cluster.py", "reference": "float64"})


def make_mask(gen, T):
    """Spans of 10 tokens, about a quarter of each sequence (fixed, not the C masking stream)."""
    mask = torch.zeros(B, T, dtype=torch.bool)
    for b in range(B):
        starts = torch.randint(0, T - 10, (T // 40,), generator=gen)
        for s0 in starts.tolist():
            mask[b, s0:s0 + 10] = True
    return mask


def base_case(seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    cfg = small_config("s4")
    cfg["dropout"] = 0.0
    model = Encoder(cfg)
    perturb_(model, gen)
    T, d = tokens_of(cfg), cfg["d_model"]
    x = 0.2 * torch.randn(B, 12, cfg["in_samples"], generator=gen)
    mask = make_mask(gen, T)
    mask_emb = torch.rand(d, generator=gen)
    return gen, cfg, model, T, d, x, mask, mask_emb


def head(gen, K, d):
    bound = 1.0 / d ** 0.5
    return ((torch.rand(K, d, generator=gen) * 2 - 1) * bound,
            (torch.rand(K, generator=gen) * 2 - 1) * bound)


def forward_student(model, x, mask, mask_emb):
    """float64 copies with gradients: returns (student model, mask_emb leaf, tokens (n, d))."""
    s = copy.deepcopy(model).double().train()
    me = mask_emb.double().clone().requires_grad_(True)
    h = R.student_tokens(s, R.zscore(x.double()), mask, me)
    return s, me, h.reshape(-1, h.shape[-1])


def teacher_out(model, x):
    te = copy.deepcopy(model).double().eval()
    return R.teacher_tokens(te, R.zscore(x.double()))


def save_case(outdir, name, cfg, model, x, mask, params, state, results, meta):
    t = {}
    for n, v in model.state_dict().items():
        if "num_batches" not in n:
            t["p." + n] = v.float()
    t.update({"p." + k: v.float() for k, v in params.items()})
    t.update({"s." + k: v.float() for k, v in state.items()})
    t["x"], t["mask"] = x, mask.to(torch.uint8)
    t.update(results)
    md = config_to_metadata(cfg)
    md.update(meta)
    md["generator"] = "tests/parity/gen_ssl_cluster.py"
    md["reference"] = "float64/complex128"
    st.save(os.path.join(outdir, f"{name}.safetensors"), t, md)


def grads_of(student, extra):
    g = {f"g.{n}": p.grad for n, p in student.named_parameters() if p.grad is not None}
    g.update({f"g.{n}": v.grad for n, v in extra.items()})
    return g


def dinosr_case(outdir):
    K, m = 256, f32(0.9)
    for seed in range(400, 460):  # a batch whose nearest codewords have no near-ties
        gen, cfg, model, T, d, x, mask, mask_emb = base_case(seed)
        y = R.instance_norm_tokens(teacher_out(model, x)).reshape(-1, d)
        rows = torch.randperm(y.shape[0], generator=gen)[:K]
        code = (y[rows] + 0.5 * torch.randn(K, d, generator=gen, dtype=y.dtype)).float()
        assign, gap = R.nearest(y, code.double())
        if float(gap.min()) > 2e-2:
            break
    else:
        raise RuntimeError("no DinoSR fixture without near-ties")
    W, b = head(gen, K, d)
    csum, ccnt = code.clone(), torch.ones(K)
    student, me, h = forward_student(model, x, mask, mask_emb)
    Wl, bl = W.double().requires_grad_(True), b.double().requires_grad_(True)
    loss, logits = R.ce_masked(h, mask.reshape(-1), Wl, bl, assign)
    loss.backward()
    acc = (logits.argmax(-1) == assign[mask.reshape(-1)]).double().mean()
    new_code, new_sum, new_cnt = R.codebook_update(csum.double(), ccnt.double(), y, assign, m)
    res = {"loss": loss.detach().reshape(1), "acc": acc.reshape(1),
           "assign": assign.to(torch.int32), "s_after.ssl.dinosr.codebook": new_code,
           "s_after.ssl.dinosr.code_sum": new_sum, "s_after.ssl.dinosr.code_cnt": new_cnt}
    res.update(grads_of(student, {"ssl.dinosr.head.weight": Wl, "ssl.dinosr.head.bias": bl,
                                  "ssl.mask_emb": me}))
    save_case(outdir, "ssl_dinosr", cfg, model, x, mask,
              {"ssl.dinosr.head.weight": W, "ssl.dinosr.head.bias": b, "ssl.mask_emb": mask_emb},
              {"ssl.dinosr.codebook": code, "ssl.dinosr.code_sum": csum,
               "ssl.dinosr.code_cnt": ccnt},
              res, {"K": str(K), "codebook_ema": str(m), "min_gap": repr(float(gap.min()))})


def hubert_case(outdir):
    Ks, tau_t, tau_s, iters, pm = (128, 256), f32(0.07), f32(0.1), 3, f32(0.99)
    gen, cfg, model, T, d, x, mask, mask_emb = base_case(500)
    f = F.normalize(teacher_out(model, x).reshape(-1, d), dim=-1)
    protos, Qs, heads = [], [], []
    for K in Ks:
        rows = torch.randperm(f.shape[0], generator=gen)[:K]
        P = F.normalize(f[rows].float() + 0.3 * torch.randn(K, d, generator=gen), dim=1)
        protos.append(P)
        Qs.append(R.sinkhorn_knopp(f @ P.double().T / tau_t, iters))
        heads.append(head(gen, K, d))
    student, me, h = forward_student(model, x, mask, mask_emb)
    leaves = [(W.double().requires_grad_(True), b.double().requires_grad_(True)) for W, b in heads]
    loss = R.hubert_loss(h, mask.reshape(-1), leaves, Qs, tau_s)
    loss.backward()
    res = {"loss": loss.detach().reshape(1)}
    extra = {"ssl.mask_emb": me}
    params = {"ssl.mask_emb": mask_emb}
    state = {"ssl.hubert.step": torch.zeros(1)}
    for j, (K, P, Q, (W, b), (Wl, bl)) in enumerate(zip(Ks, protos, Qs, heads, leaves)):
        extra[f"ssl.hubert.head{j}.weight"], extra[f"ssl.hubert.head{j}.bias"] = Wl, bl
        params[f"ssl.hubert.head{j}.weight"], params[f"ssl.hubert.head{j}.bias"] = W, b
        state[f"ssl.hubert.proto{j}"] = P
        res[f"Q{j}"] = Q
        res[f"s_after.ssl.hubert.proto{j}"] = R.proto_update(P.double(), f, Q, pm)
    res.update(grads_of(student, extra))
    save_case(outdir, "ssl_hubert", cfg, model, x, mask, params, state, res,
              {"teacher_temp": repr(tau_t), "student_temp": repr(tau_s), "iters": str(iters),
               "proto_ema": repr(pm)})


def generate(outdir):
    cluster_case(outdir)
    dinosr_case(outdir)
    hubert_case(outdir)


if __name__ == "__main__":
    import sys
    generate(sys.argv[1] if len(sys.argv) > 1 else "build/fixtures")

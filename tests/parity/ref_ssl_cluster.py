"""ref_ssl_cluster.py — PyTorch reference of core/ssl/cluster.c, dinosr.c and hubert.c: Sinkhorn-Knopp
soft assignments, the DinoSR codebook and loss, the HuBERT++ loss, and both objectives' full step
(z-scored input, eval-mode EMA teacher on the unmasked input, train-mode student with the learned
mask vector in its stem tokens) on given masks. Written plainly from torch ops; works in any
dtype (the fixtures use float64).

The definitions (see the comments of dinosr.c and hubert.c for the choices):
  sinkhorn_knopp(S): Q = exp(S - rowmax S); iters x {Q /= colsum + eps; Q /= rowsum + eps}
  DinoSR: y = instance_norm(teacher tokens over time); target = argmin_k ||y - c_k||;
          loss = mean over masked tokens of CE(head(student token), target)
  HuBERT++: f = normalize(teacher tokens); Q_j = SK(f P_j^T / tau_t); p_j = softmax(head_j(h) / tau_s)
          loss = mean_j [0.75 mean_masked KL(Q||p) + 0.25 mean_unmasked KL(Q||p) + lam sum pbar log pbar]
"""
import torch
import torch.nn.functional as F

PTBXL_MEAN = [-0.00184586, -0.00130277, 0.00017031, -0.00091313, -0.00148835, -0.00174687,
              -0.00077071, -0.00207407, 0.00054329, 0.00155546, -0.00114379, -0.00035649]
PTBXL_STD = [0.16401004, 0.1647168, 0.23374124, 0.33767231, 0.33362807, 0.30583013,
             0.2731171, 0.27554379, 0.17128962, 0.14030828, 0.14606956, 0.14656108]


def zscore(x):
    """x (B, 12, L): per-lead PTB-XL z-score, with the float32 statistics the C code uses."""
    mu = torch.tensor(PTBXL_MEAN, dtype=torch.float32).to(x.dtype).view(1, 12, 1)
    sd = torch.tensor(PTBXL_STD, dtype=torch.float32).to(x.dtype).view(1, 12, 1)
    return (x - mu) * (1.0 / sd)


@torch.no_grad()
def sinkhorn_knopp(S, iters=3, eps=1e-8):
    """S (n, K) scores already divided by the teacher temperature -> Q (n, K), rows sum to 1."""
    Q = torch.exp(S - S.max(dim=-1, keepdim=True).values)
    for _ in range(iters):
        Q = Q / (Q.sum(dim=0, keepdim=True) + eps)
        Q = Q / (Q.sum(dim=1, keepdim=True) + eps)
    return Q


def instance_norm_tokens(x, eps=1e-5):
    """x (B, T, d): F.instance_norm over time per window and channel."""
    return F.instance_norm(x.transpose(1, 2), eps=eps).transpose(1, 2)


@torch.no_grad()
def nearest(y, code):
    """y (n, d), code (K, d) -> index of the nearest codeword (Euclidean), and the gap between the
    best and second-best squared distance (to check a fixture has no near-ties)."""
    d2 = (y * y).sum(1, keepdim=True) - 2 * y @ code.T + (code * code).sum(1)[None, :]
    top = torch.topk(-d2, 2, dim=1)
    return top.indices[:, 0], (top.values[:, 0] - top.values[:, 1]).abs()


@torch.no_grad()
def codebook_update(code_sum, code_cnt, y, assign, m):
    """DinoSR's EMA of per-codeword sums and counts; returns (code, sum, cnt)."""
    K = code_sum.shape[0]
    onehot = F.one_hot(assign, K).to(y.dtype)
    s = m * code_sum + (1 - m) * onehot.T @ y
    c = m * code_cnt + (1 - m) * onehot.sum(0)
    return s / c.clamp(min=1e-8)[:, None], s, c


@torch.no_grad()
def proto_update(P, f, Q, m):
    new = F.normalize(Q.T @ f, dim=1)
    return F.normalize(m * P + (1 - m) * new, dim=1)


def ce_masked(h, mask, W, b, target):
    """h (n, d) student tokens, mask (n,) bool -> mean CE of head(h[mask]) against target[mask]."""
    logits = F.linear(h[mask], W, b)
    return F.cross_entropy(logits, target[mask]), logits


def kl_soft(logits, q, w, tau):
    """sum_i w_i KL(q_i || softmax(logits_i / tau)) (0 log 0 = 0)."""
    lp = F.log_softmax(logits / tau, dim=-1)
    kl = (torch.xlogy(q, q) - q * lp).sum(-1)
    return (w * kl).sum()


def entropy_reg(logits, tau):
    """sum_k pbar_k log pbar_k with pbar the mean of softmax(logits / tau) over rows (= -H)."""
    pbar = F.softmax(logits / tau, dim=-1).mean(0)
    return (pbar * torch.log(pbar.clamp(min=1e-30))).sum()


def hubert_loss(h, mask, heads, Qs, tau_s, w_masked=0.75, w_unmasked=0.25, lam=1e-3):
    """h (n, d), mask (n,) bool, heads [(W, b)], Qs [Q_j] -> loss (mean over the clusterers)."""
    n, M = h.shape[0], int(mask.sum())
    w = torch.where(mask, torch.tensor(w_masked / max(M, 1), dtype=h.dtype),
                    torch.tensor(w_unmasked / max(n - M, 1), dtype=h.dtype))
    if M == 0:
        w = torch.where(mask, torch.zeros_like(w), w)
    total = 0
    for (W, b), Q in zip(heads, Qs):
        logits = F.linear(h, W, b)
        total = total + kl_soft(logits, Q, w, tau_s) + lam * entropy_reg(logits, tau_s)
    return total / len(heads)


def student_tokens(model, xz, mask_bt, mask_emb):
    """Train-mode student: stem, masked tokens replaced by mask_emb, backbone. mask_bt (B, T)."""
    z = xz
    for block in model.stem:
        z = block(z)
    z = z.transpose(1, 2)
    z = torch.where(mask_bt[..., None], mask_emb.view(1, 1, -1).expand_as(z), z)
    return model.backbone(z)


def teacher_tokens(teacher, xz):
    with torch.no_grad():
        return teacher(xz)[0]

"""ref_ssl_cpc.py — PyTorch reference of core/ssl/cpc.c: CPC (SPEC §2) over ref_encoder's causal
encoder, for the parity fixtures (gen_ssl_cpc.py) and as the pretraining benchmark's peer.

The study's CPCLoss (AI4HealthUOL/ecg-pretraining-strategies, clinical_ts/loss/selfsupervised.py,
negatives_from_same_seq_only=True, steps_predicted=14, n_false_negatives=128, temperature 1, no
normalisation) on z = the stem's output tokens ("input_encoded", a clone, NOT detached) and
prediction = Linear(d, d, bias=False)(backbone tokens) ("head_ssl": MLPHead, mlp False, bias False):
  - negatives: per (sequence, position t, slot) randint(0, T - 1), plus one when >= t + k: uniform
    over the other positions of the same sequence, with replacement;
  - scores: prediction_t . candidate, positive first; cross_entropy(reduction="sum") / batch;
  - accuracy: argmax == 0 over all (sequence, position) rows.
cpc_loss computes the scores against every token with one bmm and gathers the candidates: the same
values and gradients as the study's gather-then-einsum (cpc_loss_study, kept to check that), without
its (B, T - k, K, d) tensor.

CPCModel(cfg).state_dict() names equal the C names: stem.*, backbone.*, ssl.cpc.proj.weight."""
import torch
from torch import nn
import torch.nn.functional as F

from ref_encoder import Encoder

HEAD = "ssl.cpc.proj.weight"
STEPS_AHEAD = 14
NEGATIVES = 128


def sample_negatives(B, T, k=STEPS_AHEAD, K=NEGATIVES, generator=None, device=None):
    """(B, T - k, K) int64 positions of the same sequence, never the positive t + k."""
    P = T - k
    idx = torch.randint(0, T - 1, (B, P, K), generator=generator, device=device)
    pos = torch.arange(k, T, device=device).view(1, P, 1)
    return idx + (idx >= pos).long()


def candidates(idx, k):
    """(B, P, 1 + K): the positive's position, then the negatives'."""
    B, P, _ = idx.shape
    pos = torch.arange(k, k + P, device=idx.device).view(1, P, 1).expand(B, P, 1)
    return torch.cat([pos, idx], dim=2)


def cpc_loss(pred, z, idx, k=STEPS_AHEAD):
    """pred = W c (B, T, d) (positions >= T - k unused), z (B, T, d), idx (B, T - k, K).
    Returns (loss, accuracy)."""
    B, T, _ = z.shape
    P = T - k
    scores = torch.bmm(pred[:, :P], z.transpose(1, 2))  # (B, P, T)
    sim = torch.gather(scores, 2, candidates(idx, k)).reshape(B * P, -1)
    targ = torch.zeros(B * P, dtype=torch.long, device=z.device)
    loss = F.cross_entropy(sim, targ, reduction="sum") / B
    acc = (sim.argmax(dim=-1) == 0).to(z.dtype).mean()
    return loss, acc


def cpc_loss_study(pred, z, idx, k=STEPS_AHEAD):
    """The study's formulation (gather the candidate vectors, then einsum), for cross-checks."""
    B, T, _ = z.shape
    P = T - k
    positives = z[:, k:T, :].unsqueeze(2)
    idxs_batch = torch.arange(B, device=z.device).view(B, 1, 1).expand_as(idx)
    negatives = z[idxs_batch, idx, :]
    cand = torch.cat([positives, negatives], dim=2)
    sim = torch.einsum("bsf,bscf->bsc", pred[:, :P], cand).reshape(B * P, -1)
    targ = torch.zeros(B * P, dtype=torch.long, device=z.device)
    loss = F.cross_entropy(sim, targ, reduction="sum") / B
    acc = (sim.argmax(dim=-1) == 0).to(z.dtype).mean()
    return loss, acc


class CPCModel(nn.Module):
    """Causal encoder + bias-free projection; forward(x, idx=None) -> (loss, accuracy)."""

    def __init__(self, cfg, steps_ahead=STEPS_AHEAD, negatives=NEGATIVES):
        super().__init__()
        if not cfg["causal"]:
            raise ValueError("CPC needs a causal encoder (cfg['causal'] = True)")
        enc = Encoder(cfg)
        self.cfg = enc.cfg
        self.stem, self.backbone = enc.stem, enc.backbone
        d = cfg["d_model"]
        self.ssl = nn.Module()
        self.ssl.cpc = nn.Module()
        self.ssl.cpc.proj = nn.Linear(d, d, bias=False)
        self.k, self.K = steps_ahead, negatives

    def tokens(self, x):
        """(z, c): stem output tokens and backbone output tokens, both (B, T, d)."""
        for block in self.stem:
            x = block(x)
        z = x.transpose(1, 2)
        return z, self.backbone(z)

    def forward(self, x, idx=None, generator=None):
        z, c = self.tokens(x)
        if idx is None:
            idx = sample_negatives(z.shape[0], z.shape[1], self.k, self.K, generator, z.device)
        return cpc_loss(self.ssl.cpc.proj(c), z, idx, self.k)

"""peer_pretrain_torch.py — the PyTorch peer of bench_pretrain.c: CPC training steps (SPEC §2) at
batch 32 with the paper-size causal S4 reference encoder (tests/parity/ref_encoder.py) and the CPC
reference loss (tests/parity/ref_ssl_cpc.py), AdamW with the study's lr groups, float32.

Prints "peer cpc_pretrain_b32 <windows/s>" (median step) for bench_pretrain.c to read."""
import argparse
import os
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "parity"))
from ref_encoder import default_config  # noqa: E402
from ref_ssl_cpc import CPCModel  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--batch", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = default_config("s4")
    cfg["causal"] = True
    model = CPCModel(cfg).float().train()
    lr = 3e-3
    groups = [
        {"params": list(model.stem.parameters()), "lr": lr * 0.01},
        {"params": list(model.backbone.parameters()), "lr": lr * 0.1},
        {"params": list(model.ssl.parameters()), "lr": lr},
    ]
    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=1e-3)
    B = a.batch
    x = 0.2 * torch.randn(B, 12, 600)

    def step():
        opt.zero_grad(set_to_none=False)
        loss, _ = model(x)
        loss.backward()
        opt.step()

    step()  # first call: allocations settle
    ts, start = [], time.perf_counter()
    while len(ts) < 3 or time.perf_counter() - start < a.seconds:
        t0 = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t0)
    print(f"peer: torch {torch.__version__}, {torch.get_num_threads()} threads, {len(ts)} steps")
    print(f"peer cpc_pretrain_b{B} {B / statistics.median(ts):.6g}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()

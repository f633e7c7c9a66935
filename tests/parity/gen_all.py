"""gen_all.py OUTDIR — run every tests/parity/gen_*.py module's generate(outdir).

Each module builds PyTorch reference modules with fixed seeds and writes <name>.safetensors
fixtures of inputs, weights, outputs and gradients for the C tests to compare against."""
import importlib
import os
import pathlib
import sys

import torch


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build/fixtures")
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    here = pathlib.Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    only = set(sys.argv[2:])
    for p in sorted(here.glob("gen_*.py")):
        if p.stem == "gen_all" or (only and p.stem not in only):
            continue
        mod = importlib.import_module(p.stem)
        torch.manual_seed(0)
        mod.generate(str(out))
        print(f"fixtures: {p.stem} -> {out}", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()

"""check_c_checkpoint.py CKPT EMB [CKPT EMB ...] — load checkpoints written by the C encoder into the
PyTorch reference (ref_encoder.Encoder) and compare embeddings.

CKPT: a safetensors checkpoint from checkpoint_save (config in the ecgfm.encoder.* metadata).
EMB: a safetensors file from the C test with "x" (B, in_channels, in_samples) and "embedding"
(B, d_model), the C encoder's eval-mode output for x. The reference is built from the config alone,
loads the state dict strictly (num_batches_tracked included; tensors outside the encoder, such as
a training head, are reported and ignored), runs in float64, eval mode, and must match with
nmse < 1e-8. Exit status 0 when every pair matches, 1 otherwise."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402
from ref_encoder import Encoder, config_from_metadata  # noqa: E402

TOL = 1e-8


def check(ckpt, embfile):
    tensors, meta = st.load(ckpt)
    if meta.get("format") != "pt":
        print(f"{ckpt}: metadata lacks format=pt")
        return False
    cfg = config_from_metadata(meta)
    model = Encoder(cfg)
    want = model.state_dict()
    extra = sorted(set(tensors) - set(want))
    if extra:
        print(f"{ckpt}: ignoring {len(extra)} tensors outside the encoder: {extra[:4]}")
    state = {k: torch.from_numpy(v) for k, v in tensors.items() if k in want}
    model.load_state_dict(state, strict=True)
    data, _ = st.load(embfile)
    model = model.double().eval()
    with torch.no_grad():
        _, emb = model(torch.from_numpy(data["x"]).double())
    ref = emb.numpy()
    got = data["embedding"].astype(np.float64)
    nmse = float(((got - ref) ** 2).sum() / (ref ** 2).sum())
    nbt = {k: int(v) for k, v in tensors.items() if k.endswith("num_batches_tracked")}
    print(f"{os.path.basename(ckpt)}: backbone {cfg['backbone']}, d_model {cfg['d_model']}, "
          f"{len(state)} tensors, num_batches_tracked {sorted(set(nbt.values()))}, "
          f"embedding nmse vs PyTorch {nmse:.3e}")
    return nmse < TOL


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    ok = True
    for i in range(0, len(argv), 2):
        try:
            ok = check(argv[i], argv[i + 1]) and ok
        except Exception as e:  # report and keep checking the others
            print(f"{argv[i]}: {type(e).__name__}: {e}")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""gen_safetensors.py — a file written by the Python side, so the C reader is tested on bytes it
did not write itself (dtypes, metadata with escapes, non-ASCII names, padding)."""
import os

import numpy as np

import st


def generate(outdir):
    t = {
        "a.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b.count": np.array(7, dtype=np.int64),
        "c\u00e9.bias": np.array([1.5, -2.25], dtype=np.float32),
        "d.empty": np.zeros((0, 4), dtype=np.float32),
        "e.i16": np.array([-3, 4, 32767], dtype=np.int16),
    }
    st.save(os.path.join(outdir, "safetensors.safetensors"), t,
            {"note": 'quote " backslash \\ tab \t', "config.d_model": "64"})

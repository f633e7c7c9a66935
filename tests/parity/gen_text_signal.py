"""gen_text_signal.py — CSV and .npy files written by numpy and Python's csv module from a real
record, for core/data/text_signal.c: the C readers are tested on bytes they did not write.

The record is PTB-XL HR06000 as re-released by CinC 2021 (tests/data/ecg/cinc2021, 500 Hz,
1000 adu/mV), first 1000 samples of its 12 leads. text_signal.safetensors holds the expected
[12][1000] millivolts ("x") and the raw int16 ("raw"); the other files sit beside it."""
import csv
import os
import pathlib

import numpy as np

import st

ROOT = pathlib.Path(__file__).resolve().parents[2]
LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def generate(outdir):
    raw = np.fromfile(ROOT / "tests/data/ecg/cinc2021/HR06000.mat", dtype="<i2", offset=24)
    raw = raw.reshape(-1, 12).T[:, :1000].copy()  # [12][1000]
    x = (raw / 1000.0).astype(np.float32)
    d = pathlib.Path(outdir) / "text_signal"
    d.mkdir(parents=True, exist_ok=True)
    np.save(d / "f4_c_leads.npy", x)                                     # (12, 1000) C
    np.save(d / "f8_f_samples.npy", np.asfortranarray(x.T.astype(np.float64)))  # (1000, 12) F
    np.save(d / "i2_c_samples.npy", np.ascontiguousarray(raw.T))         # (1000, 12) int16
    np.save(d / "f4_f_leads_be.npy", np.asfortranarray(x.astype(">f4")))  # big-endian, F
    np.save(d / "f4_lead2.npy", x[1])                                     # 1-D
    with open(d / "f4_v2.npy", "wb") as f:                                # format version 2.0
        np.lib.format.write_array(f, x, version=(2, 0))
    # CSV as an export tool writes it: time in seconds, lead names, 3 decimals (exact here).
    with open(d / "time_s.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time"] + LEADS)
        for i in range(1000):
            w.writerow([f"{i / 500:.4f}"] + [f"{v:.3f}" for v in raw[:, i] / 1000.0])
    # Semicolons, quoted names, a millisecond time column, CRLF, a comment line.
    with open(d / "time_ms.csv", "w", newline="") as f:
        f.write("# exported by a test\r\n")
        w = csv.writer(f, delimiter=";", quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
        w.writerow(["Time (ms)"] + ["lead " + n for n in LEADS])
        for i in range(1000):
            w.writerow([i * 2.0] + [float(f"{v:.3f}") for v in raw[:, i] / 1000.0])
    # No header, no time: fs and names from the caller; values in microvolts.
    np.savetxt(d / "bare_uv.csv", raw.T, fmt="%d", delimiter=",")
    st.save(os.path.join(outdir, "text_signal.safetensors"), {"x": x, "raw": raw})

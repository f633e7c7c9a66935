"""gen_resample.py — scipy references for core/data/resample.c, written to resample.safetensors.

Inputs are real ECG channels read with numpy from tests/data/ecg: PTB-XL record HR06000 as
re-released by CinC 2021 (500 Hz, WFDB-in-MAT: format 16 after a 24-byte header, 12 channels
interleaved, 1000 adu/mV) and MIT-BIH record 100 (360 Hz, format 212, 200 adu/mV). References are
computed in float64 (the float32 input cast up) and stored as float32:
  h_<up>_<down>   firwin taps of resample_poly's default design, times up
  y_<in>_<out>    scipy.signal.resample_poly(x, up, down, axis=-1) for every ratio the service uses
  y_3597_2400     resample_poly(x, 800, 1199): 359.7 -> 240 Hz, which the C code takes through the
                  sinc path (the same kernel evaluated at exact fractional positions)
  hp_500, notch_500  filtfilt with butter(2, 0.5 Hz, highpass) and iirnotch(50 Hz, Q 30) at 500 Hz
  lin_150_600     torch.nn.functional.interpolate(linear, align_corners=False), 150 -> 600 samples"""
import os
import pathlib

import numpy as np
import scipy.signal as ss
import torch

import st

ROOT = pathlib.Path(__file__).resolve().parents[2]
ECG = ROOT / "tests" / "data" / "ecg"

# (name, fs_in, fs_out); the factors are reduced by their gcd as scipy does.
RATIOS = [("500_240", 500, 240), ("400_240", 400, 240), ("1000_240", 1000, 240),
          ("250_240", 250, 240), ("128_240", 128, 240), ("360_240", 360, 240)]


def read_cinc_mat(path, n_ch=12):
    raw = np.fromfile(path, dtype="<i2", offset=24)
    return (raw.reshape(-1, n_ch).T / 1000.0).astype(np.float32)  # [12][5000] mV


def read_212(path, n_ch, n_samples, gain, baseline):
    b = np.fromfile(path, dtype=np.uint8, count=(n_ch * n_samples * 3) // 2).astype(np.int32)
    b = b.reshape(-1, 3)
    s0 = b[:, 0] | ((b[:, 1] & 0x0F) << 8)
    s1 = b[:, 2] | ((b[:, 1] & 0xF0) << 4)
    s = np.stack([s0, s1], axis=1).reshape(-1)
    s = np.where(s >= 2048, s - 4096, s)
    return ((s.reshape(-1, n_ch).T - baseline) / gain).astype(np.float32)


def generate(outdir):
    x500 = read_cinc_mat(ECG / "cinc2021" / "HR06000.mat")[[1, 7]]  # leads II and V2
    x360 = read_212(ECG / "mitdb" / "100.dat", 2, 3600, 200.0, 1024)[:1]  # MLII, 10 s
    out = {"x500": x500, "x360": x360}
    for name, fin, fout in RATIOS:
        x = x360 if fin == 360 else x500
        g = np.gcd(fin, fout)
        up, down = fout // g, fin // g
        out["y_" + name] = ss.resample_poly(x.astype(np.float64), up, down, axis=-1)
        m = max(up, down)
        out[f"h_{up}_{down}"] = ss.firwin(2 * 10 * m + 1, 1.0 / m, window=("kaiser", 5.0)) * up
    out["y_3597_2400"] = ss.resample_poly(x500.astype(np.float64), 800, 1199, axis=-1)
    b, a = ss.butter(2, 0.5, "highpass", fs=500.0)
    out["hp_500"] = ss.filtfilt(b, a, x500.astype(np.float64), axis=-1)
    out["hp_ba"] = np.concatenate([b, a])
    b, a = ss.iirnotch(50.0, 30.0, fs=500.0)
    out["notch_500"] = ss.filtfilt(b, a, x500.astype(np.float64), axis=-1)
    out["notch_ba"] = np.concatenate([b, a])
    seg = torch.from_numpy(x500[:, 1000:1150].copy()).double()[None]
    out["lin_in"] = x500[:, 1000:1150]
    out["lin_150_600"] = torch.nn.functional.interpolate(
        seg, size=600, mode="linear", align_corners=False)[0].numpy()
    st.save(os.path.join(outdir, "resample.safetensors"), out)

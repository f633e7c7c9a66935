#!/usr/bin/env python3
"""make_corpus.py — writes the bad-input corpus of test_api_badinput beside itself: truncated and
corrupt files of every upload format, each small. Run from anywhere; the files are committed."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")


def put(name, data):
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def src(rel):
    with open(os.path.join(ROOT, rel), "rb") as f:
        return f.read()


# ---- WFDB: record "r", one lead, 1000 samples of format 16 (r.dat: 2000 zero bytes) ----
SIG = "r.dat 16 200 16 0 0 0 0 II\n"
put("wfdb/r.dat", bytes(2000))
put("wfdb/trunc_hea/r.hea", "r 1 100 1000\nr.dat 16 20")
put("wfdb/fewer_sigs/r.hea", "r 12 100 1000\n" + SIG * 2)
put("wfdb/neg_fs/r.hea", "r 1 -100 1000\n" + SIG)
put("wfdb/huge_fs/r.hea", "r 1 1e400 1000\n" + SIG)
put("wfdb/huge_nsamp/r.hea", "r 1 100 99999999999999999999\n" + SIG)
put("wfdb/huge_nsig/r.hea", "r 99999 100 1000\n" + SIG)
put("wfdb/bad_fmt/r.hea", "r 1 100 1000\nr.dat 999 200 16 0 0 0 0 II\n")
put("wfdb/traversal/r.hea", "r 1 100 1000\n../../../etc/passwd 16 200 16 0 0 0 0 II\n")
put("wfdb/abs_path/r.hea", "r 1 100 1000\n/etc/passwd 16 200 16 0 0 0 0 II\n")
put("wfdb/garbage/r.hea", bytes(range(256)))
put("wfdb/text_nums/r.hea", "r one hundred Hz\n" + SIG)
put("wfdb/long_sig/r.hea", "r 1 100 5000\n" + SIG)  # .dat holds 1000 samples, header says 5000
# the real PTB-XL record's .dat cut in half (its own header names 00001_lr.dat)
put("wfdb/half_dat/00001_lr.dat", src("tests/data/ecg/ptbxl/00001_lr.dat")[:12000])
put("wfdb/odd_dat/00001_lr.dat", src("tests/data/ecg/ptbxl/00001_lr.dat")[:11999])


# ---- EDF: one signal, one 1 s record at 100 Hz, built field by field, then broken ----
def edf(ns="1", nrec="1", hdr_bytes=None, spr="100", dmin="-32768", dmax="32767", pmin="-5",
        pmax="5", version="0", samples=None, dur="1"):
    def f(s, n):
        return s.encode().ljust(n)[:n]
    nsi = int(ns) if ns.lstrip("-").isdigit() else 1
    nsi = max(min(nsi, 1), 0) or 1
    hb = hdr_bytes if hdr_bytes is not None else str(256 + 256 * nsi)
    h = (f(version, 8) + f("X X X X", 80) + f("Startdate X X X X", 80) + f("01.01.01", 8) +
         f("00.00.00", 8) + f(hb, 8) + f("", 44) + f(nrec, 8) + f(dur, 8) + f(ns, 4))
    h += (f("ECG II", 16) + f("AgAgCl", 80) + f("mV", 8) + f(pmin, 8) + f(pmax, 8) + f(dmin, 8) +
          f(dmax, 8) + f("", 80) + f(spr, 8) + f("", 32))
    body = samples if samples is not None else struct.pack("<100h", *([0, 100, 200, 100] * 25))
    return h + body


put("edf/ok.edf", edf())
put("edf/trunc_header.edf", edf()[:200])
put("edf/trunc_data.edf", edf()[:600])
put("edf/ns_negative.edf", edf(ns="-1"))
put("edf/ns_huge.edf", edf(ns="9999"))
put("edf/ns_text.edf", edf(ns="ab"))
put("edf/hdr_bytes_wrong.edf", edf(hdr_bytes="999999"))
put("edf/nrec_huge.edf", edf(nrec="99999999"))
put("edf/spr_zero.edf", edf(spr="0"))
put("edf/spr_huge.edf", edf(spr="99999999"))
put("edf/dig_min_eq_max.edf", edf(dmin="5", dmax="5"))
put("edf/phys_nan.edf", edf(pmin="nan", pmax="inf"))
put("edf/version_bad.edf", edf(version="PK\x03\x04"))
put("edf/duration_zero.edf", edf(dur="0"))
put("edf/real_trunc.edf", src("tests/data/ecg/edf/test_edfann.edf")[:3000])

# ---- CSV ----
put("csv/trunc_row.csv", "time,I,II\n0,1,2\n0.01,3")
put("csv/text_cells.csv", "I,II\n1,abc\n2,def\n")
put("csv/header_only.csv", "I,II,III\n")
put("csv/nan_inf.csv", "I,II\nNaN,Infinity\n-Infinity,nan\n1,2\n")
put("csv/huge.csv", "I,II\n1e400,2\n3,-1e400\n")
put("csv/binary.csv", bytes((i * 37 + 11) % 256 for i in range(512)))
put("csv/empty.csv", "")
put("csv/only_commas.csv", ",,,\n,,,\n")
put("csv/utf16.csv", "I,II\n1,2\n3,4\n".encode("utf-16"))
put("csv/wide_row.csv", "I\n" + ",".join(["1"] * 2000) + "\n")


# ---- npy ----
def npy(header, data=b"", magic=b"\x93NUMPY", ver=b"\x01\x00", hlen=None):
    h = header.encode()
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b" " * (pad % 64) + b"\n"
    n = len(h) if hlen is None else hlen
    return magic + ver + struct.pack("<H", n) + h + data


F4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 100), }"
DATA = struct.pack("<200f", *([0.1] * 200))
put("npy/ok.npy", npy(F4, DATA))
put("npy/bad_magic.npy", npy(F4, DATA, magic=b"\x93NUMPZ"))
put("npy/trunc_header.npy", npy(F4, DATA)[:30])
put("npy/trunc_data.npy", npy(F4, DATA[:100]))
put("npy/hlen_huge.npy", npy(F4, DATA, hlen=65535))
put("npy/complex.npy", npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 100), }", DATA * 2))
put("npy/object.npy", npy("{'descr': '|O', 'fortran_order': False, 'shape': (2, 100), }", DATA))
put("npy/shape_neg.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 100), }", DATA))
put("npy/shape_huge.npy",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", DATA))
put("npy/shape_3d.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 10, 10), }", DATA))
put("npy/header_garbage.npy", npy("{'descr': [1, 2", DATA))
put("npy/version9.npy", npy(F4, DATA, ver=b"\x09\x00"))
F12 = "{'descr': '<f4', 'fortran_order': False, 'shape': (12, 250), }"
put("npy/nan.npy", npy(F12, struct.pack("<3000f", *([float("nan")] * 3000))))
put("npy/inf.npy", npy(F12, struct.pack("<3000f", *([float("inf")] * 3000))))
put("npy/ok12.npy", npy(F12, struct.pack("<3000f", *([0.1] * 3000))))

# ---- JSON bodies that are easier as files ----
put("json/deep.json", "[" * 5000 + "]" * 5000)
put("json/deep_batch.json", '{"records": [' + "[" * 5000 + "]" * 5000 + "]}")
put("json/bom.json", b"\xef\xbb\xbf" + b'{"signal": [[1,2]], "fs": 500, "leads": ["I"]}')
put("json/bad_utf8.json", b'{"signal": [[1,2]], "fs": 500, "leads": ["\xff\xfe"]}')
put("json/nul_in_string.json", b'{"signal": [[1,2]], "fs": 500, "leads": ["I\\u0000"]}')
put("json/trunc.json", '{"signal": [[0.1, 0.2, 0.3], [0.1, 0.2')
put("json/many_leads.json",
    '{"signal": [' + ",".join(["[1,2]"] * 300) + '], "fs": 500, "leads": [' +
    ",".join(['"I"'] * 300) + "]}")

# ---- safetensors (checkpoint uploads) ----
def st(header, data=b"", hlen=None):
    h = header.encode()
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


put("safetensors/trunc_len.safetensors", b"\x10\x00\x00")
put("safetensors/hlen_huge.safetensors", st("{}", hlen=(1 << 63) - 1))
put("safetensors/hlen_past_end.safetensors", st('{"a":1}', hlen=4096))
put("safetensors/bad_json.safetensors", st('{"w": {"dtype": "F32", "shape": [2], '))
put("safetensors/offsets_oob.safetensors",
    st('{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}', b"\0" * 8))
put("safetensors/dtype_bad.safetensors",
    st('{"w": {"dtype": "Q99", "shape": [2], "data_offsets": [0, 8]}}', b"\0" * 8))
put("safetensors/shape_mismatch.safetensors",
    st('{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}', b"\0" * 8))
put("safetensors/not_a_model.safetensors",
    st('{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', b"\0" * 8))

# ---- UCR/UEA task files ----
put("ucr/ts_no_data.ts", "@problemName X\n@timeStamps false\n@univariate true\n@classLabel true a b\n")
put("ucr/ts_bad_values.ts",
    "@problemName X\n@timeStamps false\n@univariate true\n@classLabel true a b\n@data\n1,2,x:a\n")
put("ucr/ts_bad_label.ts",
    "@problemName X\n@timeStamps false\n@univariate true\n@classLabel true a b\n@data\n1,2,3:zzz\n")
put("ucr/ts_trunc.ts", src("tests/data/ucr_uea/ItalyPowerDemand/ItalyPowerDemand_TRAIN.ts")[:700])
put("ucr/arff_trunc.arff", src("tests/data/ucr_uea/ItalyPowerDemand/ItalyPowerDemand_TRAIN.arff")[:900])
put("ucr/arff_bad_attr.arff", "@relation x\n@attribute a wibble\n@data\n1\n")
put("ucr/arff_no_data.arff", "@relation x\n@attribute a numeric\n@attribute class {p,q}\n")
put("ucr/tsv_label_only.tsv", "1\n2\t0.1\t0.2\n")
put("ucr/tsv_text.tsv", "1\tabc\tdef\n2\t0.1\t0.2\n")
put("ucr/tsv_empty_values.tsv", "1\t\t\n2\t0.1\t0.2\n")

#!/bin/sh
# blas_coretype.sh — the OpenBLAS kernel family this CPU supports, for OPENBLAS_CORETYPE.
# Debian 12's OpenBLAS (0.3.21) does not recognise recent Xeons and falls back to its 2004-era
# "Prescott" kernels, 3-5x slower; naming the family it does know fixes that. Prints nothing when
# unsure, so OpenBLAS's own detection stays in charge.
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { case " $flags " in *" $1 "*) return 0;; esac; return 1; }
if has avx512f && has avx512bw && has avx512vl && has avx512dq && has avx512cd; then
    echo SkylakeX
elif has avx2 && has fma; then
    echo Haswell
fi

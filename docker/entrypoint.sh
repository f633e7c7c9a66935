#!/bin/sh
# entrypoint.sh — start ecgfm with OPENBLAS_CORETYPE set for the CPU the container runs on (Debian's
# OpenBLAS 0.3.21 misdetects recent CPUs and falls back to slow kernels; `make` does the same for
# local runs). An OPENBLAS_CORETYPE given to `docker run -e` wins.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    OPENBLAS_CORETYPE=$(/usr/local/lib/ecgfm/blas_coretype.sh)
    [ -n "$OPENBLAS_CORETYPE" ] && export OPENBLAS_CORETYPE
fi
exec /usr/local/bin/ecgfm "$@"

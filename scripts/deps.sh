#!/bin/sh
# deps.sh [--build-only] — install the Debian 12 packages ecgfm needs to build, test and run, if any
# are missing. Only apt-get, only Debian packages; nothing is downloaded at run time.
# --build-only: just what compiling build/ecgfm needs (the Docker image's build stage); the default
# adds the test tools (cmocka, PyTorch for parity fixtures, clang for fuzzing, curl, wrk for the
# embedding load bench).
# gcc's ASan/UBSan runtimes (libasan8, libubsan1) come with gcc-12 through build-essential.
set -eu
BUILD_PKGS="build-essential pkg-config libmicrohttpd-dev libjansson-dev libopenblas-openmp-dev libuv1-dev
libfftw3-dev libsqlite3-dev libsodium-dev libedf-dev libhdf5-dev"
TEST_PKGS="libcmocka-dev python3 python3-torch python3-numpy python3-scipy python3-sklearn curl clang libclang-rt-14-dev
wrk"
case "${1:-}" in
    "") PKGS="$BUILD_PKGS $TEST_PKGS" ;;
    --build-only) PKGS="$BUILD_PKGS" ;;
    *) echo "usage: scripts/deps.sh [--build-only]" >&2; exit 2 ;;
esac
command -v dpkg-query >/dev/null || { echo "deps: needs Debian 12 (dpkg/apt-get)" >&2; exit 1; }
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: run as root or install sudo; missing:$missing" >&2; exit 1; }
    SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing

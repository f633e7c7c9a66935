#!/bin/sh
# deps.sh — install the Debian 12 packages ecgfm needs to build, test and run, if any are missing.
# Only apt-get, only Debian packages; nothing is downloaded at run time.
set -eu
PKGS="build-essential pkg-config libmicrohttpd-dev libjansson-dev libopenblas-dev libuv1-dev
libfftw3-dev libsqlite3-dev libcmocka-dev python3 python3-torch python3-numpy curl
clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing

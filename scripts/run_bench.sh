#!/bin/sh
# run_bench.sh BUILD — run every benchmark binary (BUILD/bench/bench_*) one after another, each with a
# timeout, and keep a copy of the output in BUILD/bench/<name>.log. Numbers are reported, not judged;
# only a benchmark that crashes or times out makes this fail.
set -u
BUILD=${1:-build}
TIMEOUT=${ECGFM_BENCH_TIMEOUT:-600}
found=0; failed=""
for b in "$BUILD"/bench/bench_*; do
    [ -x "$b" ] || continue
    case "$b" in *.d|*.o|*.log) continue;; esac
    found=$((found + 1))
    name=$(basename "$b")
    echo "== $name"
    timeout "$TIMEOUT" "$b" >"$BUILD/bench/$name.log" 2>&1
    rc=$?
    cat "$BUILD/bench/$name.log"
    [ "$rc" -eq 0 ] || { echo "$name: exit status $rc"; failed="$failed $name"; }
done
[ "$found" -gt 0 ] || echo "no benchmarks built in $BUILD/bench"
[ -z "$failed" ] || { echo "failed:$failed"; exit 1; }

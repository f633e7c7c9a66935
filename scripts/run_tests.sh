#!/bin/sh
# run_tests.sh BUILD — run every unit test binary in its own process with a timeout (as libuv does),
# so one crash cannot hide the others, ECGFM_TEST_JOBS at a time (default 2, one per core); print a
# count CI can read.
set -u
BUILD=${1:-build}
export ECGFM_FIXTURES=${ECGFM_FIXTURES:-$BUILD/fixtures}
export ECGFM_TEST_TIMEOUT=${ECGFM_TEST_TIMEOUT:-300}
JOBS=${ECGFM_TEST_JOBS:-2}
rm -f "$BUILD"/tests/*.status
# Longest first (by the last run's time when known), so the slow tests do not start last.
ls "$BUILD"/tests/test_* 2>/dev/null | grep -v '\.\(d\|o\|log\|status\|time\)$' |
    while read -r t; do
        last=$(cat "$t.time" 2>/dev/null || echo 0)
        echo "$last $t"
    done | sort -rn | cut -d' ' -f2 |
    xargs -P "$JOBS" -n 1 sh -c '
        t=$1; name=$(basename "$t"); start=$(date +%s)
        if timeout "$ECGFM_TEST_TIMEOUT" "$t" >"$t.log" 2>&1; then s=ok; else s=FAIL; fi
        took=$(( $(date +%s) - start )); echo "$took" >"$t.time"; echo "$s" >"$t.status"
        echo "$s $name (${took}s)"
        [ "$s" = FAIL ] && tail -n 30 "$t.log"
        exit 0' sh
pass=$(cat "$BUILD"/tests/*.status 2>/dev/null | grep -c '^ok$' || true)
fail=$(cat "$BUILD"/tests/*.status 2>/dev/null | grep -c '^FAIL$' || true)
failed=$(grep -l '^FAIL$' "$BUILD"/tests/*.status 2>/dev/null | xargs -r -n 1 basename | sed 's/\.status$//' | tr '\n' ' ')
cases=$(cat "$BUILD"/tests/*.log 2>/dev/null | grep -c '^\[       OK \]' || true)
echo "tests: $pass binaries passed, $fail failed, $cases cmocka cases ok"
[ "$fail" -eq 0 ] || { echo "failed: $failed"; exit 1; }

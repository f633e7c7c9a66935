#!/bin/sh
# run_tests.sh BUILD — run every unit test binary in its own process with a timeout (as libuv does),
# so one crash cannot hide the others; print a count CI can read.
set -u
BUILD=${1:-build}
export ECGFM_FIXTURES=${ECGFM_FIXTURES:-$BUILD/fixtures}
TIMEOUT=${ECGFM_TEST_TIMEOUT:-300}
pass=0; fail=0; failed=""
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d|*.o) continue;; esac
    name=$(basename "$t")
    start=$(date +%s)
    if timeout "$TIMEOUT" "$t" >"$BUILD/tests/$name.log" 2>&1; then
        pass=$((pass + 1)); status=ok
    else
        fail=$((fail + 1)); status=FAIL; failed="$failed $name"
    fi
    echo "$status $name ($(( $(date +%s) - start ))s)"
    [ "$status" = FAIL ] && tail -n 30 "$BUILD/tests/$name.log"
done
cases=$(cat "$BUILD"/tests/*.log 2>/dev/null | grep -c '^\[       OK \]' || true)
echo "tests: $pass binaries passed, $fail failed, $cases cmocka cases ok"
[ "$fail" -eq 0 ] || { echo "failed:$failed"; exit 1; }

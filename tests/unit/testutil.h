/* testutil.h — what every unit test shares: cmocka, seeded random arrays, normalised MSE against a
 * reference, finite-difference gradient checks, and PyTorch fixtures read from safetensors files. */
#ifndef ECGFM_TESTUTIL_H
#define ECGFM_TESTUTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/rng.h"
#include "core/base/threads.h"
#include "core/format/safetensors.h"

/* Test binaries run by hand get the same OpenBLAS kernels as under make (and as ecgfm itself):
 * OpenBLAS reads OPENBLAS_CORETYPE when it is loaded, so re-execute once with it set. */
__attribute__((constructor)) static void tu_blas_reexec(void) {
    static char buf[8192];
    static char *argv[64];
    FILE *f = fopen("/proc/self/cmdline", "rb");
    if (!f) return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    int argc = 0;
    for (size_t i = 0; i < n && argc < 63; i += strlen(buf + i) + 1) argv[argc++] = buf + i;
    argv[argc] = NULL;
    if (argc > 0) threads_blas_reexec(argv);
}

/* n floats from a seeded normal, scaled. */
static inline float *tu_randn(size_t n, uint64_t seed, float scale) {
    rng_state r;
    rng_seed(&r, seed);
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) x[i] = scale * rng_normal(&r);
    return x;
}

static inline float *tu_zeros(size_t n) {
    float *x = calloc(n ? n : 1, sizeof *x);
    assert_non_null(x);
    return x;
}

/* Normalised mean squared error: sum (a - ref)^2 / sum ref^2 (plain sum when ref is all zeros). */
static inline double tu_nmse(const float *a, const float *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? num / den : num;
}

static inline double tu_dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Finite-difference check of an analytic gradient. loss(ctx) recomputes a scalar from the current
 * contents of x (float forward, double accumulation). Checks `checks` coordinates spread over x
 * (all of them when checks >= n) with central differences of step eps, and returns the largest
 * error |fd - g| / max(|fd| + |g|, floor). The caller asserts it against its tolerance. */
static inline double tu_fd_check(double (*loss)(void *ctx), void *ctx, float *x, const float *grad,
                                 size_t n, size_t checks, float eps, double floor) {
    double worst = 0;
    size_t step = checks >= n ? 1 : n / checks;
    for (size_t i = 0; i < n; i += step) {
        float keep = x[i];
        x[i] = keep + eps;
        double lp = loss(ctx);
        x[i] = keep - eps;
        double lm = loss(ctx);
        x[i] = keep;
        double fd = (lp - lm) / (2.0 * (double)eps);
        double denom = fabs(fd) + fabs((double)grad[i]);
        if (denom < floor) denom = floor;
        double e = fabs(fd - grad[i]) / denom;
        if (e > worst) worst = e;
    }
    return worst;
}

/* A fresh temporary directory for a test group, removed with everything in it afterwards:
 * cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown). */
static char tu_tmpdir[] = "/tmp/ecgfm_test_XXXXXX";

static inline int tu_tmpdir_setup(void **state) {
    (void)state;
    return mkdtemp(tu_tmpdir) ? 0 : -1;
}

static inline int tu_tmpdir_teardown(void **state) {
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tu_tmpdir);
    return system(cmd);
}

/* Test data lives in the repository (never in /work/shared): $ECGFM_TEST_DATA or tests/data. */
static inline void tu_data_path(char *buf, size_t cap, const char *rel) {
    const char *d = getenv("ECGFM_TEST_DATA");
    snprintf(buf, cap, "%s/ecg/%s", d ? d : "tests/data", rel);
}

/* The whole file, malloc'd and NUL-terminated; *len its size. Fails the test when unreadable. */
static inline uint8_t *tu_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n + 1 : 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n > 0 ? n : 0] = 0;
    *len = (size_t)n;
    return b;
}

/* Fixtures: $ECGFM_FIXTURES/<name>.safetensors, written by tests/parity/gen_all.py. */
static inline void tu_fixture_open(st_file *f, const char *name) {
    const char *dir = getenv("ECGFM_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir ? dir : "build/fixtures", name);
    ecg_err err = {0};
    if (st_read_file(f, path, &err) != ECG_OK) fail_msg("fixture %s: %s", path, err.msg);
}

/* A float32 tensor from a fixture, copied into fresh memory; *count receives its element count. */
static inline float *tu_fixture_f32(const st_file *f, const char *name, size_t *count) {
    const st_tensor *t = st_find(f, name);
    if (!t) fail_msg("fixture tensor %s missing", name);
    if (t->dtype != ST_F32) fail_msg("fixture tensor %s is not F32", name);
    size_t n = t->nbytes / 4;
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    memcpy(x, f->payload + t->offset, t->nbytes);
    if (count) *count = n;
    return x;
}

#endif

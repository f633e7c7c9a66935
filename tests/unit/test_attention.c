/* test_attention.c — multi-head self-attention with RoPE: finite differences of the backward,
 * PyTorch parity of output and dqkv, causality, and same bits whatever the thread count. */
#include "core/nn/attention.h"

#include <cblas.h>
#include <omp.h>

#include "testutil.h"

/* FD tolerance on max |fd - g| / max(|fd| + |g|, floor). The forward is float, so the central
 * difference carries ~5e-5 of absolute noise at step 1e-2 (measured); gradients are O(0.1..1). */
#define FD_EPS 1e-2f
#define FD_FLOOR 1e-2
#define FD_TOL 2e-2

typedef struct {
    int B, T, nh, hd, causal;
    float base;
    float *qkv, *r, *out, *cache;
} att_case;

static size_t case_in(const att_case *c) {
    return (size_t)c->B * c->T * 3 * c->nh * c->hd;
}
static size_t case_out(const att_case *c) {
    return (size_t)c->B * c->T * c->nh * c->hd;
}

static void case_init(att_case *c, int B, int T, int nh, int hd, float base, int causal,
                      uint64_t seed) {
    *c = (att_case){.B = B, .T = T, .nh = nh, .hd = hd, .causal = causal, .base = base};
    c->qkv = tu_randn(case_in(c), seed, 1.0f);
    c->r = tu_randn(case_out(c), seed + 1, 1.0f);
    c->out = tu_zeros(case_out(c));
    c->cache = tu_zeros(attention_cache_floats(B, T, nh, hd));
}

static void case_free(att_case *c) {
    free(c->qkv);
    free(c->r);
    free(c->out);
    free(c->cache);
}

static void case_forward(att_case *c) {
    attention_forward(c->out, c->cache, c->qkv, c->B, c->T, c->nh, c->hd, c->base, c->causal);
}

/* loss = sum(out * r), so dout = r. */
static double case_loss(void *ctx) {
    att_case *c = ctx;
    case_forward(c);
    return tu_dot(c->out, c->r, case_out(c));
}

/* Worst FD error of dqkv for one configuration; the backward runs with bwd_base (normally the
 * forward's base: a different one must make the check fail). */
static double fd_case(int B, int T, int nh, int hd, float base, int causal, float bwd_base,
                      size_t checks) {
    att_case c;
    case_init(&c, B, T, nh, hd, base, causal, 1000 + 10 * T + hd + causal);
    float *dqkv = tu_zeros(case_in(&c));
    case_forward(&c);
    attention_backward(dqkv, c.r, c.qkv, c.cache, B, T, nh, hd, bwd_base, causal);
    double worst = tu_fd_check(case_loss, &c, c.qkv, dqkv, case_in(&c), checks, FD_EPS, FD_FLOOR);
    printf("fd B=%d T=%d nh=%d hd=%d base=%g causal=%d (bwd base %g): worst %.3g\n", B, T, nh, hd,
           base, causal, bwd_base, worst);
    free(dqkv);
    case_free(&c);
    return worst;
}

static void test_fd_bidir_rope(void **state) {
    (void)state;
    assert_true(fd_case(2, 5, 2, 4, 10000.f, 0, 10000.f, SIZE_MAX) < FD_TOL);
    assert_true(fd_case(2, 8, 2, 8, 10000.f, 0, 10000.f, SIZE_MAX) < FD_TOL);
}

static void test_fd_causal_rope(void **state) {
    (void)state;
    assert_true(fd_case(2, 7, 2, 6, 10000.f, 1, 10000.f, SIZE_MAX) < FD_TOL);
    assert_true(fd_case(2, 9, 2, 8, 100.f, 1, 100.f, SIZE_MAX) < FD_TOL);
}

static void test_fd_bidir_plain(void **state) {
    (void)state;
    assert_true(fd_case(2, 6, 2, 4, 0.f, 0, 0.f, SIZE_MAX) < FD_TOL);
    assert_true(fd_case(2, 9, 2, 5, 0.f, 0, 0.f, SIZE_MAX) < FD_TOL);
}

static void test_fd_causal_plain(void **state) {
    (void)state;
    assert_true(fd_case(2, 5, 2, 8, 0.f, 1, 0.f, SIZE_MAX) < FD_TOL);
    assert_true(fd_case(2, 8, 2, 7, 0.f, 1, 0.f, SIZE_MAX) < FD_TOL);
}

/* T = 75 spans several row blocks of the implementation, the last one partial. */
static void test_fd_many_blocks(void **state) {
    (void)state;
    assert_true(fd_case(1, 75, 2, 4, 10000.f, 1, 10000.f, 600) < FD_TOL);
    assert_true(fd_case(1, 75, 2, 4, 10000.f, 0, 10000.f, 600) < FD_TOL);
}

/* The check has teeth: a backward that forgets RoPE is caught. */
static void test_fd_catches_wrong_gradient(void **state) {
    (void)state;
    assert_true(fd_case(2, 7, 2, 6, 10.f, 1, 0.f, SIZE_MAX) > 0.05);
}

/* With causal = 1, out[:, t] depends on qkv[:, s <= t] only; without it, it does not. */
static void test_causal_ignores_future(void **state) {
    (void)state;
    const int B = 2, T = 40, nh = 2, hd = 8, t = 17, D = nh * hd;
    for (int causal = 1; causal >= 0; causal--) {
        att_case c;
        case_init(&c, B, T, nh, hd, 10000.f, causal, 77);
        case_forward(&c);
        float *before = tu_zeros(case_out(&c));
        memcpy(before, c.out, case_out(&c) * sizeof *before);
        rng_state r;
        rng_seed(&r, 5);
        for (int b = 0; b < B; b++)
            for (int s = t + 1; s < T; s++)
                for (int j = 0; j < 3 * D; j++)
                    c.qkv[((size_t)b * T + s) * 3 * D + j] += rng_normal(&r);
        case_forward(&c);
        size_t past = 0, changed_future = 0;
        for (int b = 0; b < B; b++)
            for (int s = 0; s < T; s++)
                for (int j = 0; j < D; j++) {
                    size_t i = ((size_t)b * T + s) * D + j;
                    if (s <= t)
                        past += c.out[i] != before[i];
                    else
                        changed_future += c.out[i] != before[i];
                }
        printf("causal=%d: %zu outputs at s <= %d changed, %zu after\n", causal, past, t,
               changed_future);
        if (causal)
            assert_int_equal(past, 0);
        else
            assert_true(past > 0);
        assert_true(changed_future > 0);
        free(before);
        case_free(&c);
    }
}

/* Forward and backward give the same bits with 1 and 2 threads (OpenMP and OpenBLAS alike). */
static void test_threads_same_bits(void **state) {
    (void)state;
    const int B = 2, T = 96, nh = 4, hd = 16; /* large enough to run in parallel */
    att_case c;
    case_init(&c, B, T, nh, hd, 10000.f, 1, 9);
    size_t nc = attention_cache_floats(B, T, nh, hd);
    float *out1 = tu_zeros(case_out(&c)), *d1 = tu_zeros(case_in(&c)), *d2 = tu_zeros(case_in(&c));
    float *cache1 = tu_zeros(nc);
    int keep = omp_get_max_threads(), keep_blas = openblas_get_num_threads();
    omp_set_num_threads(1);
    openblas_set_num_threads(1);
    attention_forward(out1, cache1, c.qkv, B, T, nh, hd, 10000.f, 1);
    attention_backward(d1, c.r, c.qkv, cache1, B, T, nh, hd, 10000.f, 1);
    omp_set_num_threads(2);
    openblas_set_num_threads(2);
    case_forward(&c);
    attention_backward(d2, c.r, c.qkv, c.cache, B, T, nh, hd, 10000.f, 1);
    omp_set_num_threads(keep);
    openblas_set_num_threads(keep_blas);
    assert_memory_equal(out1, c.out, case_out(&c) * sizeof *out1);
    assert_memory_equal(cache1, c.cache, nc * sizeof *cache1);
    assert_memory_equal(d1, d2, case_in(&c) * sizeof *d1);
    free(out1);
    free(d1);
    free(d2);
    free(cache1);
    case_free(&c);
}

/* PyTorch parity on the fixtures of tests/parity/gen_attention.py (reference in float64). */
static void parity_case(const char *name, int B, int T, int nh, int hd, float base, int causal) {
    st_file f;
    tu_fixture_open(&f, "attention");
    char key[128];
    size_t n_in, n_out, n;
    snprintf(key, sizeof key, "%s.qkv", name);
    float *qkv = tu_fixture_f32(&f, key, &n_in);
    snprintf(key, sizeof key, "%s.r", name);
    float *r = tu_fixture_f32(&f, key, &n_out);
    snprintf(key, sizeof key, "%s.out", name);
    float *out_ref = tu_fixture_f32(&f, key, &n);
    assert_int_equal(n, n_out);
    snprintf(key, sizeof key, "%s.dqkv", name);
    float *dqkv_ref = tu_fixture_f32(&f, key, &n);
    assert_int_equal(n, n_in);
    assert_int_equal(n_in, (size_t)B * T * 3 * nh * hd);
    assert_int_equal(n_out, (size_t)B * T * nh * hd);

    float *out = tu_zeros(n_out), *dqkv = tu_zeros(n_in);
    float *cache = tu_zeros(attention_cache_floats(B, T, nh, hd));
    attention_forward(out, cache, qkv, B, T, nh, hd, base, causal);
    attention_backward(dqkv, r, qkv, cache, B, T, nh, hd, base, causal);
    double e_out = tu_nmse(out, out_ref, n_out), e_d = tu_nmse(dqkv, dqkv_ref, n_in);
    printf("parity %s (B=%d T=%d nh=%d hd=%d base=%g causal=%d): nmse out %.3g, dqkv %.3g\n", name,
           B, T, nh, hd, base, causal, e_out, e_d);
    assert_true(e_out < 1e-8);
    assert_true(e_d < 1e-6);
    free(qkv);
    free(r);
    free(out_ref);
    free(dqkv_ref);
    free(out);
    free(dqkv);
    free(cache);
    st_free(&f);
}

static void test_parity_bidir(void **state) {
    (void)state;
    parity_case("bidir", 1, 150, 2, 64, 10000.f, 0);
}

static void test_parity_causal(void **state) {
    (void)state;
    parity_case("causal", 2, 150, 2, 16, 10000.f, 1);
}

static void test_parity_norope(void **state) {
    (void)state;
    parity_case("norope", 2, 37, 2, 8, 0.f, 1);
}

/* The encoder's own shape: one sequence of 300 tokens, 8 heads of 64. */
static void test_parity_encoder_shape(void **state) {
    (void)state;
    parity_case("encoder", 1, 300, 8, 64, 10000.f, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_bidir_rope),
        cmocka_unit_test(test_fd_causal_rope),
        cmocka_unit_test(test_fd_bidir_plain),
        cmocka_unit_test(test_fd_causal_plain),
        cmocka_unit_test(test_fd_many_blocks),
        cmocka_unit_test(test_fd_catches_wrong_gradient),
        cmocka_unit_test(test_causal_ignores_future),
        cmocka_unit_test(test_threads_same_bits),
        cmocka_unit_test(test_parity_bidir),
        cmocka_unit_test(test_parity_causal),
        cmocka_unit_test(test_parity_norope),
        cmocka_unit_test(test_parity_encoder_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_cluster.c — the clustering pieces of DinoSR and HuBERT++: finite differences of the CE, KL
 * and entropy gradients, Sinkhorn-Knopp marginals and parity, codebook and prototype EMA steps. */
#include "tests/unit/testutil.h"

#include "core/base/threads.h"
#include "core/ssl/cluster.h"

static const void *fixture_raw(const st_file *f, const char *name, st_dtype dt, size_t *count) {
    const st_tensor *t = st_find(f, name);
    if (!t) fail_msg("fixture tensor %s missing", name);
    if (t->dtype != dt) fail_msg("fixture tensor %s has another dtype", name);
    if (count) *count = t->nbytes / (dt == ST_U8 ? 1 : 4);
    return f->payload + t->offset;
}

/* ---- finite differences of the losses ---- */

typedef struct {
    float *logits, *q, *w;
    int *target;
    int n, K;
    float tau;
} loss_ctx;

static double kl_of(void *p) {
    loss_ctx *c = p;
    double l;
    assert_int_equal(cluster_kl_loss(c->logits, c->q, c->w, c->n, c->K, c->tau, NULL, &l), 0);
    return l;
}
static double ce_of(void *p) {
    loss_ctx *c = p;
    double l;
    assert_int_equal(cluster_ce_loss(c->logits, c->target, c->n, c->K, NULL, NULL, &l), 0);
    return l;
}
static double ent_of(void *p) {
    loss_ctx *c = p;
    double r;
    assert_int_equal(cluster_entropy_reg(c->logits, c->n, c->K, c->tau, 1, NULL, &r, NULL), 0);
    return r;
}

static loss_ctx make_ctx(int n, int K, float tau, uint64_t seed) {
    loss_ctx c = {.n = n, .K = K, .tau = tau};
    c.logits = tu_randn((size_t)n * K, seed, 0.5f);
    c.q = tu_randn((size_t)n * K, seed + 1, 1.0f);
    c.w = tu_randn((size_t)n, seed + 2, 1.0f);
    c.target = malloc((size_t)n * sizeof *c.target);
    assert_non_null(c.target);
    rng_state r;
    rng_seed(&r, seed + 3);
    for (int i = 0; i < n; i++) {
        double s = 0; /* soft targets: a softmax per row, a few exact zeros (0 log 0) */
        for (int k = 0; k < K; k++)
            s += c.q[i * K + k] = (k % 5 == 3) ? 0.0f : expf(c.q[i * K + k]);
        for (int k = 0; k < K; k++)
            c.q[i * K + k] /= (float)s;
        c.w[i] = fabsf(c.w[i]) / n;
        c.target[i] = (int)rng_below(&r, (uint64_t)K);
    }
    return c;
}

static void free_ctx(loss_ctx *c) {
    free(c->logits), free(c->q), free(c->w), free(c->target);
}

static void test_fd_kl(void **s) {
    (void)s;
    loss_ctx c = make_ctx(7, 11, 0.1f, 11);
    float *g = tu_zeros(77);
    double l;
    assert_int_equal(cluster_kl_loss(c.logits, c.q, c.w, c.n, c.K, c.tau, g, &l), 0);
    double e = tu_fd_check(kl_of, &c, c.logits, g, 77, 77, 1e-3f, 1e-6);
    printf("KL to soft targets (tau 0.1): loss %.6f, worst FD error %.2e\n", l, e);
    assert_true(e < 2e-3);
    /* the gradient is a sum, not a copy: accumulating twice doubles it */
    float *g2 = tu_zeros(77);
    memcpy(g2, g, 77 * sizeof *g);
    assert_int_equal(cluster_kl_loss(c.logits, c.q, c.w, c.n, c.K, c.tau, g2, &l), 0);
    for (int i = 0; i < 77; i++)
        assert_float_equal(g2[i], 2 * g[i], 1e-6 + 1e-5 * fabsf(g[i]));
    free(g), free(g2), free_ctx(&c);
}

static void test_fd_ce(void **s) {
    (void)s;
    loss_ctx c = make_ctx(9, 13, 1.0f, 21);
    float *g = tu_zeros(9 * 13);
    double l;
    int correct;
    assert_int_equal(cluster_ce_loss(c.logits, c.target, c.n, c.K, g, &correct, &l), 0);
    double e = tu_fd_check(ce_of, &c, c.logits, g, 9 * 13, 9 * 13, 1e-3f, 1e-6);
    printf("cross-entropy: loss %.6f (log K %.6f), %d/9 correct, worst FD error %.2e\n", l,
           log(13.0), correct, e);
    assert_true(e < 2e-3);
    free(g), free_ctx(&c);
}

static void test_fd_entropy(void **s) {
    (void)s;
    loss_ctx c = make_ctx(8, 10, 0.1f, 31);
    float *g = tu_zeros(80);
    double r, h;
    assert_int_equal(cluster_entropy_reg(c.logits, c.n, c.K, c.tau, 1, g, &r, &h), 0);
    double e = tu_fd_check(ent_of, &c, c.logits, g, 80, 80, 1e-3f, 1e-6);
    printf("entropy regulariser: R %.6f = -H, H %.6f (max log K %.6f), worst FD error %.2e\n", r, h,
           log(10.0), e);
    assert_true(e < 2e-3);
    assert_float_equal(r, -h, 1e-12);
    assert_true(h > 0 && h <= log(10.0) + 1e-9);
    /* the sign: a step against the gradient raises the entropy of the mean assignment */
    for (int i = 0; i < 80; i++)
        c.logits[i] -= 0.01f * g[i] / 1e-2f;
    double r2, h2;
    assert_int_equal(cluster_entropy_reg(c.logits, c.n, c.K, c.tau, 1, NULL, &r2, &h2), 0);
    assert_true(h2 > h);
    /* uniform logits: pbar uniform, H = log K */
    memset(c.logits, 0, 80 * sizeof *c.logits);
    assert_int_equal(cluster_entropy_reg(c.logits, c.n, c.K, c.tau, 1, NULL, &r2, &h2), 0);
    assert_float_equal(h2, log(10.0), 1e-12);
    free(g), free_ctx(&c);
}

/* ---- Sinkhorn-Knopp ---- */

static void marginals(const float *Q, int n, int K, double *row_err, double *col_err) {
    *row_err = *col_err = 0;
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < K; k++)
            s += Q[i * K + k];
        if (fabs(s - 1) > *row_err) *row_err = fabs(s - 1);
    }
    for (int k = 0; k < K; k++) {
        double s = 0;
        for (int i = 0; i < n; i++)
            s += Q[i * K + k];
        double e = fabs(s - (double)n / K) / ((double)n / K);
        if (e > *col_err) *col_err = e;
    }
}

static void test_sinkhorn_marginals(void **s) {
    (void)s;
    const int n = 120, K = 16;
    /* scores as HuBERT++ makes them: cosines / 0.07, with a few clusters much preferred */
    float *S = tu_randn((size_t)n * K, 41, 0.5f), *Q = tu_zeros((size_t)n * K);
    for (int i = 0; i < n * K; i++)
        S[i] = (S[i] + (i % K < 3 ? 0.8f : 0.0f)) / 0.07f;
    double prev = INFINITY;
    const int iters[] = {1, 3, 10, 100, 1000};
    for (int t = 0; t < 5; t++) {
        double re, ce;
        assert_int_equal(cluster_sinkhorn(Q, S, n, K, iters[t], 1e-8f), 0);
        marginals(Q, n, K, &re, &ce);
        printf("Sinkhorn-Knopp %4d iterations: rows |sum - 1| <= %.2e, columns |sum - n/K|/(n/K) "
               "<= %.2e\n",
               iters[t], re, ce);
        assert_true(re < 1e-5);         /* the last step normalises rows */
        assert_true(ce <= prev + 1e-6); /* equal partition approached monotonically here */
        prev = ce;
        if (iters[t] >= 100) assert_true(ce < 1e-3);
    }
    /* the plain softmax (no column step) is far from equal partition: the constraint works */
    double re, ce;
    assert_int_equal(cluster_sinkhorn(Q, S, n, K, 0, 1e-8f), 0);
    for (int i = 0; i < n; i++) {
        double z = 0;
        for (int k = 0; k < K; k++)
            z += Q[i * K + k];
        for (int k = 0; k < K; k++)
            Q[i * K + k] /= (float)z;
    }
    marginals(Q, n, K, &re, &ce);
    assert_true(ce > 0.5);
    /* in place (Q aliasing S) gives the same bits */
    float *Q2 = tu_zeros((size_t)n * K), *S2 = malloc((size_t)n * K * sizeof *S2);
    assert_non_null(S2);
    memcpy(S2, S, (size_t)n * K * sizeof *S);
    assert_int_equal(cluster_sinkhorn(Q2, S, n, K, 3, 1e-8f), 0);
    assert_int_equal(cluster_sinkhorn(S2, S2, n, K, 3, 1e-8f), 0);
    assert_memory_equal(Q2, S2, (size_t)n * K * sizeof *S2);
    free(S), free(Q), free(Q2), free(S2);
}

static void test_sinkhorn_parity(void **s) {
    (void)s;
    st_file f;
    tu_fixture_open(&f, "ssl_cluster");
    size_t cnt;
    float *S = tu_fixture_f32(&f, "S", &cnt), *ref = tu_fixture_f32(&f, "Q3", NULL);
    const int n = 50, K = 12;
    assert_int_equal(cnt, (size_t)n * K);
    float *Q = tu_zeros(cnt);
    assert_int_equal(cluster_sinkhorn(Q, S, n, K, 3, 1e-8f), 0);
    double e = tu_nmse(Q, ref, cnt);
    printf("Sinkhorn-Knopp vs PyTorch (3 iterations, float64 reference): nmse %.2e\n", e);
    assert_true(e < 1e-10);
    free(S), free(ref), free(Q);
    st_free(&f);
}

/* ---- codebook and prototypes ---- */

static void test_codebook_update(void **s) {
    (void)s;
    st_file f;
    tu_fixture_open(&f, "ssl_cluster");
    const int n = 40, K = 6, d = 8;
    float *y = tu_fixture_f32(&f, "cb.y", NULL), *code = tu_fixture_f32(&f, "cb.code", NULL);
    float *sum = tu_fixture_f32(&f, "cb.sum", NULL), *cnt = tu_fixture_f32(&f, "cb.cnt", NULL);
    const int32_t *nearest = fixture_raw(&f, "cb.nearest", ST_I32, NULL);
    const int32_t *assign = fixture_raw(&f, "cb.assign", ST_I32, NULL);
    int got[40];
    assert_int_equal(cluster_nearest(got, y, code, n, K, d), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(got[i], nearest[i]);
    for (int i = 0; i < n; i++)
        got[i] = assign[i];
    float keep_last[8];
    memcpy(keep_last, code + (K - 1) * d, sizeof keep_last);
    assert_int_equal(cluster_codebook_update(code, sum, cnt, y, got, n, K, d, 0.9f), 0);
    const char *names[3] = {"cb.code_after", "cb.sum_after", "cb.cnt_after"};
    float *mine[3] = {code, sum, cnt};
    size_t counts[3] = {(size_t)K * d, (size_t)K * d, (size_t)K};
    for (int i = 0; i < 3; i++) {
        float *ref = tu_fixture_f32(&f, names[i], NULL);
        double e = 0;
        for (size_t j = 0; j < counts[i]; j++)
            e = fmax(e, fabs((double)mine[i][j] - ref[j]) / fmax(fabs((double)ref[j]), 1e-3));
        printf("codebook EMA %-14s worst relative error %.2e\n", names[i] + 3, e);
        assert_true(e < 1.2e-7); /* one rounding of the float64 value: within an ulp */
        free(ref);
    }
    /* the unused codeword keeps its place: sum and count decay together */
    for (int j = 0; j < d; j++)
        assert_float_equal(code[(K - 1) * d + j], keep_last[j], 1e-6);
    assert_int_equal(cluster_count_used(got, n, K), K - 1);
    free(y), free(code), free(sum), free(cnt);
    st_free(&f);
}

static void test_proto_update(void **s) {
    (void)s;
    st_file f;
    tu_fixture_open(&f, "ssl_cluster");
    const int n = 40, K = 6, d = 8;
    float *P = tu_fixture_f32(&f, "pu.P", NULL), *fe = tu_fixture_f32(&f, "pu.f", NULL);
    float *Q = tu_fixture_f32(&f, "pu.Q", NULL), *ref = tu_fixture_f32(&f, "pu.P_after", NULL);
    float work[6 * 8];
    cluster_proto_update(P, fe, Q, n, K, d, 0.99f, work);
    double e = tu_nmse(P, ref, (size_t)K * d);
    printf("prototype EMA vs PyTorch: nmse %.2e\n", e);
    assert_true(e < 1e-12);
    for (int k = 0; k < K; k++)
        assert_float_equal(tu_dot(P + k * d, P + k * d, d), 1.0, 1e-6);
    free(P), free(fe), free(Q), free(ref);
    st_free(&f);
}

static void test_norms_and_schedule(void **s) {
    (void)s;
    const int B = 2, T = 30, d = 5;
    float *x = tu_randn((size_t)B * T * d, 51, 3.0f), *y = tu_zeros((size_t)B * T * d);
    for (int i = 0; i < B * T * d; i++)
        x[i] += (float)(i % d);
    cluster_instance_norm(y, x, B, T, d, 1e-5f);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < d; c++) {
            double s1 = 0, s2 = 0;
            for (int t = 0; t < T; t++) {
                double v = y[((size_t)b * T + t) * d + c];
                s1 += v, s2 += v * v;
            }
            assert_float_equal(s1 / T, 0.0, 1e-6);
            assert_float_equal(s2 / T, 1.0, 1e-5);
        }
    cluster_l2_normalize(y, x, B * T, d, 1e-12f);
    for (int i = 0; i < B * T; i++)
        assert_float_equal(tu_dot(y + i * d, y + i * d, d), 1.0, 1e-6);
    assert_float_equal(cluster_cosine_schedule(0.5f, 0.1f, 0, 100), 0.5f, 0);
    assert_float_equal(cluster_cosine_schedule(0.5f, 0.1f, 50, 100), 0.3f, 1e-6);
    assert_float_equal(cluster_cosine_schedule(0.5f, 0.1f, 100, 100), 0.1f, 0);
    assert_float_equal(cluster_cosine_schedule(0.5f, 0.1f, 7, 0), 0.1f, 0);
    assert_true(cluster_cosine_schedule(0.5f, 0.1f, 20, 100) >
                cluster_cosine_schedule(0.5f, 0.1f, 21, 100));
    free(x), free(y);
}

/* The parallel paths (rows, column chunks) give the same bits for 1, 2 and 3 threads. */
static void test_threads_same_bits(void **s) {
    (void)s;
    const int n = 600, K = 128; /* n * K past the parallel threshold */
    loss_ctx c = make_ctx(n, K, 0.1f, 61);
    float *ref[3] = {NULL, NULL, NULL};
    double ref_l[2] = {0, 0};
    const int saved = threads_get();
    for (int t = 1; t <= 3; t++) {
        threads_set(t);
        float *g = tu_zeros((size_t)n * K), *q = tu_zeros((size_t)n * K);
        float *ge = tu_zeros((size_t)n * K);
        double l, r;
        assert_int_equal(cluster_kl_loss(c.logits, c.q, c.w, n, K, c.tau, g, &l), 0);
        assert_int_equal(cluster_entropy_reg(c.logits, n, K, c.tau, 0.5f, ge, &r, NULL), 0);
        assert_int_equal(cluster_sinkhorn(q, c.logits, n, K, 3, 1e-8f), 0);
        if (t == 1) {
            ref[0] = g, ref[1] = ge, ref[2] = q, ref_l[0] = l, ref_l[1] = r;
            continue;
        }
        assert_memory_equal(&l, &ref_l[0], sizeof l);
        assert_memory_equal(&r, &ref_l[1], sizeof r);
        assert_memory_equal(g, ref[0], (size_t)n * K * sizeof *g);
        assert_memory_equal(ge, ref[1], (size_t)n * K * sizeof *ge);
        assert_memory_equal(q, ref[2], (size_t)n * K * sizeof *q);
        free(g), free(ge), free(q);
    }
    threads_set(saved);
    free(ref[0]), free(ref[1]), free(ref[2]);
    free_ctx(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_kl),
        cmocka_unit_test(test_fd_ce),
        cmocka_unit_test(test_fd_entropy),
        cmocka_unit_test(test_sinkhorn_marginals),
        cmocka_unit_test(test_sinkhorn_parity),
        cmocka_unit_test(test_codebook_update),
        cmocka_unit_test(test_proto_update),
        cmocka_unit_test(test_norms_and_schedule),
        cmocka_unit_test(test_threads_same_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

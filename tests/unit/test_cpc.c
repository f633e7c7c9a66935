/* test_cpc.c — the CPC objective: finite differences of its loss (alone and through the causal
 * encoder), parity with PyTorch (tests/parity/gen_ssl_cpc.py), negatives, and a short training run.
 */
#include "tests/unit/testutil.h"

#include <malloc.h>

#include "core/base/threads.h"
#include "core/model/adamw.h"
#include "core/model/checkpoint.h"
#include "core/model/encoder.h"
#include "core/model/encoder_impl.h" /* encoder_relu_signature: skip FD coordinates at ReLU kinks */
#include "core/ssl/cpc.h"
#include "core/ssl/objective.h"

#define NMSE_GRAD 1e-6
#define LOSS_REL 1e-6

/* ---------------------------------------------------------------------------------------- */
/* Negatives */

static void test_negatives(void **state) {
    (void)state;
    const int B = 3, T = 20, k = 4, K = 50, P = T - k;
    int32_t *idx = malloc((size_t)B * P * K * sizeof *idx), *again = malloc((size_t)B * P * K * 4);
    assert_non_null(idx), assert_non_null(again);
    rng_state r, r2;
    rng_seed(&r, 7), rng_seed(&r2, 7);
    cpc_sample_negatives(idx, B, T, k, K, &r);
    cpc_sample_negatives(again, B, T, k, K, &r2);
    assert_memory_equal(idx, again, (size_t)B * P * K * sizeof *idx);
    long count[20] = {0};
    for (int b = 0; b < B; b++)
        for (int p = 0; p < P; p++)
            for (int j = 0; j < K; j++) {
                int32_t t = idx[((size_t)b * P + p) * K + j];
                assert_true(t >= 0 && t < T);
                assert_int_not_equal(t, p + k); /* never the positive */
                count[t]++;
            }
    /* every position is drawn (uniform over the T - 1 others: ~ B*P*K/T each) */
    for (int t = 0; t < T; t++)
        assert_true(count[t] > 0.7 * B * P * K / T);
    free(idx), free(again);
}

/* ---------------------------------------------------------------------------------------- */
/* The loss alone: finite differences in W, c and z */

typedef struct {
    cpc_workspace *ws;
    const float *c, *z, *W;
    const int32_t *idx;
    int B;
} loss_ctx;

static double loss_only(void *p) {
    loss_ctx *x = p;
    return cpc_loss(x->ws, x->c, x->z, x->W, x->idx, x->B, NULL, NULL, NULL, NULL);
}

static void test_loss_fd(void **state) {
    (void)state;
    const int B = 2, T = 12, d = 6, k = 3, K = 7, P = T - k;
    const size_t nt = (size_t)B * T * d;
    cpc_workspace ws;
    ecg_err err = {0};
    assert_int_equal(cpc_workspace_init(&ws, T, d, k, K, &err), ECG_OK);
    float *c = tu_randn(nt, 1, 1.0f), *z = tu_randn(nt, 2, 1.0f),
          *W = tu_randn((size_t)d * d, 3, 0.5f);
    int32_t *idx = malloc((size_t)B * P * K * sizeof *idx);
    assert_non_null(idx);
    rng_state r;
    rng_seed(&r, 4);
    cpc_sample_negatives(idx, B, T, k, K, &r);
    float *dW = tu_zeros((size_t)d * d), *dc = tu_randn(nt, 9, 1.0f), *dz = tu_randn(nt, 10, 1.0f);
    long hits = -1;
    double loss = cpc_loss(&ws, c, z, W, idx, B, dW, dc, dz, &hits);
    assert_true(hits >= 0 && hits <= B * P);
    /* same loss without gradients; dc is zero past the last predicting position */
    assert_true(loss == cpc_loss(&ws, c, z, W, idx, B, NULL, NULL, NULL, NULL));
    for (int b = 0; b < B; b++)
        for (size_t i = (size_t)P * d; i < (size_t)T * d; i++)
            assert_true(dc[(size_t)b * T * d + i] == 0);
    /* dW accumulates */
    float *dW2 = tu_zeros((size_t)d * d);
    for (int i = 0; i < d * d; i++)
        dW2[i] = 1.0f;
    cpc_loss(&ws, c, z, W, idx, B, dW2, NULL, NULL, NULL);
    for (int i = 0; i < d * d; i++)
        assert_true(fabsf(dW2[i] - 1.0f - dW[i]) < 1e-5f);
    loss_ctx ctx = {&ws, c, z, W, idx, B};
    const float eps = 1e-2f;
    double ew = tu_fd_check(loss_only, &ctx, W, dW, (size_t)d * d, (size_t)d * d, eps, 1e-3);
    double ec = tu_fd_check(loss_only, &ctx, c, dc, nt, nt, eps, 1e-3);
    double ez = tu_fd_check(loss_only, &ctx, z, dz, nt, nt, eps, 1e-3);
    printf("CPC loss FD (every coordinate, B %d T %d d %d k %d K %d): W %.2e c %.2e z %.2e\n", B, T,
           d, k, K, ew, ec, ez);
    assert_true(ew < 5e-3 && ec < 5e-3 && ez < 5e-3);
    /* the check can fail: z's gradient without the negatives' part (a detached-negatives bug) */
    for (size_t i = 0; i < nt; i++)
        dz[i] *= 0.8f;
    assert_true(tu_fd_check(loss_only, &ctx, z, dz, nt, nt, eps, 1e-3) > 5e-2);
    cpc_workspace_free(&ws);
    free(c), free(z), free(W), free(idx), free(dW), free(dW2), free(dc), free(dz);
}

/* ---------------------------------------------------------------------------------------- */
/* Parity with PyTorch */

static int32_t *fixture_i32(const st_file *f, const char *name, size_t *count) {
    const st_tensor *t = st_find(f, name);
    if (!t) fail_msg("fixture tensor %s missing", name);
    if (t->dtype != ST_I32) fail_msg("fixture tensor %s is not I32", name);
    int32_t *x = malloc(t->nbytes ? t->nbytes : 4);
    assert_non_null(x);
    memcpy(x, f->payload + t->offset, t->nbytes);
    if (count) *count = t->nbytes / 4;
    return x;
}

static float fixture_scalar(const st_file *f, const char *name) {
    float *v = tu_fixture_f32(f, name, NULL), s = v[0];
    free(v);
    return s;
}

static double check(const st_file *f, const char *name, const float *got, size_t n, double tol) {
    size_t cnt;
    float *ref = tu_fixture_f32(f, name, &cnt);
    if (cnt != n) fail_msg("%s: fixture has %zu values, C %zu", name, cnt, n);
    double e = tu_nmse(got, ref, n);
    free(ref);
    if (!(e < tol)) fail_msg("%s: nmse %.3e >= %.1e", name, e, tol);
    return e;
}

static void test_parity_loss(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "ssl_cpc");
    const st_tensor *ct = st_find(&f, "loss.c"), *it = st_find(&f, "loss.idx");
    assert_non_null(ct), assert_non_null(it);
    const int B = (int)ct->shape[0], T = (int)ct->shape[1], d = (int)ct->shape[2];
    const int P = (int)it->shape[1], K = (int)it->shape[2], k = T - P;
    const size_t nt = (size_t)B * T * d;
    float *c = tu_fixture_f32(&f, "loss.c", NULL), *z = tu_fixture_f32(&f, "loss.z", NULL);
    float *W = tu_fixture_f32(&f, "loss.W", NULL);
    int32_t *idx = fixture_i32(&f, "loss.idx", NULL);
    cpc_workspace ws;
    ecg_err err = {0};
    assert_int_equal(cpc_workspace_init(&ws, T, d, k, K, &err), ECG_OK);
    float *dW = tu_zeros((size_t)d * d), *dc = tu_zeros(nt), *dz = tu_zeros(nt);
    long hits;
    double loss = cpc_loss(&ws, c, z, W, idx, B, dW, dc, dz, &hits);
    double ref = fixture_scalar(&f, "loss.loss"), acc = fixture_scalar(&f, "loss.acc");
    double rel = fabs(loss - ref) / fabs(ref);
    double ew = check(&f, "loss.dW", dW, (size_t)d * d, NMSE_GRAD);
    double ec = check(&f, "loss.dc", dc, nt, NMSE_GRAD),
           ez = check(&f, "loss.dz", dz, nt, NMSE_GRAD);
    printf("CPC loss parity (B %d T %d d %d k %d K %d): loss %.6f vs %.6f rel %.2e, acc %.4f vs "
           "%.4f, nmse dW %.2e dc %.2e dz %.2e\n",
           B, T, d, k, K, loss, ref, rel, (double)hits / (B * P), acc, ew, ec, ez);
    assert_true(rel < LOSS_REL);
    assert_true(fabs((double)hits / (B * P) - acc) < 1e-6);
    cpc_workspace_free(&ws);
    free(c), free(z), free(W), free(idx), free(dW), free(dc), free(dz);
    st_free(&f);
}

static double metric(const ssl_metrics *m, const char *name) {
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->m[i].name, name) == 0) return m->m[i].value;
    fail_msg("metric %s missing", name);
    return 0;
}

static void test_parity_encoder(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "ssl_cpc");
    const st_tensor *xt = st_find(&f, "enc.x");
    assert_non_null(xt);
    const int B = (int)xt->shape[0];
    struct encoder_config cfg;
    ecg_err err = {0};
    if (checkpoint_config_of(&f, &cfg, &err) != ECG_OK) fail_msg("fixture config: %s", err.msg);
    encoder *e;
    assert_int_equal(encoder_create(&e, &cfg, B, 1, 0, &err), ECG_OK);
    ssl_config sc;
    ssl_config_default(&sc, SSL_CPC);
    ssl_objective *o;
    assert_int_equal(ssl_create(&o, &sc, e, 3, &err), ECG_OK);
    if (checkpoint_load_tensors(&f, "p.", e, 1, &err) != ECG_OK) fail_msg("load: %s", err.msg);
    float *x = tu_fixture_f32(&f, "enc.x", NULL);
    int32_t *idx = fixture_i32(&f, "enc.idx", NULL);
    param_set *ps = encoder_params(e);
    ssl_metrics m;
    const char *modes[2] = {"eval", "train"}; /* eval first: train updates the running stats */
    for (int mode = 0; mode < 2; mode++) {
        char name[256];
        encoder_zero_grad(e);
        memset(&m, 0, sizeof m);
        if (cpc_step_with(o, x, B, mode, idx, &m, &err) != ECG_OK) fail_msg("step: %s", err.msg);
        snprintf(name, sizeof name, "enc.%s.loss", modes[mode]);
        double ref = fixture_scalar(&f, name), rel = fabs(m.loss - ref) / fabs(ref);
        snprintf(name, sizeof name, "enc.%s.acc", modes[mode]);
        double acc = metric(&m, "cpc_acc"), racc = fixture_scalar(&f, name);
        double gw = 0, bw = 0;
        const char *gname = "";
        if (mode == 1) {
            for (int i = 0; i < ps->n_views; i++) {
                snprintf(name, sizeof name, "enc.train.g.%s", ps->views[i].name);
                double g = check(&f, name, params_grad(ps, i), ps->views[i].count, NMSE_GRAD);
                if (g >= gw) gw = g, gname = ps->views[i].name;
            }
            for (int i = 0; i < ps->n_bviews; i++) {
                snprintf(name, sizeof name, "enc.train.buf.%s", ps->bviews[i].name);
                double b = check(&f, name, params_buffer(ps, i), ps->bviews[i].count, 1e-8);
                if (b > bw) bw = b;
            }
        }
        printf("CPC encoder parity %-5s: loss %.4f vs %.4f rel %.2e, cpc_acc %.5f vs %.5f",
               modes[mode], m.loss, ref, rel, acc, racc);
        if (mode == 1)
            printf(" | %d parameter tensors, worst gradient nmse %.2e (%s), running stats %.2e",
                   ps->n_views, gw, gname, bw);
        printf("\n");
        assert_true(rel < LOSS_REL);
        assert_true(fabs(acc - racc) < 1e-6);
    }
    assert_true(params_find(ps, CPC_HEAD_NAME) >= 0);
    free(x), free(idx);
    ssl_free(o);
    encoder_free(e);
    st_free(&f);
}

/* one_thread_note: the tests below drive tiny encoders through hundreds of forwards; with two
 * OpenMP threads on a shared, loaded machine each parallel region waits for a descheduled spinning
 * worker, and they cost ~10x the CPU time of one thread (8.4 s vs 0.9 s for test_learning). The
 * threaded paths are exercised by the parity tests above. */

/* ---------------------------------------------------------------------------------------- */
/* Finite differences end to end: x -> stem (z) -> causal S4 (c) -> CPC loss, train mode */

typedef struct {
    ssl_objective *o;
    encoder *e;
    const float *x;
    const int32_t *idx;
    int B;
} enc_ctx;

static double enc_loss(void *p) {
    enc_ctx *c = p;
    ssl_metrics m;
    ecg_err err = {0};
    /* train-mode forward (BatchNorm batch statistics); the backward it also runs only adds to
     * gradients the test has already copied */
    if (cpc_step_with(c->o, c->x, c->B, 1, c->idx, &m, &err) != ECG_OK) fail_msg("%s", err.msg);
    return m.loss;
}

static void test_fd_encoder(void **state) {
    (void)state;
    const int saved_threads = threads_get();
    threads_set(1); /* see one_thread_note */
    struct encoder_config cfg;
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    cfg.d_model = 16;
    cfg.in_samples = 48; /* T = 24 */
    cfg.dropout = 0.0f;
    cfg.causal = 1;
    const int B = 2, T = encoder_config_tokens(&cfg);
    encoder *e;
    ecg_err err = {0};
    assert_int_equal(encoder_create(&e, &cfg, B, 11, 0, &err), ECG_OK);
    ssl_config sc;
    ssl_config_default(&sc, SSL_CPC);
    sc.cpc_steps_ahead = 4;
    sc.cpc_negatives = 9;
    ssl_objective *o;
    assert_int_equal(ssl_create(&o, &sc, e, 5, &err), ECG_OK);
    const int P = T - sc.cpc_steps_ahead;
    int32_t *idx = malloc((size_t)B * P * sc.cpc_negatives * sizeof *idx);
    assert_non_null(idx);
    rng_state r;
    rng_seed(&r, 6);
    cpc_sample_negatives(idx, B, T, sc.cpc_steps_ahead, sc.cpc_negatives, &r);
    float *x = tu_randn((size_t)B * 12 * cfg.in_samples, 21, 1.0f);
    param_set *ps = encoder_params(e);
    /* norm affines off their init values */
    for (int i = 0; i < ps->n_views; i++)
        if (strstr(ps->views[i].name, "bn") || strstr(ps->views[i].name, "norm"))
            for (size_t j = 0; j < ps->views[i].count; j++)
                params_data(ps, i)[j] += 0.3f * (rng_uniform(&r) - 0.5f);
    enc_ctx ctx = {o, e, x, idx, B};
    encoder_zero_grad(e);
    enc_loss(&ctx);
    float *g = malloc(ps->n_floats * sizeof *g);
    assert_non_null(g);
    memcpy(g, ps->grad, ps->n_floats * sizeof *g);
    /* a few coordinates of a stem, a backbone and the head tensor, skipping ReLU kinks */
    const char *names[] = {"stem.0.conv.weight",          "stem.3.bn.weight",
                           "backbone.layers.0.s4.C",      "backbone.layers.1.out.weight",
                           "backbone.layers.1.norm.bias", CPC_HEAD_NAME};
    const float eps = 3e-3f;
    double worst = 0;
    int checked = 0, kinks = 0;
    for (size_t n = 0; n < sizeof names / sizeof *names; n++) {
        int v = params_find(ps, names[n]);
        assert_true(v >= 0);
        float *w = params_data(ps, v);
        const float *gv = g + ps->views[v].offset;
        size_t cnt = ps->views[v].count, step = cnt / 5 ? cnt / 5 : 1;
        double wn = 0;
        for (size_t i = 0; i < cnt && i < 5 * step; i += step) {
            float keep = w[i];
            enc_loss(&ctx);
            uint64_t s0 = encoder_relu_signature(e);
            w[i] = keep + eps;
            double lp = enc_loss(&ctx);
            uint64_t sp = encoder_relu_signature(e);
            w[i] = keep - eps;
            double lm = enc_loss(&ctx);
            uint64_t sm = encoder_relu_signature(e);
            w[i] = keep;
            if (sp != s0 || sm != s0) {
                kinks++;
                continue;
            }
            double fd = (lp - lm) / (2.0 * eps), den = fabs(fd) + fabs((double)gv[i]);
            double er = fabs(fd - gv[i]) / (den > 0.05 ? den : 0.05);
            if (er > wn) wn = er;
            checked++;
        }
        printf("  FD %-30s worst rel err %.2e\n", names[n], wn);
        if (wn > worst) worst = wn;
    }
    printf("CPC end-to-end FD: %d coordinates (%d skipped at ReLU kinks), worst rel err %.2e\n",
           checked, kinks, worst);
    assert_true(checked >= 20);
    assert_true(worst < 3e-2);
    free(g), free(x), free(idx);
    ssl_free(o);
    encoder_free(e);
    threads_set(saved_threads);
}

/* ---------------------------------------------------------------------------------------- */
/* Streams: same seed, same losses; validation does not move the training stream; no allocation
 * per step after the first. */

static size_t heap_in_use(void) {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void test_streams_and_alloc(void **state) {
    (void)state;
    const int saved_threads = threads_get();
    threads_set(1); /* see one_thread_note */
    struct encoder_config cfg;
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    cfg.causal = 1;
    cfg.d_model = 16;
    cfg.n_layers = 1;
    const int B = 2;
    float *x = tu_randn((size_t)B * 12 * cfg.in_samples, 3, 0.5f);
    ssl_config sc;
    ssl_config_default(&sc, SSL_CPC);
    double loss[2][4];
    ecg_err err = {0};
    for (int run = 0; run < 2; run++) {
        encoder *e;
        ssl_objective *o;
        assert_int_equal(encoder_create(&e, &cfg, B, 1, 0, &err), ECG_OK);
        assert_int_equal(ssl_create(&o, &sc, e, 9, &err), ECG_OK);
        ssl_metrics m;
        for (int i = 0; i < 4; i++) {
            const int train = i == 0 || i == 3;
            rng_state before = *ssl_rng(o);
            size_t heap = heap_in_use();
            assert_int_equal(ssl_step(o, x, B, train, &m, &err), ECG_OK);
            if (i > 0 && !getenv("ECGFM_SANITIZE")) assert_true(heap_in_use() <= heap);
            /* validation leaves the training stream where it was; training moves it */
            assert_true((memcmp(&before, ssl_rng(o), sizeof before) == 0) == !train);
            loss[run][i] = m.loss;
            assert_true(m.n == 1 && strcmp(m.m[0].name, "cpc_acc") == 0);
        }
        assert_true(loss[run][1] !=
                    loss[run][2]); /* successive validation batches: new negatives */
        ssl_free(o);
        encoder_free(e);
    }
    assert_memory_equal(loss[0], loss[1], sizeof loss[0]); /* same seed, same bits */
    /* a different seed gives different negatives */
    encoder *e;
    ssl_objective *o;
    assert_int_equal(encoder_create(&e, &cfg, B, 1, 0, &err), ECG_OK);
    assert_int_equal(ssl_create(&o, &sc, e, 10, &err), ECG_OK);
    ssl_metrics m;
    assert_int_equal(ssl_step(o, x, B, 1, &m, &err), ECG_OK);
    assert_true(m.loss != loss[0][0]);
    /* a batch above max_batch is refused */
    assert_int_equal(ssl_step(o, x, B + 1, 1, &m, &err), ECG_EINVAL);
    ssl_free(o);
    encoder_free(e);
    free(x);
    threads_set(saved_threads);
}

/* ---------------------------------------------------------------------------------------- */
/* Learning: AdamW steps on a tiny batch of synthetic signals lift cpc_acc far above 1/129. */

static void synth_batch(float *x, int B, int L, uint64_t seed) {
    rng_state r;
    rng_seed(&r, seed);
    for (int b = 0; b < B; b++) {
        /* a beat train with irregular intervals plus a slow wave: where a token sits in the
         * sequence shows in the signal around it */
        float beats[16];
        int nb = 0;
        for (float t = 20 + 40 * rng_uniform(&r); t < L && nb < 16; t += 90 + 80 * rng_uniform(&r))
            beats[nb++] = t;
        float f = 0.3f + 0.5f * rng_uniform(&r), ph = 6.2831853f * rng_uniform(&r);
        for (int c = 0; c < 12; c++) {
            float amp = 0.5f + rng_uniform(&r), base = 0.2f * (rng_uniform(&r) - 0.5f);
            for (int t = 0; t < L; t++) {
                float v = base + 0.2f * sinf(6.2831853f * f * t / 240.0f + ph + 0.3f * c);
                for (int i = 0; i < nb; i++) {
                    float u = (t - beats[i]) / 4.0f;
                    v += amp * expf(-u * u);
                }
                x[((size_t)b * 12 + c) * L + t] = v + 0.02f * rng_normal(&r);
            }
        }
    }
}

static void test_learning(void **state) {
    (void)state;
    const int saved_threads = threads_get();
    threads_set(1); /* see one_thread_note */
    struct encoder_config cfg;
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    cfg.causal = 1;
    const int B = 4, steps = 40;
    encoder *e;
    ecg_err err = {0};
    assert_int_equal(encoder_create(&e, &cfg, B, 2, 0, &err), ECG_OK);
    ssl_config sc;
    ssl_config_default(&sc, SSL_CPC);
    ssl_objective *o;
    assert_int_equal(ssl_create(&o, &sc, e, 2, &err), ECG_OK);
    float *x = tu_zeros((size_t)B * 12 * cfg.in_samples);
    synth_batch(x, B, cfg.in_samples, 77);
    adamw_config ac;
    adamw_config_default(&ac);
    for (int g = 0; g < PG_COUNT; g++)
        ac.lr_factor[g] = 1.0f; /* a quick check, not the recipe */
    adamw opt;
    assert_int_equal(adamw_init(&opt, &ac, encoder_params(e), &err), ECG_OK);
    ssl_metrics m;
    assert_int_equal(ssl_step(o, x, B, 0, &m, &err), ECG_OK);
    double acc0 = metric(&m, "cpc_acc"), loss0 = m.loss;
    for (int s = 0; s < steps; s++) {
        encoder_zero_grad(e);
        assert_int_equal(ssl_step(o, x, B, 1, &m, &err), ECG_OK);
        assert_int_equal(adamw_step(&opt, encoder_params(e), 3e-3f, &err), ECG_OK);
    }
    assert_int_equal(ssl_step(o, x, B, 0, &m, &err), ECG_OK);
    double acc = metric(&m, "cpc_acc");
    printf("CPC learning: %d AdamW steps, batch %d: eval loss %.1f -> %.1f, cpc_acc %.4f -> %.4f "
           "(chance %.4f)\n",
           steps, B, loss0, m.loss, acc0, acc, 1.0 / 129);
    assert_true(m.loss < loss0);
    assert_true(acc > 10.0 / 129);
    adamw_free(&opt);
    free(x);
    ssl_free(o);
    encoder_free(e);
    threads_set(saved_threads);
}

int main(int argc, char **argv) {
    if (argc > 1) cmocka_set_test_filter(argv[1]); /* e.g. test_cpc test_learning */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negatives),   cmocka_unit_test(test_loss_fd),
        cmocka_unit_test(test_parity_loss), cmocka_unit_test(test_parity_encoder),
        cmocka_unit_test(test_fd_encoder),  cmocka_unit_test(test_streams_and_alloc),
        cmocka_unit_test(test_learning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_encoder.c — the encoder against PyTorch (tests/parity/gen_encoder.py), finite differences
 * of the whole backward, a training smoke test, and the no-allocation guarantee of forward. */
#include "tests/unit/testutil.h"

#include <malloc.h>

#include "api/encoder_config_json.h"
#include "core/base/threads.h"
#include "core/model/adamw.h"
#include "core/model/checkpoint.h"
#include "core/model/encoder.h"
#include "core/model/encoder_impl.h" /* bn_momentum override in the FD test */
#include "core/nn/layers.h"

#define NMSE_FWD 1e-8
#define NMSE_GRAD 1e-6

/* ---------------------------------------------------------------------------------------- */
/* Parity with PyTorch */

static encoder *fixture_encoder(const st_file *f, int B) {
    struct encoder_config cfg;
    ecg_err err = {0};
    if (checkpoint_config_of(f, &cfg, &err) != ECG_OK) fail_msg("fixture config: %s", err.msg);
    encoder *e;
    if (encoder_create(&e, &cfg, B, 1, 0, &err) != ECG_OK) fail_msg("encoder_create: %s", err.msg);
    if (checkpoint_load_tensors(f, "p.", e, 1, &err) != ECG_OK) fail_msg("load: %s", err.msg);
    return e;
}

static double check(const st_file *f, const char *name, const float *got, size_t n, double tol,
                    const char *what) {
    size_t cnt;
    float *ref = tu_fixture_f32(f, name, &cnt);
    if (cnt != n) fail_msg("%s: fixture has %zu values, C %zu", name, cnt, n);
    double e = tu_nmse(got, ref, n);
    free(ref);
    if (!(e < tol)) fail_msg("%s %s: nmse %.3e >= %.1e", what, name, e, tol);
    return e;
}

static void parity_case(const char *fixture) {
    st_file f;
    tu_fixture_open(&f, fixture);
    const st_tensor *xt = st_find(&f, "x");
    assert_non_null(xt);
    const int B = (int)xt->shape[0];
    encoder *e = fixture_encoder(&f, B);
    const struct encoder_config *c = encoder_get_config(e);
    const int T = encoder_tokens(e), d = c->d_model;
    const size_t nx = (size_t)B * c->in_channels * c->in_samples, nt = (size_t)B * T * d;
    float *x = tu_fixture_f32(&f, "x", NULL);
    float *dtok = tu_fixture_f32(&f, "dtok", NULL);
    float *demb = tu_fixture_f32(&f, "demb", NULL);
    float *dx = tu_zeros(nx);
    param_set *ps = encoder_params(e);
    ecg_err err = {0};
    const char *modes[2] = {"eval", "train"};
    for (int m = 0; m < 2; m++) {
        char name[256];
        encoder_zero_grad(e);
        assert_int_equal(encoder_forward(e, x, B, m == 0 ? ENC_EVAL : ENC_TRAIN, &err), ECG_OK);
        snprintf(name, sizeof name, "%s.tokens", modes[m]);
        double ft = check(&f, name, encoder_out(e), nt, NMSE_FWD, "forward");
        snprintf(name, sizeof name, "%s.emb", modes[m]);
        double fe = check(&f, name, encoder_embedding(e), (size_t)B * d, NMSE_FWD, "forward");
        assert_int_equal(encoder_backward(e, dtok, demb, dx, &err), ECG_OK);
        snprintf(name, sizeof name, "%s.dx", modes[m]);
        double gx = check(&f, name, dx, nx, NMSE_GRAD, "gradient");
        double gw = 0;
        const char *gworst = "";
        for (int i = 0; i < ps->n_views; i++) {
            snprintf(name, sizeof name, "%s.g.%s", modes[m], ps->views[i].name);
            double g =
                check(&f, name, params_grad(ps, i), ps->views[i].count, NMSE_GRAD, "gradient");
            if (g >= gw) gw = g, gworst = ps->views[i].name;
        }
        double bw = 0;
        if (m == 1) {
            for (int i = 0; i < ps->n_bviews; i++) {
                snprintf(name, sizeof name, "train.buf.%s", ps->bviews[i].name);
                double b = check(&f, name, params_buffer(ps, i), ps->bviews[i].count, NMSE_FWD,
                                 "running stat");
                if (b > bw) bw = b;
            }
        }
        printf("%-28s %-5s nmse tokens %.2e emb %.2e | dx %.2e | worst grad %.2e (%s) | "
               "running stats %.2e\n",
               fixture, modes[m], ft, fe, gx, gw, gworst, bw);
    }
    free(x), free(dtok), free(demb), free(dx);
    encoder_free(e);
    st_free(&f);
}

static void test_parity_s4_small(void **s) {
    (void)s, parity_case("encoder_s4_small");
}
static void test_parity_s4_small_causal(void **s) {
    (void)s, parity_case("encoder_s4_small_causal");
}
static void test_parity_tf_small(void **s) {
    (void)s, parity_case("encoder_tf_small");
}
static void test_parity_tf_small_causal(void **s) {
    (void)s, parity_case("encoder_tf_small_causal");
}
static void test_parity_cnn_small(void **s) {
    (void)s, parity_case("encoder_cnn_small");
}

/* The paper-size S4 encoder (d 512, 4 layers, 2.97M parameters), forward and gradients, 2 windows.
 */
static void test_parity_s4_paper(void **state) {
    (void)state;
    struct encoder_config cfg;
    encoder_config_default(&cfg, ENC_BACKBONE_S4);
    encoder *e;
    ecg_err err = {0};
    assert_int_equal(encoder_create(&e, &cfg, 1, 1, ENC_INFERENCE_ONLY, &err), ECG_OK);
    size_t n = params_count_trainable(encoder_params(e));
    printf("paper S4 encoder: %zu trainable parameters\n", n);
    assert_int_equal(n, 2967552);
    encoder_free(e);
    parity_case("encoder_s4_paper");
}

/* ---------------------------------------------------------------------------------------- */
/* Finite differences of the whole encoder: loss = sum(tokens * dtok) + sum(emb * demb). */

typedef struct {
    encoder *e;
    const float *x, *dtok, *demb;
    int B;
    enc_mode mode;
} fd_ctx;

static double fd_loss(void *p) {
    fd_ctx *c = p;
    ecg_err err = {0};
    if (encoder_forward(c->e, c->x, c->B, c->mode, &err) != ECG_OK) fail_msg("%s", err.msg);
    const int d = encoder_get_config(c->e)->d_model, T = encoder_tokens(c->e);
    return tu_dot(encoder_out(c->e), c->dtok, (size_t)c->B * T * d) +
           tu_dot(encoder_embedding(c->e), c->demb, (size_t)c->B * d);
}

/* Central differences of step eps, skipping coordinates where a ReLU switched on or off between
 * x - eps and x + eps (encoder_relu_signature changed): there the loss has a kink and a difference
 * quotient says nothing about the gradient. The encoder is smooth everywhere else, where the error
 * is |fd - g| / max(|fd| + |g|, floor). Tries up to `tries` coordinates spread over x and stops
 * after `want` smooth ones; counts both. Returns the worst error. */
static double fd_check_smooth(double (*loss)(void *), void *ctx, float *x, const float *g, size_t n,
                              int want, int tries, float eps, double floor, int *n_smooth,
                              int *n_kinks) {
    const encoder *e = ((fd_ctx *)ctx)->e;
    double worst = 0;
    size_t step = (size_t)tries >= n ? 1 : n / (size_t)tries;
    int smooth = 0;
    for (size_t i = 0; i < n && smooth < want; i += step) {
        float keep = x[i];
        loss(ctx);
        uint64_t s0 = encoder_relu_signature(e);
        x[i] = keep + eps;
        double lp = loss(ctx);
        uint64_t sp = encoder_relu_signature(e);
        x[i] = keep - eps;
        double lm = loss(ctx);
        uint64_t sm = encoder_relu_signature(e);
        x[i] = keep;
        if (sp != s0 || sm != s0) {
            (*n_kinks)++;
            continue;
        }
        smooth++;
        double fd = (lp - lm) / (2.0 * eps);
        double den = fabs(fd) + fabs((double)g[i]);
        double err = fabs(fd - g[i]) / (den > floor ? den : floor);
        if (err > worst) worst = err;
    }
    *n_smooth += smooth;
    return worst;
}

static void fd_case(enc_backbone bb, enc_mode mode, int causal, float eps, double floor) {
    struct encoder_config cfg;
    encoder_config_small(&cfg, bb);
    cfg.d_model = 16;
    cfg.n_heads = 2;
    cfg.ff_dim = 32;
    cfg.in_samples = 32; /* few tokens: fewer ReLUs to cross (kinks) and less rounding noise */
    cfg.dropout = 0.0f;
    cfg.causal = causal;
    const int B = 1, T = encoder_config_tokens(&cfg), d = cfg.d_model;
    encoder *e;
    ecg_err err = {0};
    assert_int_equal(encoder_create(&e, &cfg, B, 11, 0, &err), ECG_OK);
    param_set *ps = encoder_params(e);
    /* move norm affines off their init values */
    rng_state r;
    rng_seed(&r, 5);
    for (int i = 0; i < ps->n_views; i++)
        if (strstr(ps->views[i].name, "bn") || strstr(ps->views[i].name, "norm"))
            for (size_t j = 0; j < ps->views[i].count; j++)
                params_data(ps, i)[j] += 0.3f * (rng_uniform(&r) - 0.5f);
    const size_t nx = (size_t)B * cfg.in_channels * cfg.in_samples;
    float *x = tu_randn(nx, 21, 1.0f), *dtok = tu_randn((size_t)B * T * d, 22, 1.0f);
    float *demb = tu_randn((size_t)B * d, 23, 1.0f), *dx = tu_zeros(nx);
    fd_ctx ctx = {e, x, dtok, demb, B, mode};
    if (mode == ENC_EVAL) {
        /* Running statistics from the data itself (momentum 1: one train forward sets them), so
         * eval-mode activations are normalised as in use; with the init statistics (0, 1) whole
         * tokens die in the ReLUs and LayerNorm amplifies kinks past what FD can resolve. */
        e->cfg.bn_momentum = 1.0f;
        assert_int_equal(encoder_forward(e, x, B, ENC_TRAIN, &err), ECG_OK);
    }
    encoder_zero_grad(e);
    fd_loss(&ctx);
    assert_int_equal(encoder_backward(e, dtok, demb, dx, &err), ECG_OK);
    /* float32 forward: eps large enough to dominate rounding (the loss carries ~1e-6 of noise),
     * floor for tiny gradients */
    const double tol = 3e-2;
    double worst = 0;
    const char *wname = "";
    int checked = 0, kinks = 0, starved = 0;
    for (int i = 0; i < ps->n_views; i++) {
        int before = checked;
        double w = fd_check_smooth(fd_loss, &ctx, params_data(ps, i), params_grad(ps, i),
                                   ps->views[i].count, 6, 32, eps, floor, &checked, &kinks);
        if (checked == before) {
            printf("  %s: only %d smooth coordinates\n", ps->views[i].name, checked - before);
            starved++;
        }
        if (w > worst) worst = w, wname = ps->views[i].name;
    }
    int xc = 0, xk = 0;
    double wx = fd_check_smooth(fd_loss, &ctx, x, dx, nx, 60, 120, eps, floor, &xc, &xk);
    printf("FD %-11s %-5s causal %d: %d parameter coordinates in %d tensors (%d more skipped at "
           "kinks), worst rel err %.2e (%s); input %d coordinates (%d at kinks) %.2e\n",
           encoder_backbone_name(bb), mode == ENC_TRAIN ? "train" : "eval", causal, checked,
           ps->n_views, kinks, worst, wname, xc, xk, wx);
    assert_true(worst < tol);
    assert_true(wx < tol);
    assert_int_equal(starved, 0);
    assert_true(xc >= 30);
    /* the check can fail: a gradient 20% off is caught */
    int last = ps->n_views - 1, k1 = 0, k2 = 0;
    for (size_t j = 0; j < ps->views[last].count; j++)
        params_grad(ps, last)[j] *= 1.2f;
    double bad = fd_check_smooth(fd_loss, &ctx, params_data(ps, last), params_grad(ps, last),
                                 ps->views[last].count, 6, 32, eps, 1e-3, &k1, &k2);
    assert_true(bad > tol);
    free(x), free(dtok), free(demb), free(dx);
    encoder_free(e);
}

static void test_fd_s4(void **s) {
    (void)s;
    fd_case(ENC_BACKBONE_S4, ENC_EVAL, 0, 5e-3f, 0.1);
    fd_case(ENC_BACKBONE_S4, ENC_TRAIN, 0, 5e-3f, 0.1);
    fd_case(ENC_BACKBONE_S4, ENC_TRAIN, 1, 5e-3f, 0.1);
}

static void test_fd_transformer(void **s) {
    (void)s;
    fd_case(ENC_BACKBONE_TRANSFORMER, ENC_EVAL, 0, 5e-3f, 0.1);
    fd_case(ENC_BACKBONE_TRANSFORMER, ENC_TRAIN, 1, 5e-3f, 0.1);
}

static void test_fd_cnn(void **s) {
    (void)s;
    /* ReLUs everywhere: a smaller step crosses fewer kinks, and the rounding noise it lets
     * through (~4e-3 on the difference quotient) needs a higher floor */
    fd_case(ENC_BACKBONE_CNN, ENC_EVAL, 0, 2e-3f, 0.2);
    fd_case(ENC_BACKBONE_CNN, ENC_TRAIN, 0, 2e-3f, 0.2);
}

/* ---------------------------------------------------------------------------------------- */
/* Training smoke test: small S4 encoder + linear head overfits 8 labelled synthetic windows. */

static void make_data(float *x, int *y, int B, int C, int L) {
    rng_state r;
    rng_seed(&r, 99);
    for (int b = 0; b < B; b++) {
        int cls = b % 4;
        y[b] = cls;
        float f = 2.0f + 3.0f * cls; /* Hz at 240 Hz sampling */
        for (int c = 0; c < C; c++) {
            float ph = 6.2831853f * rng_uniform(&r), amp = 0.5f + 0.05f * c;
            for (int t = 0; t < L; t++)
                x[((size_t)b * C + c) * L + t] =
                    amp * sinf(6.2831853f * f * t / 240.0f + ph) + 0.3f * rng_normal(&r);
        }
    }
}

/* Mean cross-entropy of logits (B, K); writes dlogits. */
static double cross_entropy(float *dlogits, const float *logits, const int *y, int B, int K) {
    double loss = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        double mx = z[0], s = 0;
        for (int k = 1; k < K; k++)
            mx = z[k] > mx ? z[k] : mx;
        for (int k = 0; k < K; k++)
            s += exp(z[k] - mx);
        loss += -(z[y[b]] - mx - log(s));
        for (int k = 0; k < K; k++)
            dlogits[(size_t)b * K + k] = (float)((exp(z[k] - mx) / s - (k == y[b])) / B);
    }
    return loss / B;
}

static void test_smoke_overfit(void **state) {
    (void)state;
    struct encoder_config cfg;
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    const int B = 8, K = 4, d = cfg.d_model, C = cfg.in_channels, L = cfg.in_samples;
    encoder *e;
    ecg_err err = {0};
    assert_int_equal(encoder_create(&e, &cfg, B, 3, 0, &err), ECG_OK);
    int hw = encoder_add_head_param(e, "head.weight", 2, (int[]){K, d}, &err);
    int hb = encoder_add_head_param(e, "head.bias", 1, (int[]){K}, &err);
    assert_true(hw >= 0 && hb >= 0);
    param_set *ps = encoder_params(e);
    rng_state r;
    rng_seed(&r, 4);
    for (int i = 0; i < K * d; i++)
        params_data(ps, hw)[i] = (2 * rng_uniform(&r) - 1) / sqrtf((float)d);
    float *x = tu_zeros((size_t)B * C * L);
    int y[8];
    make_data(x, y, B, C, L);
    adamw_config ac;
    adamw_config_default(&ac);
    // paper factors
    adamw opt;
    assert_int_equal(adamw_init(&opt, &ac, ps, &err), ECG_OK);
    float logits[8 * 4], dlogits[8 * 4], demb[8 * 64];
    double first = 0, loss = 0;
    int step;
    const int max_steps = 300;
    for (step = 0; step < max_steps; step++) {
        encoder_zero_grad(e);
        assert_int_equal(encoder_forward(e, x, B, ENC_TRAIN, &err), ECG_OK);
        const float *emb = encoder_embedding(e);
        linear_forward(logits, emb, params_data(ps, hw), params_data(ps, hb), B, d, K);
        loss = cross_entropy(dlogits, logits, y, B, K);
        if (step == 0) first = loss;
        if (loss < first / 100) break;
        linear_backward(demb, params_grad(ps, hw), params_grad(ps, hb), dlogits, emb,
                        params_data(ps, hw), B, d, K);
        assert_int_equal(encoder_backward(e, NULL, demb, NULL, &err), ECG_OK);
        assert_int_equal(adamw_step(&opt, ps, 3e-3f, &err), ECG_OK);
    }
    printf("smoke: cross-entropy %.4f -> %.6f (%.0fx) in %d steps\n", first, loss, first / loss,
           step);
    assert_true(loss < first / 100);
    adamw_free(&opt);
    free(x);
    encoder_free(e);
}

/* ---------------------------------------------------------------------------------------- */
/* Forward and backward at batch 32 allocate nothing after the first call; inference-only mode. */

static size_t heap_in_use(void) {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void test_no_alloc_per_call(void **state) {
    (void)state;
    if (getenv("ECGFM_SANITIZE")) skip(); /* ASan replaces malloc: mallinfo2 sees nothing */
    struct encoder_config cfg;
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    const int B = 32;
    encoder *e;
    ecg_err err = {0};
    assert_int_equal(encoder_create(&e, &cfg, B, 1, 0, &err), ECG_OK);
    float *x = tu_randn((size_t)B * 12 * 600, 3, 1.0f);
    float *demb = tu_randn((size_t)B * cfg.d_model, 4, 1.0f);
    assert_int_equal(encoder_forward(e, x, B, ENC_TRAIN, &err), ECG_OK);
    assert_int_equal(encoder_backward(e, NULL, demb, NULL, &err), ECG_OK);
    size_t before = heap_in_use();
    for (int i = 0; i < 2; i++) {
        assert_int_equal(encoder_forward(e, x, B, ENC_TRAIN, &err), ECG_OK);
        assert_int_equal(encoder_backward(e, NULL, demb, NULL, &err), ECG_OK);
        assert_int_equal(encoder_forward(e, x, B, ENC_EVAL, &err), ECG_OK);
    }
    size_t after = heap_in_use();
    printf("heap in use before %zu after %zu\n", before, after);
    assert_true(after <= before);
    /* batch above max_batch is refused with a message */
    assert_int_equal(encoder_forward(e, x, B + 1, ENC_EVAL, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "max_batch"));
    free(demb);
    encoder_free(e);

    /* inference-only: same embedding, no backward */
    encoder *a, *b;
    assert_int_equal(encoder_create(&a, &cfg, 4, 9, 0, &err), ECG_OK);
    assert_int_equal(encoder_create(&b, &cfg, 4, 9, ENC_INFERENCE_ONLY, &err), ECG_OK);
    assert_int_equal(encoder_forward(a, x, 4, ENC_EVAL, &err), ECG_OK);
    assert_int_equal(encoder_forward(b, x, 4, ENC_EVAL, &err), ECG_OK);
    assert_memory_equal(encoder_embedding(a), encoder_embedding(b),
                        4 * cfg.d_model * sizeof(float));
    assert_memory_equal(encoder_layer_out(a, 1), encoder_layer_out(b, 1),
                        4 * 300 * cfg.d_model * sizeof(float));
    assert_int_equal(encoder_backward(b, NULL, encoder_embedding(a), NULL, &err), ECG_EINVAL);
    assert_int_equal(encoder_forward(b, x, 4, ENC_TRAIN, &err), ECG_EINVAL);
    encoder_free(a);
    encoder_free(b);
    free(x);
}

/* Dropout is on in train mode (p = 0.2 changes the output) and the stream is deterministic. */
static void test_dropout_train_mode(void **state) {
    (void)state;
    struct encoder_config cfg;
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    encoder *a, *b;
    ecg_err err = {0};
    assert_int_equal(encoder_create(&a, &cfg, 2, 5, 0, &err), ECG_OK);
    assert_int_equal(encoder_create(&b, &cfg, 2, 5, 0, &err), ECG_OK);
    float *x = tu_randn(2 * 12 * 600, 8, 1.0f);
    const size_t n = 2 * 300 * 64;
    float *o1 = tu_zeros(n);
    assert_int_equal(encoder_forward(a, x, 2, ENC_TRAIN, &err), ECG_OK);
    memcpy(o1, encoder_out(a), n * sizeof *o1);
    assert_int_equal(encoder_forward(b, x, 2, ENC_TRAIN, &err), ECG_OK);
    assert_memory_equal(o1, encoder_out(b), n * sizeof *o1); /* same seed, same masks */
    assert_int_equal(encoder_forward(a, x, 2, ENC_TRAIN, &err), ECG_OK);
    assert_true(memcmp(o1, encoder_out(a), n * sizeof *o1) != 0); /* the stream moved on */
    free(o1), free(x);
    encoder_free(a);
    encoder_free(b);
}

/* A frozen encoder computes its S4 kernels once: the output is bit-identical to the unfrozen
 * path, it stays so over repeated forwards, and unfreezing picks up changed parameters. */
static void test_frozen_kernels(void **state) {
    (void)state;
    struct encoder_config cfg;
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    encoder *e;
    ecg_err err = {0};
    assert_int_equal(encoder_create(&e, &cfg, 2, 11, 0, &err), ECG_OK);
    float *x = tu_randn(2 * 12 * 600, 12, 1.0f);
    const size_t n = 2 * 64;
    float *ref = tu_zeros(n);
    assert_int_equal(encoder_forward(e, x, 2, ENC_EVAL, &err), ECG_OK);
    memcpy(ref, encoder_embedding(e), n * sizeof *ref);
    encoder_set_frozen(e, 1);
    assert_true(encoder_frozen(e));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(encoder_forward(e, x, 2, ENC_EVAL, &err), ECG_OK);
        assert_memory_equal(ref, encoder_embedding(e), n * sizeof *ref);
    }
    /* change dt of the first S4 layer; unfreeze and refreeze: the new kernel is used */
    param_set *ps = encoder_params(e);
    int v = params_find(ps, "backbone.layers.0.s4.log_dt");
    assert_true(v >= 0);
    for (int i = 0; i < ps->views[v].shape[0]; i++) params_data(ps, v)[i] += 0.5f;
    encoder_set_frozen(e, 0);
    assert_int_equal(encoder_forward(e, x, 2, ENC_EVAL, &err), ECG_OK);
    float *changed = tu_zeros(n);
    memcpy(changed, encoder_embedding(e), n * sizeof *changed);
    assert_true(memcmp(ref, changed, n * sizeof *ref) != 0);
    encoder_set_frozen(e, 1);
    assert_int_equal(encoder_forward(e, x, 2, ENC_EVAL, &err), ECG_OK);
    assert_memory_equal(changed, encoder_embedding(e), n * sizeof *ref);
    /* a train-mode forward unfreezes */
    assert_int_equal(encoder_forward(e, x, 2, ENC_TRAIN, &err), ECG_OK);
    assert_false(encoder_frozen(e));
    free(ref), free(changed), free(x);
    encoder_free(e);
}

/* Two runs with two compute threads give the same bits: every output is reduced in a fixed order,
 * whatever the scheduling. (Across thread counts the bits differ: OpenBLAS's sgemm partitions the
 * work differently for 1 and 2 threads.) */
static void test_threads_same_bits(void **state) {
    (void)state;
    struct encoder_config cfg;
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    cfg.dropout = 0.1f;
    const int B = 3, n = B * 300 * 64;
    encoder *e;
    ecg_err err = {0};
    float *x = tu_randn((size_t)B * 12 * 600, 12, 1.0f), *dtok = tu_randn((size_t)n, 13, 1.0f);
    float *out[2], *grad[2];
    const int saved = threads_get();
    threads_set(2);
    for (int t = 0; t < 2; t++) {
        assert_int_equal(encoder_create(&e, &cfg, B, 2, 0, &err), ECG_OK);
        assert_int_equal(encoder_forward(e, x, B, ENC_TRAIN, &err), ECG_OK);
        assert_int_equal(encoder_backward(e, dtok, NULL, NULL, &err), ECG_OK);
        out[t] = tu_zeros((size_t)n);
        memcpy(out[t], encoder_out(e), (size_t)n * sizeof(float));
        param_set *ps = encoder_params(e);
        grad[t] = tu_zeros(ps->n_floats);
        memcpy(grad[t], ps->grad, ps->n_floats * sizeof(float));
        if (t == 1) assert_memory_equal(grad[0], grad[1], ps->n_floats * sizeof(float));
        encoder_free(e);
    }
    assert_memory_equal(out[0], out[1], (size_t)n * sizeof(float));
    threads_set(saved);
    free(out[0]), free(out[1]), free(grad[0]), free(grad[1]), free(x), free(dtok);
}

/* ---------------------------------------------------------------------------------------- */
/* Configs: presets, validation messages, key/value round trip, the JSON files. */

static void test_config_kv_and_validation(void **state) {
    (void)state;
    ecg_err err = {0};
    for (int b = ENC_BACKBONE_S4; b <= ENC_BACKBONE_CNN; b++) {
        struct encoder_config c, r;
        encoder_config_small(&c, (enc_backbone)b);
        c.dropout = 0.123f, c.s4_dt_min = 1.7e-3f, c.causal = 1;
        assert_int_equal(encoder_config_validate(&c, &err), ECG_OK);
        enc_kv kv[ENC_KV_MAX];
        int n = encoder_config_to_kv(&c, kv);
        const char *flat[2 * ENC_KV_MAX + 2];
        for (int i = 0; i < n; i++)
            flat[2 * i] = kv[i].key, flat[2 * i + 1] = kv[i].value;
        flat[2 * n] = "format", flat[2 * n + 1] = "pt"; /* other metadata is ignored */
        assert_int_equal(encoder_config_from_kv(&r, flat, n + 1, &err), ECG_OK);
        assert_int_equal(encoder_config_diff(&c, &r, NULL, 0), 0);
        assert_memory_equal(&c, &r, sizeof c);
        /* a missing key is an error naming it */
        assert_int_equal(encoder_config_from_kv(&r, flat + 2, n - 1, &err), ECG_EFORMAT);
        assert_non_null(strstr(err.msg, "ecgfm.encoder.backbone"));
    }
    struct {
        const char *key, *value, *msg;
    } bad[] = {
        {"d_model", "0", "d_model"},       {"dropout", "1", "dropout"},
        {"s4_state", "7", "s4_state"},     {"s4_dt_max", "0.0001", "s4_dt_max"},
        {"in_samples", "2", "in_samples"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct encoder_config c;
        encoder_config_default(&c, ENC_BACKBONE_S4);
        assert_int_equal(encoder_config_set(&c, bad[i].key, bad[i].value, &err), ECG_OK);
        assert_int_equal(encoder_config_validate(&c, &err), ECG_EINVAL);
        assert_non_null(strstr(err.msg, bad[i].msg));
    }
    struct encoder_config c;
    encoder_config_default(&c, ENC_BACKBONE_TRANSFORMER);
    c.n_heads = 5;
    assert_int_equal(encoder_config_validate(&c, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "not divisible by n_heads 5"));
    encoder_config_default(&c, ENC_BACKBONE_CNN);
    c.cnn_kernel = 4;
    assert_int_equal(encoder_config_validate(&c, &err), ECG_EINVAL);
    assert_int_equal(encoder_config_set(&c, "d_model", "64x", &err), ECG_EINVAL);
    assert_int_equal(encoder_config_set(&c, "no_such_key", "1", &err), ECG_EINVAL);
    assert_int_equal(encoder_config_set(&c, "backbone", "lstm", &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "lstm"));
    encoder *e;
    encoder_config_default(&c, ENC_BACKBONE_S4);
    c.d_model = -3;
    assert_int_equal(encoder_create(&e, &c, 1, 1, 0, &err), ECG_EINVAL);
    assert_null(e);
}

static void test_config_json(void **state) {
    (void)state;
    ecg_err err = {0};
    struct encoder_config c, want;
    const struct {
        const char *file;
        enc_backbone bb;
        int small, layers;
    } files[] = {
        {"configs/models/s4_paper.json", ENC_BACKBONE_S4, 0, 4},
        {"configs/models/s4_paper_6l.json", ENC_BACKBONE_S4, 0, 6},
        {"configs/models/transformer.json", ENC_BACKBONE_TRANSFORMER, 0, 6},
        {"configs/models/cnn.json", ENC_BACKBONE_CNN, 0, 4},
        {"configs/models/small.json", ENC_BACKBONE_S4, 1, 2},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (encoder_config_from_json_file(&c, files[i].file, &err) != ECG_OK)
            fail_msg("%s", err.msg);
        if (files[i].small)
            encoder_config_small(&want, files[i].bb);
        else
            encoder_config_default(&want, files[i].bb);
        want.n_layers = files[i].layers;
        char diff[256];
        if (encoder_config_diff(&c, &want, diff, sizeof diff))
            fail_msg("%s differs from the preset: %s", files[i].file, diff);
        /* to_json -> from_json is the identity */
        json_t *j = encoder_config_to_json(&c);
        assert_non_null(j);
        struct encoder_config r;
        assert_int_equal(encoder_config_from_json(&r, j, &err), ECG_OK);
        assert_int_equal(encoder_config_diff(&c, &r, NULL, 0), 0);
        json_decref(j);
    }
    struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"d_modle\": 64}", "d_modle: unknown encoder config key"},
        {"{\"d_model\": \"64\"}", "d_model: must be an integer"},
        {"{\"d_model\": 64.5}", "d_model: must be an integer"},
        {"{\"dropout\": true}", "dropout: must be a number"},
        {"{\"causal\": 1}", "causal: must be true or false"},
        {"{\"backbone\": 4}", "backbone: must be a string"},
        {"{\"backbone\": \"rnn\"}", "backbone: \"rnn\""},
        {"{\"preset\": \"huge\"}", "preset"},
        {"{\"backbone\": \"transformer\", \"n_heads\": 7}", "n_heads"},
        {"{\"d_model\": 99999999999}", "d_model: 99999999999 is out of range"},
        {"[1, 2]", "must be a JSON object"},
        {"{\"d_model\": 64,}", "invalid JSON"},
        {"{\"d_model\": 64, \"d_model\": 32}", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(
            encoder_config_from_json_text(&c, bad[i].json, strlen(bad[i].json), &err), ECG_OK);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].json, err.msg, bad[i].msg);
    }
    const char *ok =
        "{\"backbone\": \"transformer\", \"preset\": \"small\", \"dropout\": 0, \"causal\": true}";
    assert_int_equal(encoder_config_from_json_text(&c, ok, strlen(ok), &err), ECG_OK);
    assert_int_equal(c.d_model, 64);
    assert_int_equal(c.n_heads, 4);
    assert_int_equal(c.causal, 1);
    assert_true(c.dropout == 0.0f);
    assert_int_equal(encoder_config_from_json_file(&c, "configs/models/nope.json", &err), ECG_EIO);
}

int main(void) {
    /* The machine is shared: one compute thread unless asked (spinning OpenMP threads on busy
     * cores make these tests several times slower). */
    const char *nt = getenv("ECGFM_TEST_THREADS");
    threads_set(nt ? atoi(nt) : 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity_s4_small),
        cmocka_unit_test(test_parity_s4_small_causal),
        cmocka_unit_test(test_parity_tf_small),
        cmocka_unit_test(test_parity_tf_small_causal),
        cmocka_unit_test(test_parity_cnn_small),
        cmocka_unit_test(test_parity_s4_paper),
        cmocka_unit_test(test_fd_s4),
        cmocka_unit_test(test_fd_transformer),
        cmocka_unit_test(test_fd_cnn),
        cmocka_unit_test(test_smoke_overfit),
        cmocka_unit_test(test_no_alloc_per_call),
        cmocka_unit_test(test_dropout_train_mode),
        cmocka_unit_test(test_frozen_kernels),
        cmocka_unit_test(test_threads_same_bits),
        cmocka_unit_test(test_config_kv_and_validation),
        cmocka_unit_test(test_config_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

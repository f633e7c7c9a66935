/* test_finetune.c — fine-tuning: finite-difference checks of the attention-pooling head and the
 * cross-entropy, the three modes on GunPoint with the bundled small checkpoint (above chance, in
 * bounded time), early stopping's restore, frozen encoders left untouched, determinism. */
#include "testutil.h"

#include <time.h>

#include "core/base/threads.h"
#include "core/data/sktime_ts.h"
#include "core/data/taskfmt.h"
#include "core/model/checkpoint.h"
#include "core/transfer/finetune.h"

static const char *CKPT = "models/small/checkpoint.safetensors";

static const char *data_path(const char *rel) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    const char *root = getenv("ECGFM_TESTDATA");
    snprintf(buf[k], sizeof buf[k], "%s/ucr_uea/%s", root ? root : "tests/data", rel);
    return buf[k];
}

static void load_gunpoint(task_split *train, task_split *test) {
    ecg_err err = {0};
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (ts_read_file(train, data_path("GunPoint/GunPoint_TRAIN.ts"), NULL, &err) ||
        ts_read_file(test, data_path("GunPoint/GunPoint_TEST.ts"), NULL, &err) ||
        task_split_align_classes(test, train, &err))
        fail_msg("GunPoint: %s", err.msg);
}

static encoder *load_encoder(int flags) {
    encoder *e = NULL;
    ecg_err err = {0};
    if (checkpoint_load_encoder(CKPT, 16, flags, &e, &err)) fail_msg("%s: %s", CKPT, err.msg);
    return e;
}

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- finite differences ---- */

typedef struct {
    int B, T, d;
    float *tokens, *q, *r, *pooled, *attn;
} ap_ctx;

/* loss = sum pooled * r, in double */
static double ap_loss(void *p) {
    ap_ctx *c = p;
    ft_attnpool_forward(c->pooled, c->attn, c->tokens, c->q, c->B, c->T, c->d);
    return tu_dot(c->pooled, c->r, (size_t)c->B * c->d);
}

static void test_attnpool_fd(void **state) {
    (void)state;
    ap_ctx c = {.B = 3, .T = 7, .d = 5};
    size_t nt = (size_t)c.B * c.T * c.d;
    c.tokens = tu_randn(nt, 1, 1.0f);
    c.q = tu_randn((size_t)c.d, 2, 1.5f); /* far from 0, so the attention is not uniform */
    c.r = tu_randn((size_t)c.B * c.d, 3, 1.0f);
    c.pooled = tu_zeros((size_t)c.B * c.d);
    c.attn = tu_zeros((size_t)c.B * c.T);
    float *dq = tu_zeros((size_t)c.d), *dt = tu_zeros(nt);
    ap_loss(&c);
    /* the weights are a distribution per window, and not uniform */
    double spread = 0;
    for (int b = 0; b < c.B; b++) {
        double s = 0;
        for (int t = 0; t < c.T; t++) {
            s += c.attn[b * c.T + t];
            spread = fmax(spread, fabs(c.attn[b * c.T + t] - 1.0 / c.T));
        }
        assert_true(fabs(s - 1) < 1e-6);
    }
    assert_true(spread > 0.05);
    ft_attnpool_backward(dt, dq, c.r, c.tokens, c.attn, c.q, c.B, c.T, c.d);
    double e_q = tu_fd_check(ap_loss, &c, c.q, dq, (size_t)c.d, (size_t)c.d, 1e-3f, 1e-3);
    /* float forward: a step of 1e-2 keeps rounding (~1e-7 / eps) below the truncation error */
    double e_t = tu_fd_check(ap_loss, &c, c.tokens, dt, nt, nt, 1e-2f, 1e-2);
    printf("attnpool FD: dq %.2e, dtokens %.2e\n", e_q, e_t);
    assert_true(e_q < 1e-2);
    assert_true(e_t < 1e-2);
    /* dq accumulates */
    float *dq2 = tu_zeros((size_t)c.d);
    memcpy(dq2, dq, (size_t)c.d * sizeof *dq2);
    ft_attnpool_backward(NULL, dq2, c.r, c.tokens, c.attn, c.q, c.B, c.T, c.d);
    for (int k = 0; k < c.d; k++)
        assert_true(fabsf(dq2[k] - 2 * dq[k]) <= 1e-5f * (1 + fabsf(dq[k])));
    free(c.tokens);
    free(c.q);
    free(c.r);
    free(c.pooled);
    free(c.attn);
    free(dq);
    free(dq2);
    free(dt);
}

typedef struct {
    float *z;
    int *y;
    int n, k;
} ce_ctx;

static double ce_loss(void *p) {
    ce_ctx *c = p;
    return ft_cross_entropy(NULL, c->z, c->y, c->n, c->k, 1.0f);
}

static void test_cross_entropy_fd(void **state) {
    (void)state;
    ce_ctx c = {.n = 4, .k = 3};
    int y[4] = {0, 2, 1, 2};
    c.y = y;
    c.z = tu_randn(12, 7, 2.0f);
    float *dz = tu_zeros(12);
    double l = ft_cross_entropy(dz, c.z, c.y, c.n, c.k, 1.0f / c.n);
    /* the loss is a mean of -log p: uniform logits give log k */
    float zero[12] = {0};
    assert_true(fabs(ft_cross_entropy(NULL, zero, y, 4, 3, 1) - log(3.0)) < 1e-12);
    assert_true(l > 0);
    double e = tu_fd_check(ce_loss, &c, c.z, dz, 12, 12, 1e-3f, 1e-3);
    printf("cross-entropy FD: %.2e\n", e);
    assert_true(e < 1e-2);
    free(c.z);
    free(dz);
}

/* ---- end to end on GunPoint ---- */

/* frozen and linear: above chance, encoder bit-identical, deterministic */
static void test_frozen_modes(void **state) {
    (void)state;
    task_split train, test;
    load_gunpoint(&train, &test);
    encoder *e = load_encoder(ENC_INFERENCE_ONLY);
    param_set *ps = encoder_params(e);
    size_t nf = ps->n_floats, nb = ps->n_buf;
    float *data0 = malloc(nf * sizeof *data0), *buf0 = malloc((nb + 1) * sizeof *buf0);
    assert_non_null(data0);
    assert_non_null(buf0);
    memcpy(data0, ps->data, nf * sizeof *data0);
    memcpy(buf0, ps->buf, nb * sizeof *buf0);
    int64_t bn0 = encoder_bn_batches(e);
    ft_mode modes[2] = {FT_FROZEN, FT_LINEAR};
    for (int m = 0; m < 2; m++) {
        ft_opts o;
        ft_opts_default(&o);
        o.mode = modes[m];
        ft_result r, r2;
        ecg_err err = {0};
        double t0 = wall();
        if (finetune_run(e, &o, &train, &test, &r, &err)) fail_msg("%s", err.msg);
        printf("%s: test accuracy %.4f, best epoch %d of %d, %.2f s\n", ft_mode_name(o.mode),
               r.test.accuracy, r.best_epoch, r.epochs_run, wall() - t0);
        /* chance is 0.5 (76/74 test series); the zero-shot logistic probe gets 0.967 */
        assert_true(r.test.accuracy >= 0.85);
        assert_int_equal(r.n_fit + r.n_val, 50);
        assert_int_equal(r.n_val, 10);
        assert_int_equal(ps->n_floats, nf);
        assert_memory_equal(ps->data, data0, nf * sizeof *data0);
        assert_memory_equal(ps->buf, buf0, nb * sizeof *buf0);
        assert_int_equal(encoder_bn_batches(e), bn0);
        /* same seed, same result; another seed, another split */
        if (finetune_run(e, &o, &train, &test, &r2, &err)) fail_msg("%s", err.msg);
        assert_int_equal(r2.epochs_run, r.epochs_run);
        assert_memory_equal(r2.val_loss, r.val_loss, (size_t)(r.epochs_run + 1) * sizeof(double));
        assert_memory_equal(&r2.test.auroc, &r.test.auroc, sizeof(double));
        ft_result_free(&r2);
        o.seed = 1;
        if (finetune_run(e, &o, &train, &test, &r2, &err)) fail_msg("%s", err.msg);
        assert_true(memcmp(r2.val_loss, r.val_loss, sizeof(double)) != 0);
        ft_result_free(&r2);
        ft_result_free(&r);
    }
    free(data0);
    free(buf0);
    encoder_free(e);
    task_split_free(&train);
    task_split_free(&test);
}

/* finetune mode trains the encoder, beats chance, is deterministic */
static void test_finetune_mode(void **state) {
    (void)state;
    task_split train, test;
    load_gunpoint(&train, &test);
    ft_opts o;
    ft_opts_default(&o);
    o.mode = FT_FINETUNE;
    o.epochs = 12; /* the default lr (1e-2) */
    float *p[2] = {NULL, NULL};
    double acc[2], auroc[2];
    size_t nf = 0;
    for (int run = 0; run < 2; run++) {
        encoder *e = load_encoder(0);
        param_set *ps = encoder_params(e);
        nf = ps->n_floats;
        float *before = malloc(nf * sizeof *before);
        assert_non_null(before);
        memcpy(before, ps->data, nf * sizeof *before);
        ft_result r;
        ecg_err err = {0};
        double t0 = wall();
        if (finetune_run(e, &o, &train, &test, &r, &err)) fail_msg("%s", err.msg);
        printf("finetune: test accuracy %.4f, best epoch %d of %d, %.2f s\n", r.test.accuracy,
               r.best_epoch, r.epochs_run, wall() - t0);
        assert_true(r.val_loss[r.best_epoch] < r.val_loss[0]); /* training helped validation */
        assert_true(memcmp(before, ps->data, nf * sizeof *before) != 0);
        p[run] = before;
        memcpy(p[run], ps->data, nf * sizeof *before);
        acc[run] = r.test.accuracy;
        auroc[run] = r.test.auroc;
        ft_result_free(&r);
        encoder_free(e);
    }
    assert_true(acc[0] >= 0.7);
    assert_memory_equal(p[0], p[1], nf * sizeof *p[0]);
    assert_memory_equal(&auroc[0], &auroc[1], sizeof(double));
    free(p[0]);
    free(p[1]);
    task_split_free(&train);
    task_split_free(&test);
}

/* Early stopping: a run that stopped after its best epoch ends with exactly the weights of a run
 * trained for best_epoch epochs (same seed: same split, shuffles, dropout). */
static void test_early_stopping_restores(void **state) {
    (void)state;
    task_split train, test;
    load_gunpoint(&train, &test);
    ft_opts o;
    ft_opts_default(&o);
    o.mode = FT_FINETUNE;
    o.epochs = 16;
    o.patience = 6; /* validation loss rises for the first three epochs */
    o.lr = 2e-2f;   /* large: validation loss is noisy, and turns up within a few epochs */
    encoder *a = load_encoder(0), *b = load_encoder(0);
    ft_result ra, rb;
    ecg_err err = {0};
    if (finetune_run(a, &o, &train, &test, &ra, &err)) fail_msg("%s", err.msg);
    printf("early stopping: best epoch %d of %d; val loss", ra.best_epoch, ra.epochs_run);
    for (int i = 0; i <= ra.epochs_run; i++)
        printf(" %.4f", ra.val_loss[i]);
    printf("\n");
    /* the restore must matter: training went on past the best epoch */
    assert_true(ra.val_loss[ra.best_epoch] < ra.val_loss[0]);
    assert_true(ra.epochs_run > ra.best_epoch);
    /* it stopped on patience, and the best is the minimum of the record */
    assert_true(ra.epochs_run < o.epochs);
    assert_int_equal(ra.epochs_run, ra.best_epoch + o.patience);
    for (int i = 1; i <= ra.epochs_run; i++)
        assert_true(ra.val_loss[ra.best_epoch] <= ra.val_loss[i]);
    o.epochs = ra.best_epoch;
    if (finetune_run(b, &o, &train, &test, &rb, &err)) fail_msg("%s", err.msg);
    assert_int_equal(rb.best_epoch, ra.best_epoch);
    param_set *pa = encoder_params(a), *pb = encoder_params(b);
    assert_memory_equal(pa->data, pb->data, pa->n_floats * sizeof(float));
    assert_memory_equal(pa->buf, pb->buf, pa->n_buf * sizeof(float));
    assert_int_equal(encoder_bn_batches(a), encoder_bn_batches(b));
    assert_memory_equal(&ra.test.auroc, &rb.test.auroc, sizeof(double));
    ft_result_free(&ra);
    ft_result_free(&rb);
    encoder_free(a);
    encoder_free(b);
    task_split_free(&train);
    task_split_free(&test);
}

static void test_bad_input(void **state) {
    (void)state;
    ft_mode m;
    ecg_err err = {0};
    assert_int_equal(ft_mode_parse("frozen", &m, &err), ECG_OK);
    assert_int_equal(m, FT_FROZEN);
    assert_int_equal(ft_mode_parse("probe", &m, &err), ECG_EINVAL);
    task_split train, test;
    load_gunpoint(&train, &test);
    encoder *e = load_encoder(ENC_INFERENCE_ONLY);
    ft_opts o;
    ft_opts_default(&o);
    ft_result r;
    /* finetune needs a train-capable encoder */
    o.mode = FT_FINETUNE;
    o.epochs = 1;
    assert_int_not_equal(finetune_run(e, &o, &train, &test, &r, &err), ECG_OK);
    o.mode = FT_LINEAR;
    o.val_fraction = 1.0;
    assert_int_equal(finetune_run(e, &o, &train, &test, &r, &err), ECG_EINVAL);
    encoder_free(e);
    task_split_free(&train);
    task_split_free(&test);
}

int main(void) {
    threads_set(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attnpool_fd),
        cmocka_unit_test(test_cross_entropy_fd),
        cmocka_unit_test(test_frozen_modes),
        cmocka_unit_test(test_finetune_mode),
        cmocka_unit_test(test_early_stopping_restores),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

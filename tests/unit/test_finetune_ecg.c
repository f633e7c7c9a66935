/* test_finetune_ecg.c — ECG dataset fine-tuning: AUROC vs sklearn, BCE vs torch, record means of
 * windows, the split, CinC Dx bitmasks, the bundled checkpoint on synthetic rhythms. */
#include "testutil.h"

#include <time.h>

#include "core/base/threads.h"
#include "core/data/dx_labels.h"
#include "core/data/store.h"
#include "core/data/wfdb.h"
#include "core/data/synth.h"
#include "core/format/safetensors.h"
#include "core/model/checkpoint.h"
#include "core/transfer/auroc.h"
#include "core/transfer/classify.h"
#include "core/transfer/finetune_ecg.h"

static const char *CKPT = "models/small/checkpoint.safetensors";
#define AUROC_TOL 1e-6 /* the fixture stores sklearn's doubles as float32 */

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const void *fixture_raw(const st_file *f, const char *name, st_dtype dt, size_t *n) {
    const st_tensor *t = st_find(f, name);
    if (!t) fail_msg("fixture tensor %s missing", name);
    if (t->dtype != dt) fail_msg("fixture tensor %s has another dtype", name);
    size_t el = dt == ST_U8 ? 1 : 4;
    if (n) *n = t->nbytes / el;
    return f->payload + t->offset;
}

/* float32 tensor as doubles (exact) */
static double *fixture_f64(const st_file *f, const char *name, size_t *n) {
    size_t m;
    const float *v = fixture_raw(f, name, ST_F32, &m);
    double *d = malloc((m ? m : 1) * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < m; i++) {
        float x;
        memcpy(&x, v + i, sizeof x);
        d[i] = x;
    }
    if (n) *n = m;
    return d;
}

static void check_close(double got, double want, const char *what) {
    if (isnan(want)) {
        if (!isnan(got)) fail_msg("%s: %.9f, sklearn has none (NaN)", what, got);
        return;
    }
    if (!(fabs(got - want) <= AUROC_TOL)) fail_msg("%s: %.9f, sklearn %.9f", what, got, want);
}

/* ---- AUROC against sklearn.metrics.roc_auc_score ---- */

static void test_auroc_sklearn(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "auroc");
    ecg_err err = {0};
    /* binary, with ties; every score equal */
    const char *bin[2] = {"bin", "flat"};
    for (int b = 0; b < 2; b++) {
        char name[64];
        size_t n;
        snprintf(name, sizeof name, "%s/score", bin[b]);
        double *s = fixture_f64(&f, name, &n);
        snprintf(name, sizeof name, "%s/y", bin[b]);
        const int32_t *y = fixture_raw(&f, name, ST_I32, NULL);
        int *pos = malloc(n * sizeof *pos);
        assert_non_null(pos);
        for (size_t i = 0; i < n; i++)
            pos[i] = y[i];
        snprintf(name, sizeof name, "%s/auroc", bin[b]);
        double *want = fixture_f64(&f, name, NULL), a;
        assert_int_equal(auroc_binary(&a, s, pos, (int)n, &err), ECG_OK);
        printf("%s: AUROC %.6f (sklearn %.6f)\n", bin[b], a, want[0]);
        check_close(a, want[0], bin[b]);
        /* the probes' float version agrees */
        float *sf = malloc(n * sizeof *sf);
        assert_non_null(sf);
        for (size_t i = 0; i < n; i++)
            sf[i] = (float)s[i];
        double af;
        assert_int_equal(metrics_auroc_binary(&af, sf, pos, (int)n, &err), ECG_OK);
        assert_memory_equal(&af, &a, sizeof a);
        free(sf);
        free(s);
        free(pos);
        free(want);
    }
    /* macro over classes: multi-label with two degenerate columns, single-label with every class
     * and with one class absent */
    const char *mc[3] = {"ml", "mc", "mc_absent"};
    const int skipped_want[3] = {2, 0, 1};
    for (int m = 0; m < 3; m++) {
        char name[64];
        size_t nk, n;
        snprintf(name, sizeof name, "%s/per_class", mc[m]);
        double *per_want = fixture_f64(&f, name, &nk);
        snprintf(name, sizeof name, "%s/score", mc[m]);
        double *s = fixture_f64(&f, name, &n);
        int K = (int)nk, rows = (int)(n / nk);
        uint8_t *target = calloc(n, 1);
        assert_non_null(target);
        snprintf(name, sizeof name, "%s/y", mc[m]);
        if (m == 0)
            memcpy(target, fixture_raw(&f, name, ST_U8, NULL), n);
        else {
            const int32_t *y = fixture_raw(&f, name, ST_I32, NULL);
            for (int i = 0; i < rows; i++)
                target[(size_t)i * K + y[i]] = 1;
        }
        snprintf(name, sizeof name, "%s/auroc", mc[m]);
        double *want = fixture_f64(&f, name, NULL);
        double macro, *per = malloc(nk * sizeof *per);
        int scored;
        assert_non_null(per);
        assert_int_equal(auroc_macro(&macro, per, &scored, s, target, rows, K, &err), ECG_OK);
        printf("%s: macro AUROC %.6f over %d of %d classes (sklearn %.6f)\n", mc[m], macro, scored,
               K, want[0]);
        for (int c = 0; c < K; c++) {
            snprintf(name, sizeof name, "%s class %d", mc[m], c);
            check_close(per[c], per_want[c], name);
        }
        check_close(macro, want[0], mc[m]);
        assert_int_equal(scored, K - skipped_want[m]);
        free(per_want);
        free(s);
        free(target);
        free(want);
        free(per);
    }
    /* no rows, a non-finite score */
    double a, nan_score[2] = {0.5, NAN};
    int pos2[2] = {0, 1};
    assert_int_equal(auroc_binary(&a, nan_score, pos2, 0, &err), ECG_OK);
    assert_true(isnan(a));
    assert_int_equal(auroc_binary(&a, nan_score, pos2, 2, &err), ECG_EINVAL);
    st_free(&f);
}

/* ---- BCE with logits against torch.nn.BCEWithLogitsLoss ---- */

typedef struct {
    float *z;
    const uint8_t *y;
    int n, k;
} bce_ctx;

static double bce_loss(void *p) {
    bce_ctx *c = p;
    return fte_bce_with_logits(NULL, c->z, c->y, c->n, c->k, 1.0f);
}

static void test_bce_torch(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "auroc");
    size_t n;
    float *z = tu_fixture_f32(&f, "bce/z", &n);
    float *want_grad = tu_fixture_f32(&f, "bce/grad", NULL);
    float *want_loss = tu_fixture_f32(&f, "bce/loss", NULL);
    const uint8_t *y = fixture_raw(&f, "bce/y", ST_U8, NULL);
    const st_tensor *t = st_find(&f, "bce/z");
    int rows = (int)t->shape[0], k = (int)t->shape[1];
    float *dz = tu_zeros(n);
    double l = fte_bce_with_logits(dz, z, y, rows, k, 1.0f / (float)n);
    printf("BCE: %.7f (torch %.7f), gradient nmse %.2e\n", l, want_loss[0],
           tu_nmse(dz, want_grad, n));
    assert_true(fabs(l - want_loss[0]) <= 1e-6 * (1 + fabs(want_loss[0])));
    assert_true(tu_nmse(dz, want_grad, n) < 1e-10);
    /* and the gradient is the loss's */
    bce_ctx c = {z, y, rows, k};
    double e = tu_fd_check(bce_loss, &c, z, dz, n, n, 1e-3f, 1e-3);
    assert_true(e < 1e-2);
    free(z);
    free(want_grad);
    free(want_loss);
    free(dz);
    st_free(&f);
}

/* ---- what is scored: record means of non-overlapping windows ---- */

static void test_window_count(void **state) {
    (void)state;
    assert_int_equal(fte_window_count(2400, 600), 4); /* 10 s at 240 Hz */
    assert_int_equal(fte_window_count(2399, 600), 3); /* the short tail is not scored */
    assert_int_equal(fte_window_count(1300, 600), 2);
    assert_int_equal(fte_window_count(600, 600), 1);
    assert_int_equal(fte_window_count(599, 600), 1); /* one zero-padded window */
    assert_int_equal(fte_window_count(0, 600), 1);
}

/* A hand-built case where the record means rank the records perfectly and any per-window rule
 * would not: records A (true class 1: windows 0.9, 0.1, 0.2 -> mean 0.4), B (0: 0.35, 0.35 ->
 * 0.35), C (1: 0.5), D (0: 0.6, 0.0 -> 0.3), windows interleaved. Means: AUROC 1 for both classes.
 * Max or first window per record: A 0.9, B 0.35, C 0.5, D 0.6 -> 0.75; windows pooled: 0.53. */
static void test_record_means_scored(void **state) {
    (void)state;
    const double p1[8] = {0.9, 0.35, 0.1, 0.5, 0.6, 0.2, 0.35, 0.0};
    const int rec[8] = {0, 1, 0, 2, 3, 0, 1, 3};
    double pw[16];
    for (int w = 0; w < 8; w++) {
        pw[2 * w] = 1 - p1[w];
        pw[2 * w + 1] = p1[w];
    }
    const int label[4] = {1, 0, 1, 0};
    uint8_t target[8] = {0};
    for (int j = 0; j < 4; j++)
        target[2 * j + label[j]] = 1;
    fte_scores s;
    double prob[8];
    ecg_err err = {0};
    assert_int_equal(fte_scores_compute(&s, pw, rec, 8, 4, 2, target, label, prob, &err), ECG_OK);
    const double mean1[4] = {0.4, 0.35, 0.5, 0.3};
    for (int j = 0; j < 4; j++)
        assert_true(fabs(prob[2 * j + 1] - mean1[j]) < 1e-15);
    assert_true(s.macro_auroc == 1.0);
    assert_int_equal(s.n_scored, 2);
    assert_int_equal(s.n_windows, 8);
    assert_int_equal(s.n_records, 4);
    /* arg-max: A 0.4 -> class 0 (wrong), C 0.5/0.5 -> the lower class 0 (wrong), B, D right */
    assert_true(s.accuracy == 0.5);
    /* the per-window rules named above would score lower */
    double first[4] = {0.9, 0.35, 0.5, 0.6}, a;
    int pos[4] = {1, 0, 1, 0};
    assert_int_equal(auroc_binary(&a, first, pos, 4, &err), ECG_OK);
    assert_true(a == 0.75);
    fte_scores_free(&s);

    /* multi-label: class 1 positive in every record has no AUROC: skipped and counted */
    const double mw[6] = {0.8, 0.3, 0.2, 0.9, 0.6, 0.1}; /* 3 windows x 2 classes */
    const int mrec[3] = {0, 1, 2};
    const uint8_t mt[6] = {1, 1, 0, 1, 1, 1};
    assert_int_equal(fte_scores_compute(&s, mw, mrec, 3, 3, 2, mt, NULL, NULL, &err), ECG_OK);
    assert_int_equal(s.n_scored, 1);
    assert_true(isnan(s.auroc[1]));
    assert_int_equal(s.positives[1], 3);
    assert_true(s.macro_auroc == 1.0); /* class 0: 0.8, 0.6 positive over 0.2 */
    assert_true(isnan(s.accuracy));
    fte_scores_free(&s);
    /* a record without windows is an error */
    assert_int_equal(fte_scores_compute(&s, pw, rec, 8, 5, 2, target, NULL, NULL, &err),
                     ECG_EINVAL);
}

/* ---- a synthetic store ---- */

/* n synth records (rhythm label in field 0, a 2-class bitmask in field 1: bit 0 irregular rhythm
 * (af, pvc), bit 1 wide complexes (pvc, wide_qrs)); record i is cut to len(i) samples when len is
 * given; every unlabelled-th record has field 0 missing (0: none). */
static void write_synth(const char *dir, int n, uint64_t seed, size_t (*len)(int), int unlabelled) {
    ecg_err err = {0};
    synth_config sc;
    synth_config_default(&sc);
    sc.seed = seed;
    store_writer *w;
    if (store_writer_open(&w, dir, NULL, &err)) fail_msg("%s", err.msg);
    for (int k = 0; k < SYNTH_N_CLASSES; k++)
        if (store_writer_set_label_value(w, 0, k, synth_class_name(k), &err))
            fail_msg("%s", err.msg);
    if (store_writer_set_label_value(w, 1, 1, "irregular", &err) ||
        store_writer_set_label_value(w, 1, 2, "wide", &err))
        fail_msg("%s", err.msg);
    for (int i = 0; i < n; i++) {
        ecg_record r = {0};
        int label;
        if (synth_record(&sc, (uint64_t)i, &r, &label, &err)) fail_msg("%s", err.msg);
        store_prepared p;
        if (store_prepare(&p, &r, &err)) fail_msg("%s", err.msg);
        size_t m = len ? len(i) : p.n;
        if (m > p.n) m = p.n;
        /* keep the [12][m] layout: move each lead's first m samples down */
        for (int l = 1; l < 12; l++)
            memmove(p.x + (size_t)l * m, p.x + (size_t)l * p.n, m * sizeof *p.x);
        int mask = (label == SYNTH_AF || label == SYNTH_PVC) |
                   (label == SYNTH_PVC || label == SYNTH_WIDE_QRS) << 1;
        int32_t labels[STORE_N_LABELS] = {label, mask, STORE_LABEL_MISSING, STORE_LABEL_MISSING};
        if (unlabelled && i % unlabelled == 0) labels[0] = STORE_LABEL_MISSING;
        if (store_writer_add(w, p.x, m, p.lead_mask, labels, p.orig_fs, NULL, &err))
            fail_msg("%s", err.msg);
        store_prepared_free(&p);
        record_free(&r);
    }
    if (store_writer_close(w, &err)) fail_msg("%s", err.msg);
}

static store_dataset *open_store(const char *dir) {
    store_dataset *ds;
    ecg_err err = {0};
    if (store_open(&ds, dir, 0, &err)) fail_msg("%s: %s", dir, err.msg);
    return ds;
}

static encoder *load_encoder(int flags) {
    encoder *e = NULL;
    ecg_err err = {0};
    if (checkpoint_load_encoder(CKPT, 16, flags, &e, &err)) fail_msg("%s: %s", CKPT, err.msg);
    return e;
}

/* lengths from 1 s to 10 s and one under a window */
static size_t odd_length(int i) {
    static const size_t L[5] = {2400, 1300, 599, 1900, 2399};
    return L[i % 5];
}

/* End to end, the test split's windows are exactly each record's floor(n / 600) (or one). */
static void test_scored_windows_end_to_end(void **state) {
    (void)state;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/odd", tu_tmpdir);
    write_synth(dir, 40, 3, odd_length, 0);
    store_dataset *ds = open_store(dir);
    encoder *e = load_encoder(ENC_INFERENCE_ONLY);
    fte_opts o;
    fte_opts_default(&o);
    o.mode = FT_LINEAR;
    o.epochs = 2;
    o.test_fraction = 0.5;
    fte_result r;
    ecg_err err = {0};
    if (finetune_ecg_run(e, ds, &o, &r, &err)) fail_msg("%s", err.msg);
    int windows = 0;
    for (int j = 0; j < r.n_test; j++) {
        store_record_info info;
        assert_int_equal(store_info(ds, r.test_records[j], &info, &err), ECG_OK);
        windows += fte_window_count(info.n_samples, 600);
        if (j) assert_true(r.test_records[j] > r.test_records[j - 1]);
        double sum = 0;
        for (int c = 0; c < r.n_classes; c++)
            sum += r.test_prob[(size_t)j * r.n_classes + c];
        assert_true(fabs(sum - 1) < 1e-9); /* means of softmax rows */
    }
    printf("test split: %d records, %d windows\n", r.n_test, r.test.n_windows);
    assert_int_equal(r.test.n_windows, windows);
    assert_int_equal(r.test.n_records, r.n_test);
    assert_int_equal(r.n_train + r.n_val + r.n_test, 40);
    assert_int_equal(r.n_classes, 4);
    assert_string_equal(r.class_names[1], "af");
    fte_result_free(&r);
    encoder_free(e);
    store_close(ds);
}

/* ---- the split ---- */

static void test_split(void **state) {
    (void)state;
    enum { N = 1000 };
    int32_t v[N];
    uint8_t part[N], part2[N];
    rng_state g;
    rng_seed(&g, 5);
    for (int i = 0; i < N; i++)
        v[i] = (int32_t)(rng_below(&g, 10) < 7 ? rng_below(&g, 3) : 3 + rng_below(&g, 20));
    ecg_err err = {0};
    rng_state a, b;
    rng_seed(&a, 9);
    rng_seed(&b, 9);
    assert_int_equal(fte_split(v, N, 0.1, 0.2, &a, part, &err), ECG_OK);
    assert_int_equal(fte_split(v, N, 0.1, 0.2, &b, part2, &err), ECG_OK);
    assert_memory_equal(part, part2, N); /* same seed, same split */
    /* every record in exactly one part (a part per record: none straddles); shares near the
     * asked ones, per label value too (stratified) */
    int cnt[3] = {0}, per[3][3] = {{0}}, nv[3] = {0};
    for (int i = 0; i < N; i++) {
        assert_true(part[i] <= FTE_TEST);
        cnt[part[i]]++;
        if (v[i] < 3) per[v[i]][part[i]]++, nv[v[i]]++;
    }
    printf("split of %d: %d train, %d validation, %d test\n", N, cnt[0], cnt[1], cnt[2]);
    assert_true(abs(cnt[FTE_TEST] - 200) <= 3 && abs(cnt[FTE_VAL] - 100) <= 3);
    for (int k = 0; k < 3; k++) {
        assert_true(fabs(per[k][FTE_TEST] - 0.2 * nv[k]) <= 2);
        assert_true(fabs(per[k][FTE_VAL] - 0.1 * nv[k]) <= 2);
    }
    rng_seed(&b, 10);
    assert_int_equal(fte_split(v, N, 0.1, 0.2, &b, part2, &err), ECG_OK);
    assert_true(memcmp(part, part2, N) != 0);
}

/* ---- fine-tuning the bundled checkpoint on synthetic rhythms ---- */

static char synth_dir[1100];

static void test_synth_finetune(void **state) {
    (void)state;
    snprintf(synth_dir, sizeof synth_dir, "%s/synth", tu_tmpdir);
    write_synth(synth_dir, 200, 7, NULL, 0);
    store_dataset *ds = open_store(synth_dir);
    fte_opts o;
    fte_opts_default(&o);
    /* sanitizers run several times slower: there the run is for memory errors and determinism */
    const int san = getenv("ECGFM_SANITIZE") != NULL;
    o.epochs = san ? 3 : 10;
    fte_result r[2];
    float *w[2];
    size_t nf = 0;
    for (int run = 0; run < 2; run++) {
        encoder *e = load_encoder(0);
        ecg_err err = {0};
        double t0 = wall();
        if (finetune_ecg_run(e, ds, &o, &r[run], &err)) fail_msg("%s", err.msg);
        double dt = wall() - t0;
        printf("finetune on synth rhythms (%d train / %d val / %d test): test macro AUROC %.4f, "
               "accuracy %.4f, best epoch %d of %d, %.1f s\n",
               r[run].n_train, r[run].n_val, r[run].n_test, r[run].test.macro_auroc,
               r[run].test.accuracy, r[run].best_epoch, r[run].epochs_run, dt);
        if (!san) assert_true(dt < 60);
        param_set *ps = encoder_params(e);
        nf = ps->n_floats;
        w[run] = malloc(nf * sizeof *w[run]);
        assert_non_null(w[run]);
        memcpy(w[run], ps->data, nf * sizeof *w[run]);
        encoder_free(e);
    }
    /* chance is 0.5; measured 0.9188 (4 classes scored, 40 test records) */
    if (!san) assert_true(r[0].test.macro_auroc > 0.8);
    assert_int_equal(r[0].test.n_scored, 4);
    if (!san) assert_true(r[0].val_auroc[r[0].best_epoch] > r[0].val_auroc[0]);
    /* same seed: bit-identical */
    assert_int_equal(r[0].epochs_run, r[1].epochs_run);
    assert_memory_equal(w[0], w[1], nf * sizeof *w[0]);
    assert_memory_equal(r[0].train_loss, r[1].train_loss, (size_t)r[0].epochs_run * sizeof(double));
    assert_memory_equal(r[0].val_auroc, r[1].val_auroc,
                        (size_t)(r[0].epochs_run + 1) * sizeof(double));
    assert_memory_equal(r[0].test_prob, r[1].test_prob,
                        (size_t)r[0].n_test * r[0].n_classes * sizeof(double));
    assert_memory_equal(&r[0].test.macro_auroc, &r[1].test.macro_auroc, sizeof(double));
    for (int i = 0; i < 2; i++) {
        fte_result_free(&r[i]);
        free(w[i]);
    }
    store_close(ds);
}

/* multi-label (bitmask field 1) in the frozen modes: above chance, encoder untouched */
static void test_multilabel_frozen(void **state) {
    (void)state;
    store_dataset *ds = open_store(synth_dir); /* written by test_synth_finetune */
    encoder *e = load_encoder(ENC_INFERENCE_ONLY);
    param_set *ps = encoder_params(e);
    float *before = malloc(ps->n_floats * sizeof *before);
    assert_non_null(before);
    memcpy(before, ps->data, ps->n_floats * sizeof *before);
    ft_mode modes[2] = {FT_LINEAR, FT_FROZEN};
    for (int m = 0; m < 2; m++) {
        fte_opts o;
        fte_opts_default(&o);
        o.mode = modes[m];
        o.label_field = 1;
        o.multilabel = 1;
        o.epochs = 8;
        fte_result r;
        ecg_err err = {0};
        double t0 = wall();
        if (finetune_ecg_run(e, ds, &o, &r, &err)) fail_msg("%s", err.msg);
        printf("multi-label %s: test macro AUROC %.4f (%s %.4f, %s %.4f), best epoch %d of %d, "
               "%.1f s\n",
               ft_mode_name(o.mode), r.test.macro_auroc, r.class_names[0], r.test.auroc[0],
               r.class_names[1], r.test.auroc[1], r.best_epoch, r.epochs_run, wall() - t0);
        assert_int_equal(r.n_classes, 2);
        assert_string_equal(r.class_names[0], "irregular");
        assert_string_equal(r.class_names[1], "wide");
        assert_true(isnan(r.test.accuracy));
        assert_true(r.test.macro_auroc > 0.65);
        assert_memory_equal(ps->data, before, ps->n_floats * sizeof *before);
        fte_result_free(&r);
    }
    free(before);
    encoder_free(e);
    store_close(ds);
}

/* ---- multi-label data from real records: CinC 2021 SNOMED-CT Dx codes as a bitmask ---- */

static void test_dx_mask(void **state) {
    (void)state;
    const char *codes[3] = {"426783006", "164934002", "55930002"};
    int32_t m;
    ecg_err err = {0};
    assert_int_equal(
        dx_labels_mask("Age: 59\n Dx: 164934002,426783006\nRx: Unknown", codes, 3, &m, &err),
        ECG_OK);
    assert_int_equal(m, 3);
    assert_int_equal(dx_labels_mask("Dx: 4267830061, 5593000", codes, 3, &m, &err), ECG_OK);
    assert_int_equal(m, 0); /* whole tokens only */
    assert_int_equal(dx_labels_mask("Age: 59", codes, 3, &m, &err), ECG_OK);
    assert_int_equal(m, STORE_LABEL_MISSING);
    assert_int_equal(dx_labels_mask(NULL, codes, 3, &m, &err), ECG_OK);
    assert_int_equal(m, STORE_LABEL_MISSING);
    assert_int_equal(dx_labels_mask("Dx: 1", codes, 32, &m, &err), ECG_EINVAL);
}

/* The three CinC 2021 records (tests/data/ecg/cinc2021) into a store with a bitmask field over
 * five SNOMED-CT codes; fine-tuning reads it as multi-label, names the classes from the manifest,
 * and reports the classes a one-record test split cannot score. */
static void test_cinc2021_multilabel(void **state) {
    (void)state;
    static const char *codes[6] = {"426783006", "164934002", "426177001",
                                   "427084000", "55930002",  "270492004"};
    static const char *names[6] = {"SR", "TAb", "SB", "STach", "STc", "IAVB"};
    static const char *recs[3] = {"cinc2021/E07500", "cinc2021/HR06000", "cinc2021/JS20000"};
    const int32_t want[3] = {1 << 2, 1 << 0 | 1 << 1, 1 << 3 | 1 << 4};
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/cinc", tu_tmpdir);
    ecg_err err = {0};
    store_writer *w;
    if (store_writer_open(&w, dir, NULL, &err)) fail_msg("%s", err.msg);
    if (store_writer_set_label_name(w, 2, "dx", &err)) fail_msg("%s", err.msg);
    for (int c = 0; c < 6; c++)
        if (store_writer_set_label_value(w, 2, 1 << c, names[c], &err)) fail_msg("%s", err.msg);
    for (int i = 0; i < 3; i++) {
        char path[1024];
        tu_data_path(path, sizeof path, recs[i]);
        ecg_record r;
        if (wfdb_read_record(&r, path, NULL, &err)) fail_msg("%s: %s", path, err.msg);
        int32_t m;
        assert_int_equal(dx_labels_mask(r.comments, codes, 6, &m, &err), ECG_OK);
        assert_int_equal(m, want[i]);
        int32_t labels[STORE_N_LABELS] = {-1, -1, m, -1};
        if (store_import_record(w, &r, labels, NULL, &err)) fail_msg("%s", err.msg);
        record_free(&r);
    }
    if (store_writer_close(w, &err)) fail_msg("%s", err.msg);
    store_dataset *ds = open_store(dir);
    encoder *e = load_encoder(ENC_INFERENCE_ONLY);
    fte_opts o;
    fte_opts_default(&o);
    o.mode = FT_LINEAR;
    o.label_field = 2;
    o.multilabel = 1;
    o.epochs = 1;
    o.val_fraction = 0;
    o.test_fraction = 0.34;
    fte_result r;
    if (finetune_ecg_run(e, ds, &o, &r, &err)) fail_msg("%s", err.msg);
    /* IAVB is in no record: K stops at the highest bit present */
    assert_int_equal(r.n_classes, 5);
    for (int c = 0; c < 5; c++)
        assert_string_equal(r.class_names[c], names[c]);
    assert_int_equal(r.n_test, 1);
    assert_int_equal(r.test.n_windows, 4); /* 10 s at 240 Hz */
    /* one test record: every class has one label value there, none is scored */
    assert_int_equal(r.test.n_scored, 0);
    assert_true(isnan(r.test.macro_auroc));
    printf("cinc2021: test record %zu, classes skipped: %d of %d\n", r.test_records[0],
           r.n_classes - r.test.n_scored, r.n_classes);
    fte_result_free(&r);
    encoder_free(e);
    store_close(ds);
}

static void test_bad_input(void **state) {
    (void)state;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/unl", tu_tmpdir);
    write_synth(dir, 12, 4, odd_length, 3); /* records 0, 3, 6, 9 unlabelled in field 0 */
    store_dataset *ds = open_store(dir);
    encoder *e = load_encoder(ENC_INFERENCE_ONLY);
    fte_opts o;
    fte_result r;
    ecg_err err = {0};
    fte_opts_default(&o);
    o.mode = FT_LINEAR;
    o.epochs = 1;
    assert_int_equal(finetune_ecg_run(e, ds, &o, &r, &err), ECG_OK);
    assert_int_equal(r.n_unlabelled, 4);
    assert_int_equal(r.n_train + r.n_val + r.n_test, 8);
    fte_result_free(&r);
    o.label_field = 4;
    assert_int_equal(finetune_ecg_run(e, ds, &o, &r, &err), ECG_EINVAL);
    o.label_field = 2; /* every record unlabelled */
    assert_int_equal(finetune_ecg_run(e, ds, &o, &r, &err), ECG_EINVAL);
    printf("no labels: %s\n", err.msg);
    o.label_field = 0;
    o.val_fraction = 0.5;
    o.test_fraction = 0.5;
    assert_int_equal(finetune_ecg_run(e, ds, &o, &r, &err), ECG_EINVAL);
    o.val_fraction = 0.1;
    o.test_fraction = 0.2;
    o.mode = FT_FINETUNE; /* needs a train-capable encoder */
    assert_int_not_equal(finetune_ecg_run(e, ds, &o, &r, &err), ECG_OK);
    encoder_free(e);
    store_close(ds);
}

int main(void) {
    threads_set(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auroc_sklearn),  cmocka_unit_test(test_bce_torch),
        cmocka_unit_test(test_window_count),   cmocka_unit_test(test_record_means_scored),
        cmocka_unit_test(test_split),          cmocka_unit_test(test_scored_windows_end_to_end),
        cmocka_unit_test(test_synth_finetune), cmocka_unit_test(test_multilabel_frozen),
        cmocka_unit_test(test_dx_mask),        cmocka_unit_test(test_cinc2021_multilabel),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}

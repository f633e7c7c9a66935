/* test_transfer.c — zero-shot transfer: the input mapping (shapes, z-scoring, lead placement,
 * sliding windows, missing values), the raw 1-NN baseline against the UCR archive's published
 * accuracies, and an end-to-end run on a bundled task with a small random-init encoder. */
#include "testutil.h"

#include "api/transfer_json.h"
#include "core/data/resample.h"
#include "core/data/sktime_ts.h"
#include "core/data/taskfmt.h"
#include "core/model/config.h"
#include "core/transfer/mapping.h"
#include "core/transfer/transfer.h"

#define C 12
#define W 600

static const char *data_path(const char *rel) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    const char *root = getenv("ECGFM_TESTDATA");
    snprintf(buf[k], sizeof buf[k], "%s/ucr_uea/%s", root ? root : "tests/data", rel);
    return buf[k];
}

/* A split of n series with n_dims channels and the given lengths, values from a seeded normal
 * plus a per-series offset and scale (so z-scoring has something to undo). */
static void make_split(task_split *t, int n, int n_dims, const size_t *len, uint64_t seed) {
    memset(t, 0, sizeof *t);
    t->n_series = n;
    t->n_dims = n_dims;
    t->length = malloc((size_t)n * sizeof *t->length);
    t->offset = malloc((size_t)n * sizeof *t->offset);
    t->label = calloc((size_t)n, sizeof *t->label);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        t->length[i] = len[i];
        t->offset[i] = total;
        total += (size_t)n_dims * len[i];
    }
    t->values = tu_randn(total, seed, 1.0f);
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < (size_t)n_dims * len[i]; k++)
            t->values[t->offset[i] + k] =
                5.0f + 3.0f * (float)(i + 1) * t->values[t->offset[i] + k];
    t->n_classes = 1;
    t->class_names = malloc(sizeof *t->class_names);
    t->class_names[0] = strdup("a");
    assert_true(t->length && t->offset && t->label && t->class_names && t->class_names[0]);
}

static void moments(const float *x, size_t n, double *mean, double *sd) {
    double s = 0, v = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++)
        v += (x[i] - *mean) * (x[i] - *mean);
    *sd = sqrt(v / (double)n);
}

static int all_zero(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0) return 0;
    return 1;
}

static void test_fill_missing(void **state) {
    (void)state;
    float x[7] = {NAN, 1, NAN, NAN, 4, 5, NAN};
    assert_int_equal(map_fill_missing(x, 7), 4);
    const float want[7] = {1, 1, 2, 3, 4, 5, 5};
    for (int i = 0; i < 7; i++)
        assert_float_equal(x[i], want[i], 1e-6);
    float y[3] = {NAN, NAN, NAN};
    assert_int_equal(map_fill_missing(y, 3), 3);
    assert_true(all_zero(y, 3));
}

/* lead2 / all / mv amplitude on a univariate series of 150 samples, resampled to one window. */
static void test_mapping_channels(void **state) {
    (void)state;
    size_t len[1] = {150};
    task_split t;
    make_split(&t, 1, 1, len, 11);
    t.values[7] = NAN; /* a missing value inside */
    float *out = tu_zeros((size_t)C * W);
    map_opts o;
    map_opts_default(&o);
    assert_int_equal(o.channels, MAP_CH_ALL);
    o.channels = MAP_CH_LEAD2;
    int nw = 0, drop = -1;
    ecg_err err = {0};

    assert_int_equal(map_series(&o, &t, 0, C, W, out, &nw, &drop, &err), ECG_OK);
    assert_int_equal(nw, 1);
    assert_int_equal(drop, 0);
    double m, sd;
    moments(out + W, W, &m, &sd); /* lead II */
    assert_true(fabs(m) < 1e-5 && fabs(sd - 1) < 1e-5);
    for (int l = 0; l < C; l++)
        if (l != 1) assert_true(all_zero(out + (size_t)l * W, W));
    /* The resampled shape: equal to resample_length of the filled series, z-scored. */
    float raw[150], ref[W];
    memcpy(raw, t.values, sizeof raw);
    map_fill_missing(raw, 150);
    assert_float_equal(raw[7], 0.5f * (t.values[6] + t.values[8]), 1e-5);
    assert_int_equal(resample_length(raw, 150, ref, W, RESAMPLE_LINEAR, &err), ECG_OK);
    double rm, rsd;
    moments(ref, W, &rm, &rsd);
    for (int k = 0; k < W; k++)
        assert_float_equal(out[W + k], (ref[k] - rm) / rsd, 1e-4);

    o.channels = MAP_CH_ALL;
    o.amplitude = MAP_AMP_MV;
    assert_int_equal(map_series(&o, &t, 0, C, W, out, &nw, &drop, &err), ECG_OK);
    for (int l = 0; l < C; l++) {
        moments(out + (size_t)l * W, W, &m, &sd);
        assert_true(fabs(sd - map_lead_scale(MAP_AMP_MV, l)) < 1e-5);
        for (int k = 0; k < W; k += 37)
            assert_float_equal(out[(size_t)l * W + k] / map_lead_scale(MAP_AMP_MV, l),
                               out[W + k] / map_lead_scale(MAP_AMP_MV, 1), 1e-4);
    }
    assert_float_equal(map_lead_scale(MAP_AMP_MV, 1), 0.1647168f, 0);
    assert_float_equal(map_lead_scale(MAP_AMP_UNIT, 1), 1.0f, 0);
    assert_int_equal(map_amplitude_for_objective("cpc"), MAP_AMP_MV);
    assert_int_equal(map_amplitude_for_objective("jepa"), MAP_AMP_UNIT);

    /* A constant series becomes zeros, not NaN. */
    for (size_t k = 0; k < 150; k++)
        t.values[k] = 3.25f;
    assert_int_equal(map_series(&o, &t, 0, C, W, out, &nw, &drop, &err), ECG_OK);
    assert_true(all_zero(out, (size_t)C * W));
    free(out);
    task_split_free(&t);
}

/* multi: 14 channels onto 12 leads in order, two dropped; each lead its own channel z-scored. */
static void test_mapping_multi(void **state) {
    (void)state;
    size_t len[2] = {40, 40};
    task_split t;
    make_split(&t, 2, 14, len, 12);
    map_opts o;
    map_opts_default(&o);
    ecg_err err = {0};
    float *out = tu_zeros((size_t)C * W);
    int nw = 0, drop = 0;
    assert_int_equal(map_series(&o, &t, 1, C, W, out, &nw, &drop, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "multi"));
    o.channels = MAP_CH_MULTI;
    assert_int_equal(map_series(&o, &t, 1, C, W, out, &nw, &drop, &err), ECG_OK);
    assert_int_equal(drop, 2);
    float ref[W];
    for (int l = 0; l < C; l++) {
        const float *src = t.values + t.offset[1] + (size_t)l * 40;
        assert_int_equal(resample_length(src, 40, ref, W, RESAMPLE_LINEAR, &err), ECG_OK);
        double rm, rsd;
        moments(ref, W, &rm, &rsd);
        for (int k = 0; k < W; k += 13)
            assert_float_equal(out[(size_t)l * W + k], (ref[k] - rm) / rsd, 1e-4);
    }
    /* A univariate series under multi sits on lead I. */
    size_t l1[1] = {100};
    task_split u;
    make_split(&u, 1, 1, l1, 13);
    assert_int_equal(map_series(&o, &u, 0, C, W, out, &nw, &drop, &err), ECG_OK);
    assert_false(all_zero(out, W));
    assert_true(all_zero(out + W, (size_t)(C - 1) * W));
    free(out);
    task_split_free(&t);
    task_split_free(&u);
}

/* slide: window count and starts; windows are the z-scored resized series, last one end-aligned. */
static void test_mapping_slide(void **state) {
    (void)state;
    map_opts o;
    map_opts_default(&o);
    o.channels = MAP_CH_LEAD2;
    o.length = MAP_LEN_SLIDE;
    o.slide_rate = 4;
    o.slide_stride = 300;
    assert_int_equal(map_window_count(&o, 150, W), 1); /* 600 samples: one window */
    assert_int_equal(map_window_count(&o, 100, W), 1); /* 400: one, zero-padded */
    assert_int_equal(map_window_count(&o, 225, W), 2); /* 900: 0, 300 */
    assert_int_equal(map_window_count(&o, 400, W), 5); /* 1600: 0, 300, 600, 900, 1000 */
    assert_int_equal(map_window_start(&o, 1600, W, 4), 1000);
    assert_int_equal(map_window_start(&o, 1600, W, 3), 900);
    o.slide_rate = 1;
    assert_int_equal(map_window_count(&o, 24, W), 1);
    map_opts r;
    map_opts_default(&r);
    assert_int_equal(map_window_count(&r, 5000, W), 1); /* resample: always one */

    o.slide_rate = 4;
    size_t len[2] = {400, 100};
    task_split t;
    make_split(&t, 2, 1, len, 14);
    float *out = tu_zeros((size_t)5 * C * W);
    int nw = 0;
    ecg_err err = {0};
    assert_int_equal(map_series(&o, &t, 0, C, W, out, &nw, NULL, &err), ECG_OK);
    assert_int_equal(nw, 5);
    float *ref = tu_zeros(1600);
    assert_int_equal(resample_length(t.values, 400, ref, 1600, RESAMPLE_LINEAR, &err), ECG_OK);
    double rm, rsd;
    moments(ref, 1600, &rm, &rsd);
    const size_t starts[5] = {0, 300, 600, 900, 1000};
    for (int w = 0; w < 5; w++) {
        const float *lead2 = out + ((size_t)w * C + 1) * W;
        for (int k = 0; k < W; k += 7)
            assert_float_equal(lead2[k], (ref[starts[w] + k] - rm) / rsd, 1e-4);
        assert_true(all_zero(out + (size_t)w * C * W, W)); /* lead I empty */
    }
    /* The short one: 400 resized samples, then zeros. */
    assert_int_equal(map_series(&o, &t, 1, C, W, out, &nw, NULL, &err), ECG_OK);
    assert_int_equal(nw, 1);
    assert_false(all_zero(out + W, 400));
    assert_true(all_zero(out + W + 400, 200));
    free(ref);
    free(out);
    task_split_free(&t);
}

static void load_pair(const char *name, task_split *tr, task_split *te) {
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/%s_TRAIN.ts", name, name);
    snprintf(b, sizeof b, "%s/%s_TEST.ts", name, name);
    ecg_err err = {0};
    assert_int_equal(ts_read_file(tr, data_path(a), NULL, &err), ECG_OK);
    assert_int_equal(ts_read_file(te, data_path(b), NULL, &err), ECG_OK);
    assert_int_equal(task_split_align_classes(te, tr, &err), ECG_OK);
}

/* The raw baseline equals the UCR archive's 1-NN ED (DataSummary error rates: GunPoint 0.0867 =
 * 13/150 wrong, ItalyPowerDemand 0.0447 = 46/1029 wrong): checks reading and the baseline. */
static void test_1nn_published(void **state) {
    (void)state;
    const char *names[2] = {"GunPoint", "ItalyPowerDemand"};
    const int wrong[2] = {13, 46};
    for (int k = 0; k < 2; k++) {
        task_split tr, te;
        load_pair(names[k], &tr, &te);
        int *pred = malloc((size_t)te.n_series * sizeof *pred);
        ecg_err err = {0};
        assert_int_equal(transfer_1nn_euclidean(&tr, &te, pred, &err), ECG_OK);
        int bad = 0;
        for (int i = 0; i < te.n_series; i++)
            bad += pred[i] != te.label[i];
        assert_int_equal(bad, wrong[k]);
        free(pred);
        task_split_free(&tr);
        task_split_free(&te);
    }
}

static void report_equal(const transfer_encoder_result *a, const transfer_encoder_result *b) {
    assert_int_equal(a->n_scores, b->n_scores);
    for (int c = 0; c < a->n_scores; c++) {
        assert_string_equal(a->score[c].classifier, b->score[c].classifier);
        assert_string_equal(a->score[c].param, b->score[c].param);
        assert_true(a->score[c].accuracy == b->score[c].accuracy);
        assert_true(a->score[c].macro_f1 == b->score[c].macro_f1);
        int K = a->score[c].n_classes;
        assert_memory_equal(a->score[c].confusion, b->score[c].confusion,
                            (size_t)K * K * sizeof(int));
    }
}

/* End to end on ItalyPowerDemand with the small random-init encoder (baselines only): the report
 * has every classifier, sane numbers, the published 1-NN ED accuracy, and is the same twice. */
static void test_end_to_end(void **state) {
    (void)state;
    task_split tr, te;
    load_pair("ItalyPowerDemand", &tr, &te);
    struct encoder_config cfg;
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    transfer_opts o;
    transfer_opts_default(&o);
    transfer_report r1, r2;
    ecg_err err = {0};
    assert_int_equal(transfer_run(NULL, &cfg, &o, &tr, &te, &r1, &err), ECG_OK);
    assert_int_equal(r1.n_train, 67);
    assert_int_equal(r1.n_test, 1029);
    assert_int_equal(r1.n_classes, 2);
    assert_false(r1.has_checkpoint);
    assert_int_equal(r1.random_init.n_scores, 3);
    assert_float_equal(r1.raw_1nn.accuracy, 983.0 / 1029.0, 1e-12);
    assert_float_equal(r1.raw_1nn.accuracy, 0.955, 5e-4);
    for (int c = 0; c < 3; c++) {
        const transfer_score *s = &r1.random_init.score[c];
        int sum = 0;
        for (int k = 0; k < 4; k++)
            sum += s->confusion[k];
        assert_int_equal(sum, 1029);
        assert_true(s->accuracy > 0.5 && s->accuracy <= 1.0); /* two balanced classes */
        assert_true(s->balanced_accuracy > 0 && s->macro_f1 > 0);
    }
    assert_string_equal(r1.random_init.score[1].classifier, "knn_cosine");
    assert_non_null(strstr(r1.random_init.score[1].param, "k="));
    assert_int_equal(transfer_run(NULL, &cfg, &o, &tr, &te, &r2, &err), ECG_OK);
    report_equal(&r1.random_init, &r2.random_init);

    /* With a given encoder: the checkpoint column appears; an encoder of the same weights as
     * the random baseline gives the same scores in both columns. */
    encoder *e = NULL;
    assert_int_equal(
        encoder_create(&e, &cfg, TRANSFER_BATCH, o.random_seed, ENC_INFERENCE_ONLY, &err), ECG_OK);
    transfer_report r3;
    assert_int_equal(transfer_run(e, NULL, &o, &tr, &te, &r3, &err), ECG_OK);
    assert_true(r3.has_checkpoint);
    report_equal(&r3.checkpoint, &r1.random_init);
    report_equal(&r3.random_init, &r1.random_init);
    encoder_free(e);
    transfer_report_free(&r1);
    transfer_report_free(&r2);
    transfer_report_free(&r3);
    task_split_free(&tr);
    task_split_free(&te);
}

/* Batches cross series boundaries (34 windows, batch 32): each series' embedding must still be
 * the mean of its own windows' embeddings, computed here one window at a time. */
static void test_embed_slide_mean(void **state) {
    (void)state;
    size_t len[4] = {400, 100, 2000, 225}; /* 5, 1, 26, 2 windows at rate 4, stride 300 */
    task_split t;
    make_split(&t, 4, 1, len, 21);
    struct encoder_config cfg;
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    cfg.n_layers = 1;
    ecg_err err = {0};
    encoder *e = NULL;
    assert_int_equal(encoder_create(&e, &cfg, TRANSFER_BATCH, 5, ENC_INFERENCE_ONLY, &err), ECG_OK);
    map_opts o;
    map_opts_default(&o);
    o.length = MAP_LEN_SLIDE;
    int d = cfg.d_model, total = 0;
    for (int i = 0; i < 4; i++)
        total += map_window_count(&o, len[i], W);
    assert_int_equal(total, 34);
    float *emb = tu_zeros((size_t)4 * d), *win = tu_zeros((size_t)26 * C * W);
    assert_int_equal(transfer_embed_split(e, &o, &t, emb, NULL, &err), ECG_OK);
    for (int i = 0; i < 4; i++) {
        int nw = 0;
        assert_int_equal(map_series(&o, &t, i, C, W, win, &nw, NULL, &err), ECG_OK);
        double ref[64] = {0};
        for (int w = 0; w < nw; w++) {
            assert_int_equal(encoder_forward(e, win + (size_t)w * C * W, 1, ENC_EVAL, &err),
                             ECG_OK);
            for (int k = 0; k < d; k++)
                ref[k] += encoder_embedding(e)[k];
        }
        for (int k = 0; k < d; k++)
            assert_float_equal(emb[(size_t)i * d + k], ref[k] / nw, 1e-5 * (fabs(ref[k] / nw) + 1));
    }
    free(emb);
    free(win);
    encoder_free(e);
    task_split_free(&t);
}

/* Train-only CV: accuracies in [0, 1], the same twice, and the JSON report carries the scores. */
static void test_cv_and_json(void **state) {
    (void)state;
    task_split tr, te;
    load_pair("GunPoint", &tr, &te);
    struct encoder_config cfg;
    encoder_config_small(&cfg, ENC_BACKBONE_S4);
    ecg_err err = {0};
    encoder *e = NULL;
    assert_int_equal(encoder_create(&e, &cfg, TRANSFER_BATCH, 3, ENC_INFERENCE_ONLY, &err), ECG_OK);
    map_opts o;
    map_opts_default(&o);
    double a1[TRANSFER_MAX_CLASSIFIERS], a2[TRANSFER_MAX_CLASSIFIERS];
    assert_int_equal(transfer_cv_train(e, &o, &tr, 5, 0, a1, &err), ECG_OK);
    assert_int_equal(transfer_cv_train(e, &o, &tr, 5, 0, a2, &err), ECG_OK);
    for (int c = 0; c < TRANSFER_MAX_CLASSIFIERS; c++) {
        assert_true(a1[c] >= 0 && a1[c] <= 1);
        assert_true(a1[c] == a2[c]);
        /* 50 series: accuracies are multiples of 1/50. */
        assert_float_equal(a1[c] * 50, nearbyint(a1[c] * 50), 1e-9);
    }
    assert_int_equal(transfer_cv_train(e, &o, &tr, 1, 0, a1, &err), ECG_EINVAL);

    transfer_opts to;
    transfer_opts_default(&to);
    transfer_report r;
    assert_int_equal(transfer_run(e, NULL, &to, &tr, &te, &r, &err), ECG_OK);
    json_t *j = transfer_report_to_json(&r);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "task")), "GunPoint");
    json_t *raw = json_object_get(j, "raw_1nn");
    assert_float_equal(json_real_value(json_object_get(raw, "accuracy")), 137.0 / 150.0, 1e-12);
    json_t *scores = json_object_get(json_object_get(j, "checkpoint"), "scores");
    assert_int_equal(json_array_size(scores), 3);
    json_t *conf = json_object_get(json_array_get(scores, 2), "confusion");
    json_int_t sum = 0;
    for (size_t a = 0; a < json_array_size(conf); a++)
        for (size_t b = 0; b < json_array_size(json_array_get(conf, a)); b++)
            sum += json_integer_value(json_array_get(json_array_get(conf, a), b));
    assert_int_equal(sum, 150);
    assert_true(json_is_null(json_object_get(json_array_get(scores, 0), "auroc")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "mapping"), "channels")), "all");
    json_decref(j);
    transfer_report_free(&r);
    encoder_free(e);
    task_split_free(&tr);
    task_split_free(&te);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_missing),     cmocka_unit_test(test_mapping_channels),
        cmocka_unit_test(test_mapping_multi),    cmocka_unit_test(test_mapping_slide),
        cmocka_unit_test(test_1nn_published),    cmocka_unit_test(test_end_to_end),
        cmocka_unit_test(test_embed_slide_mean), cmocka_unit_test(test_cv_and_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_classify.c — the transfer probes and metrics against scikit-learn (fixture
 * classify.safetensors from tests/parity/gen_classify.py), save/load round trips, and degenerate
 * inputs. */
#include "testutil.h"

#include <unistd.h>

#include "core/transfer/classify.h"

static const char *CASES[] = {"blobs", "real", "bin"};
#define N_CASES 3
#define PROB_TOL 1e-4
#define METRIC_TOL 1e-6 /* the fixture stores sklearn's doubles as float32 */

typedef struct {
    float *xtr, *xte;
    int *ytr, *yte;
    int ntr, nte, dim, K;
} tcase;

static int *fixture_i32(const st_file *f, const char *name, size_t *count) {
    const st_tensor *t = st_find(f, name);
    if (!t) fail_msg("fixture tensor %s missing", name);
    if (t->dtype != ST_I32) fail_msg("fixture tensor %s is not I32", name);
    size_t n = t->nbytes / 4;
    int *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    memcpy(x, f->payload + t->offset, t->nbytes);
    if (count) *count = n;
    return x;
}

static float *fx(const st_file *f, const char *c, const char *what, size_t *n) {
    char name[128];
    snprintf(name, sizeof name, "%s/%s", c, what);
    return tu_fixture_f32(f, name, n);
}

static int *fi(const st_file *f, const char *c, const char *what, size_t *n) {
    char name[128];
    snprintf(name, sizeof name, "%s/%s", c, what);
    return fixture_i32(f, name, n);
}

static float fscalar(const st_file *f, const char *c, const char *what) {
    float *v = fx(f, c, what, NULL), r = v[0];
    free(v);
    return r;
}

static void load_case(const st_file *f, const char *c, tcase *t) {
    size_t nx, ny;
    t->xtr = fx(f, c, "x_train", &nx);
    t->ytr = fi(f, c, "y_train", &ny);
    t->ntr = (int)ny;
    t->dim = (int)(nx / ny);
    t->xte = fx(f, c, "x_test", &nx);
    t->yte = fi(f, c, "y_test", &ny);
    t->nte = (int)ny;
    t->K = 0;
    for (int i = 0; i < t->ntr; i++)
        if (t->ytr[i] + 1 > t->K) t->K = t->ytr[i] + 1;
}

static void free_case(tcase *t) {
    free(t->xtr);
    free(t->xte);
    free(t->ytr);
    free(t->yte);
}

static void expect_preds(const int *pred, const int *ref, int n, const char *what) {
    int diff = 0;
    for (int i = 0; i < n; i++)
        diff += pred[i] != ref[i];
    if (diff) fail_msg("%s: %d of %d predictions differ from sklearn", what, diff, n);
}

static double max_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* Predict with m, compare with sklearn's predictions (and probabilities when ref_prob). */
static void check_probe(const probe_model *m, const tcase *t, const int *ref_pred,
                        const float *ref_prob, const char *what) {
    int *pred = malloc((size_t)t->nte * sizeof *pred);
    float *prob = malloc((size_t)t->nte * t->K * sizeof *prob);
    assert_non_null(pred);
    assert_non_null(prob);
    ecg_err err = {0};
    assert_int_equal(probe_predict(m, t->xte, t->nte, pred, prob, &err), ECG_OK);
    expect_preds(pred, ref_pred, t->nte, what);
    if (ref_prob) {
        double d = max_diff(prob, ref_prob, (size_t)t->nte * t->K);
        print_message("%-22s max |p - p_sklearn| = %.2e\n", what, d);
        if (d > PROB_TOL) fail_msg("%s: probabilities differ by %.3e", what, d);
    }
    free(pred);
    free(prob);
}

/* fn on each fixture case (blobs, real, bin) with its train/test split loaded. */
typedef void (*case_fn)(const st_file *f, const char *c, const tcase *t);

static void for_each_case(case_fn fn) {
    st_file f;
    tu_fixture_open(&f, "classify");
    for (int c = 0; c < N_CASES; c++) {
        tcase t;
        load_case(&f, CASES[c], &t);
        fn(&f, CASES[c], &t);
        free_case(&t);
    }
    st_free(&f);
}

static void centroid_case(const st_file *f, const char *c, const tcase *t) {
    int *ref = fi(f, c, "centroid_pred", NULL);
    int *ref_std = fi(f, c, "centroid_std_pred", NULL);
    float *ref_prob = fx(f, c, "centroid_prob", NULL);
    probe_model m;
    ecg_err err = {0};
    assert_int_equal(
        probe_fit(&m, PROBE_CENTROID, t->xtr, t->ytr, t->ntr, t->dim, t->K, NULL, NULL, &err),
        ECG_OK);
    assert_null(m.mean); /* raw features by default, as sklearn */
    char what[64];
    snprintf(what, sizeof what, "centroid %s", c);
    check_probe(&m, t, ref, ref_prob, what);
    probe_free(&m);
    probe_options o;
    probe_options_default(&o);
    o.standardize = 1;
    assert_int_equal(
        probe_fit(&m, PROBE_CENTROID, t->xtr, t->ytr, t->ntr, t->dim, t->K, NULL, &o, &err),
        ECG_OK);
    snprintf(what, sizeof what, "centroid std %s", c);
    check_probe(&m, t, ref_std, NULL, what);
    probe_free(&m);
    free(ref);
    free(ref_std);
    free(ref_prob);
}

static void test_centroid_matches_sklearn(void **state) {
    (void)state;
    for_each_case(centroid_case);
}

static void knn_case(const st_file *f, const char *c, const tcase *t) {
    int *ref = fi(f, c, "knn_pred", NULL);
    int *ref_k = fi(f, c, "knn_k", NULL);
    size_t nloo;
    float *loo = fx(f, c, "knn_loo", &nloo);
    float *ref_prob = fx(f, c, "knn_prob", NULL);
    probe_model m;
    ecg_err err = {0};
    assert_int_equal(
        probe_fit(&m, PROBE_KNN, t->xtr, t->ytr, t->ntr, t->dim, t->K, NULL, NULL, &err), ECG_OK);
    assert_int_equal(m.n_sel, (int)nloo);
    for (int g = 0; g < m.n_sel; g++)
        assert_float_equal(m.sel_score[g], loo[g], METRIC_TOL);
    assert_int_equal(m.k, ref_k[0]);
    char what[64];
    snprintf(what, sizeof what, "knn %s (k=%d)", c, m.k);
    check_probe(&m, t, ref, ref_prob, what);
    probe_free(&m);
    free(ref);
    free(ref_k);
    free(loo);
    free(ref_prob);
}

static void test_knn_matches_sklearn(void **state) {
    (void)state;
    for_each_case(knn_case);
}

static void logreg_fixed_c_case(const st_file *f, const char *c, const tcase *t) {
    for (int i = 0; i < 2; i++) {
        char key[32];
        snprintf(key, sizeof key, "lr%d_pred", i);
        int *ref = fi(f, c, key, NULL);
        snprintf(key, sizeof key, "lr%d_prob", i);
        float *ref_prob = fx(f, c, key, NULL);
        snprintf(key, sizeof key, "lr%d_C", i);
        probe_options o;
        probe_options_default(&o);
        o.C = fscalar(f, c, key);
        probe_model m;
        ecg_err err = {0};
        assert_int_equal(
            probe_fit(&m, PROBE_LOGREG, t->xtr, t->ytr, t->ntr, t->dim, t->K, NULL, &o, &err),
            ECG_OK);
        assert_true(m.converged);
        assert_true(m.grad_max < 1e-8);
        char what[64];
        snprintf(what, sizeof what, "logreg %s C=%g", c, o.C);
        print_message("%-22s %d L-BFGS iterations, max|g| %.1e\n", what, m.iters, m.grad_max);
        check_probe(&m, t, ref, ref_prob, what);
        /* sklearn's lbfgs itself stops near max|g| 1e-6 (scipy's ftol): same predictions,
         * probabilities within 1e-3; the tight comparison above is against newton-cg. */
        snprintf(key, sizeof key, "lr%d_lbfgs_pred", i);
        int *ref_lb = fi(f, c, key, NULL);
        snprintf(key, sizeof key, "lr%d_lbfgs_prob", i);
        float *prob_lb = fx(f, c, key, NULL);
        int *pred = malloc((size_t)t->nte * sizeof *pred);
        float *prob = malloc((size_t)t->nte * t->K * sizeof *prob);
        assert_non_null(pred);
        assert_non_null(prob);
        assert_int_equal(probe_predict(&m, t->xte, t->nte, pred, prob, &err), ECG_OK);
        snprintf(what, sizeof what, "logreg %s C=%g vs sklearn lbfgs", c, o.C);
        expect_preds(pred, ref_lb, t->nte, what);
        double d = max_diff(prob, prob_lb, (size_t)t->nte * t->K);
        print_message("%-22s max |p - p_lbfgs|   = %.2e\n", "", d);
        assert_true(d < 1e-3);
        free(pred);
        free(prob);
        free(ref_lb);
        free(prob_lb);
        probe_free(&m);
        free(ref);
        free(ref_prob);
    }
}

static void test_logreg_matches_sklearn_at_fixed_c(void **state) {
    (void)state;
    for_each_case(logreg_fixed_c_case);
}

/* CV cannot match sklearn's folds; it must be deterministic, choose from the grid, and pick a C
 * whose CV accuracy is the best it measured. */
static void logreg_cv_case(const st_file *f, const char *c, const tcase *t) {
    probe_options o;
    probe_options_default(&o);
    o.seed = 7;
    probe_model a, b;
    ecg_err err = {0};
    assert_int_equal(
        probe_fit(&a, PROBE_LOGREG, t->xtr, t->ytr, t->ntr, t->dim, t->K, NULL, &o, &err), ECG_OK);
    assert_int_equal(
        probe_fit(&b, PROBE_LOGREG, t->xtr, t->ytr, t->ntr, t->dim, t->K, NULL, &o, &err), ECG_OK);
    assert_int_equal(a.n_sel, 9);
    assert_false(a.cv_skipped);
    double best = 0;
    for (int g = 0; g < a.n_sel; g++)
        best = fmax(best, a.sel_score[g]);
    int chosen = -1;
    for (int g = 0; g < a.n_sel; g++)
        if (a.sel_param[g] == a.C) chosen = g;
    assert_true(chosen >= 0);
    assert_float_equal(a.sel_score[chosen], best, 0);
    assert_true(a.C == b.C);
    assert_memory_equal(a.weight, b.weight, (size_t)t->K * t->dim * sizeof *a.weight);
    print_message("logreg CV %-6s C=%g (cv acc %.3f; sklearn LogisticRegressionCV C=%g)\n", c, a.C,
                  best, fscalar(f, c, "sk_cv_C"));
    probe_free(&a);
    probe_free(&b);
}

static void test_logreg_cv_choice(void **state) {
    (void)state;
    for_each_case(logreg_cv_case);
}

/* CV sanity where the answer is known: on labels independent of the features every C scores near
 * chance and the log-loss tie-break must prefer strong regularisation; on well separated classes
 * weak regularisation must win. */
static void test_logreg_cv_sanity(void **state) {
    (void)state;
    int n = 120, d = 10;
    float *x = tu_randn((size_t)n * d, 11, 1.0f);
    int *y = malloc((size_t)n * sizeof *y);
    assert_non_null(y);
    rng_state r;
    rng_seed(&r, 12);
    for (int i = 0; i < n; i++)
        y[i] = (int)rng_below(&r, 3);
    probe_model m;
    ecg_err err = {0};
    assert_int_equal(probe_fit(&m, PROBE_LOGREG, x, y, n, d, 3, NULL, NULL, &err), ECG_OK);
    print_message("noise labels: C=%g\n", m.C);
    assert_true(m.C <= 1e-2);
    probe_free(&m);
    for (int i = 0; i < n; i++)
        x[(size_t)i * d + y[i]] += 6.0f; /* class c: feature c shifted */
    assert_int_equal(probe_fit(&m, PROBE_LOGREG, x, y, n, d, 3, NULL, NULL, &err), ECG_OK);
    print_message("separated classes: C=%g, cv accuracy %.3f at C=1e-4, %.3f chosen\n", m.C,
                  m.sel_score[0], m.sel_score[m.n_sel - 1]);
    assert_true(m.C >= 1);
    probe_free(&m);
    free(x);
    free(y);
}

static void check_metrics(const metrics_report *r, const st_file *f, const char *pre, int K) {
    char name[128];
    static const char *keys[] = {"acc", "bacc", "f1", "auroc"};
    double got[] = {r->accuracy, r->balanced_accuracy, r->macro_f1, r->auroc};
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s%s", pre, keys[i]);
        float *v = tu_fixture_f32(f, name, NULL);
        if (fabs(got[i] - v[0]) > METRIC_TOL)
            fail_msg("%s: %.7f, sklearn %.7f", name, got[i], (double)v[0]);
        free(v);
    }
    snprintf(name, sizeof name, "%sconfusion", pre);
    int *conf = fixture_i32(f, name, NULL);
    assert_memory_equal(r->confusion, conf, (size_t)K * K * sizeof *conf);
    free(conf);
}

static void test_metrics_match_sklearn(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "classify");
    for (int c = 0; c < N_CASES; c++) {
        tcase t;
        load_case(&f, CASES[c], &t);
        static const char *which[] = {"knn", "lr0", "lr1"};
        for (int w = 0; w < 3; w++) {
            char key[64], pre[64];
            snprintf(key, sizeof key, "%s_pred", which[w]);
            int *pred = fi(&f, CASES[c], key, NULL);
            snprintf(key, sizeof key, "%s_prob", which[w]);
            float *prob = fx(&f, CASES[c], key, NULL);
            metrics_report r;
            ecg_err err = {0};
            assert_int_equal(metrics_compute(&r, t.yte, pred, prob, t.nte, t.K, &err), ECG_OK);
            snprintf(pre, sizeof pre, "%s/%s_m_", CASES[c], which[w]);
            check_metrics(&r, &f, pre, t.K);
            snprintf(key, sizeof key, "%s_m_recall", which[w]);
            float *rec = fx(&f, CASES[c], key, NULL);
            for (int k = 0; k < t.K; k++)
                assert_float_equal(r.recall[k], rec[k], METRIC_TOL);
            metrics_free(&r);
            free(rec);
            free(pred);
            free(prob);
        }
        free_case(&t);
    }
    /* Class 3 predicted but never true, class 4 neither, many tied scores. */
    int *y = fixture_i32(&f, "edge/y", NULL), *pred = fixture_i32(&f, "edge/pred", NULL);
    size_t np;
    float *prob = tu_fixture_f32(&f, "edge/prob", &np);
    metrics_report r;
    ecg_err err = {0};
    assert_int_equal(metrics_compute(&r, y, pred, prob, 12, 5, &err), ECG_OK);
    check_metrics(&r, &f, "edge/", 5);
    assert_int_equal(r.auroc_classes, 3);
    assert_true(isnan(r.recall[3]) && isnan(r.recall[4]));
    assert_int_equal(r.support[3], 0);
    metrics_free(&r);
    free(y);
    free(pred);
    free(prob);
    st_free(&f);
}

static void test_auroc_ties_by_hand(void **state) {
    (void)state;
    /* Scores 0.5 (pos), 0.5 (neg), 0.9 (pos), 0.1 (neg): pairs (pos, neg) = (0.5,0.5) half,
     * (0.5,0.1) 1, (0.9,0.5) 1, (0.9,0.1) 1 -> 3.5 / 4. */
    float s[] = {0.5f, 0.5f, 0.9f, 0.1f};
    int p[] = {1, 0, 1, 0};
    double a;
    ecg_err err = {0};
    assert_int_equal(metrics_auroc_binary(&a, s, p, 4, &err), ECG_OK);
    assert_float_equal(a, 0.875, 1e-15);
    int none[] = {0, 0, 0, 0};
    assert_int_equal(metrics_auroc_binary(&a, s, none, 4, &err), ECG_OK);
    assert_true(isnan(a));
}

static void test_save_load_same_predictions(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "classify");
    tcase t;
    load_case(&f, "real", &t);
    const char *names[] = {"walk", "run", "sit", "stand", "lie \"down\", slowly"};
    char path[] = "/tmp/test_classify_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    for (int kind = 0; kind < 3; kind++) {
        probe_options o;
        probe_options_default(&o);
        o.C = 1; /* skip CV: the round trip is the point here */
        probe_model m, l;
        ecg_err err = {0};
        assert_int_equal(
            probe_fit(&m, (probe_kind)kind, t.xtr, t.ytr, t.ntr, t.dim, t.K, names, &o, &err),
            ECG_OK);
        assert_int_equal(probe_save(&m, path, &err), ECG_OK);
        assert_int_equal(probe_load(&l, path, &err), ECG_OK);
        assert_int_equal(l.kind, kind);
        assert_int_equal(l.n_classes, t.K);
        for (int c = 0; c < t.K; c++)
            assert_string_equal(l.class_names[c], names[c]);
        int *p1 = malloc((size_t)t.nte * sizeof *p1), *p2 = malloc((size_t)t.nte * sizeof *p2);
        float *q1 = malloc((size_t)t.nte * t.K * 4), *q2 = malloc((size_t)t.nte * t.K * 4);
        assert_int_equal(probe_predict(&m, t.xte, t.nte, p1, q1, &err), ECG_OK);
        assert_int_equal(probe_predict(&l, t.xte, t.nte, p2, q2, &err), ECG_OK);
        assert_memory_equal(p1, p2, (size_t)t.nte * sizeof *p1);
        assert_memory_equal(q1, q2, (size_t)t.nte * t.K * 4); /* F64 params: bit-identical */
        free(p1);
        free(p2);
        free(q1);
        free(q2);
        probe_free(&m);
        probe_free(&l);
    }
    /* A file that is not a probe is refused with a reason. */
    ecg_err err = {0};
    st_entry e = {"x", ST_F32, 1, {1}, (float[]){1}};
    assert_int_equal(st_write_file(path, &e, 1, NULL, 0, &err), ECG_OK);
    probe_model l;
    assert_int_equal(probe_load(&l, path, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "not an ecgfm probe"));
    unlink(path);
    free_case(&t);
    st_free(&f);
}

static void test_degenerate_inputs(void **state) {
    (void)state;
    ecg_err err = {0};
    probe_model m;
    /* One class in train: refused, for every kind. */
    float x1[] = {0, 1, 1, 0, 2, 2, 3, 1};
    int y1[] = {1, 1, 1, 1};
    for (int kind = 0; kind < 3; kind++) {
        assert_int_equal(probe_fit(&m, (probe_kind)kind, x1, y1, 4, 2, 3, NULL, NULL, &err),
                         ECG_EINVAL);
        assert_non_null(strstr(err.msg, "needs at least two"));
    }
    /* Labels out of range and non-finite features: refused, naming the row. */
    int ybad[] = {0, 1, 3, 0};
    assert_int_equal(probe_fit(&m, PROBE_CENTROID, x1, ybad, 4, 2, 3, NULL, NULL, &err),
                     ECG_EINVAL);
    float xnan[] = {0, 1, 1, NAN, 2, 2, 3, 1};
    int y2[] = {0, 1, 0, 1};
    assert_int_equal(probe_fit(&m, PROBE_KNN, xnan, y2, 4, 2, 2, NULL, NULL, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "row 1"));

    /* A class with one sample, a class absent from train (class 2 of 3), constant features, and
     * fewer rows than most of the k grid: every probe fits and never predicts class 2. */
    float xs[5 * 3];
    int ys[] = {0, 0, 0, 0, 1};
    for (int i = 0; i < 5; i++) {
        xs[i * 3 + 0] = 4.0f;              /* constant */
        xs[i * 3 + 1] = (float)i;          /* informative */
        xs[i * 3 + 2] = i == 4 ? 9 : 0.5f; /* the singleton stands out */
    }
    for (int kind = 0; kind < 3; kind++) {
        assert_int_equal(probe_fit(&m, (probe_kind)kind, xs, ys, 5, 3, 3, NULL, NULL, &err),
                         ECG_OK);
        assert_false(m.present[2]);
        int pred[5];
        float prob[15];
        assert_int_equal(probe_predict(&m, xs, 5, pred, prob, &err), ECG_OK);
        for (int i = 0; i < 5; i++) {
            assert_true(pred[i] == 0 || pred[i] == 1);
            assert_float_equal(prob[i * 3 + 2], 0, 0);
            assert_float_equal(prob[i * 3 + 0] + prob[i * 3 + 1], 1, 1e-6);
        }
        if (kind == PROBE_KNN) assert_true(m.k <= 3); /* grid values above n - 1 = 4 skipped */
        if (kind == PROBE_LOGREG) assert_true(m.mean && m.std[0] == 1.0); /* constant: std 1 */
        probe_free(&m);
    }
    /* A fixed k above n_train is refused; a grid with nothing below n_train too. */
    probe_options o;
    probe_options_default(&o);
    o.k = 6;
    assert_int_equal(probe_fit(&m, PROBE_KNN, xs, ys, 5, 3, 2, NULL, &o, &err), ECG_EINVAL);
    o.k = 0;
    int big[] = {5, 7};
    o.k_grid = big;
    o.n_k = 2;
    assert_int_equal(probe_fit(&m, PROBE_KNN, xs, ys, 5, 3, 2, NULL, &o, &err), ECG_EINVAL);
    /* Zero feature vectors are at cosine distance 1 from everything (as sklearn's normalize). */
    float xz[] = {0, 0, 1, 0, 0, 1};
    int yz[] = {0, 0, 1};
    probe_options_default(&o);
    o.k = 1;
    assert_int_equal(probe_fit(&m, PROBE_KNN, xz, yz, 3, 2, 2, NULL, &o, &err), ECG_OK);
    int p;
    assert_int_equal(probe_predict(&m, xz, 1, &p, NULL, &err), ECG_OK);
    assert_int_equal(p, 0); /* all similarities 0: the lowest train index wins */
    probe_free(&m);
    /* Metrics refuse labels out of range. */
    metrics_report r;
    int yt[] = {0, 2}, yp[] = {0, 1};
    assert_int_equal(metrics_compute(&r, yt, yp, NULL, 2, 2, &err), ECG_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_centroid_matches_sklearn),
        cmocka_unit_test(test_knn_matches_sklearn),
        cmocka_unit_test(test_logreg_matches_sklearn_at_fixed_c),
        cmocka_unit_test(test_logreg_cv_choice),
        cmocka_unit_test(test_logreg_cv_sanity),
        cmocka_unit_test(test_metrics_match_sklearn),
        cmocka_unit_test(test_auroc_ties_by_hand),
        cmocka_unit_test(test_save_load_same_predictions),
        cmocka_unit_test(test_degenerate_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

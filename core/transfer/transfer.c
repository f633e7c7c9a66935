/* transfer.c — zero-shot transfer: embed task splits with a frozen encoder, the raw 1-NN baseline,
 * test-split scores, and the comparison that puts checkpoint, random init and raw side by side. */
#include "core/transfer/transfer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/rng.h"
#include "core/data/resample.h"
#include "core/model/config.h"
#include "core/transfer/classify.h"

ecg_code transfer_embed_split(encoder *e, const map_opts *m, const task_split *t, float *emb,
                              int *dropped, ecg_err *err) {
    const struct encoder_config *cfg = encoder_get_config(e);
    int C = cfg->in_channels, W = cfg->in_samples, d = cfg->d_model, B = encoder_max_batch(e);
    ecg_code rc = map_opts_check(m, t->n_dims, err);
    if (rc) return rc;
    size_t win = (size_t)C * (size_t)W;
    int max_nw = 1;
    for (int i = 0; i < t->n_series; i++) {
        int nw = map_window_count(m, t->length[i], W);
        if (nw > max_nw) max_nw = nw;
    }
    /* Windows of the series being mapped, then a batch being filled: the batch holds whole
     * windows from consecutive series, owner[] says whose. */
    float *sw = malloc((size_t)max_nw * win * sizeof *sw);
    float *batch = malloc((size_t)B * win * sizeof *batch);
    int *owner = malloc((size_t)B * sizeof *owner);
    int *count = calloc((size_t)t->n_series, sizeof *count);
    double *acc = calloc((size_t)t->n_series * (size_t)d, sizeof *acc);
    if (!sw || !batch || !owner || !count || !acc) {
        rc = err_set(err, ECG_ENOMEM, "transfer: out of memory embedding %d series", t->n_series);
        goto done;
    }
    encoder_set_frozen(e, 1);
    int nb = 0, max_drop = 0;
    for (int i = 0; i <= t->n_series && !rc; i++) {
        int nw = 0, drop = 0;
        if (i < t->n_series) {
            rc = map_series(m, t, i, C, W, sw, &nw, &drop, err);
            if (rc) break;
            if (drop > max_drop) max_drop = drop;
        }
        for (int w = 0; w <= nw && !rc; w++) {
            int flush = (w == nw && i == t->n_series && nb > 0) || nb == B;
            if (flush) {
                rc = encoder_forward(e, batch, nb, ENC_EVAL, err);
                if (rc) break;
                const float *z = encoder_embedding(e);
                for (int b = 0; b < nb; b++) {
                    double *a = acc + (size_t)owner[b] * (size_t)d;
                    for (int k = 0; k < d; k++)
                        a[k] += z[(size_t)b * (size_t)d + (size_t)k];
                    count[owner[b]]++;
                }
                nb = 0;
            }
            if (w < nw) {
                memcpy(batch + (size_t)nb * win, sw + (size_t)w * win, win * sizeof *batch);
                owner[nb++] = i;
            }
        }
    }
    if (!rc)
        for (int i = 0; i < t->n_series; i++)
            for (int k = 0; k < d; k++)
                emb[(size_t)i * (size_t)d + (size_t)k] =
                    (float)(acc[(size_t)i * (size_t)d + (size_t)k] / count[i]);
    if (dropped) *dropped = max_drop;
done:
    free(sw);
    free(batch);
    free(owner);
    free(count);
    free(acc);
    return rc;
}

/* ---- raw 1-NN Euclidean ---- */

static size_t split_max_length(const task_split *t) {
    size_t m = 0;
    for (int i = 0; i < t->n_series; i++)
        if (t->length[i] > m) m = t->length[i];
    return m;
}

/* Every series of t as [n_dims][L] rows, missing values filled, resized to L when needed. */
static ecg_code raw_matrix(const task_split *t, size_t L, float **out, ecg_err *err) {
    size_t row = (size_t)t->n_dims * L;
    float *x = malloc((size_t)t->n_series * row * sizeof *x);
    size_t maxlen = split_max_length(t);
    float *tmp = malloc((maxlen ? maxlen : 1) * sizeof *tmp);
    if (!x || !tmp) {
        free(x);
        free(tmp);
        return err_set(err, ECG_ENOMEM, "transfer: out of memory for the raw baseline");
    }
    ecg_code rc = ECG_OK;
    for (int i = 0; i < t->n_series && !rc; i++) {
        size_t len = t->length[i];
        for (int c = 0; c < t->n_dims && !rc; c++) {
            memcpy(tmp, t->values + t->offset[i] + (size_t)c * len, len * sizeof *tmp);
            map_fill_missing(tmp, len);
            float *dst = x + (size_t)i * row + (size_t)c * L;
            if (len == L)
                memcpy(dst, tmp, L * sizeof *dst);
            else
                rc = resample_length(tmp, len, dst, L, RESAMPLE_LINEAR, err);
        }
    }
    free(tmp);
    if (rc) {
        free(x);
        return rc;
    }
    *out = x;
    return ECG_OK;
}

ecg_code transfer_1nn_euclidean(const task_split *train, const task_split *test, int *pred,
                                ecg_err *err) {
    if (train->n_dims != test->n_dims)
        return err_set(err, ECG_EINVAL, "transfer: train has %d channels, test %d", train->n_dims,
                       test->n_dims);
    size_t L = split_max_length(train), lt = split_max_length(test);
    if (lt > L) L = lt;
    float *a = NULL, *b = NULL;
    ecg_code rc = raw_matrix(train, L, &a, err);
    if (!rc) rc = raw_matrix(test, L, &b, err);
    if (rc) {
        free(a);
        return rc;
    }
    size_t row = (size_t)train->n_dims * L;
#pragma omp parallel for schedule(static)
    for (int j = 0; j < test->n_series; j++) {
        const float *q = b + (size_t)j * row;
        double best = INFINITY;
        int arg = 0;
        for (int i = 0; i < train->n_series; i++) {
            const float *p = a + (size_t)i * row;
            double s = 0;
            for (size_t k = 0; k < row; k++) {
                double dd = (double)q[k] - p[k];
                s += dd * dd;
            }
            if (s < best) {
                best = s;
                arg = i;
            }
        }
        pred[j] = train->label[arg];
    }
    free(a);
    free(b);
    return ECG_OK;
}

/* ---- scores ---- */

void transfer_score_free(transfer_score *s) {
    if (!s) return;
    free(s->confusion);
    free(s->recall);
    s->confusion = NULL;
    s->recall = NULL;
}

ecg_code transfer_score_compute(transfer_score *s, const char *classifier, const char *param,
                                const int *truth, const int *pred, const float *prob, int n,
                                int n_classes, ecg_err *err) {
    memset(s, 0, sizeof *s);
    snprintf(s->classifier, sizeof s->classifier, "%s", classifier);
    snprintf(s->param, sizeof s->param, "%s", param ? param : "");
    metrics_report mr;
    memset(&mr, 0, sizeof mr);
    ecg_code rc = metrics_compute(&mr, truth, pred, prob, n, n_classes, err);
    if (rc) return rc;
    s->n_classes = n_classes;
    s->accuracy = mr.accuracy;
    s->balanced_accuracy = mr.balanced_accuracy;
    s->macro_f1 = mr.macro_f1;
    s->auroc = mr.auroc;
    /* Take the arrays over from the metrics report. */
    s->confusion = mr.confusion;
    s->recall = mr.recall;
    mr.confusion = NULL;
    mr.recall = NULL;
    metrics_free(&mr);
    return ECG_OK;
}

void transfer_opts_default(transfer_opts *o) {
    memset(o, 0, sizeof *o);
    map_opts_default(&o->map);
    o->random_seed = 1;
    o->seed = 0;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Embeds both splits with e and scores every light classifier fitted on the train embeddings. */
static ecg_code run_encoder(encoder *e, const transfer_opts *o, const task_split *train,
                            const task_split *test, int n_classes, transfer_encoder_result *res,
                            int *dropped, ecg_err *err) {
    int d = encoder_get_config(e)->d_model;
    float *xtr = malloc((size_t)train->n_series * (size_t)d * sizeof *xtr);
    float *xte = malloc((size_t)test->n_series * (size_t)d * sizeof *xte);
    int *pred = malloc((size_t)test->n_series * sizeof *pred);
    float *prob = malloc((size_t)test->n_series * (size_t)n_classes * sizeof *prob);
    ecg_code rc = ECG_OK;
    if (!xtr || !xte || !pred || !prob) {
        rc = err_set(err, ECG_ENOMEM, "transfer: out of memory for embeddings");
        goto done;
    }
    double t0 = now_seconds();
    int d1 = 0, d2 = 0;
    rc = transfer_embed_split(e, &o->map, train, xtr, &d1, err);
    if (!rc) rc = transfer_embed_split(e, &o->map, test, xte, &d2, err);
    if (rc) goto done;
    res->embed_seconds = now_seconds() - t0;
    if (dropped) *dropped = d1 > d2 ? d1 : d2;
    static const probe_kind kinds[TRANSFER_MAX_CLASSIFIERS] = {PROBE_CENTROID, PROBE_KNN,
                                                               PROBE_LOGREG};
    static const char *names[TRANSFER_MAX_CLASSIFIERS] = {"nearest_centroid", "knn_cosine",
                                                          "logreg"};
    for (int c = 0; c < TRANSFER_MAX_CLASSIFIERS && !rc; c++) {
        probe_options po;
        probe_options_default(&po);
        po.seed = o->seed;
        probe_model m;
        memset(&m, 0, sizeof m);
        rc = probe_fit(&m, kinds[c], xtr, train->label, train->n_series, d, n_classes,
                       (const char *const *)test->class_names, &po, err);
        if (!rc) rc = probe_predict(&m, xte, test->n_series, pred, prob, err);
        char param[64] = "";
        if (kinds[c] == PROBE_KNN) snprintf(param, sizeof param, "k=%d", m.k);
        if (kinds[c] == PROBE_LOGREG) snprintf(param, sizeof param, "C=%g", m.C);
        probe_free(&m);
        if (!rc)
            rc = transfer_score_compute(&res->score[c], names[c], param, test->label, pred,
                                        kinds[c] == PROBE_CENTROID ? NULL : prob, test->n_series,
                                        n_classes, err);
        if (!rc) res->n_scores = c + 1;
    }
done:
    free(xtr);
    free(xte);
    free(pred);
    free(prob);
    return rc;
}

static void encoder_result_free(transfer_encoder_result *r) {
    for (int c = 0; c < r->n_scores; c++)
        transfer_score_free(&r->score[c]);
    r->n_scores = 0;
}

void transfer_report_free(transfer_report *r) {
    if (!r) return;
    if (r->class_names)
        for (int c = 0; c < r->n_classes; c++)
            free(r->class_names[c]);
    free(r->class_names);
    encoder_result_free(&r->checkpoint);
    encoder_result_free(&r->random_init);
    transfer_score_free(&r->raw_1nn);
    memset(r, 0, sizeof *r);
}

ecg_code transfer_run(encoder *e, const struct encoder_config *cfg, const transfer_opts *o,
                      const task_split *train, const task_split *test, transfer_report *r,
                      ecg_err *err) {
    memset(r, 0, sizeof *r);
    if (e) cfg = encoder_get_config(e);
    if (!cfg) return err_set(err, ECG_EINVAL, "transfer: no encoder and no config");
    if (train->n_dims != test->n_dims)
        return err_set(err, ECG_EINVAL, "transfer: train has %d channels, test %d", train->n_dims,
                       test->n_dims);
    if (test->n_classes < train->n_classes)
        return err_set(err, ECG_EINVAL,
                       "transfer: the test split is not aligned to train's classes "
                       "(task_split_align_classes)");
    ecg_code rc = map_opts_check(&o->map, train->n_dims, err);
    if (rc) return rc;
    int K = test->n_classes;
    snprintf(r->task, sizeof r->task, "%s", train->name);
    r->n_train = train->n_series;
    r->n_test = test->n_series;
    r->n_classes = K;
    r->n_dims = train->n_dims;
    r->map = o->map;
    r->random_seed = o->random_seed;
    r->min_length = (size_t)-1;
    for (int s = 0; s < 2; s++) {
        const task_split *t = s ? test : train;
        for (int i = 0; i < t->n_series; i++) {
            if (t->length[i] < r->min_length) r->min_length = t->length[i];
            if (t->length[i] > r->max_length) r->max_length = t->length[i];
        }
    }
    r->raw_length = r->max_length;
    r->class_names = calloc((size_t)K, sizeof *r->class_names);
    if (!r->class_names) return err_set(err, ECG_ENOMEM, "transfer: out of memory");
    for (int c = 0; c < K; c++) {
        r->class_names[c] = strdup(test->class_names[c]);
        if (!r->class_names[c]) {
            transfer_report_free(r);
            return err_set(err, ECG_ENOMEM, "transfer: out of memory");
        }
    }

    int *pred = malloc((size_t)test->n_series * sizeof *pred);
    if (!pred) {
        transfer_report_free(r);
        return err_set(err, ECG_ENOMEM, "transfer: out of memory");
    }
    rc = transfer_1nn_euclidean(train, test, pred, err);
    if (!rc)
        rc = transfer_score_compute(&r->raw_1nn, "1nn_euclidean", "", test->label, pred, NULL,
                                    test->n_series, K, err);
    free(pred);

    if (!rc && e) {
        snprintf(r->checkpoint.label, sizeof r->checkpoint.label, "checkpoint");
        rc = run_encoder(e, o, train, test, K, &r->checkpoint, &r->channels_dropped, err);
        r->has_checkpoint = !rc;
    }
    if (!rc) {
        encoder *rnd = NULL;
        snprintf(r->random_init.label, sizeof r->random_init.label, "random_init");
        rc = encoder_create(&rnd, cfg, TRANSFER_BATCH, o->random_seed, ENC_INFERENCE_ONLY, err);
        if (!rc)
            rc = run_encoder(rnd, o, train, test, K, &r->random_init, &r->channels_dropped, err);
        encoder_free(rnd);
    }
    if (rc) transfer_report_free(r);
    return rc;
}

ecg_code transfer_cv_train(encoder *e, const map_opts *m, const task_split *train, int folds,
                           uint64_t seed, double acc[TRANSFER_MAX_CLASSIFIERS], ecg_err *err) {
    int n = train->n_series, K = train->n_classes, d = encoder_get_config(e)->d_model;
    if (folds < 2 || folds > n)
        return err_set(err, ECG_EINVAL, "transfer: %d folds for %d series", folds, n);
    float *x = malloc((size_t)n * (size_t)d * sizeof *x);
    float *xa = malloc((size_t)n * (size_t)d * sizeof *xa);
    float *xb = malloc((size_t)n * (size_t)d * sizeof *xb);
    int *fold = malloc((size_t)n * sizeof *fold), *order = malloc((size_t)n * sizeof *order);
    int *ya = malloc((size_t)n * sizeof *ya), *yb = malloc((size_t)n * sizeof *yb);
    int *pred = malloc((size_t)n * sizeof *pred);
    ecg_code rc = ECG_OK;
    if (!x || !xa || !xb || !fold || !order || !ya || !yb || !pred) {
        rc = err_set(err, ECG_ENOMEM, "transfer: out of memory for cross-validation");
        goto done;
    }
    rc = transfer_embed_split(e, m, train, x, NULL, err);
    if (rc) goto done;
    rng_state r;
    rng_seed(&r, seed);
    int pos = 0;
    for (int c = -1; c < K; c++) { /* -1: unlabelled series, never scored, kept out of folds */
        int start = pos;
        for (int i = 0; i < n; i++)
            if (train->label[i] == c) order[pos++] = i;
        for (int i = pos - 1; i > start; i--) { /* Fisher-Yates within the class */
            int j = start + (int)rng_below(&r, (uint64_t)(i - start + 1));
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
    int dealt = 0;
    for (int p = 0; p < n; p++) {
        int i = order[p];
        fold[i] = train->label[i] < 0 ? -1 : dealt++ % folds;
    }
    static const probe_kind kinds[TRANSFER_MAX_CLASSIFIERS] = {PROBE_CENTROID, PROBE_KNN,
                                                               PROBE_LOGREG};
    for (int c = 0; c < TRANSFER_MAX_CLASSIFIERS && !rc; c++) {
        int correct = 0, scored = 0;
        for (int f = 0; f < folds && !rc; f++) {
            int na = 0, nb = 0;
            for (int i = 0; i < n; i++) {
                if (fold[i] < 0) continue;
                float *dst =
                    fold[i] == f ? xb + (size_t)nb * (size_t)d : xa + (size_t)na * (size_t)d;
                memcpy(dst, x + (size_t)i * (size_t)d, (size_t)d * sizeof *dst);
                if (fold[i] == f)
                    yb[nb++] = train->label[i];
                else
                    ya[na++] = train->label[i];
            }
            if (nb == 0) continue;
            probe_options po;
            probe_options_default(&po);
            po.seed = seed;
            probe_model pm;
            memset(&pm, 0, sizeof pm);
            rc = probe_fit(&pm, kinds[c], xa, ya, na, d, K, NULL, &po, err);
            if (!rc) rc = probe_predict(&pm, xb, nb, pred, NULL, err);
            probe_free(&pm);
            for (int i = 0; !rc && i < nb; i++)
                correct += pred[i] == yb[i];
            scored += nb;
        }
        acc[c] = scored ? (double)correct / scored : NAN;
    }
done:
    free(x);
    free(xa);
    free(xb);
    free(fold);
    free(order);
    free(ya);
    free(yb);
    free(pred);
    return rc;
}

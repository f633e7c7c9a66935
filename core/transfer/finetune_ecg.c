/* finetune_ecg.c — fine-tuning an encoder and head on a labelled ECG dataset of the store, scored
 * by macro AUROC over record-level means of non-overlapping windows (see finetune_ecg.h). */
#include "core/transfer/finetune_ecg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/rng.h"
#include "core/transfer/auroc.h"
#include "core/transfer/finetune_impl.h"

#define FTE_MAX_CLASSES 31

void fte_opts_default(fte_opts *o) {
    memset(o, 0, sizeof *o);
    o->mode = FT_FINETUNE;
    o->label_field = 0;
    o->multilabel = 0;
    o->epochs = 30;
    o->batch = 16;
    o->lr = 0;
    o->weight_decay = 1e-3f;
    o->patience = 10;
    o->val_fraction = 0.1;
    o->test_fraction = 0.2;
    o->seed = 0;
}

void fte_scores_free(fte_scores *s) {
    if (!s) return;
    free(s->auroc);
    free(s->positives);
    memset(s, 0, sizeof *s);
}

void fte_result_free(fte_result *r) {
    if (!r) return;
    if (r->class_names)
        for (int c = 0; c < r->n_classes; c++)
            free(r->class_names[c]);
    free(r->class_names);
    free(r->train_loss);
    free(r->val_auroc);
    fte_scores_free(&r->val);
    fte_scores_free(&r->test);
    free(r->test_prob);
    free(r->test_records);
    memset(r, 0, sizeof *r);
}

int fte_window_count(size_t n_samples, int W) {
    size_t n = W > 0 ? n_samples / (size_t)W : 0;
    return n < 1 ? 1 : (int)n;
}

double fte_bce_with_logits(float *dz, const float *z, const uint8_t *y, int n, int k, float scale) {
    double total = 0;
    size_t m = (size_t)n * k;
    for (size_t i = 0; i < m; i++) {
        double zi = z[i], yi = y[i] ? 1.0 : 0.0;
        total += (zi > 0 ? zi : 0) - zi * yi + log1p(exp(-fabs(zi)));
        if (dz) dz[i] = (float)(1.0 / (1.0 + exp(-zi)) - yi) * scale;
    }
    return m ? total / (double)m : 0;
}

ecg_code fte_scores_compute(fte_scores *s, const double *prob_w, const int *win_record, int n_win,
                            int n_rec, int K, const uint8_t *target, const int *label,
                            double *prob_rec, ecg_err *err) {
    memset(s, 0, sizeof *s);
    s->macro_auroc = s->accuracy = NAN;
    double *mean = calloc((size_t)(n_rec ? n_rec : 1) * K, sizeof *mean);
    int *cnt = calloc((size_t)(n_rec ? n_rec : 1), sizeof *cnt);
    s->auroc = malloc((size_t)K * sizeof *s->auroc);
    s->positives = calloc((size_t)K, sizeof *s->positives);
    ecg_code rc = ECG_OK;
    if (!mean || !cnt || !s->auroc || !s->positives) {
        rc = err_set(err, ECG_ENOMEM, "finetune: out of memory scoring %d records", n_rec);
        goto out;
    }
    for (int w = 0; w < n_win; w++) {
        int j = win_record[w];
        if (j < 0 || j >= n_rec) {
            rc = err_set(err, ECG_EINVAL, "finetune: window %d names record %d of %d", w, j, n_rec);
            goto out;
        }
        for (int c = 0; c < K; c++)
            mean[(size_t)j * K + c] += prob_w[(size_t)w * K + c];
        cnt[j]++;
    }
    for (int j = 0; j < n_rec; j++) {
        if (!cnt[j]) {
            rc = err_set(err, ECG_EINVAL, "finetune: record %d has no window", j);
            goto out;
        }
        for (int c = 0; c < K; c++) {
            mean[(size_t)j * K + c] /= cnt[j];
            s->positives[c] += target[(size_t)j * K + c] != 0;
        }
    }
    s->n_records = n_rec;
    s->n_windows = n_win;
    rc = auroc_macro(&s->macro_auroc, s->auroc, &s->n_scored, mean, target, n_rec, K, err);
    if (rc) goto out;
    if (label) {
        int right = 0;
        for (int j = 0; j < n_rec; j++) {
            const double *p = mean + (size_t)j * K;
            int best = 0;
            for (int c = 1; c < K; c++)
                if (p[c] > p[best]) best = c;
            right += best == label[j];
        }
        s->accuracy = n_rec ? (double)right / n_rec : NAN;
    }
    if (prob_rec) memcpy(prob_rec, mean, (size_t)n_rec * K * sizeof *mean);
out:
    free(mean);
    free(cnt);
    if (rc) fte_scores_free(s);
    return rc;
}

/* ---- records of one part of the split ---- */

typedef struct {
    int n;
    size_t *rec;     /* [n] store indices */
    size_t *len;     /* [n] samples per lead */
    int *label;      /* [n] class index (single-label) */
    uint8_t *target; /* [n][K] */
    int n_win;       /* scoring windows */
} recset;

static void recset_free(recset *s) {
    free(s->rec);
    free(s->len);
    free(s->label);
    free(s->target);
    memset(s, 0, sizeof *s);
}

/* The labelled records of the dataset with their label values. */
typedef struct {
    size_t rec;
    int32_t v;
    int pos; /* after the seeded shuffle: the tie order within one label value */
} labelled;

static int cmp_labelled(const void *a, const void *b) {
    const labelled *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->pos - y->pos;
}

static ecg_code recset_build(recset *s, const store_dataset *ds, const size_t *rec, int n,
                             const fte_opts *o, int K, int W, ecg_err *err) {
    memset(s, 0, sizeof *s);
    s->rec = malloc((size_t)(n ? n : 1) * sizeof *s->rec);
    s->len = malloc((size_t)(n ? n : 1) * sizeof *s->len);
    s->label = malloc((size_t)(n ? n : 1) * sizeof *s->label);
    s->target = calloc((size_t)(n ? n : 1) * K, sizeof *s->target);
    if (!s->rec || !s->len || !s->label || !s->target) {
        recset_free(s);
        return err_set(err, ECG_ENOMEM, "finetune: out of memory for %d records", n);
    }
    s->n = n;
    for (int j = 0; j < n; j++) {
        store_record_info info;
        ecg_code rc = store_info(ds, rec[j], &info, err);
        if (rc) {
            recset_free(s);
            return rc;
        }
        int32_t v = info.labels[o->label_field];
        s->rec[j] = rec[j];
        s->len[j] = info.n_samples;
        s->n_win += fte_window_count(info.n_samples, W);
        if (o->multilabel) {
            s->label[j] = -1;
            for (int c = 0; c < K; c++)
                s->target[(size_t)j * K + c] = (uint8_t)((v >> c) & 1);
        } else {
            s->label[j] = v;
            s->target[(size_t)j * K + v] = 1;
        }
    }
    return ECG_OK;
}

/* ---- the run ---- */

typedef struct {
    const store_dataset *ds;
    const fte_opts *o;
    ft_ctx c;
    int K, B;    /* classes; windows per encoder forward */
    uint8_t *tb; /* [max_b][K] batch targets (multi-label) */
} fte_run;

/* Features of the n windows in c->xb into c->feat, at most B per encoder forward. */
static ecg_code features_chunked(fte_run *u, int n, ecg_err *err) {
    ft_ctx *c = &u->c;
    size_t win = (size_t)c->C * c->W;
    for (int j0 = 0; j0 < n; j0 += u->B) {
        int m = n - j0 < u->B ? n - j0 : u->B;
        ecg_code rc =
            ft_features(c, c->xb + (size_t)j0 * win, m, c->feat + (size_t)j0 * c->feat_floats, err);
        if (rc) return rc;
    }
    return ECG_OK;
}

/* Window probabilities (softmax or sigmoid) of c->logits rows into out [n][K]. */
static void window_probs(const fte_run *u, int n, double *out) {
    int K = u->K;
    for (int j = 0; j < n; j++) {
        const float *z = u->c.logits + (size_t)j * K;
        double *p = out + (size_t)j * K;
        if (u->o->multilabel) {
            for (int k = 0; k < K; k++)
                p[k] = 1.0 / (1.0 + exp(-(double)z[k]));
        } else {
            float mx = z[0];
            for (int k = 1; k < K; k++)
                if (z[k] > mx) mx = z[k];
            double sum = 0;
            for (int k = 0; k < K; k++)
                sum += exp((double)z[k] - mx);
            for (int k = 0; k < K; k++)
                p[k] = exp((double)z[k] - mx) / sum;
        }
    }
}

/* Every scoring window of s, in record order, B at a time: read into c->xb, then fn(u, n, w0,
 * ctx) for the n windows numbered from w0; win_record (may be NULL) gets each window's record. */
typedef ecg_code (*window_fn)(fte_run *u, int n, int w0, void *ctx, ecg_err *err);

static ecg_code for_each_window(fte_run *u, const recset *s, int *win_record, window_fn fn,
                                void *ctx, ecg_err *err) {
    ft_ctx *c = &u->c;
    size_t win = (size_t)c->C * c->W;
    int w = 0, fill = 0;
    ecg_code rc = ECG_OK;
    for (int j = 0; j < s->n && !rc; j++) {
        int nw = fte_window_count(s->len[j], c->W);
        for (int k = 0; k < nw && !rc; k++) {
            rc = store_read_window(u->ds, s->rec[j], (size_t)k * c->W, (size_t)c->W,
                                   c->xb + (size_t)fill * win, err);
            if (win_record) win_record[w + fill] = j;
            if (!rc && ++fill == u->B) {
                rc = fn(u, fill, w, ctx, err);
                w += fill;
                fill = 0;
            }
        }
    }
    if (!rc && fill) rc = fn(u, fill, w, ctx, err);
    return rc;
}

static ecg_code eval_batch(fte_run *u, int n, int w0, void *ctx, ecg_err *err) {
    ecg_code rc = ft_features(&u->c, u->c.xb, n, u->c.feat, err);
    if (rc) return rc;
    ft_head_forward(&u->c, u->c.feat, n);
    window_probs(u, n, (double *)ctx + (size_t)w0 * u->K);
    return ECG_OK;
}

/* Scores of s with the current weights (eval mode, frozen encoder); prob_rec may be NULL. */
static ecg_code eval_set(fte_run *u, const recset *s, fte_scores *out, double *prob_rec,
                         ecg_err *err) {
    memset(out, 0, sizeof *out);
    out->macro_auroc = out->accuracy = NAN;
    if (s->n == 0) return ECG_OK;
    double *pw = malloc((size_t)s->n_win * u->K * sizeof *pw);
    int *wr = malloc((size_t)s->n_win * sizeof *wr);
    ecg_code rc;
    if (!pw || !wr)
        rc = err_set(err, ECG_ENOMEM, "finetune: out of memory for %d windows", s->n_win);
    else {
        encoder_set_frozen(u->c.e, 1);
        rc = for_each_window(u, s, wr, eval_batch, pw, err);
        if (!rc)
            rc = fte_scores_compute(out, pw, wr, s->n_win, s->n, u->K, s->target,
                                    u->o->multilabel ? NULL : s->label, prob_rec, err);
    }
    free(pw);
    free(wr);
    return rc;
}

/* Per-channel sums of the raw frozen features (every token in FROZEN) of the train set. */
typedef struct {
    double *s1, *s2;
    size_t rows;
} feat_stats;

static ecg_code stats_batch(fte_run *u, int n, int w0, void *ctx, ecg_err *err) {
    (void)w0;
    feat_stats *st = ctx;
    ft_ctx *c = &u->c;
    ecg_code rc = ft_features(c, c->xb, n, c->feat, err);
    if (rc) return rc;
    size_t rows = (size_t)n * c->feat_floats / (size_t)c->d;
    for (size_t i = 0; i < rows; i++)
        for (int k = 0; k < c->d; k++) {
            double v = c->feat[i * c->d + k];
            st->s1[k] += v;
            st->s2[k] += v * v;
        }
    st->rows += rows;
    return ECG_OK;
}

/* FROZEN and LINEAR: standardise the frozen features with the train records' scoring windows'
 * per-channel mean and population std (std 0 -> 1), as finetune.c does with its fit windows. */
static ecg_code set_standardisation(fte_run *u, const recset *train, ecg_err *err) {
    ft_ctx *c = &u->c;
    int d = c->d;
    feat_stats st = {calloc((size_t)d, sizeof(double)), calloc((size_t)d, sizeof(double)), 0};
    float *mu = malloc((size_t)d * sizeof *mu), *inv = malloc((size_t)d * sizeof *inv);
    ecg_code rc = ECG_OK;
    if (!st.s1 || !st.s2 || !mu || !inv)
        rc = err_set(err, ECG_ENOMEM, "finetune: out of memory");
    else
        rc = for_each_window(u, train, NULL, stats_batch, &st, err);
    if (!rc) {
        for (int k = 0; k < d; k++) {
            double m = st.rows ? st.s1[k] / (double)st.rows : 0;
            double var = st.rows ? st.s2[k] / (double)st.rows - m * m : 0;
            double sd = var > 0 ? sqrt(var) : 0;
            mu[k] = (float)m;
            inv[k] = sd > 0 ? (float)(1.0 / sd) : 1.0f;
        }
        c->mu = mu;
        c->inv_sd = inv;
        mu = inv = NULL;
    }
    free(st.s1);
    free(st.s2);
    free(mu);
    free(inv);
    return rc;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Read the labels of field k, find K, name the classes. *lab receives the labelled records. */
static ecg_code scan_labels(const store_dataset *ds, const fte_opts *o, fte_result *r, size_t **rec,
                            int32_t **val, int *n_lab, ecg_err *err) {
    size_t n = store_count(ds);
    r->n_records = n;
    *rec = malloc((n ? n : 1) * sizeof **rec);
    *val = malloc((n ? n : 1) * sizeof **val);
    if (!*rec || !*val)
        return err_set(err, ECG_ENOMEM, "finetune: out of memory for %zu records", n);
    if (n > (size_t)1 << 30) return err_set(err, ECG_EINVAL, "finetune: too many records");
    int32_t vmax = -1, bits = 0;
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        store_record_info info;
        ecg_code rc = store_info(ds, i, &info, err);
        if (rc) return rc;
        int32_t v = info.labels[o->label_field];
        if (v == STORE_LABEL_MISSING) {
            r->n_unlabelled++;
            continue;
        }
        if (v < 0)
            return err_set(err, ECG_EINVAL, "finetune: record %zu: label field %d holds %d", i,
                           o->label_field, (int)v);
        if (v > vmax) vmax = v;
        bits |= v;
        (*rec)[m] = i;
        (*val)[m++] = v;
    }
    *n_lab = m;
    int K = 0;
    if (o->multilabel)
        for (int c = 0; c < FTE_MAX_CLASSES; c++)
            if (bits >> c & 1) K = c + 1;
    if (!o->multilabel) {
        if (vmax > 4095)
            return err_set(err, ECG_EINVAL,
                           "finetune: label field %d holds class %d (a bitmask? use multi-label)",
                           o->label_field, (int)vmax);
        K = vmax + 1;
    }
    if (m < 2 || (o->multilabel ? K < 1 : K < 2))
        return err_set(err, ECG_EINVAL,
                       "finetune: label field %d has %d labelled records and %d classes (need two "
                       "records and %s)",
                       o->label_field, m, K, o->multilabel ? "a class bit set" : "two classes");
    r->n_classes = K;
    r->class_names = calloc((size_t)K, sizeof *r->class_names);
    if (!r->class_names) return err_set(err, ECG_ENOMEM, "finetune: out of memory");
    for (int c = 0; c < K; c++) {
        const char *name =
            store_label_value_name(ds, o->label_field, o->multilabel ? (int32_t)1 << c : c);
        char buf[16];
        snprintf(buf, sizeof buf, "%d", c);
        r->class_names[c] = strdup(name ? name : buf);
        if (!r->class_names[c]) return err_set(err, ECG_ENOMEM, "finetune: out of memory");
    }
    return ECG_OK;
}

ecg_code fte_split(const int32_t *value, int n, double val_fraction, double test_fraction,
                   rng_state *rng, uint8_t *part, ecg_err *err) {
    labelled *lab = malloc((size_t)(n ? n : 1) * sizeof *lab);
    int *perm = malloc((size_t)(n ? n : 1) * sizeof *perm);
    if (!lab || !perm) {
        free(lab);
        free(perm);
        return err_set(err, ECG_ENOMEM, "finetune: out of memory splitting %d records", n);
    }
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(rng, (uint64_t)i + 1);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < n; i++)
        lab[i] = (labelled){(size_t)i, value[i], perm[i]};
    qsort(lab, (size_t)n, sizeof *lab, cmp_labelled);
    const double g = 0.6180339887498949; /* (sqrt 5 - 1) / 2 */
    double r0 = (double)(rng_next_u64(rng) >> 11) * 0x1p-53;
    for (int p = 0; p < n; p++) {
        double ph = fmod(r0 + p * g, 1.0);
        part[lab[p].rec] = ph < test_fraction                  ? FTE_TEST
                           : ph < test_fraction + val_fraction ? FTE_VAL
                                                               : FTE_TRAIN;
    }
    free(lab);
    free(perm);
    return ECG_OK;
}

/* One epoch: a seeded shuffle of the train records, one random crop each, steps of o->batch. */
static ecg_code train_epoch(fte_run *u, const recset *tr, int *order, rng_state *shuf,
                            rng_state *crop, adamw *oh, adamw *oe, float lr, double *mean_loss,
                            ecg_err *err) {
    ft_ctx *c = &u->c;
    const fte_opts *o = u->o;
    int K = u->K;
    size_t win = (size_t)c->C * c->W;
    for (int i = tr->n - 1; i > 0; i--) {
        int j = (int)rng_below(shuf, (uint64_t)i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    double sum = 0;
    int steps = 0;
    ecg_code rc = ECG_OK;
    for (int b0 = 0; b0 < tr->n && !rc; b0 += o->batch) {
        int n = tr->n - b0 < o->batch ? tr->n - b0 : o->batch;
        for (int j = 0; j < n && !rc; j++) {
            int r = order[b0 + j];
            size_t len = tr->len[r], start = 0;
            if (len > (size_t)c->W) start = (size_t)rng_below(crop, len - (size_t)c->W + 1);
            rc = store_read_window(u->ds, tr->rec[r], start, (size_t)c->W, c->xb + (size_t)j * win,
                                   err);
            c->yb[j] = tr->label[r];
            memcpy(u->tb + (size_t)j * K, tr->target + (size_t)r * K, (size_t)K);
        }
        if (rc) break;
        if (c->mode != FT_FINETUNE && (rc = features_chunked(u, n, err))) break;
        const float *feat, *lin_in;
        if ((rc = ft_train_forward(c, n, &feat, &lin_in, err))) break;
        double l = o->multilabel
                       ? fte_bce_with_logits(c->dlogits, c->logits, u->tb, n, K,
                                             1.0f / ((float)n * (float)K))
                       : ft_cross_entropy(c->dlogits, c->logits, c->yb, n, K, 1.0f / (float)n);
        rc = ft_train_backward(c, feat, lin_in, n, oh, oe, lr, err);
        sum += l;
        steps++;
    }
    *mean_loss = steps ? sum / steps : 0;
    return rc;
}

static ecg_code check_opts(const encoder *e, const fte_opts *o, ecg_err *err) {
    if (o->mode < FT_FINETUNE || o->mode > FT_LINEAR)
        return err_set(err, ECG_EINVAL, "finetune: bad mode");
    if (o->label_field < 0 || o->label_field >= STORE_N_LABELS)
        return err_set(err, ECG_EINVAL, "finetune: label field %d is not in 0..%d", o->label_field,
                       STORE_N_LABELS - 1);
    if (o->epochs < 0 || o->batch < 1 || !(o->lr >= 0) || o->patience < 0)
        return err_set(err, ECG_EINVAL,
                       "finetune: epochs >= 0, batch >= 1, lr >= 0 and patience >= 0 are required");
    if (!(o->val_fraction >= 0 && o->test_fraction >= 0 && o->val_fraction + o->test_fraction < 1))
        return err_set(err, ECG_EINVAL,
                       "finetune: validation and test fractions must be >= 0 and sum below 1");
    if (o->mode == FT_FINETUNE && o->batch > encoder_max_batch(e))
        return err_set(err, ECG_EINVAL, "finetune: batch %d exceeds the encoder's max batch %d",
                       o->batch, encoder_max_batch(e));
    if (encoder_get_config(e)->in_channels != ECG_N_LEADS)
        return err_set(err, ECG_EINVAL, "finetune: the encoder takes %d channels, the store %d",
                       encoder_get_config(e)->in_channels, ECG_N_LEADS);
    return ECG_OK;
}

ecg_code finetune_ecg_run(encoder *e, const store_dataset *ds, const fte_opts *o, fte_result *r,
                          ecg_err *err) {
    memset(r, 0, sizeof *r);
    r->mode = o->mode;
    r->multilabel = o->multilabel;
    r->label_field = o->label_field;
    r->val.macro_auroc = r->test.macro_auroc = NAN;
    ecg_code rc = check_opts(e, o, err);
    if (rc) return rc;
    double t0 = now_seconds();
    const float lr = o->lr > 0 ? o->lr : ft_default_lr(o->mode);
    rng_state base, split_rng, shuf_rng, head_rng, crop_rng;
    rng_seed(&base, o->seed);
    split_rng = rng_fork(&base, 1);
    shuf_rng = rng_fork(&base, 2);
    head_rng = rng_fork(&base, 3);
    *encoder_rng(e) = rng_fork(&base, 4);
    crop_rng = rng_fork(&base, 5);

    fte_run u = {.ds = ds, .o = o};
    size_t *lab = NULL, *parts = NULL;
    int32_t *lab_val = NULL;
    uint8_t *part = NULL;
    recset tr = {0}, va = {0}, te = {0};
    int *order = NULL;
    adamw oh = {0}, oe = {0};
    ft_snapshot snap = {0};
    fte_scores cur = {0};
    int n_lab = 0, ctx_ready = 0;
    if ((rc = scan_labels(ds, o, r, &lab, &lab_val, &n_lab, err))) goto done;
    const int K = u.K = r->n_classes;
    parts = malloc((size_t)3 * n_lab * sizeof *parts);
    part = malloc((size_t)n_lab);
    if (!parts || !part) {
        rc = err_set(err, ECG_ENOMEM, "finetune: out of memory");
        goto done;
    }
    if ((rc = fte_split(lab_val, n_lab, o->val_fraction, o->test_fraction, &split_rng, part, err)))
        goto done;
    for (int i = 0; i < n_lab; i++) {
        if (part[i] == FTE_TRAIN) parts[r->n_train++] = lab[i];
        if (part[i] == FTE_VAL) parts[n_lab + r->n_val++] = lab[i];
        if (part[i] == FTE_TEST) parts[2 * n_lab + r->n_test++] = lab[i];
    }
    if (r->n_train < 1) {
        rc = err_set(err, ECG_EINVAL, "finetune: no train records (%d labelled)", n_lab);
        goto done;
    }
    int W = encoder_get_config(e)->in_samples;
    if ((rc = recset_build(&tr, ds, parts, r->n_train, o, K, W, err)) ||
        (rc = recset_build(&va, ds, parts + n_lab, r->n_val, o, K, W, err)) ||
        (rc = recset_build(&te, ds, parts + 2 * n_lab, r->n_test, o, K, W, err)))
        goto done;

    u.B = encoder_max_batch(e);
    int max_b = o->batch > u.B ? o->batch : u.B;
    rc = ft_ctx_init(&u.c, e, o->mode, K, max_b, &head_rng, err);
    ctx_ready = 1;
    if (rc) goto done;
    u.tb = malloc((size_t)max_b * K);
    order = malloc((size_t)tr.n * sizeof *order);
    r->train_loss = calloc((size_t)o->epochs + 1, sizeof *r->train_loss);
    r->val_auroc = calloc((size_t)o->epochs + 1, sizeof *r->val_auroc);
    r->test_prob = malloc(((size_t)te.n + 1) * K * sizeof *r->test_prob);
    r->test_records = malloc(((size_t)te.n + 1) * sizeof *r->test_records);
    if (!u.tb || !order || !r->train_loss || !r->val_auroc || !r->test_prob || !r->test_records) {
        rc = err_set(err, ECG_ENOMEM, "finetune: out of memory");
        goto done;
    }
    for (int i = 0; i < tr.n; i++)
        order[i] = i;
    if (o->mode != FT_FINETUNE) {
        encoder_set_frozen(e, 1);
        if ((rc = set_standardisation(&u, &tr, err))) goto done;
    }
    if ((rc = ft_optim_init(&u.c, o->weight_decay, &oh, &oe, err)) ||
        (rc = ft_snapshot_init(&snap, &u.c, err)))
        goto done;

    /* epoch 0 is recorded, not a candidate (see finetune.h) */
    if ((rc = eval_set(&u, &va, &cur, NULL, err))) goto done;
    r->val_auroc[0] = cur.macro_auroc;
    fte_scores_free(&cur);
    ft_snapshot_take(&snap, &u.c);
    double best = -INFINITY;
    int since = 0;
    for (int ep = 1; ep <= o->epochs; ep++) {
        if ((rc = train_epoch(&u, &tr, order, &shuf_rng, &crop_rng, &oh, &oe, lr,
                              &r->train_loss[ep - 1], err)))
            goto done;
        r->epochs_run = ep;
        if ((rc = eval_set(&u, &va, &cur, NULL, err))) goto done;
        double a = cur.macro_auroc;
        r->val_auroc[ep] = a;
        if (isnan(a) || a > best) {
            if (!isnan(a)) best = a;
            r->best_epoch = ep;
            since = 0;
            ft_snapshot_take(&snap, &u.c);
            fte_scores_free(&r->val);
            r->val = cur;
            memset(&cur, 0, sizeof cur);
        } else {
            fte_scores_free(&cur);
            if (++since >= o->patience && o->patience > 0) break;
        }
    }
    ft_snapshot_restore(&snap, &u.c);
    if (r->best_epoch == 0) {
        fte_scores_free(&r->val);
        if ((rc = eval_set(&u, &va, &r->val, NULL, err))) goto done;
    }
    if ((rc = eval_set(&u, &te, &r->test, r->test_prob, err))) goto done;
    memcpy(r->test_records, te.rec, (size_t)te.n * sizeof *te.rec);
    r->seconds = now_seconds() - t0;
done:
    if (ctx_ready) {
        ft_optim_free(&u.c, &oh, &oe);
        ft_ctx_free(&u.c);
    }
    ft_snapshot_free(&snap);
    fte_scores_free(&cur);
    free(u.tb);
    free(lab);
    free(lab_val);
    free(part);
    free(parts);
    free(order);
    recset_free(&tr);
    recset_free(&va);
    recset_free(&te);
    if (rc) fte_result_free(r);
    return rc;
}

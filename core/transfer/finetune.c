/* finetune.c — fine-tuning an encoder and a classification head on a task's train split, with
 * early stopping on a stratified held-out part of train (see finetune.h). */
#include "core/transfer/finetune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/rng.h"
#include "core/model/adamw.h"
#include "core/model/params.h"
#include "core/nn/layers.h"
#include "core/transfer/classify.h"
#include "core/transfer/finetune_impl.h"

const char *ft_mode_name(ft_mode m) {
    switch (m) {
    case FT_FINETUNE: return "finetune";
    case FT_FROZEN: return "frozen";
    case FT_LINEAR: return "linear";
    }
    return "unknown";
}

ecg_code ft_mode_parse(const char *s, ft_mode *out, ecg_err *err) {
    for (int m = FT_FINETUNE; m <= FT_LINEAR; m++)
        if (strcmp(s, ft_mode_name((ft_mode)m)) == 0) {
            *out = (ft_mode)m;
            return ECG_OK;
        }
    return err_set(err, ECG_EINVAL, "mode: \"%s\" is not one of finetune, frozen, linear", s);
}

void ft_opts_default(ft_opts *o) {
    memset(o, 0, sizeof *o);
    o->mode = FT_FINETUNE;
    map_opts_default(&o->map);
    o->epochs = 100;
    o->batch = 16;
    o->lr = 0;
    o->weight_decay = 1e-3f;
    o->patience = 20;
    o->val_fraction = 0.2;
    o->seed = 0;
}

float ft_default_lr(ft_mode m) {
    (void)m;
    return 1e-2f;
}

void ft_result_free(ft_result *r) {
    if (!r) return;
    free(r->train_loss);
    free(r->val_loss);
    free(r->val_acc);
    transfer_score_free(&r->test);
    memset(r, 0, sizeof *r);
}

/* ---- attention pooling ---- */

void ft_attnpool_forward(float *pooled, float *attn, const float *tokens, const float *q, int B,
                         int T, int d) {
    const float scale = 1.0f / sqrtf((float)d);
#pragma omp parallel for schedule(static) if ((long)B * T * d > 65536)
    for (int b = 0; b < B; b++) {
        const float *h = tokens + (size_t)b * T * d;
        float *a = attn + (size_t)b * T;
        float mx = -INFINITY;
        for (int t = 0; t < T; t++) {
            double s = 0;
            for (int k = 0; k < d; k++)
                s += (double)q[k] * h[(size_t)t * d + k];
            a[t] = (float)s * scale;
            if (a[t] > mx) mx = a[t];
        }
        double z = 0;
        for (int t = 0; t < T; t++) {
            a[t] = expf(a[t] - mx);
            z += a[t];
        }
        for (int t = 0; t < T; t++)
            a[t] = (float)(a[t] / z);
        float *p = pooled + (size_t)b * d;
        for (int k = 0; k < d; k++) {
            double s = 0;
            for (int t = 0; t < T; t++)
                s += (double)a[t] * h[(size_t)t * d + k];
            p[k] = (float)s;
        }
    }
}

void ft_attnpool_backward(float *dtokens, float *dq, const float *dpooled, const float *tokens,
                          const float *attn, const float *q, int B, int T, int d) {
    const float scale = 1.0f / sqrtf((float)d);
    /* Windows in order, so dq's sum has a fixed order. da_t = dp . h_t is recomputed in the second
     * pass rather than stored: T * d multiply-adds per window, and no workspace. */
    for (int b = 0; b < B; b++) {
        const float *h = tokens + (size_t)b * T * d, *a = attn + (size_t)b * T;
        const float *dp = dpooled + (size_t)b * d;
        double mean = 0; /* sum_u a_u da_u */
        for (int t = 0; t < T; t++) {
            double da = 0;
            for (int k = 0; k < d; k++)
                da += (double)dp[k] * h[(size_t)t * d + k];
            mean += a[t] * da;
        }
        for (int t = 0; t < T; t++) {
            const float *ht = h + (size_t)t * d;
            double da = 0;
            for (int k = 0; k < d; k++)
                da += (double)dp[k] * ht[k];
            /* ds_t = a_t (da_t - mean), and s_t = scale * q . h_t */
            float ds = (float)(a[t] * (da - mean)) * scale;
            for (int k = 0; k < d; k++)
                dq[k] += ds * ht[k];
            if (dtokens) {
                float *dh = dtokens + ((size_t)b * T + t) * d;
                for (int k = 0; k < d; k++)
                    dh[k] = a[t] * dp[k] + ds * q[k];
            }
        }
    }
}

double ft_cross_entropy(float *dz, const float *z, const int *y, int n, int k, float scale) {
    double total = 0;
    for (int i = 0; i < n; i++) {
        const float *zi = z + (size_t)i * k;
        float mx = zi[0];
        for (int c = 1; c < k; c++)
            if (zi[c] > mx) mx = zi[c];
        double s = 0;
        for (int c = 0; c < k; c++)
            s += exp((double)zi[c] - mx);
        double lse = mx + log(s);
        total += lse - zi[y[i]];
        if (dz)
            for (int c = 0; c < k; c++) {
                double p = exp((double)zi[c] - lse);
                dz[(size_t)i * k + c] = (float)(p - (c == y[i])) * scale;
            }
    }
    return n ? total / n : 0;
}

/* ---- windows of a set of series ---- */

typedef struct {
    int n_series, n_win;
    float *x;        /* [n_win][C * W] */
    int *win_series; /* [n_win] index into the set's series */
    int *label;      /* [n_series] */
} winset;

static void winset_free(winset *s) {
    free(s->x);
    free(s->win_series);
    free(s->label);
    memset(s, 0, sizeof *s);
}

/* The series idx[0..n) of t, mapped to windows (map_series). */
static ecg_code winset_build(winset *s, const map_opts *m, const task_split *t, const int *idx,
                             int n, int C, int W, ecg_err *err) {
    memset(s, 0, sizeof *s);
    size_t win = (size_t)C * W;
    int total = 0;
    for (int j = 0; j < n; j++)
        total += map_window_count(m, t->length[idx ? idx[j] : j], W);
    s->x = malloc((size_t)(total ? total : 1) * win * sizeof *s->x);
    s->win_series = malloc((size_t)(total ? total : 1) * sizeof *s->win_series);
    s->label = malloc((size_t)(n ? n : 1) * sizeof *s->label);
    if (!s->x || !s->win_series || !s->label) {
        winset_free(s);
        return err_set(err, ECG_ENOMEM, "finetune: out of memory for %d windows", total);
    }
    int w = 0;
    for (int j = 0; j < n; j++) {
        int i = idx ? idx[j] : j, nw = 0;
        ecg_code rc = map_series(m, t, i, C, W, s->x + (size_t)w * win, &nw, NULL, err);
        if (rc) {
            winset_free(s);
            return rc;
        }
        for (int k = 0; k < nw; k++)
            s->win_series[w + k] = j;
        w += nw;
        s->label[j] = t->label[i];
    }
    s->n_series = n;
    s->n_win = w;
    return ECG_OK;
}

/* ---- the training context ---- */

void ft_ctx_free(ft_ctx *c) {
    params_free(&c->head);
    free(c->xb);
    free(c->feat);
    free(c->attn);
    free(c->pooled);
    free(c->logits);
    free(c->dlogits);
    free(c->dfeat);
    free(c->yb);
    free(c->mu);
    free(c->inv_sd);
}

ecg_code ft_ctx_init(ft_ctx *c, encoder *e, ft_mode mode, int K, int max_b, rng_state *rng,
                     ecg_err *err) {
    memset(c, 0, sizeof *c);
    const struct encoder_config *cfg = encoder_get_config(e);
    c->e = e;
    c->mode = mode;
    c->C = cfg->in_channels;
    c->W = cfg->in_samples;
    c->T = encoder_tokens(e);
    c->d = cfg->d_model;
    c->K = K;
    c->max_b = max_b;
    c->feat_floats = mode == FT_FROZEN ? (size_t)c->T * c->d : (size_t)c->d;
    params_init(&c->head);
    int d = c->d;
    if ((c->v_w = params_add(&c->head, "head.weight", 2, (int[]){K, d}, PG_HEAD, 1, err)) < 0 ||
        (c->v_b = params_add(&c->head, "head.bias", 1, &K, PG_HEAD, 1, err)) < 0)
        return err ? err->code : ECG_EINVAL;
    c->v_q = -1;
    if (mode == FT_FROZEN &&
        (c->v_q = params_add(&c->head, "head.query", 1, &d, PG_HEAD, 1, err)) < 0)
        return err ? err->code : ECG_EINVAL;
    /* torch.nn.Linear's default init; the query starts at 0 (uniform attention = mean pooling) */
    float bound = 1.0f / sqrtf((float)d);
    float *w = params_data(&c->head, c->v_w), *b = params_data(&c->head, c->v_b);
    for (int i = 0; i < K * d; i++)
        w[i] = bound * (2.0f * rng_uniform(rng) - 1.0f);
    for (int i = 0; i < K; i++)
        b[i] = bound * (2.0f * rng_uniform(rng) - 1.0f);
    size_t win = (size_t)c->C * c->W;
    c->xb = malloc((size_t)max_b * win * sizeof *c->xb);
    c->feat = malloc((size_t)max_b * c->feat_floats * sizeof *c->feat);
    c->attn = malloc((size_t)max_b * c->T * sizeof *c->attn);
    c->pooled = malloc((size_t)max_b * d * sizeof *c->pooled);
    c->logits = malloc((size_t)max_b * K * sizeof *c->logits);
    c->dlogits = malloc((size_t)max_b * K * sizeof *c->dlogits);
    c->dfeat = malloc((size_t)max_b * d * sizeof *c->dfeat);
    c->yb = malloc((size_t)max_b * sizeof *c->yb);
    if (!c->xb || !c->feat || !c->attn || !c->pooled || !c->logits || !c->dlogits || !c->dfeat ||
        !c->yb)
        return err_set(err, ECG_ENOMEM, "finetune: out of memory for batch buffers");
    return ECG_OK;
}

/* Windows idx[0..n) of s into c->xb. */
static void gather_windows(ft_ctx *c, const winset *s, const int *idx, int n) {
    size_t win = (size_t)c->C * c->W;
    for (int j = 0; j < n; j++)
        memcpy(c->xb + (size_t)j * win, s->x + (size_t)idx[j] * win, win * sizeof *c->xb);
}

/* Encoder features of windows idx[0..n) of s (ft_features). */
static ecg_code encoder_features(ft_ctx *c, const winset *s, const int *idx, int n, float *out,
                                 ecg_err *err) {
    gather_windows(c, s, idx, n);
    return ft_features(c, c->xb, n, out, err);
}

ecg_code ft_features(ft_ctx *c, const float *x, int n, float *out, ecg_err *err) {
    ecg_code rc = encoder_forward(c->e, x, n, ENC_EVAL, err);
    if (rc) return rc;
    const float *src = c->mode == FT_FROZEN ? encoder_out(c->e) : encoder_embedding(c->e);
    size_t rows = (size_t)n * c->feat_floats / c->d;
    for (size_t i = 0; i < rows; i++)
        for (int k = 0; k < c->d; k++) {
            float v = src[i * c->d + k];
            out[i * c->d + k] = c->mu ? (v - c->mu[k]) * c->inv_sd[k] : v;
        }
    return ECG_OK;
}

/* Per-channel mean and 1/std (population; std 0 -> 1) of the fit windows' features (every token
 * in FROZEN), applied to the caches and to every later feature: a frozen encoder's channels come
 * at scales a head with one learning rate cannot all follow (the same reason the zero-shot
 * logistic regression standardises). */
static ecg_code standardise(ft_ctx *c, float *fit, size_t fit_rows, float *val, size_t val_rows,
                            ecg_err *err) {
    int d = c->d;
    c->mu = malloc((size_t)d * sizeof *c->mu);
    c->inv_sd = malloc((size_t)d * sizeof *c->inv_sd);
    double *s1 = calloc((size_t)d, sizeof *s1), *s2 = calloc((size_t)d, sizeof *s2);
    if (!c->mu || !c->inv_sd || !s1 || !s2) {
        free(s1);
        free(s2);
        return err_set(err, ECG_ENOMEM, "finetune: out of memory");
    }
    for (size_t i = 0; i < fit_rows; i++)
        for (int k = 0; k < d; k++)
            s1[k] += fit[i * d + k];
    for (int k = 0; k < d; k++)
        s1[k] /= fit_rows ? (double)fit_rows : 1.0;
    for (size_t i = 0; i < fit_rows; i++)
        for (int k = 0; k < d; k++) {
            double v = fit[i * d + k] - s1[k];
            s2[k] += v * v;
        }
    for (int k = 0; k < d; k++) {
        double sd = sqrt(s2[k] / (fit_rows ? (double)fit_rows : 1.0));
        c->mu[k] = (float)s1[k];
        c->inv_sd[k] = sd > 0 ? (float)(1.0 / sd) : 1.0f;
    }
    free(s1);
    free(s2);
    for (int p = 0; p < 2; p++) {
        float *x = p ? val : fit;
        size_t rows = p ? val_rows : fit_rows;
        for (size_t i = 0; i < rows; i++)
            for (int k = 0; k < d; k++)
                x[i * d + k] = (x[i * d + k] - c->mu[k]) * c->inv_sd[k];
    }
    return ECG_OK;
}

const float *ft_head_forward(ft_ctx *c, const float *feat, int n) {
    const float *in = feat;
    if (c->mode == FT_FROZEN) {
        ft_attnpool_forward(c->pooled, c->attn, feat, params_data(&c->head, c->v_q), n, c->T, c->d);
        in = c->pooled;
    }
    linear_forward(c->logits, in, params_data(&c->head, c->v_w), params_data(&c->head, c->v_b), n,
                   c->d, c->K);
    return in;
}

/* Mean window softmax per series of s into prob [n_series][K]. cache: features of every window
 * of s (FROZEN/LINEAR), or NULL to run the encoder. */
static ecg_code eval_set(ft_ctx *c, const winset *s, const float *cache, double *prob,
                         ecg_err *err) {
    int K = c->K, B = encoder_max_batch(c->e);
    if (B > c->max_b) B = c->max_b;
    int *cnt = calloc((size_t)(s->n_series ? s->n_series : 1), sizeof *cnt);
    int *idx = malloc((size_t)B * sizeof *idx);
    if (!cnt || !idx) {
        free(cnt);
        free(idx);
        return err_set(err, ECG_ENOMEM, "finetune: out of memory evaluating");
    }
    memset(prob, 0, (size_t)s->n_series * K * sizeof *prob);
    encoder_set_frozen(c->e, 1);
    ecg_code rc = ECG_OK;
    for (int w0 = 0; w0 < s->n_win && !rc; w0 += B) {
        int n = s->n_win - w0 < B ? s->n_win - w0 : B;
        for (int j = 0; j < n; j++)
            idx[j] = w0 + j;
        const float *feat;
        if (cache)
            feat = cache + (size_t)w0 * c->feat_floats;
        else {
            rc = encoder_features(c, s, idx, n, c->feat, err);
            if (rc) break;
            feat = c->feat;
        }
        ft_head_forward(c, feat, n);
        for (int j = 0; j < n; j++) {
            const float *z = c->logits + (size_t)j * K;
            float mx = z[0];
            for (int k = 1; k < K; k++)
                if (z[k] > mx) mx = z[k];
            double sum = 0;
            for (int k = 0; k < K; k++)
                sum += exp((double)z[k] - mx);
            int sr = s->win_series[w0 + j];
            for (int k = 0; k < K; k++)
                prob[(size_t)sr * K + k] += exp((double)z[k] - mx) / sum;
            cnt[sr]++;
        }
    }
    for (int i = 0; i < s->n_series && !rc; i++)
        for (int k = 0; k < K; k++)
            prob[(size_t)i * K + k] /= cnt[i] ? cnt[i] : 1;
    free(cnt);
    free(idx);
    return rc;
}

ecg_code ft_train_forward(ft_ctx *c, int n, const float **feat, const float **lin_in,
                          ecg_err *err) {
    params_zero_grad(&c->head);
    if (c->mode == FT_FINETUNE) {
        encoder_zero_grad(c->e);
        ecg_code rc = encoder_forward(c->e, c->xb, n, ENC_TRAIN, err);
        if (rc) return rc;
        *feat = encoder_embedding(c->e);
    } else
        *feat = c->feat;
    *lin_in = ft_head_forward(c, *feat, n);
    return ECG_OK;
}

ecg_code ft_train_backward(ft_ctx *c, const float *feat, const float *lin_in, int n, adamw *oh,
                           adamw *oe, float lr, ecg_err *err) {
    int d = c->d;
    ecg_code rc = ECG_OK;
    linear_backward(c->dfeat, params_grad(&c->head, c->v_w), params_grad(&c->head, c->v_b),
                    c->dlogits, lin_in, params_data(&c->head, c->v_w), n, d, c->K);
    if (c->mode == FT_FROZEN)
        ft_attnpool_backward(NULL, params_grad(&c->head, c->v_q), c->dfeat, feat, c->attn,
                             params_data(&c->head, c->v_q), n, c->T, d);
    if (c->mode == FT_FINETUNE) {
        rc = encoder_backward(c->e, NULL, c->dfeat, NULL, err);
        if (!rc) rc = adamw_step(oe, encoder_params(c->e), lr, err);
    }
    if (!rc) rc = adamw_step(oh, &c->head, lr, err);
    return rc;
}

ecg_code ft_optim_init(ft_ctx *c, float weight_decay, adamw *oh, adamw *oe, ecg_err *err) {
    adamw_config ac;
    adamw_config_default(&ac);
    for (int g = 0; g < PG_COUNT; g++)
        ac.weight_decay[g] = weight_decay;
    ecg_code rc = adamw_init(oh, &ac, &c->head, err);
    if (!rc && c->mode == FT_FINETUNE) rc = adamw_init(oe, &ac, encoder_params(c->e), err);
    return rc;
}

void ft_optim_free(ft_ctx *c, adamw *oh, adamw *oe) {
    adamw_free(oh);
    if (c->mode == FT_FINETUNE) adamw_free(oe);
}

ecg_code ft_snapshot_init(ft_snapshot *s, const ft_ctx *c, ecg_err *err) {
    memset(s, 0, sizeof *s);
    param_set *eps = encoder_params(c->e);
    s->head = malloc((c->head.n_floats + 1) * sizeof *s->head);
    if (c->mode == FT_FINETUNE) {
        s->enc = malloc((eps->n_floats + 1) * sizeof *s->enc);
        s->buf = malloc((eps->n_buf + 1) * sizeof *s->buf);
    }
    if (!s->head || (c->mode == FT_FINETUNE && (!s->enc || !s->buf))) {
        ft_snapshot_free(s);
        return err_set(err, ECG_ENOMEM, "finetune: out of memory for the best epoch's weights");
    }
    return ECG_OK;
}

void ft_snapshot_take(ft_snapshot *s, ft_ctx *c) {
    memcpy(s->head, c->head.data, c->head.n_floats * sizeof *s->head);
    if (c->mode == FT_FINETUNE) {
        param_set *eps = encoder_params(c->e);
        memcpy(s->enc, eps->data, eps->n_floats * sizeof *s->enc);
        memcpy(s->buf, eps->buf, eps->n_buf * sizeof *s->buf);
        s->bn = encoder_bn_batches(c->e);
    }
}

void ft_snapshot_restore(const ft_snapshot *s, ft_ctx *c) {
    memcpy(c->head.data, s->head, c->head.n_floats * sizeof *s->head);
    if (c->mode == FT_FINETUNE) {
        param_set *eps = encoder_params(c->e);
        memcpy(eps->data, s->enc, eps->n_floats * sizeof *s->enc);
        memcpy(eps->buf, s->buf, eps->n_buf * sizeof *s->buf);
        encoder_set_bn_batches(c->e, s->bn);
        encoder_set_frozen(c->e, 0); /* parameters changed under a possibly frozen encoder */
    }
}

void ft_snapshot_free(ft_snapshot *s) {
    free(s->head);
    free(s->enc);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

/* One optimisation step on windows idx[0..n) of s; returns the batch's mean cross-entropy. */
static ecg_code train_step(ft_ctx *c, const winset *s, const float *cache, const int *idx, int n,
                           adamw *opt_head, adamw *opt_enc, float lr, double *loss, ecg_err *err) {
    for (int j = 0; j < n; j++)
        c->yb[j] = s->label[s->win_series[idx[j]]];
    if (c->mode == FT_FINETUNE)
        gather_windows(c, s, idx, n);
    else
        for (int j = 0; j < n; j++)
            memcpy(c->feat + (size_t)j * c->feat_floats, cache + (size_t)idx[j] * c->feat_floats,
                   c->feat_floats * sizeof *c->feat);
    const float *feat, *lin_in;
    ecg_code rc = ft_train_forward(c, n, &feat, &lin_in, err);
    if (rc) return rc;
    *loss = ft_cross_entropy(c->dlogits, c->logits, c->yb, n, c->K, 1.0f / (float)n);
    return ft_train_backward(c, feat, lin_in, n, opt_head, opt_enc, lr, err);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Stratified split of train's series: each class's series shuffled, round(frac * n_c) of them
 * (at least 1 and at most n_c - 1 when n_c >= 2 and frac > 0) held out. */
static void split_train(const task_split *t, double frac, rng_state *rng, int *fit, int *n_fit,
                        int *val, int *n_val) {
    *n_fit = *n_val = 0;
    int *cls = malloc((size_t)(t->n_series ? t->n_series : 1) * sizeof *cls);
    if (!cls) return;
    for (int k = 0; k < t->n_classes; k++) {
        int m = 0;
        for (int i = 0; i < t->n_series; i++)
            if (t->label[i] == k) cls[m++] = i;
        for (int i = m - 1; i > 0; i--) {
            int j = (int)rng_below(rng, (uint64_t)i + 1);
            int tmp = cls[i];
            cls[i] = cls[j];
            cls[j] = tmp;
        }
        int nv = frac > 0 ? (int)floor(frac * m + 0.5) : 0;
        if (frac > 0 && m >= 2) {
            if (nv < 1) nv = 1;
            if (nv > m - 1) nv = m - 1;
        } else if (m < 2)
            nv = 0;
        for (int i = 0; i < m; i++) {
            if (i < nv)
                val[(*n_val)++] = cls[i];
            else
                fit[(*n_fit)++] = cls[i];
        }
    }
    free(cls);
    /* keep series order within each part (the class-grouped order above is arbitrary) */
    for (int p = 0; p < 2; p++) {
        int *a = p ? val : fit, n = p ? *n_val : *n_fit;
        for (int i = 1; i < n; i++) {
            int v = a[i], j = i - 1;
            while (j >= 0 && a[j] > v) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
        }
    }
}

/* Accuracy and mean -log p(true) of series probabilities. */
static void score_probs(const double *prob, const int *label, int n, int K, double *acc,
                        double *loss) {
    int right = 0;
    double l = 0;
    for (int i = 0; i < n; i++) {
        const double *p = prob + (size_t)i * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (p[k] > p[best]) best = k;
        right += best == label[i];
        double pt = p[label[i]];
        l += -log(pt > 1e-12 ? pt : 1e-12);
    }
    *acc = n ? (double)right / n : 0;
    *loss = n ? l / n : 0;
}

ecg_code finetune_run(encoder *e, const ft_opts *o, const task_split *train, const task_split *test,
                      ft_result *r, ecg_err *err) {
    memset(r, 0, sizeof *r);
    r->mode = o->mode;
    if (o->mode < FT_FINETUNE || o->mode > FT_LINEAR)
        return err_set(err, ECG_EINVAL, "finetune: bad mode");
    if (o->epochs < 0 || o->batch < 1 || !(o->lr >= 0) || o->patience < 0 ||
        !(o->val_fraction >= 0 && o->val_fraction < 1))
        return err_set(err, ECG_EINVAL,
                       "finetune: epochs >= 0, batch >= 1, lr >= 0, patience >= 0 and "
                       "val_fraction in [0, 1) are required");
    if (o->mode == FT_FINETUNE && o->batch > encoder_max_batch(e))
        return err_set(err, ECG_EINVAL, "finetune: batch %d exceeds the encoder's max batch %d",
                       o->batch, encoder_max_batch(e));
    if (train->n_classes < 2 || train->n_series < 2)
        return err_set(err, ECG_EINVAL, "finetune: the train split needs two classes");
    if (test->n_classes != train->n_classes || test->n_dims != train->n_dims)
        return err_set(err, ECG_EINVAL,
                       "finetune: test split does not match train (align its classes first)");
    ecg_code rc = map_opts_check(&o->map, train->n_dims, err);
    if (rc) return rc;
    double t0 = now_seconds();
    const float lr = o->lr > 0 ? o->lr : ft_default_lr(o->mode);
    const int K = train->n_classes;
    rng_state base, split_rng, shuf_rng, head_rng;
    rng_seed(&base, o->seed);
    split_rng = rng_fork(&base, 1);
    shuf_rng = rng_fork(&base, 2);
    head_rng = rng_fork(&base, 3);
    *encoder_rng(e) = rng_fork(&base, 4);

    ft_ctx c;
    winset fit = {0}, val = {0}, tst = {0};
    float *cache_fit = NULL, *cache_val = NULL;
    ft_snapshot snap = {0};
    double *prob = NULL;
    int *fit_idx = malloc((size_t)train->n_series * sizeof *fit_idx);
    int *val_idx = malloc((size_t)train->n_series * sizeof *val_idx);
    int *order = NULL, *tpred = NULL;
    float *tprob = NULL;
    adamw oh = {0}, oe = {0};
    int max_b = o->batch > encoder_max_batch(e) ? o->batch : encoder_max_batch(e);
    rc = ft_ctx_init(&c, e, o->mode, K, max_b, &head_rng, err);
    if (rc) goto done;
    if (!fit_idx || !val_idx) {
        rc = err_set(err, ECG_ENOMEM, "finetune: out of memory");
        goto done;
    }
    int n_fit, n_val;
    split_train(train, o->val_fraction, &split_rng, fit_idx, &n_fit, val_idx, &n_val);
    if (n_fit == 0) {
        rc = err_set(err, ECG_ENOMEM, "finetune: out of memory splitting train");
        goto done;
    }
    r->n_fit = n_fit;
    r->n_val = n_val;
    if ((rc = winset_build(&fit, &o->map, train, fit_idx, n_fit, c.C, c.W, err)) ||
        (rc = winset_build(&val, &o->map, train, val_idx, n_val, c.C, c.W, err)) ||
        (rc = winset_build(&tst, &o->map, test, NULL, test->n_series, c.C, c.W, err)))
        goto done;
    r->n_fit_windows = fit.n_win;

    if (o->mode != FT_FINETUNE) {
        /* the frozen encoder's features of every train window, computed once */
        cache_fit = malloc(((size_t)fit.n_win * c.feat_floats + 1) * sizeof *cache_fit);
        cache_val = malloc(((size_t)val.n_win * c.feat_floats + 1) * sizeof *cache_val);
        if (!cache_fit || !cache_val) {
            rc = err_set(err, ECG_ENOMEM, "finetune: out of memory caching %d windows' features",
                         fit.n_win + val.n_win);
            goto done;
        }
        int B = encoder_max_batch(e), *idx = malloc((size_t)B * sizeof *idx);
        if (!idx) {
            rc = err_set(err, ECG_ENOMEM, "finetune: out of memory");
            goto done;
        }
        encoder_set_frozen(e, 1);
        for (int p = 0; p < 2 && !rc; p++) {
            const winset *s = p ? &val : &fit;
            float *cache = p ? cache_val : cache_fit;
            for (int w0 = 0; w0 < s->n_win && !rc; w0 += B) {
                int n = s->n_win - w0 < B ? s->n_win - w0 : B;
                for (int j = 0; j < n; j++)
                    idx[j] = w0 + j;
                rc = encoder_features(&c, s, idx, n, cache + (size_t)w0 * c.feat_floats, err);
            }
        }
        free(idx);
        if (rc) goto done;
        size_t per = c.feat_floats / (size_t)c.d;
        rc = standardise(&c, cache_fit, (size_t)fit.n_win * per, cache_val, (size_t)val.n_win * per,
                         err);
        if (rc) goto done;
    }

    if ((rc = ft_optim_init(&c, o->weight_decay, &oh, &oe, err))) goto done;

    if ((rc = ft_snapshot_init(&snap, &c, err))) goto done;
    r->train_loss = calloc((size_t)o->epochs + 1, sizeof *r->train_loss);
    r->val_loss = calloc((size_t)o->epochs + 1, sizeof *r->val_loss);
    r->val_acc = calloc((size_t)o->epochs + 1, sizeof *r->val_acc);
    prob =
        malloc(((size_t)(n_val > test->n_series ? n_val : test->n_series) + 1) * K * sizeof *prob);
    order = malloc(((size_t)fit.n_win + 1) * sizeof *order);
    if (!r->train_loss || !r->val_loss || !r->val_acc || !prob || !order) {
        rc = err_set(err, ECG_ENOMEM, "finetune: out of memory");
        goto done;
    }

    /* epoch 0: the initial weights */
    double best_loss = INFINITY;
    /* Epoch 0 is recorded but is not a candidate: with a fresh random head the loss of the
     * first epochs often rises before it falls, and keeping the untrained head would be no
     * model at all. Without training epochs the initial weights stand. */
    if (n_val > 0) {
        if ((rc = eval_set(&c, &val, cache_val, prob, err))) goto done;
        score_probs(prob, val.label, n_val, K, &r->val_acc[0], &r->val_loss[0]);
    }
    ft_snapshot_take(&snap, &c);
    r->best_epoch = 0;
    for (int i = 0; i < fit.n_win; i++)
        order[i] = i;
    int since = 0;
    for (int ep = 1; ep <= o->epochs; ep++) {
        for (int i = fit.n_win - 1; i > 0; i--) {
            int j = (int)rng_below(&shuf_rng, (uint64_t)i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        double sum = 0;
        int steps = 0;
        for (int b0 = 0; b0 < fit.n_win; b0 += o->batch) {
            int n = fit.n_win - b0 < o->batch ? fit.n_win - b0 : o->batch;
            double l;
            rc = train_step(&c, &fit, cache_fit, order + b0, n, &oh, &oe, lr, &l, err);
            if (rc) goto done;
            sum += l;
            steps++;
        }
        r->train_loss[ep - 1] = steps ? sum / steps : 0;
        r->epochs_run = ep;
        if (n_val > 0) {
            if ((rc = eval_set(&c, &val, cache_val, prob, err))) goto done;
            score_probs(prob, val.label, n_val, K, &r->val_acc[ep], &r->val_loss[ep]);
            if (r->val_loss[ep] < best_loss) {
                best_loss = r->val_loss[ep];
                r->best_epoch = ep;
                since = 0;
                ft_snapshot_take(&snap, &c);
            } else if (++since >= o->patience && o->patience > 0)
                break;
        } else {
            r->best_epoch = ep;
            ft_snapshot_take(&snap, &c);
        }
    }
    /* restore the best epoch */
    ft_snapshot_restore(&snap, &c);

    /* test */
    if ((rc = eval_set(&c, &tst, NULL, prob, err))) goto done;
    tpred = malloc(((size_t)test->n_series + 1) * sizeof *tpred);
    tprob = malloc(((size_t)test->n_series * K + 1) * sizeof *tprob);
    if (!tpred || !tprob) {
        rc = err_set(err, ECG_ENOMEM, "finetune: out of memory");
        goto done;
    }
    for (int i = 0; i < test->n_series; i++) {
        int best = 0;
        for (int k = 0; k < K; k++) {
            tprob[(size_t)i * K + k] = (float)prob[(size_t)i * K + k];
            if (prob[(size_t)i * K + k] > prob[(size_t)i * K + best]) best = k;
        }
        tpred[i] = best;
    }
    char param[64];
    snprintf(param, sizeof param, "best epoch %d of %d", r->best_epoch, r->epochs_run);
    rc = transfer_score_compute(&r->test, ft_mode_name(o->mode), param, test->label, tpred, tprob,
                                test->n_series, K, err);
    r->seconds = now_seconds() - t0;
done:
    ft_ctx_free(&c);
    winset_free(&fit);
    winset_free(&val);
    winset_free(&tst);
    free(cache_fit);
    free(cache_val);
    ft_snapshot_free(&snap);
    free(prob);
    free(fit_idx);
    free(val_idx);
    free(order);
    free(tpred);
    free(tprob);
    ft_optim_free(&c, &oh, &oe);
    if (rc) ft_result_free(r);
    return rc;
}

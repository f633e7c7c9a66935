/* hubert.c — HuBERT++ (SPEC §2): two online Sinkhorn-Knopp k-means of the EMA teacher's tokens
 * give soft targets; the student's heads match them (weighted KL plus an entropy term). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/nn/layers.h"
#include "core/ssl/cluster.h"
#include "core/ssl/masking.h"
#include "core/ssl/objective_impl.h"
#include "core/ssl/teacher.h"

/* The loss of one batch (n = B * T tokens, M of them masked), for clusterer j with K_j prototypes:
 *   f_i = teacher token i (final backbone output, unmasked input), L2-normalised;
 *   Q_j = SinkhornKnopp(f P_j^T / tau_t), 3 iterations (cluster_sinkhorn): soft targets, constants;
 *   p_ij = softmax(head_j(h_i) / tau_s), h_i the student's token (masked input);
 *   KL_j = 0.75 * mean over masked i of KL(Q_ij || p_ij) + 0.25 * mean over unmasked i of the same;
 *   R_j = sum_k pbar_jk log pbar_jk = -H(pbar_j), pbar_j = mean over ALL i of p_ij;
 *   loss = mean over j of (KL_j + 0.001 * R_j).
 * R is the negative entropy of the batch's mean student assignment: minimising it spreads the
 * batch over all clusters. (The study's release instead adds 0.001 x the mean per-token entropy of
 * softmax(head) without temperature, which sharpens each token; SPEC §2 says only "entropy
 * regulariser", the issue asks for the cluster-usage form.) The release also sums its per-head
 * losses; here they are averaged, as the issue states.
 *
 * Temperatures (the release's cosine warm-up, cluster_cosine_schedule): after u optimizer updates,
 * tau_t = cos-anneal 0.15 -> hubert_teacher_temp (0.07), tau_s = cos-anneal 0.5 ->
 * hubert_student_temp (0.1), over hubert_warmup_steps; u is objective state ("ssl.hubert.step").
 *
 * Prototypes: random normal rows, L2-normalised (the release seeds them by k-means++ on its first
 * batch). Order: ssl_step computes the targets with the prototypes as they are; ssl_after_update
 * runs the teacher's EMA, then each clusterer's prototype EMA (cluster_proto_update, momentum
 * hubert_proto_ema) with the last training step's f and Q (the release updates its prototypes
 * right after computing a batch's targets; the values are the same), then counts the update. */

#define HUBERT_INIT_TAG 0x4ab3e7u
#define HUBERT_EVAL_TAG 0xe7a14ab3e7ull
#define TEACHER_TEMP_START 0.15f
#define STUDENT_TEMP_START 0.5f
#define SK_EPS 1e-8f

typedef struct {
    ssl_teacher *teacher;
    int w_view[2], b_view[2], mask_view;
    int K[2], d, T, max_batch, in_len;
    float *xz;          /* (Bm, 12, L) */
    uint8_t *mask;      /* (Bm, T) */
    float *f;           /* (Bm*T, d) L2-normalised teacher tokens of the last training step */
    float *q[2];        /* (Bm*T, K_j) Sinkhorn targets of the last training step */
    float *logits[2];   /* (Bm*T, K_j) */
    float *dlogits[2];  /* (Bm*T, K_j) */
    float *w;           /* (Bm*T) per-token KL weights */
    float *dtok, *dtmp; /* (Bm*T, d) */
    float *proto[2];    /* (K_j, d) */
    float *pwork;       /* (max K, d) */
    float step;         /* optimizer updates done (exact as a float up to 2^24) */
    int pending;        /* rows of f / q waiting for the prototype update */
    uint64_t eval_count;
} hubert_impl;

void hubert_temperatures(const ssl_config *c, long long updates, float *teacher, float *student) {
    *teacher = cluster_cosine_schedule(TEACHER_TEMP_START, c->hubert_teacher_temp, updates,
                                       c->hubert_warmup_steps);
    *student = cluster_cosine_schedule(STUDENT_TEMP_START, c->hubert_student_temp, updates,
                                       c->hubert_warmup_steps);
}

static void hubert_free(ssl_objective *o) {
    hubert_impl *s = o->impl;
    if (!s) return;
    teacher_free(s->teacher);
    free(s->xz), free(s->mask), free(s->f), free(s->w), free(s->dtok), free(s->dtmp);
    for (int j = 0; j < 2; j++)
        free(s->q[j]), free(s->logits[j]), free(s->dlogits[j]), free(s->proto[j]);
    free(s->pwork);
    free(s);
    o->impl = NULL;
}

static ecg_code hubert_create(ssl_objective *o, ecg_err *err) {
    encoder *e = o->student;
    const struct encoder_config *c = encoder_get_config(e);
    hubert_impl *s = calloc(1, sizeof *s);
    if (!s) return err_set(err, ECG_ENOMEM, "out of memory for the HuBERT++ objective");
    o->impl = s;
    s->d = c->d_model;
    s->T = encoder_tokens(e);
    s->max_batch = encoder_max_batch(e);
    s->in_len = c->in_samples;
    const size_t n = (size_t)s->max_batch * s->T, d = (size_t)s->d;
    s->xz = malloc((size_t)s->max_batch * c->in_channels * c->in_samples * sizeof *s->xz);
    s->mask = malloc(n);
    s->f = malloc(n * d * sizeof *s->f);
    s->w = malloc(n * sizeof *s->w);
    s->dtok = malloc(n * d * sizeof *s->dtok);
    s->dtmp = malloc(n * d * sizeof *s->dtmp);
    int ok = s->xz && s->mask && s->f && s->w && s->dtok && s->dtmp;
    int kmax = 0;
    for (int j = 0; j < 2; j++) {
        const size_t K = (size_t)(s->K[j] = o->cfg.hubert_k[j]);
        if (s->K[j] > kmax) kmax = s->K[j];
        s->q[j] = malloc(n * K * sizeof(float));
        s->logits[j] = malloc(n * K * sizeof(float));
        s->dlogits[j] = malloc(n * K * sizeof(float));
        s->proto[j] = malloc(K * d * sizeof(float));
        ok = ok && s->q[j] && s->logits[j] && s->dlogits[j] && s->proto[j];
    }
    s->pwork = malloc((size_t)kmax * d * sizeof *s->pwork);
    if (!ok || !s->pwork) return err_set(err, ECG_ENOMEM, "out of memory for HuBERT++ buffers");
    /* heads, mask vector and prototypes from a stream forked off the objective's (the masking
     * stream does not move); Linear: torch's default U(-1/sqrt(d), 1/sqrt(d)) */
    rng_state r = rng_fork(&o->rng, HUBERT_INIT_TAG);
    param_set *ps;
    for (int j = 0; j < 2; j++) {
        char name[64];
        snprintf(name, sizeof name, "ssl.hubert.head%d.weight", j);
        s->w_view[j] = encoder_add_head_param(e, name, 2, (int[]){s->K[j], s->d}, err);
        if (s->w_view[j] < 0) return err ? err->code : ECG_EINVAL;
        snprintf(name, sizeof name, "ssl.hubert.head%d.bias", j);
        s->b_view[j] = encoder_add_head_param(e, name, 1, (int[]){s->K[j]}, err);
        if (s->b_view[j] < 0) return err ? err->code : ECG_EINVAL;
    }
    s->mask_view = maskvec_add(e, SSL_MASK_EMB, &r, err);
    if (s->mask_view < 0) return err ? err->code : ECG_EINVAL;
    ps = encoder_params(e);
    const float bound = 1.0f / sqrtf((float)s->d);
    for (int j = 0; j < 2; j++) {
        float *W = params_data(ps, s->w_view[j]), *b = params_data(ps, s->b_view[j]);
        for (size_t i = 0; i < (size_t)s->K[j] * d; i++)
            W[i] = bound * (2.0f * rng_uniform(&r) - 1.0f);
        for (int i = 0; i < s->K[j]; i++)
            b[i] = bound * (2.0f * rng_uniform(&r) - 1.0f);
        cluster_proto_init(s->proto[j], s->K[j], s->d, &r);
    }
    return teacher_create(&s->teacher, e, 1, err);
}

ecg_code hubert_step_masked(ssl_objective *o, const float *x, int B, int train, const uint8_t *mask,
                            ssl_metrics *m, ecg_err *err) {
    hubert_impl *s = o->impl;
    encoder *e = o->student;
    const int T = s->T, d = s->d, n = B * T;
    if (B < 1 || B > s->max_batch)
        return err_set(err, ECG_EINVAL, "hubert: batch %d is outside [1, %d]", B, s->max_batch);
    memset(m, 0, sizeof *m);
    const int C = encoder_get_config(e)->in_channels;
    memcpy(s->xz, x, (size_t)B * C * s->in_len * sizeof *s->xz);
    ssl_zscore_ptbxl(s->xz, B, s->in_len);
    if (mask != s->mask) memcpy(s->mask, mask, (size_t)n);
    float tau_t, tau_s;
    hubert_temperatures(&o->cfg, (long long)s->step, &tau_t, &tau_s);

    /* soft targets from the teacher on the unmasked input; a validation step works elsewhere so
     * that a training step's f / q stay for the prototype update */
    float *f = train ? s->f : s->dtok; /* dtok and dlogits are free in a validation step */
    float **q = train ? s->q : s->dlogits;
    ecg_code rc = teacher_forward(s->teacher, s->xz, B, err);
    if (rc) return rc;
    cluster_l2_normalize(f, encoder_out(teacher_encoder(s->teacher)), n, d, 1e-12f);
    for (int j = 0; j < 2; j++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, s->K[j], d, 1.0f / tau_t, f, d,
                    s->proto[j], d, 0.0f, q[j], s->K[j]);
        if (cluster_sinkhorn(q[j], q[j], n, s->K[j], o->cfg.hubert_sinkhorn_iters, SK_EPS))
            return err_set(err, ECG_ENOMEM, "hubert: out of memory for Sinkhorn-Knopp");
    }

    /* the student on the masked input */
    rc = maskvec_student_forward(e, s->mask_view, s->xz, B, train, s->mask, err);
    if (rc) return rc;
    const float *h = encoder_out(e);

    int M = 0;
    for (int i = 0; i < n; i++)
        M += s->mask[i] != 0;
    /* per-token weights, halved: the loss is the mean over the two clusterers */
    const float wm = M > 0 ? 0.5f * o->cfg.hubert_w_masked / M : 0.0f;
    const float wu = n - M > 0 ? 0.5f * o->cfg.hubert_w_unmasked / (n - M) : 0.0f;
    for (int i = 0; i < n; i++)
        s->w[i] = s->mask[i] ? wm : wu;

    param_set *ps = encoder_params(e);
    double loss = 0;
    for (int j = 0; j < 2; j++) {
        const int K = s->K[j];
        float *dl = train ? s->dlogits[j] : NULL;
        linear_forward(s->logits[j], h, params_data(ps, s->w_view[j]),
                       params_data(ps, s->b_view[j]), n, d, K);
        if (dl) memset(dl, 0, (size_t)n * K * sizeof *dl);
        double kl, reg, ent;
        if (cluster_kl_loss(s->logits[j], q[j], s->w, n, K, tau_s, dl, &kl) ||
            cluster_entropy_reg(s->logits[j], n, K, tau_s, 0.5f * o->cfg.hubert_entropy, dl, &reg,
                                &ent))
            return err_set(err, ECG_ENOMEM, "hubert: out of memory for the loss");
        loss += kl + 0.5 * o->cfg.hubert_entropy * reg;

        /* metrics: the student's mean-assignment entropy, the clusters the targets use, and how
         * often the student's top cluster is the target's on masked tokens */
        int used = 0, hit = 0;
        unsigned char *seen = calloc((size_t)K, 1);
        for (int i = 0; i < n; i++) {
            const float *qi = q[j] + (size_t)i * K, *li = s->logits[j] + (size_t)i * K;
            int aq = 0, al = 0;
            for (int k = 1; k < K; k++) {
                if (qi[k] > qi[aq]) aq = k;
                if (li[k] > li[al]) al = k;
            }
            if (seen && !seen[aq]) seen[aq] = 1, used++;
            if (s->mask[i]) hit += aq == al;
        }
        free(seen);
        char name[32];
        snprintf(name, sizeof name, "cluster_entropy_%d", K);
        ssl_metric_add(m, name, ent);
        snprintf(name, sizeof name, "cluster_usage_%d", K);
        ssl_metric_add(m, name, (double)used / K);
        snprintf(name, sizeof name, "hubert_acc_%d", K);
        ssl_metric_add(m, name, M > 0 ? (double)hit / M : 0.0);
    }
    if (train) {
        /* dh = sum over the heads of dlogits_j W_j */
        for (int j = 0; j < 2; j++) {
            linear_backward(j ? s->dtmp : s->dtok, params_grad(ps, s->w_view[j]),
                            params_grad(ps, s->b_view[j]), s->dlogits[j], h,
                            params_data(ps, s->w_view[j]), n, d, s->K[j]);
        }
        vec_acc(s->dtok, s->dtmp, (size_t)n * d);
        rc = maskvec_student_backward(e, s->mask_view, s->dtok, s->mask, n, err);
        if (rc) return rc;
        s->pending = n;
        s->eval_count = 0;
    }
    m->loss = loss;
    ssl_metric_add(m, "mask_frac", (double)M / n);
    ssl_metric_add(m, "teacher_temp", tau_t);
    return ECG_OK;
}

static ecg_code hubert_step(ssl_objective *o, const float *x, int B, int train, ssl_metrics *m,
                            ecg_err *err) {
    hubert_impl *s = o->impl;
    if (B < 1 || B > s->max_batch)
        return err_set(err, ECG_EINVAL, "hubert: batch %d is outside [1, %d]", B, s->max_batch);
    mask_draw_step_spans(s->mask, B, s->T, o->cfg.mask_prob, o->cfg.mask_span, &o->rng, train,
                         HUBERT_EVAL_TAG, &s->eval_count);
    return hubert_step_masked(o, x, B, train, s->mask, m, err);
}

static void hubert_after_update(ssl_objective *o, int64_t step) {
    (void)step;
    hubert_impl *s = o->impl;
    teacher_update_ema(s->teacher, o->student, o->cfg.ema_momentum);
    if (s->pending > 0) {
        for (int j = 0; j < 2; j++)
            cluster_proto_update(s->proto[j], s->f, s->q[j], s->pending, s->K[j], s->d,
                                 o->cfg.hubert_proto_ema, s->pwork);
        s->pending = 0;
    }
    s->step = (float)step; /* updates done: the schedule's clock */
}

static int hubert_state_tensors(ssl_objective *o, ssl_state_tensor *out, int max) {
    hubert_impl *s = o->impl;
    int k = 0;
    for (int j = 0; j < 2 && k < max; j++, k++) {
        snprintf(out[k].name, sizeof out[k].name, "ssl.hubert.proto%d", j);
        out[k].data = s->proto[j];
        out[k].count = (size_t)s->K[j] * s->d;
    }
    if (k < max) {
        snprintf(out[k].name, sizeof out[k].name, "ssl.hubert.step");
        out[k].data = &s->step;
        out[k].count = 1;
        k++;
    }
    return k + teacher_state_tensors(s->teacher, out + k, max - k);
}

const ssl_ops ssl_hubert_ops = {
    .create = hubert_create,
    .step = hubert_step,
    .after_update = hubert_after_update,
    .state_tensors = hubert_state_tensors,
    .free = hubert_free,
};

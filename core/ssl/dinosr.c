/* dinosr.c — DinoSR (SPEC §2): the student, on masked z-scored input, predicts through a linear
 * head the online codebook's codeword of each masked token of the EMA teacher; cross-entropy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn/layers.h"
#include "core/ssl/cluster.h"
#include "core/ssl/masking.h"
#include "core/ssl/objective_impl.h"
#include "core/ssl/teacher.h"

/* Choices, against the paper (Liu et al. 2023) and the study's release:
 * - Targets come from the teacher's FINAL backbone output only, instance-normalised per window and
 *   channel over time (F.instance_norm on (B, d, T), eps 1e-5), with ONE codebook. DinoSR and the
 *   release keep one codebook (and one head) per top layer (the release: top 2 layers, an S4 head);
 *   SPEC §2 and the issue name one codebook of 256 and one Linear head, so one layer it is.
 * - Codebook: DinoSR's EMA of per-codeword sums and counts (cluster_codebook_update), over ALL the
 *   batch's teacher tokens (as the release), nearest codeword by Euclidean distance.
 * - The loss (cross-entropy, temperature 1) is averaged over the masked tokens of the batch; a
 * batch without masked tokens has loss 0 and no gradient.
 * - Order: ssl_step computes the targets with the codebook and teacher as they are; the codebook
 *   moves in ssl_after_update (after the optimizer's update), with the tokens and assignments of
 *   the last training step, after the teacher's EMA (the two are independent: the codebook update
 *   uses the stored teacher tokens). So the targets of step s never see step s's own tokens. */

#define DINOSR_INIT_TAG 0xd1a05au
#define DINOSR_EVAL_TAG 0xe7a1d1a05ull
#define IN_EPS 1e-5f

typedef struct {
    ssl_teacher *teacher;
    int w_view, b_view, mask_view;
    int K, d, T, max_batch, in_len;
    float *xz;                         /* (Bm, 12, L) z-scored input */
    uint8_t *mask;                     /* (Bm, T) */
    float *y;                          /* (Bm*T, d) instance-normalised teacher tokens */
    int *assign;                       /* (Bm*T) nearest codeword of each token */
    float *hm;                         /* (Bm*T, d) student tokens at masked positions, gathered */
    int *tgt;                          /* (Bm*T) their targets */
    float *logits;                     /* (Bm*T, K) */
    float *dlogits;                    /* (Bm*T, K) */
    float *dhm;                        /* (Bm*T, d) */
    float *dtok;                       /* (Bm*T, d) */
    float *code, *code_sum, *code_cnt; /* (K, d), (K, d), (K) */
    int pending; /* rows of y / assign waiting for the codebook update (0: none) */
    uint64_t eval_count;
} dinosr_impl;

static void dinosr_free(ssl_objective *o) {
    dinosr_impl *s = o->impl;
    if (!s) return;
    teacher_free(s->teacher);
    free(s->xz), free(s->mask), free(s->y), free(s->assign), free(s->hm), free(s->tgt);
    free(s->logits), free(s->dlogits), free(s->dhm), free(s->dtok);
    free(s->code), free(s->code_sum), free(s->code_cnt);
    free(s);
    o->impl = NULL;
}

static ecg_code dinosr_create(ssl_objective *o, ecg_err *err) {
    encoder *e = o->student;
    const struct encoder_config *c = encoder_get_config(e);
    dinosr_impl *s = calloc(1, sizeof *s);
    if (!s) return err_set(err, ECG_ENOMEM, "out of memory for the DinoSR objective");
    o->impl = s;
    s->K = o->cfg.dinosr_codebook;
    s->d = c->d_model;
    s->T = encoder_tokens(e);
    s->max_batch = encoder_max_batch(e);
    s->in_len = c->in_samples;
    const size_t n = (size_t)s->max_batch * s->T, K = (size_t)s->K, d = (size_t)s->d;
    s->xz = malloc((size_t)s->max_batch * c->in_channels * c->in_samples * sizeof *s->xz);
    s->mask = malloc(n);
    s->y = malloc(n * d * sizeof *s->y);
    s->assign = malloc(n * sizeof *s->assign);
    s->hm = malloc(n * d * sizeof *s->hm);
    s->tgt = malloc(n * sizeof *s->tgt);
    s->logits = malloc(n * K * sizeof *s->logits);
    s->dlogits = malloc(n * K * sizeof *s->dlogits);
    s->dhm = malloc(n * d * sizeof *s->dhm);
    s->dtok = malloc(n * d * sizeof *s->dtok);
    s->code = malloc(K * d * sizeof *s->code);
    s->code_sum = malloc(K * d * sizeof *s->code_sum);
    s->code_cnt = malloc(K * sizeof *s->code_cnt);
    if (!s->xz || !s->mask || !s->y || !s->assign || !s->hm || !s->tgt || !s->logits ||
        !s->dlogits || !s->dhm || !s->dtok || !s->code || !s->code_sum || !s->code_cnt)
        return err_set(err, ECG_ENOMEM, "out of memory for DinoSR buffers");
    /* Head, mask vector and codebook from a stream forked off the objective's, so that creating
     * them does not move the masking stream. Linear: torch's default U(-1/sqrt(d), 1/sqrt(d)). */
    rng_state r = rng_fork(&o->rng, DINOSR_INIT_TAG);
    s->w_view = encoder_add_head_param(e, DINOSR_HEAD_W, 2, (int[]){s->K, s->d}, err);
    if (s->w_view < 0) return err ? err->code : ECG_EINVAL;
    s->b_view = encoder_add_head_param(e, DINOSR_HEAD_B, 1, (int[]){s->K}, err);
    if (s->b_view < 0) return err ? err->code : ECG_EINVAL;
    s->mask_view = maskvec_add(e, SSL_MASK_EMB, &r, err);
    if (s->mask_view < 0) return err ? err->code : ECG_EINVAL;
    param_set *ps = encoder_params(e);
    const float bound = 1.0f / sqrtf((float)s->d);
    float *W = params_data(ps, s->w_view), *b = params_data(ps, s->b_view);
    for (size_t i = 0; i < K * d; i++)
        W[i] = bound * (2.0f * rng_uniform(&r) - 1.0f);
    for (size_t i = 0; i < K; i++)
        b[i] = bound * (2.0f * rng_uniform(&r) - 1.0f);
    cluster_codebook_init(s->code, s->code_sum, s->code_cnt, s->K, s->d, &r);
    return teacher_create(&s->teacher, e, 1, err);
}

ecg_code dinosr_step_masked(ssl_objective *o, const float *x, int B, int train, const uint8_t *mask,
                            ssl_metrics *m, ecg_err *err) {
    dinosr_impl *s = o->impl;
    encoder *e = o->student;
    const int T = s->T, d = s->d, K = s->K, n = B * T;
    if (B < 1 || B > s->max_batch)
        return err_set(err, ECG_EINVAL, "dinosr: batch %d is outside [1, %d]", B, s->max_batch);
    memset(m, 0, sizeof *m);
    const int C = encoder_get_config(e)->in_channels;
    memcpy(s->xz, x, (size_t)B * C * s->in_len * sizeof *s->xz);
    ssl_zscore_ptbxl(s->xz, B, s->in_len);
    if (mask != s->mask) memcpy(s->mask, mask, (size_t)n);

    /* targets: the teacher on the unmasked input, instance norm, nearest codeword. A validation
     * step works in hm / tgt so that it leaves a training step's tokens and assignments (y,
     * assign), which the codebook update still needs, alone. */
    float *y = train ? s->y : s->hm;
    int *assign = train ? s->assign : s->tgt;
    ecg_code rc = teacher_forward(s->teacher, s->xz, B, err);
    if (rc) return rc;
    cluster_instance_norm(y, encoder_out(teacher_encoder(s->teacher)), B, T, d, IN_EPS);
    if (cluster_nearest(assign, y, s->code, n, K, d))
        return err_set(err, ECG_ENOMEM, "dinosr: out of memory for codeword distances");
    int used = cluster_count_used(assign, n, K);

    /* the student on the masked input */
    rc = maskvec_student_forward(e, s->mask_view, s->xz, B, train, s->mask, err);
    if (rc) return rc;

    /* gather the masked rows (in place when assign is tgt: row M <= i) */
    const float *h = encoder_out(e);
    int M = 0;
    for (int i = 0; i < n; i++)
        if (s->mask[i]) {
            memcpy(s->hm + (size_t)M * d, h + (size_t)i * d, (size_t)d * sizeof *h);
            s->tgt[M++] = assign[i];
        }
    param_set *ps = encoder_params(e);
    double loss = 0;
    int correct = 0;
    if (M > 0) {
        linear_forward(s->logits, s->hm, params_data(ps, s->w_view), params_data(ps, s->b_view), M,
                       d, K);
        if (train) memset(s->dlogits, 0, (size_t)M * K * sizeof *s->dlogits);
        if (cluster_ce_loss(s->logits, s->tgt, M, K, train ? s->dlogits : NULL, &correct, &loss))
            return err_set(err, ECG_ENOMEM, "dinosr: out of memory for the loss");
    }
    if (train) {
        if (M > 0) {
            linear_backward(s->dhm, params_grad(ps, s->w_view), params_grad(ps, s->b_view),
                            s->dlogits, s->hm, params_data(ps, s->w_view), M, d, K);
            memset(s->dtok, 0, (size_t)n * d * sizeof *s->dtok);
            for (int i = 0, j = 0; i < n; i++)
                if (s->mask[i])
                    memcpy(s->dtok + (size_t)i * d, s->dhm + (size_t)(j++) * d,
                           (size_t)d * sizeof *s->dtok);
            rc = maskvec_student_backward(e, s->mask_view, s->dtok, s->mask, n, err);
            if (rc) return rc;
        }
        s->pending = n;
        s->eval_count = 0;
    }
    m->loss = loss;
    ssl_metric_add(m, "codebook_usage", used < 0 ? 0.0 : (double)used / K);
    ssl_metric_add(m, "dinosr_acc", M > 0 ? (double)correct / M : 0.0);
    ssl_metric_add(m, "mask_frac", (double)M / n);
    return ECG_OK;
}

static ecg_code dinosr_step(ssl_objective *o, const float *x, int B, int train, ssl_metrics *m,
                            ecg_err *err) {
    dinosr_impl *s = o->impl;
    if (B < 1 || B > s->max_batch)
        return err_set(err, ECG_EINVAL, "dinosr: batch %d is outside [1, %d]", B, s->max_batch);
    /* validation draws its masks from forks, so it never moves the training stream */
    mask_draw_step_spans(s->mask, B, s->T, o->cfg.mask_prob, o->cfg.mask_span, &o->rng, train,
                         DINOSR_EVAL_TAG, &s->eval_count);
    return dinosr_step_masked(o, x, B, train, s->mask, m, err);
}

static void dinosr_after_update(ssl_objective *o, int64_t step) {
    (void)step;
    dinosr_impl *s = o->impl;
    teacher_update_ema(s->teacher, o->student, o->cfg.ema_momentum);
    if (s->pending > 0) {
        /* on failure (no memory for the sums) the codebook keeps its place for this step */
        (void)cluster_codebook_update(s->code, s->code_sum, s->code_cnt, s->y, s->assign,
                                      s->pending, s->K, s->d, o->cfg.dinosr_codebook_ema);
        s->pending = 0;
    }
}

static int dinosr_state_tensors(ssl_objective *o, ssl_state_tensor *out, int max) {
    dinosr_impl *s = o->impl;
    const struct {
        const char *name;
        float *data;
        size_t count;
    } own[3] = {{"ssl.dinosr.codebook", s->code, (size_t)s->K * s->d},
                {"ssl.dinosr.code_sum", s->code_sum, (size_t)s->K * s->d},
                {"ssl.dinosr.code_cnt", s->code_cnt, (size_t)s->K}};
    int k = 0;
    for (int i = 0; i < 3 && k < max; i++, k++) {
        snprintf(out[k].name, sizeof out[k].name, "%s", own[i].name);
        out[k].data = own[i].data;
        out[k].count = own[i].count;
    }
    return k + teacher_state_tensors(s->teacher, out + k, max - k);
}

const ssl_ops ssl_dinosr_ops = {
    .create = dinosr_create,
    .step = dinosr_step,
    .after_update = dinosr_after_update,
    .state_tensors = dinosr_state_tensors,
    .free = dinosr_free,
};

/* data2vec.c — data2vec (SPEC §2): a span-masked student regresses, at masked tokens, the mean of
 * the layer-normed last layers of an EMA teacher that sees the clean input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn/layers.h"
#include "core/ssl/masking.h"
#include "core/ssl/objective_impl.h"
#include "core/ssl/teacher.h"

/* Loss, with M the masked tokens of the batch (all sequences together), h = head(student output)
 * = Linear(d -> d) and y the teacher target of that token:
 *   loss = (1 / |M|) sum_{t in M} (1 / sqrt(d)) sum_c SmoothL1_beta=1(h_tc - y_tc)
 * (data2vec's loss.sum(-1) / sqrt(d), divided by the number of masked tokens). A batch without a
 * masked token (possible with the SPEC's span reading) has loss 0 and no gradient.
 * Targets: y = (1 / K) sum over the teacher's last K = d2v_top_layers backbone layers of
 * LayerNorm-without-affine(layer output) per token over channels (ssl_layernorm_rows). data2vec's
 * audio recipe instead instance-normalises each channel over time; SPEC §2 says "layer-normed", and
 * that is what this does. */

typedef struct {
    ssl_teacher *teacher;
    int v_mask, v_w, v_b; /* head views: ssl.mask_emb, ssl.d2v.head.{weight,bias} */
    int max_b, T, d, L;
    float *xz;                  /* (B, 12, L) z-scored input */
    float *targets;             /* (B*T, d) */
    uint8_t *mask;              /* (B*T) */
    int *rows;                  /* masked row indices */
    float *p, *y, *h, *dh, *dp; /* (|M|, d): gathered student outputs, targets, head out, grads */
    float *dtok;                /* (B*T, d) */
    rng_state val_base;         /* validation masks: fork of this by a hash of the batch */
} d2v_state;

static void d2v_free(ssl_objective *o) {
    d2v_state *s = o->impl;
    if (!s) return;
    teacher_free(s->teacher);
    free(s->xz), free(s->targets), free(s->mask), free(s->rows), free(s->p), free(s->y);
    free(s->h), free(s->dh), free(s->dp), free(s->dtok);
    free(s);
    o->impl = NULL;
}

static ecg_code d2v_create(ssl_objective *o, ecg_err *err) {
    const struct encoder_config *c = encoder_get_config(o->student);
    d2v_state *s = calloc(1, sizeof *s);
    if (!s) return err_set(err, ECG_ENOMEM, "out of memory for data2vec");
    o->impl = s;
    s->max_b = encoder_max_batch(o->student);
    s->T = encoder_tokens(o->student);
    s->d = c->d_model;
    s->L = c->in_samples;
    const int d = s->d;
    rng_state r = rng_fork(&o->rng, 0xd2f0u);
    s->val_base = rng_fork(&o->rng, 0xd2f1u);
    if ((s->v_mask = maskvec_add(o->student, "ssl.mask_emb", &r, err)) < 0 ||
        (s->v_w = encoder_add_head_param(o->student, "ssl.d2v.head.weight", 2, (int[]){d, d},
                                         err)) < 0 ||
        (s->v_b = encoder_add_head_param(o->student, "ssl.d2v.head.bias", 1, &d, err)) < 0)
        return err ? err->code : ECG_EINVAL;
    /* PyTorch's Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias */
    param_set *ps = encoder_params(o->student);
    const float bound = 1.0f / sqrtf((float)d);
    float *w = params_data(ps, s->v_w), *b = params_data(ps, s->v_b);
    for (int i = 0; i < d * d; i++)
        w[i] = bound * (2.0f * rng_uniform(&r) - 1.0f);
    for (int i = 0; i < d; i++)
        b[i] = bound * (2.0f * rng_uniform(&r) - 1.0f);
    ecg_code rc = teacher_create(&s->teacher, o->student, o->cfg.d2v_top_layers, err);
    if (rc) return rc;
    const size_t n = (size_t)s->max_b * s->T, nd = n * d;
    if (!(s->xz = malloc((size_t)s->max_b * c->in_channels * s->L * sizeof(float))) ||
        !(s->targets = malloc(nd * sizeof(float))) || !(s->mask = malloc(n)) ||
        !(s->rows = malloc(n * sizeof(int))) || !(s->p = malloc(nd * sizeof(float))) ||
        !(s->y = malloc(nd * sizeof(float))) || !(s->h = malloc(nd * sizeof(float))) ||
        !(s->dh = malloc(nd * sizeof(float))) || !(s->dp = malloc(nd * sizeof(float))) ||
        !(s->dtok = malloc(nd * sizeof(float))))
        return err_set(err, ECG_ENOMEM, "out of memory for data2vec buffers (batch %d)", s->max_b);
    return ECG_OK;
}

static ecg_code d2v_run(ssl_objective *o, const float *x, int B, int train, const uint8_t *mask,
                        ssl_metrics *m, ecg_err *err) {
    d2v_state *s = o->impl;
    encoder *st = o->student;
    const struct encoder_config *c = encoder_get_config(st);
    if (B < 1 || B > s->max_b)
        return err_set(err, ECG_EINVAL, "data2vec: batch %d outside [1, %d]", B, s->max_b);
    const int T = s->T, d = s->d, n = B * T;
    memcpy(s->xz, x, (size_t)B * c->in_channels * s->L * sizeof *x);
    ssl_zscore_ptbxl(s->xz, B, s->L);
    ecg_code rc;
    /* teacher: eval mode, clean input, no gradient */
    if ((rc = teacher_forward(s->teacher, s->xz, B, err)) ||
        (rc = teacher_layer_targets(s->targets, s->teacher, o->cfg.d2v_top_layers, err)))
        return rc;
    /* student: mask vector in the masked stem tokens */
    if ((rc = encoder_forward_stem(st, s->xz, B, train ? ENC_TRAIN : ENC_EVAL, err))) return rc;
    maskvec_apply_stem(st, s->v_mask, mask);
    if ((rc = encoder_forward_backbone(st, err))) return rc;
    const float *out = encoder_out(st);
    int nm = 0;
    for (int i = 0; i < n; i++)
        if (mask[i]) s->rows[nm++] = i;
    for (int k = 0; k < nm; k++) {
        memcpy(s->p + (size_t)k * d, out + (size_t)s->rows[k] * d, (size_t)d * sizeof *out);
        memcpy(s->y + (size_t)k * d, s->targets + (size_t)s->rows[k] * d, (size_t)d * sizeof *out);
    }
    param_set *ps = encoder_params(st);
    double loss = 0;
    if (nm > 0) {
        linear_forward(s->h, s->p, params_data(ps, s->v_w), params_data(ps, s->v_b), nm, d, d);
        const double norm = sqrt((double)d) * nm;
        loss = ssl_smooth_l1(s->dh, s->h, s->y, (size_t)nm * d, (float)(1.0 / norm)) / norm;
    }
    m->loss = loss;
    ssl_metric_add(m, "masked_frac", (double)nm / n);
    ssl_metric_add(m, "target_std", ssl_rows_std(s->y, NULL, nm, d));
    ssl_metric_add(m, "pred_std", nm ? ssl_rows_std(s->h, NULL, nm, d) : 0.0);
    if (!train || nm == 0) return ECG_OK;
    linear_backward(s->dp, params_grad(ps, s->v_w), params_grad(ps, s->v_b), s->dh, s->p,
                    params_data(ps, s->v_w), nm, d, d);
    memset(s->dtok, 0, (size_t)n * d * sizeof *s->dtok);
    for (int k = 0; k < nm; k++)
        memcpy(s->dtok + (size_t)s->rows[k] * d, s->dp + (size_t)k * d, (size_t)d * sizeof *s->dp);
    float *dstem = encoder_backward_backbone(st, s->dtok, NULL, err);
    if (!dstem) return err ? err->code : ECG_EINVAL;
    maskvec_backward(params_grad(ps, s->v_mask), dstem, mask, n, d);
    return encoder_backward_stem(st, NULL, NULL, err);
}

static ecg_code d2v_step(ssl_objective *o, const float *x, int B, int train, ssl_metrics *m,
                         ecg_err *err) {
    d2v_state *s = o->impl;
    if (B < 1 || B > s->max_b)
        return err_set(err, ECG_EINVAL, "data2vec: batch %d outside [1, %d]", B, s->max_b);
    const struct encoder_config *c = encoder_get_config(o->student);
    rng_state vr, *r = &o->rng;
    if (!train) {
        /* validation masks depend on the batch only (mask_batch_stream) */
        vr = mask_batch_stream(&s->val_base, x, (size_t)B * c->in_channels * s->L);
        r = &vr;
    }
    mask_draw_spans(s->mask, B, s->T, o->cfg.mask_prob, o->cfg.mask_span, r);
    return d2v_run(o, x, B, train, s->mask, m, err);
}

ecg_code data2vec_step_masked(ssl_objective *o, const float *x, int B, int train,
                              const uint8_t *mask, ssl_metrics *m, ecg_err *err) {
    if (o->cfg.kind != SSL_DATA2VEC)
        return err_set(err, ECG_EINVAL, "data2vec_step_masked on a %s objective",
                       ssl_kind_name(o->cfg.kind));
    memset(m, 0, sizeof *m);
    return d2v_run(o, x, B, train, mask, m, err);
}

static void d2v_after_update(ssl_objective *o, int64_t step) {
    (void)step;
    d2v_state *s = o->impl;
    teacher_update_ema(s->teacher, o->student, o->cfg.ema_momentum);
}

static int d2v_state_tensors(ssl_objective *o, ssl_state_tensor *out, int max) {
    d2v_state *s = o->impl;
    return teacher_state_tensors(s->teacher, out, max);
}

const ssl_ops ssl_data2vec_ops = {
    .create = d2v_create,
    .step = d2v_step,
    .after_update = d2v_after_update,
    .state_tensors = d2v_state_tensors,
    .free = d2v_free,
};

/* jepa.c — JEPA for ECG (SPEC §2): from the context tokens, a 1-layer bidirectional S4 predictor
 * regresses the layer-normed EMA-teacher output at four target blocks, with SmoothL1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn/layers.h"
#include "core/nn/s4.h"
#include "core/ssl/masking.h"
#include "core/ssl/objective_impl.h"
#include "core/ssl/teacher.h"

/* One step, with masks from mask_draw_jepa (target blocks, which may overlap; context = context
 * block minus targets):
 *  - student: z-scored input; every stem token outside the context (targets included) is replaced
 *    by the learned mask vector ssl.mask_emb; S = student token outputs (B, T, d);
 *  - predictor, on U = S with the predictor's own mask token ssl.jepa.pred.mask_emb at the target
 *    positions (I-JEPA's predictor mask token): one post-norm S4 block as the backbone's, without
 *    dropout, bidirectional with N = jepa_predictor_state,
 *      r = U + GLU(Linear(d -> 2d)(GELU(S4(U)))),  h = LayerNorm(r),
 *    then P = Linear(d -> d)(h). Parameters: ssl.jepa.pred.s4.{log_dt,C,log_A_real,A_imag,D},
 *    ssl.jepa.pred.s4.out.{weight,bias}, ssl.jepa.pred.s4.norm.{weight,bias},
 *    ssl.jepa.pred.out.{weight,bias} (s4_init and PyTorch-style uniform inits from the objective's
 *    stream; the predictor mask token N(0, 0.02^2) as I-JEPA's);
 *  - target: Y = LayerNorm-without-affine(teacher output) per token (teacher in eval mode on the
 *    clean input, no gradient);
 *  - loss = mean over target tokens and channels of SmoothL1_beta=1(P - Y), i.e.
 *    torch.nn.functional.smooth_l1_loss(P[targets], Y[targets]) with its default 'mean'. */

typedef struct {
    ssl_teacher *teacher;
    int v_mask, v_pmask, v_s4, v_ow, v_ob, v_nw, v_nb, v_pw, v_pb;
    int max_b, T, d, N, L;
    s4_fft *fft;
    float *xz;
    uint8_t *tgt, *ctx, *hide; /* (B*T): target, context, not-context */
    float *yt;                 /* (B*T, d) layer-normed teacher output */
    float *u, *k, *y, *cache, *gb, *z, *r, *mu, *rs, *h, *p;
    float *dp, *dh, *dr, *dz, *dk; /* backward; three more gradients reuse dead buffers */
    rng_state val_base;
} jepa_state;

static void jepa_free(ssl_objective *o) {
    jepa_state *s = o->impl;
    if (!s) return;
    teacher_free(s->teacher);
    s4_fft_free(s->fft);
    float *bufs[] = {s->xz, s->yt, s->u, s->k, s->y,  s->cache, s->gb, s->z,  s->r,
                     s->mu, s->rs, s->h, s->p, s->dp, s->dh,    s->dr, s->dz, s->dk};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        free(bufs[i]);
    free(s->tgt), free(s->ctx), free(s->hide);
    free(s);
    o->impl = NULL;
}

static int head(encoder *e, const char *name, int ndim, const int *shape, ecg_err *err) {
    return encoder_add_head_param(e, name, ndim, shape, err);
}

static void init_uniform(float *p, size_t n, float bound, rng_state *r) {
    for (size_t i = 0; i < n; i++)
        p[i] = bound * (2.0f * rng_uniform(r) - 1.0f);
}

static ecg_code jepa_create(ssl_objective *o, ecg_err *err) {
    const struct encoder_config *c = encoder_get_config(o->student);
    jepa_state *s = calloc(1, sizeof *s);
    if (!s) return err_set(err, ECG_ENOMEM, "out of memory for JEPA");
    o->impl = s;
    s->max_b = encoder_max_batch(o->student);
    s->T = encoder_tokens(o->student);
    s->d = c->d_model;
    s->N = o->cfg.jepa_predictor_state;
    s->L = c->in_samples;
    const int d = s->d, d2 = 2 * d, M = s->N / 2;
    encoder *e = o->student;
    rng_state r = rng_fork(&o->rng, 0x1e9a0u);
    s->val_base = rng_fork(&o->rng, 0x1e9a1u);
    int i1, i2, i3, i4;
    if ((s->v_mask = maskvec_add(e, "ssl.mask_emb", &r, err)) < 0 ||
        (s->v_pmask = head(e, "ssl.jepa.pred.mask_emb", 1, &d, err)) < 0 ||
        (s->v_s4 = head(e, "ssl.jepa.pred.s4.log_dt", 1, &d, err)) < 0 ||
        (i1 = head(e, "ssl.jepa.pred.s4.C", 4, (int[]){2, d, M, 2}, err)) < 0 ||
        (i2 = head(e, "ssl.jepa.pred.s4.log_A_real", 2, (int[]){d, M}, err)) < 0 ||
        (i3 = head(e, "ssl.jepa.pred.s4.A_imag", 2, (int[]){d, M}, err)) < 0 ||
        (i4 = head(e, "ssl.jepa.pred.s4.D", 1, &d, err)) < 0 ||
        (s->v_ow = head(e, "ssl.jepa.pred.s4.out.weight", 2, (int[]){d2, d}, err)) < 0 ||
        (s->v_ob = head(e, "ssl.jepa.pred.s4.out.bias", 1, &d2, err)) < 0 ||
        (s->v_nw = head(e, "ssl.jepa.pred.s4.norm.weight", 1, &d, err)) < 0 ||
        (s->v_nb = head(e, "ssl.jepa.pred.s4.norm.bias", 1, &d, err)) < 0 ||
        (s->v_pw = head(e, "ssl.jepa.pred.out.weight", 2, (int[]){d, d}, err)) < 0 ||
        (s->v_pb = head(e, "ssl.jepa.pred.out.bias", 1, &d, err)) < 0)
        return err ? err->code : ECG_EINVAL;
    param_set *ps = encoder_params(e);
    if (ps->views[i4].offset + ps->views[i4].count - ps->views[s->v_s4].offset !=
        s4_param_floats(d, s->N, 2))
        return err_set(err, ECG_EINVAL, "JEPA predictor: S4 parameters are not contiguous");
    float *pm = params_data(ps, s->v_pmask);
    for (int i = 0; i < d; i++)
        pm[i] = 0.02f * rng_normal(&r);
    s4_params sp;
    s4_params_view(&sp, params_data(ps, s->v_s4), d, s->N, 2);
    ecg_code rc = s4_init(&sp, d, s->N, 2, c->s4_dt_min, c->s4_dt_max, &r, err);
    if (rc) return rc;
    const float bd = 1.0f / sqrtf((float)d);
    init_uniform(params_data(ps, s->v_ow), (size_t)d2 * d, bd, &r);
    init_uniform(params_data(ps, s->v_ob), (size_t)d2, bd, &r);
    for (int i = 0; i < d; i++)
        params_data(ps, s->v_nw)[i] = 1.0f, params_data(ps, s->v_nb)[i] = 0;
    init_uniform(params_data(ps, s->v_pw), (size_t)d * d, bd, &r);
    init_uniform(params_data(ps, s->v_pb), (size_t)d, bd, &r);
    if ((rc = teacher_create(&s->teacher, e, 1, err))) return rc;
    if ((rc = s4_fft_init(&s->fft, s->T, err))) return rc;
    const size_t n = (size_t)s->max_b * s->T, nd = n * d;
    float **nd1[] = {&s->yt, &s->u, &s->y, &s->gb, &s->r, &s->h, &s->p, &s->dp, &s->dh, &s->dr};
    for (size_t i = 0; i < sizeof nd1 / sizeof *nd1; i++)
        if (!(*nd1[i] = malloc(nd * sizeof(float)))) goto oom;
    if (!(s->xz = malloc((size_t)s->max_b * c->in_channels * s->L * sizeof(float))) ||
        !(s->z = malloc(2 * nd * sizeof(float))) || !(s->dz = malloc(2 * nd * sizeof(float))) ||
        !(s->k = malloc((size_t)2 * d * s->T * sizeof(float))) ||
        !(s->dk = malloc((size_t)2 * d * s->T * sizeof(float))) ||
        !(s->cache = malloc(s4_conv_cache_floats(s->max_b, s->T, d, 2) * sizeof(float))) ||
        !(s->mu = malloc(n * sizeof(float))) || !(s->rs = malloc(n * sizeof(float))) ||
        !(s->tgt = malloc(n)) || !(s->ctx = malloc(n)) || !(s->hide = malloc(n)))
        goto oom;
    return ECG_OK;
oom:
    return err_set(err, ECG_ENOMEM, "out of memory for JEPA buffers (batch %d)", s->max_b);
}

static ecg_code jepa_run(ssl_objective *o, const float *x, int B, int train, const uint8_t *tgt,
                         const uint8_t *ctx, ssl_metrics *m, ecg_err *err) {
    jepa_state *s = o->impl;
    encoder *st = o->student;
    const struct encoder_config *c = encoder_get_config(st);
    if (B < 1 || B > s->max_b)
        return err_set(err, ECG_EINVAL, "jepa: batch %d outside [1, %d]", B, s->max_b);
    const int T = s->T, d = s->d, n = B * T, N = s->N;
    const size_t nd = (size_t)n * d;
    int nt = 0, nc = 0;
    for (int i = 0; i < n; i++) {
        s->hide[i] = !ctx[i];
        nt += tgt[i] != 0;
        nc += ctx[i] != 0;
    }
    memcpy(s->xz, x, (size_t)B * c->in_channels * s->L * sizeof *x);
    ssl_zscore_ptbxl(s->xz, B, s->L);
    ecg_code rc;
    if ((rc = teacher_forward(s->teacher, s->xz, B, err))) return rc;
    ssl_layernorm_rows(s->yt, encoder_out(teacher_encoder(s->teacher)), n, d, c->ln_eps);
    if ((rc = encoder_forward_stem(st, s->xz, B, train ? ENC_TRAIN : ENC_EVAL, err))) return rc;
    maskvec_apply_stem(st, s->v_mask, s->hide);
    if ((rc = encoder_forward_backbone(st, err))) return rc;
    /* predictor */
    param_set *ps = encoder_params(st);
    memcpy(s->u, encoder_out(st), nd * sizeof *s->u);
    maskvec_apply(s->u, tgt, params_data(ps, s->v_pmask), n, d);
    s4_params sp;
    s4_params_view(&sp, params_data(ps, s->v_s4), d, N, 2);
    s4_kernel_forward(s->k, &sp, d, N, 2, T);
    s4_conv_forward(s->y, s->cache, s->u, s->k, sp.D, B, T, d, 2, s->fft);
    gelu_forward(s->gb, s->y, nd);
    linear_forward(s->z, s->gb, params_data(ps, s->v_ow), params_data(ps, s->v_ob), n, d, 2 * d);
    glu_forward(s->r, s->z, n, d);
    vec_acc(s->r, s->u, nd);
    layernorm_forward(s->h, s->mu, s->rs, s->r, params_data(ps, s->v_nw), params_data(ps, s->v_nb),
                      n, d, c->ln_eps);
    linear_forward(s->p, s->h, params_data(ps, s->v_pw), params_data(ps, s->v_pb), n, d, d);
    /* loss at target tokens */
    double loss = 0;
    const float scale = nt ? (float)(1.0 / ((double)nt * d)) : 0.0f;
    memset(s->dp, 0, nd * sizeof *s->dp);
    for (int i = 0; i < n; i++)
        if (tgt[i])
            loss += ssl_smooth_l1(s->dp + (size_t)i * d, s->p + (size_t)i * d,
                                  s->yt + (size_t)i * d, (size_t)d, scale);
    m->loss = nt ? loss / ((double)nt * d) : 0.0;
    ssl_metric_add(m, "masked_frac", (double)(n - nc) / n);
    ssl_metric_add(m, "target_frac", (double)nt / n);
    ssl_metric_add(m, "target_std", ssl_rows_std(s->yt, tgt, n, d));
    ssl_metric_add(m, "pred_std", ssl_rows_std(s->p, tgt, n, d));
    if (!train || nt == 0) return ECG_OK;
    /* backward through the predictor; the loss and metrics are done, so the targets' and the
     * prediction's buffers take gradients, as does dh once it is consumed (at the paper size each
     * buffer is 39 MB) */
    float *dgb = s->dh, *dy = s->p, *du = s->yt;
    linear_backward(s->dh, params_grad(ps, s->v_pw), params_grad(ps, s->v_pb), s->dp, s->h,
                    params_data(ps, s->v_pw), n, d, d);
    layernorm_backward(s->dr, params_grad(ps, s->v_nw), params_grad(ps, s->v_nb), s->dh, s->r,
                       s->mu, s->rs, params_data(ps, s->v_nw), n, d);
    glu_backward(s->dz, s->dr, s->z, n, d);
    linear_backward(dgb, params_grad(ps, s->v_ow), params_grad(ps, s->v_ob), s->dz, s->gb,
                    params_data(ps, s->v_ow), n, d, 2 * d);
    gelu_backward(dy, dgb, s->y, nd);
    s4_params sg;
    s4_params_view(&sg, params_grad(ps, s->v_s4), d, N, 2);
    memset(s->dk, 0, (size_t)2 * d * T * sizeof *s->dk);
    s4_conv_backward(du, s->dk, sg.D, dy, s->u, s->cache, s->k, sp.D, B, T, d, 2, s->fft);
    s4_kernel_backward(&sg, s->dk, &sp, d, N, 2, T, 1);
    vec_acc(du, s->dr, nd); /* the residual */
    maskvec_backward(params_grad(ps, s->v_pmask), du, tgt, n, d);
    /* and through the student */
    float *dstem = encoder_backward_backbone(st, du, NULL, err);
    if (!dstem) return err ? err->code : ECG_EINVAL;
    maskvec_backward(params_grad(ps, s->v_mask), dstem, s->hide, n, d);
    return encoder_backward_stem(st, NULL, NULL, err);
}

static ecg_code jepa_step(ssl_objective *o, const float *x, int B, int train, ssl_metrics *m,
                          ecg_err *err) {
    jepa_state *s = o->impl;
    if (B < 1 || B > s->max_b)
        return err_set(err, ECG_EINVAL, "jepa: batch %d outside [1, %d]", B, s->max_b);
    const struct encoder_config *c = encoder_get_config(o->student);
    /* validation masks depend on the batch only (mask_batch_stream) */
    rng_state vr, *r = &o->rng;
    if (!train) {
        vr = mask_batch_stream(&s->val_base, x, (size_t)B * c->in_channels * s->L);
        r = &vr;
    }
    mask_draw_jepa(s->tgt, s->ctx, B, s->T, o->cfg.jepa_target_blocks, o->cfg.jepa_block_len,
                   o->cfg.jepa_context_min, o->cfg.jepa_context_max, r);
    return jepa_run(o, x, B, train, s->tgt, s->ctx, m, err);
}

ecg_code jepa_step_masked(ssl_objective *o, const float *x, int B, int train, const uint8_t *target,
                          const uint8_t *context, ssl_metrics *m, ecg_err *err) {
    if (o->cfg.kind != SSL_JEPA)
        return err_set(err, ECG_EINVAL, "jepa_step_masked on a %s objective",
                       ssl_kind_name(o->cfg.kind));
    memset(m, 0, sizeof *m);
    return jepa_run(o, x, B, train, target, context, m, err);
}

static void jepa_after_update(ssl_objective *o, int64_t step) {
    (void)step;
    jepa_state *s = o->impl;
    teacher_update_ema(s->teacher, o->student, o->cfg.ema_momentum);
}

static int jepa_state_tensors(ssl_objective *o, ssl_state_tensor *out, int max) {
    jepa_state *s = o->impl;
    return teacher_state_tensors(s->teacher, out, max);
}

const ssl_ops ssl_jepa_ops = {
    .create = jepa_create,
    .step = jepa_step,
    .after_update = jepa_after_update,
    .state_tensors = jepa_state_tensors,
    .free = jepa_free,
};

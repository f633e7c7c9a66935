/* encoder.c — the encoder's stem, pooling and plumbing around the backbones (see encoder.h).
 * All activations are allocated once for max_batch; a forward or backward allocates nothing. */
#include "core/model/encoder_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/nn/layers.h"

#define STEM_K 3
#define STEM_STRIDE 2
#define STEM_PAD 1

float *enc_alloc(size_t n) {
    if (n > ((size_t)1 << 40)) return NULL;
    return calloc(n ? n : 1, sizeof(float));
}

int enc_param(encoder *e, int group, int trainable, int ndim, const int *shape, ecg_err *err,
              const char *fmt, ...) {
    char name[PARAM_MAX_NAME];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (w < 0 || w >= (int)sizeof name) {
        err_set(err, ECG_EINVAL, "parameter name too long");
        return -1;
    }
    return params_add(&e->ps, name, ndim, shape, group, trainable, err);
}

int enc_buffer(encoder *e, int d0, float fill, ecg_err *err, const char *fmt, ...) {
    char name[PARAM_MAX_NAME];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (w < 0 || w >= (int)sizeof name) {
        err_set(err, ECG_EINVAL, "buffer name too long");
        return -1;
    }
    return params_add_buffer(&e->ps, name, 1, &d0, fill, err);
}

rng_state enc_view_rng(const rng_state *base, int view) {
    return rng_fork(base, 0x5eed0000u + (uint64_t)view);
}

void enc_init_uniform(encoder *e, const rng_state *base, int view, float bound) {
    rng_state r = enc_view_rng(base, view);
    float *p = ENC_P(e, view);
    for (size_t i = 0; i < e->ps.views[view].count; i++)
        p[i] = bound * (2.0f * rng_uniform(&r) - 1.0f);
}

void enc_init_const(encoder *e, int view, float v) {
    float *p = ENC_P(e, view);
    for (size_t i = 0; i < e->ps.views[view].count; i++)
        p[i] = v;
}

static const backbone_ops *ops_for(enc_backbone b) {
    switch (b) {
    case ENC_BACKBONE_S4: return &backbone_s4_ops;
    case ENC_BACKBONE_TRANSFORMER: return &backbone_transformer_ops;
    case ENC_BACKBONE_CNN: return &backbone_cnn_ops;
    }
    return NULL;
}

static ecg_code declare_stem(encoder *e, ecg_err *err) {
    const struct encoder_config *c = &e->cfg;
    e->stem = calloc((size_t)c->stem_layers, sizeof *e->stem);
    if (!e->stem) return err_set(err, ECG_ENOMEM, "out of memory for the stem");
    for (int i = 0; i < c->stem_layers; i++) {
        stem_layer *s = &e->stem[i];
        int cin = i == 0 ? c->in_channels : c->d_model, k = i == 0 ? STEM_K : 1;
        const int d = c->d_model;
        if ((s->w = enc_param(e, PG_STEM, 1, 3, (int[]){d, cin, k}, err, "stem.%d.conv.weight",
                              i)) < 0 ||
            (s->bn_w = enc_param(e, PG_STEM, 1, 1, &d, err, "stem.%d.bn.weight", i)) < 0 ||
            (s->bn_b = enc_param(e, PG_STEM, 1, 1, &d, err, "stem.%d.bn.bias", i)) < 0 ||
            (s->rm = enc_buffer(e, c->d_model, 0.0f, err, "stem.%d.bn.running_mean", i)) < 0 ||
            (s->rv = enc_buffer(e, c->d_model, 1.0f, err, "stem.%d.bn.running_var", i)) < 0)
            return err ? err->code : ECG_EINVAL;
    }
    return ECG_OK;
}

static ecg_code alloc_activations(encoder *e, ecg_err *err) {
    const struct encoder_config *c = &e->cfg;
    const size_t n = (size_t)e->max_batch * e->T, d = (size_t)c->d_model;
    const size_t xin = (size_t)e->max_batch * c->in_samples * c->in_channels;
    e->n_stem_slots = e->train_capable ? c->stem_layers : (c->stem_layers < 2 ? c->stem_layers : 2);
    int S = e->n_stem_slots;
    e->s_conv = calloc((size_t)S, sizeof(float *));
    e->s_act = calloc((size_t)S, sizeof(float *));
    e->s_mean = calloc((size_t)S, sizeof(float *));
    e->s_rstd = calloc((size_t)S, sizeof(float *));
    if (!e->s_conv || !e->s_act || !e->s_mean || !e->s_rstd) goto oom;
    for (int i = 0; i < S; i++) {
        if (!(e->s_conv[i] = enc_alloc(n * d)) || !(e->s_act[i] = enc_alloc(n * d)) ||
            !(e->s_mean[i] = enc_alloc(d)) || !(e->s_rstd[i] = enc_alloc(d)))
            goto oom;
    }
    size_t colf = conv1d_col_floats(e->max_batch, c->in_samples, c->in_channels, STEM_K,
                                    STEM_STRIDE, STEM_PAD);
    if (!(e->xcl = enc_alloc(xin)) || !(e->col = enc_alloc(colf)) || !(e->xin = enc_alloc(n * d)) ||
        !(e->emb = enc_alloc((size_t)e->max_batch * d)))
        goto oom;
    if (e->train_capable) {
        if (!(e->dcol = enc_alloc(colf)) || !(e->dtok = enc_alloc(n * d)) ||
            !(e->dstem = enc_alloc(n * d)) || !(e->dxcl = enc_alloc(xin)))
            goto oom;
        for (int i = 0; i < 4; i++)
            if (!(e->g[i] = enc_alloc(n * d))) goto oom;
    } else {
        /* the backbones use g[0] as forward scratch */
        if (!(e->g[0] = enc_alloc(n * d))) goto oom;
    }
    return ECG_OK;
oom:
    return err_set(err, ECG_ENOMEM,
                   "out of memory for encoder activations (batch %d, %d tokens, d %d)",
                   e->max_batch, e->T, c->d_model);
}

void encoder_set_frozen(encoder *e, int frozen) {
    e->frozen = frozen != 0;
    e->derived_valid = 0;
}

int encoder_frozen(const encoder *e) { return e->frozen; }

ecg_code encoder_init_weights(encoder *e, uint64_t seed, ecg_err *err) {
    encoder_set_frozen(e, 0);
    rng_state base;
    rng_seed(&base, seed);
    const struct encoder_config *c = &e->cfg;
    for (int i = 0; i < c->stem_layers; i++) {
        const stem_layer *s = &e->stem[i];
        int fan_in = i == 0 ? c->in_channels * STEM_K : c->d_model;
        enc_init_uniform(e, &base, s->w, 1.0f / sqrtf((float)fan_in));
        enc_init_const(e, s->bn_w, 1.0f);
        enc_init_const(e, s->bn_b, 0.0f);
    }
    /* buffers: BatchNorm statistics start at mean 0, variance 1 */
    for (int i = 0; i < e->n_enc_bviews; i++) {
        const param_view *v = &e->ps.bviews[i];
        size_t len = strlen(v->name);
        float fill = len > 11 && !strcmp(v->name + len - 11, "running_var") ? 1.0f : 0.0f;
        for (size_t j = 0; j < v->count; j++)
            e->ps.buf[v->offset + j] = fill;
    }
    ecg_code rc = e->ops->init(e, &base, err);
    e->bn_batches = 0;
    e->rng = rng_fork(&base, 0xd0d0u);
    e->seed = seed;
    return rc;
}

ecg_code encoder_create(encoder **out, const struct encoder_config *cfg, int max_batch,
                        uint64_t seed, int flags, ecg_err *err) {
    *out = NULL;
    ecg_code rc = encoder_config_validate(cfg, err);
    if (rc != ECG_OK) return rc;
    if (max_batch < 1 || max_batch > 65536)
        return err_set(err, ECG_EINVAL, "max_batch: %d is outside [1, 65536]", max_batch);
    encoder *e = calloc(1, sizeof *e);
    if (!e) return err_set(err, ECG_ENOMEM, "out of memory for the encoder");
    e->cfg = *cfg;
    params_init(&e->ps);
    e->max_batch = max_batch;
    e->T = encoder_config_tokens(cfg);
    e->train_capable = !(flags & ENC_INFERENCE_ONLY);
    e->ops = ops_for(cfg->backbone);
    if ((rc = declare_stem(e, err)) != ECG_OK || (rc = e->ops->declare(e, err)) != ECG_OK)
        goto fail;
    e->n_enc_views = e->ps.n_views;
    e->n_enc_bviews = e->ps.n_bviews;
    if ((rc = alloc_activations(e, err)) != ECG_OK || (rc = e->ops->alloc(e, err)) != ECG_OK)
        goto fail;
    if ((rc = encoder_init_weights(e, seed, err)) != ECG_OK) goto fail;
    *out = e;
    return ECG_OK;
fail:
    encoder_free(e);
    return rc;
}

void encoder_free(encoder *e) {
    if (!e) return;
    if (e->ops && e->ops->free) e->ops->free(e);
    for (int i = 0; i < e->n_stem_slots; i++) {
        if (e->s_conv) free(e->s_conv[i]);
        if (e->s_act) free(e->s_act[i]);
        if (e->s_mean) free(e->s_mean[i]);
        if (e->s_rstd) free(e->s_rstd[i]);
    }
    free(e->s_conv);
    free(e->s_act);
    free(e->s_mean);
    free(e->s_rstd);
    free(e->stem);
    free(e->xcl);
    free(e->col);
    free(e->dcol);
    free(e->xin);
    free(e->emb);
    free(e->dtok);
    free(e->dstem);
    free(e->dxcl);
    for (int i = 0; i < 4; i++)
        free(e->g[i]);
    params_free(&e->ps);
    free(e);
}

const struct encoder_config *encoder_get_config(const encoder *e) {
    return &e->cfg;
}
param_set *encoder_params(encoder *e) {
    return &e->ps;
}
rng_state *encoder_rng(encoder *e) {
    return &e->rng;
}
int encoder_tokens(const encoder *e) {
    return e->T;
}
int encoder_max_batch(const encoder *e) {
    return e->max_batch;
}
int encoder_batch(const encoder *e) {
    return e->B;
}
int64_t encoder_bn_batches(const encoder *e) {
    return e->bn_batches;
}
void encoder_set_bn_batches(encoder *e, int64_t n) {
    e->bn_batches = n;
}
float *encoder_stem_out(encoder *e) {
    return e->xin;
}
const float *encoder_out(const encoder *e) {
    return e->tokens;
}
const float *encoder_embedding(const encoder *e) {
    return e->emb;
}

const float *encoder_layer_out(const encoder *e, int l) {
    if (l < 0 || l >= e->cfg.n_layers || e->stage < 2) return NULL;
    return e->ops->layer_out(e, l);
}

int encoder_add_head_param(encoder *e, const char *name, int ndim, const int *shape, ecg_err *err) {
    return params_add(&e->ps, name, ndim, shape, PG_HEAD, 1, err);
}

void encoder_zero_grad(encoder *e) {
    params_zero_grad(&e->ps);
}

/* (B, C, L) -> (B, L, C) */
static void transpose_in(float *out, const float *x, int B, int C, int L) {
#pragma omp parallel for schedule(static) if ((long)B * C * L > 65536)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < L; t++)
            for (int c = 0; c < C; c++)
                out[((size_t)b * L + t) * C + c] = x[((size_t)b * C + c) * L + t];
}

/* (B, L, C) -> (B, C, L) */
static void transpose_out(float *out, const float *x, int B, int C, int L) {
#pragma omp parallel for schedule(static) if ((long)B * C * L > 65536)
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < L; t++)
                out[((size_t)b * C + c) * L + t] = x[((size_t)b * L + t) * C + c];
}

ecg_code encoder_forward_stem(encoder *e, const float *x, int B, enc_mode mode, ecg_err *err) {
    const struct encoder_config *c = &e->cfg;
    if (B < 1 || B > e->max_batch)
        return err_set(err, ECG_EINVAL, "batch %d is outside [1, %d] (the encoder's max_batch)", B,
                       e->max_batch);
    if (mode != ENC_EVAL && mode != ENC_TRAIN) return err_set(err, ECG_EINVAL, "bad encoder mode");
    if (mode == ENC_TRAIN && !e->train_capable)
        return err_set(err, ECG_EINVAL, "encoder was created for inference only: no train mode");
    e->B = B;
    e->mode = mode;
    e->stage = 0;
    if (mode == ENC_TRAIN) encoder_set_frozen(e, 0);
    const int n = B * e->T, d = c->d_model;
    transpose_in(e->xcl, x, B, c->in_channels, c->in_samples);
    const float *in = e->xcl;
    for (int i = 0; i < c->stem_layers; i++) {
        const stem_layer *s = &e->stem[i];
        int slot = i % e->n_stem_slots;
        float *conv = e->s_conv[slot], *act = e->s_act[slot];
        if (i == 0)
            conv1d_forward(conv, e->col, in, ENC_P(e, s->w), NULL, B, c->in_samples, c->in_channels,
                           d, STEM_K, STEM_STRIDE, STEM_PAD);
        else
            conv1d_forward(conv, NULL, in, ENC_P(e, s->w), NULL, B, e->T, d, d, 1, 1, 0);
        if (mode == ENC_TRAIN)
            batchnorm_forward_train(act, e->s_mean[slot], e->s_rstd[slot], conv, ENC_P(e, s->bn_w),
                                    ENC_P(e, s->bn_b), ENC_BUF(e, s->rm), ENC_BUF(e, s->rv), n, d,
                                    c->bn_momentum, c->bn_eps);
        else
            batchnorm_forward_eval(act, conv, ENC_P(e, s->bn_w), ENC_P(e, s->bn_b),
                                   ENC_BUF(e, s->rm), ENC_BUF(e, s->rv), n, d, c->bn_eps);
        relu_forward(act, act, (size_t)n * d);
        in = act;
    }
    memcpy(e->xin, in, (size_t)n * d * sizeof *in);
    if (mode == ENC_TRAIN) e->bn_batches++;
    e->stage = 1;
    return ECG_OK;
}

ecg_code encoder_forward_backbone(encoder *e, ecg_err *err) {
    if (e->stage < 1) return err_set(err, ECG_EINVAL, "encoder_forward_backbone before the stem");
    e->ops->forward(e, e->xin, e->B, e->mode);
    meanpool_forward(e->emb, e->tokens, e->B, e->T, e->cfg.d_model);
    e->stage = 2;
    return ECG_OK;
}

ecg_code encoder_forward(encoder *e, const float *x, int B, enc_mode mode, ecg_err *err) {
    ecg_code rc = encoder_forward_stem(e, x, B, mode, err);
    return rc != ECG_OK ? rc : encoder_forward_backbone(e, err);
}

float *encoder_backward_backbone(encoder *e, const float *dtokens, const float *dembed,
                                 ecg_err *err) {
    if (!e->train_capable) {
        err_set(err, ECG_EINVAL, "encoder was created for inference only: no backward");
        return NULL;
    }
    if (e->stage < 2) {
        err_set(err, ECG_EINVAL, "encoder backward without a complete forward");
        return NULL;
    }
    const int B = e->B, d = e->cfg.d_model;
    const size_t nd = (size_t)B * e->T * d;
    if (dembed) {
        meanpool_backward(e->dtok, dembed, B, e->T, d);
        if (dtokens) vec_acc(e->dtok, dtokens, nd);
    } else if (dtokens) {
        memcpy(e->dtok, dtokens, nd * sizeof *dtokens);
    } else {
        memset(e->dtok, 0, nd * sizeof *e->dtok);
    }
    e->ops->backward(e, e->xin, B);
    e->stage = 3;
    return e->dstem;
}

ecg_code encoder_backward_stem(encoder *e, const float *dstem_extra, float *dx, ecg_err *err) {
    if (!e->train_capable)
        return err_set(err, ECG_EINVAL, "encoder was created for inference only: no backward");
    if (e->stage != 3)
        return err_set(err, ECG_EINVAL, "encoder_backward_stem without encoder_backward_backbone");
    const struct encoder_config *c = &e->cfg;
    const int B = e->B, n = B * e->T, d = c->d_model;
    const size_t nd = (size_t)n * d;
    if (dstem_extra) vec_acc(e->dstem, dstem_extra, nd);
    float *dact = e->dstem, *dpre = e->g[0], *dconv = e->g[1];
    for (int i = c->stem_layers - 1; i >= 0; i--) {
        const stem_layer *s = &e->stem[i];
        const float *conv = e->s_conv[i], *act = e->s_act[i];
        relu_backward(dpre, dact, act, nd);
        if (e->mode == ENC_TRAIN)
            batchnorm_backward(dconv, ENC_G(e, s->bn_w), ENC_G(e, s->bn_b), dpre, conv,
                               e->s_mean[i], e->s_rstd[i], ENC_P(e, s->bn_w), n, d);
        else
            batchnorm_backward_eval(dconv, ENC_G(e, s->bn_w), ENC_G(e, s->bn_b), dpre, conv,
                                    ENC_P(e, s->bn_w), ENC_BUF(e, s->rm), ENC_BUF(e, s->rv), n, d,
                                    c->bn_eps);
        if (i > 0) {
            /* the gradient of the previous activation goes where dact was (now dead) */
            float *dprev = dact == e->dstem ? e->g[2] : e->dstem;
            conv1d_backward(dprev, ENC_G(e, s->w), NULL, NULL, dconv, NULL, e->s_act[i - 1],
                            ENC_P(e, s->w), B, e->T, d, d, 1, 1, 0);
            dact = dprev;
        } else {
            conv1d_backward(dx ? e->dxcl : NULL, ENC_G(e, s->w), NULL, e->dcol, dconv, e->col,
                            e->xcl, ENC_P(e, s->w), B, c->in_samples, c->in_channels, d, STEM_K,
                            STEM_STRIDE, STEM_PAD);
        }
    }
    if (dx) transpose_out(dx, e->dxcl, B, c->in_channels, c->in_samples);
    e->stage = 2; /* the stem gradient buffer was consumed; the forward caches stay valid */
    return ECG_OK;
}

ecg_code encoder_backward(encoder *e, const float *dtokens, const float *dembed, float *dx,
                          ecg_err *err) {
    if (!encoder_backward_backbone(e, dtokens, dembed, err)) return err ? err->code : ECG_EINVAL;
    return encoder_backward_stem(e, NULL, dx, err);
}

uint64_t enc_sign_hash(uint64_t h, const float *a, size_t n) {
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint64_t)(a[i] > 0.0f)) * 0x100000001b3ULL;
    return h;
}

uint64_t encoder_relu_signature(const encoder *e) {
    uint64_t h = 0xcbf29ce484222325ULL;
    const size_t nd = (size_t)e->B * e->T * e->cfg.d_model;
    for (int i = 0; i < e->n_stem_slots; i++)
        h = enc_sign_hash(h, e->s_act[i], nd);
    return e->ops->relu_signature ? e->ops->relu_signature(e, h) : h;
}

/* backbone_cnn.c — residual 1-D convolution blocks, a simplification of the reference's Net1D:
 * out = ReLU(BN2(Conv2(ReLU(BN1(Conv1(x))))) + x), kernel k, padding k/2, no downsampling. */
#include <math.h>
#include <string.h>

#include "core/model/encoder_impl.h"
#include "core/nn/layers.h"

typedef struct {
    int c1, bn1w, bn1b, c2, bn2w, bn2b; /* parameter views */
    int rm1, rv1, rm2, rv2;             /* buffer views */
} cnn_block;

typedef struct {
    float *col1, *h1, *mu1, *rs1, *a1; /* conv1 im2col, conv1 out, BN1 stats, ReLU out */
    float *col2, *h2, *mu2, *rs2, *out;
} cnn_slot;

typedef struct {
    cnn_block *blk;
    cnn_slot *slot;
    int n_slots;
    float *dcol;
} cnn_state;

static int pad_of(const struct encoder_config *c) {
    return c->cnn_kernel / 2;
}

static ecg_code cnn_declare(encoder *e, ecg_err *err) {
    const struct encoder_config *c = &e->cfg;
    cnn_state *st = calloc(1, sizeof *st);
    if (!st) return err_set(err, ECG_ENOMEM, "out of memory for the CNN backbone");
    e->bb = st;
    st->blk = calloc((size_t)(c->n_layers ? c->n_layers : 1), sizeof *st->blk);
    if (!st->blk) return err_set(err, ECG_ENOMEM, "out of memory for the CNN backbone");
    const int d = c->d_model, k = c->cnn_kernel;
    for (int l = 0; l < c->n_layers; l++) {
        cnn_block *b = &st->blk[l];
        const char *pre = "backbone.layers";
        if ((b->c1 = enc_param(e, PG_BACKBONE, 1, 3, (int[]){d, d, k}, err, "%s.%d.conv1.weight",
                               pre, l)) < 0 ||
            (b->bn1w = enc_param(e, PG_BACKBONE, 1, 1, &d, err, "%s.%d.bn1.weight", pre, l)) < 0 ||
            (b->bn1b = enc_param(e, PG_BACKBONE, 1, 1, &d, err, "%s.%d.bn1.bias", pre, l)) < 0 ||
            (b->rm1 = enc_buffer(e, d, 0.0f, err, "%s.%d.bn1.running_mean", pre, l)) < 0 ||
            (b->rv1 = enc_buffer(e, d, 1.0f, err, "%s.%d.bn1.running_var", pre, l)) < 0 ||
            (b->c2 = enc_param(e, PG_BACKBONE, 1, 3, (int[]){d, d, k}, err, "%s.%d.conv2.weight",
                               pre, l)) < 0 ||
            (b->bn2w = enc_param(e, PG_BACKBONE, 1, 1, &d, err, "%s.%d.bn2.weight", pre, l)) < 0 ||
            (b->bn2b = enc_param(e, PG_BACKBONE, 1, 1, &d, err, "%s.%d.bn2.bias", pre, l)) < 0 ||
            (b->rm2 = enc_buffer(e, d, 0.0f, err, "%s.%d.bn2.running_mean", pre, l)) < 0 ||
            (b->rv2 = enc_buffer(e, d, 1.0f, err, "%s.%d.bn2.running_var", pre, l)) < 0)
            return err ? err->code : ECG_EINVAL;
    }
    return ECG_OK;
}

static ecg_code cnn_alloc(encoder *e, ecg_err *err) {
    const struct encoder_config *c = &e->cfg;
    cnn_state *st = e->bb;
    const int d = c->d_model, T = e->T, B = e->max_batch, k = c->cnn_kernel, pad = pad_of(c);
    const size_t n = (size_t)B * T, nd = n * d;
    const size_t colf = k == 1 ? 0 : conv1d_col_floats(B, T, d, k, 1, pad);
    st->n_slots = e->train_capable ? c->n_layers : (c->n_layers < 2 ? c->n_layers : 2);
    st->slot = calloc((size_t)(st->n_slots ? st->n_slots : 1), sizeof *st->slot);
    if (!st->slot) goto oom;
    for (int i = 0; i < st->n_slots; i++) {
        cnn_slot *s = &st->slot[i];
        if ((colf && (!(s->col1 = enc_alloc(colf)) || !(s->col2 = enc_alloc(colf)))) ||
            !(s->h1 = enc_alloc(nd)) || !(s->mu1 = enc_alloc((size_t)d)) ||
            !(s->rs1 = enc_alloc((size_t)d)) || !(s->a1 = enc_alloc(nd)) ||
            !(s->h2 = enc_alloc(nd)) || !(s->mu2 = enc_alloc((size_t)d)) ||
            !(s->rs2 = enc_alloc((size_t)d)) || !(s->out = enc_alloc(nd)))
            goto oom;
    }
    if (e->train_capable && colf && !(st->dcol = enc_alloc(colf))) goto oom;
    return ECG_OK;
oom:
    return err_set(err, ECG_ENOMEM, "out of memory for CNN activations (batch %d, d %d)", B, d);
}

static void cnn_free_state(encoder *e) {
    cnn_state *st = e->bb;
    if (!st) return;
    for (int i = 0; st->slot && i < st->n_slots; i++) {
        cnn_slot *s = &st->slot[i];
        free(s->col1), free(s->h1), free(s->mu1), free(s->rs1), free(s->a1);
        free(s->col2), free(s->h2), free(s->mu2), free(s->rs2), free(s->out);
    }
    free(st->dcol), free(st->slot), free(st->blk), free(st);
    e->bb = NULL;
}

static ecg_code cnn_init_params(encoder *e, const rng_state *base, ecg_err *err) {
    (void)err;
    const struct encoder_config *c = &e->cfg;
    cnn_state *st = e->bb;
    const float bound = 1.0f / sqrtf((float)(c->d_model * c->cnn_kernel));
    for (int l = 0; l < c->n_layers; l++) {
        const cnn_block *b = &st->blk[l];
        enc_init_uniform(e, base, b->c1, bound);
        enc_init_uniform(e, base, b->c2, bound);
        enc_init_const(e, b->bn1w, 1.0f), enc_init_const(e, b->bn1b, 0.0f);
        enc_init_const(e, b->bn2w, 1.0f), enc_init_const(e, b->bn2b, 0.0f);
    }
    return ECG_OK;
}

static void bn_fwd(encoder *e, float *out, float *mu, float *rs, const float *in, int w, int b,
                   int rm, int rv, int n, enc_mode mode) {
    const struct encoder_config *c = &e->cfg;
    if (mode == ENC_TRAIN)
        batchnorm_forward_train(out, mu, rs, in, ENC_P(e, w), ENC_P(e, b), ENC_BUF(e, rm),
                                ENC_BUF(e, rv), n, c->d_model, c->bn_momentum, c->bn_eps);
    else
        batchnorm_forward_eval(out, in, ENC_P(e, w), ENC_P(e, b), ENC_BUF(e, rm), ENC_BUF(e, rv), n,
                               c->d_model, c->bn_eps);
}

static void bn_bwd(encoder *e, float *din, const float *dout, const float *in, const float *mu,
                   const float *rs, int w, int b, int rm, int rv, int n) {
    const struct encoder_config *c = &e->cfg;
    if (e->mode == ENC_TRAIN)
        batchnorm_backward(din, ENC_G(e, w), ENC_G(e, b), dout, in, mu, rs, ENC_P(e, w), n,
                           c->d_model);
    else
        batchnorm_backward_eval(din, ENC_G(e, w), ENC_G(e, b), dout, in, ENC_P(e, w),
                                ENC_BUF(e, rm), ENC_BUF(e, rv), n, c->d_model, c->bn_eps);
}

static void cnn_fwd(encoder *e, const float *in, int B, enc_mode mode) {
    const struct encoder_config *c = &e->cfg;
    cnn_state *st = e->bb;
    const int d = c->d_model, T = e->T, n = B * T, k = c->cnn_kernel, pad = pad_of(c);
    const size_t nd = (size_t)n * d;
    const float *x = in;
    for (int l = 0; l < c->n_layers; l++) {
        const cnn_block *b = &st->blk[l];
        cnn_slot *s = &st->slot[l % st->n_slots];
        conv1d_forward(s->h1, s->col1, x, ENC_P(e, b->c1), NULL, B, T, d, d, k, 1, pad);
        bn_fwd(e, s->a1, s->mu1, s->rs1, s->h1, b->bn1w, b->bn1b, b->rm1, b->rv1, n, mode);
        relu_forward(s->a1, s->a1, nd);
        conv1d_forward(s->h2, s->col2, s->a1, ENC_P(e, b->c2), NULL, B, T, d, d, k, 1, pad);
        bn_fwd(e, s->out, s->mu2, s->rs2, s->h2, b->bn2w, b->bn2b, b->rm2, b->rv2, n, mode);
        vec_acc(s->out, x, nd);
        relu_forward(s->out, s->out, nd);
        x = s->out;
    }
    e->tokens = x;
}

static void cnn_bwd(encoder *e, const float *in, int B) {
    const struct encoder_config *c = &e->cfg;
    cnn_state *st = e->bb;
    const int d = c->d_model, T = e->T, n = B * T, k = c->cnn_kernel, pad = pad_of(c);
    const size_t nd = (size_t)n * d;
    float *dx = e->dtok; /* gradient on the block output, then on its input */
    float *ds = e->g[1], *t1 = e->g[2], *t2 = e->g[3];
    for (int l = c->n_layers - 1; l >= 0; l--) {
        const cnn_block *b = &st->blk[l];
        const cnn_slot *s = &st->slot[l];
        const float *x = l == 0 ? in : st->slot[l - 1].out;
        relu_backward(ds, dx, s->out, nd); /* gradient on BN2(...) + x */
        bn_bwd(e, t1, ds, s->h2, s->mu2, s->rs2, b->bn2w, b->bn2b, b->rm2, b->rv2, n);
        conv1d_backward(t2, ENC_G(e, b->c2), NULL, st->dcol, t1, s->col2, s->a1, ENC_P(e, b->c2), B,
                        T, d, d, k, 1, pad);
        relu_backward(t1, t2, s->a1, nd);
        bn_bwd(e, t2, t1, s->h1, s->mu1, s->rs1, b->bn1w, b->bn1b, b->rm1, b->rv1, n);
        conv1d_backward(t1, ENC_G(e, b->c1), NULL, st->dcol, t2, s->col1, x, ENC_P(e, b->c1), B, T,
                        d, d, k, 1, pad);
        vec_add(dx, ds, t1, nd);
    }
    memcpy(e->dstem, dx, nd * sizeof *dx);
}

static const float *cnn_layer_out(const encoder *e, int l) {
    const cnn_state *st = e->bb;
    if (!e->train_capable && l < e->cfg.n_layers - st->n_slots) return NULL;
    return st->slot[l % st->n_slots].out;
}

static uint64_t cnn_relu_signature(const encoder *e, uint64_t h) {
    const cnn_state *st = e->bb;
    const size_t nd = (size_t)e->B * e->T * e->cfg.d_model;
    for (int i = 0; i < st->n_slots; i++) {
        h = enc_sign_hash(h, st->slot[i].a1, nd);
        h = enc_sign_hash(h, st->slot[i].out, nd);
    }
    return h;
}

const backbone_ops backbone_cnn_ops = {
    .declare = cnn_declare,
    .alloc = cnn_alloc,
    .init = cnn_init_params,
    .forward = cnn_fwd,
    .backward = cnn_bwd,
    .layer_out = cnn_layer_out,
    .free = cnn_free_state,
    .relu_signature = cnn_relu_signature,
};

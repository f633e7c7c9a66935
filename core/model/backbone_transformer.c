/* backbone_transformer.c — pre-norm Transformer blocks with RoPE attention:
 * x += drop(Wo attn(Wqkv LN1(x))); x += drop(W2 GELU(W1 LN2(x))); then a final LayerNorm. */
#include <math.h>
#include <string.h>

#include "core/model/encoder_impl.h"
#include "core/nn/attention.h"
#include "core/nn/layers.h"

typedef struct {
    int n1w, n1b, qkv_w, qkv_b, proj_w, proj_b, n2w, n2b, ff1_w, ff1_b, ff2_w, ff2_b;
} tf_block;

typedef struct {
    float *h1, *mu1, *rs1; /* LN1 */
    float *qkv, *cache, *a;
    float *mask1, *x1;     /* after the attention residual */
    float *h2, *mu2, *rs2; /* LN2 */
    float *f1, *f1g;       /* ff1 output, GELU of it */
    float *mask2, *out;
} tf_slot;

typedef struct {
    tf_block *blk;
    tf_slot *slot;
    int n_slots;
    int nw, nb; /* final LayerNorm */
    float *fout, *fmu, *frs;
    float *dqkv, *df1, *df2;
} tf_state;

static ecg_code tf_declare(encoder *e, ecg_err *err) {
    const struct encoder_config *c = &e->cfg;
    tf_state *st = calloc(1, sizeof *st);
    if (!st) return err_set(err, ECG_ENOMEM, "out of memory for the Transformer backbone");
    e->bb = st;
    st->blk = calloc((size_t)(c->n_layers ? c->n_layers : 1), sizeof *st->blk);
    if (!st->blk) return err_set(err, ECG_ENOMEM, "out of memory for the Transformer backbone");
    const int d = c->d_model, d3 = 3 * d, ff = c->ff_dim;
    const char *pre = "backbone.layers";
#define P(field, nd, shape, name)                                                                  \
    if ((b->field = enc_param(e, PG_BACKBONE, 1, nd, shape, err, "%s.%d." name, pre, l)) < 0)      \
        return err ? err->code : ECG_EINVAL;
    for (int l = 0; l < c->n_layers; l++) {
        tf_block *b = &st->blk[l];
        P(n1w, 1, &d, "norm1.weight");
        P(n1b, 1, &d, "norm1.bias");
        P(qkv_w, 2, ((int[]){d3, d}), "qkv.weight");
        P(qkv_b, 1, &d3, "qkv.bias");
        P(proj_w, 2, ((int[]){d, d}), "proj.weight");
        P(proj_b, 1, &d, "proj.bias");
        P(n2w, 1, &d, "norm2.weight");
        P(n2b, 1, &d, "norm2.bias");
        P(ff1_w, 2, ((int[]){ff, d}), "ff1.weight");
        P(ff1_b, 1, &ff, "ff1.bias");
        P(ff2_w, 2, ((int[]){d, ff}), "ff2.weight");
        P(ff2_b, 1, &d, "ff2.bias");
    }
#undef P
    if ((st->nw = enc_param(e, PG_BACKBONE, 1, 1, &d, err, "backbone.norm.weight")) < 0 ||
        (st->nb = enc_param(e, PG_BACKBONE, 1, 1, &d, err, "backbone.norm.bias")) < 0)
        return err ? err->code : ECG_EINVAL;
    return ECG_OK;
}

static int head_dim(const struct encoder_config *c) {
    return c->d_model / c->n_heads;
}

static ecg_code tf_alloc(encoder *e, ecg_err *err) {
    const struct encoder_config *c = &e->cfg;
    tf_state *st = e->bb;
    const int d = c->d_model, T = e->T, B = e->max_batch;
    const size_t n = (size_t)B * T, nd = n * d, nff = n * c->ff_dim;
    const size_t ac = attention_cache_floats(B, T, c->n_heads, head_dim(c));
    st->n_slots = e->train_capable ? c->n_layers : (c->n_layers < 2 ? c->n_layers : 2);
    st->slot = calloc((size_t)(st->n_slots ? st->n_slots : 1), sizeof *st->slot);
    if (!st->slot) goto oom;
    for (int i = 0; i < st->n_slots; i++) {
        tf_slot *s = &st->slot[i];
        if (!(s->h1 = enc_alloc(nd)) || !(s->mu1 = enc_alloc(n)) || !(s->rs1 = enc_alloc(n)) ||
            !(s->qkv = enc_alloc(3 * nd)) || !(s->cache = enc_alloc(ac)) ||
            !(s->a = enc_alloc(nd)) || !(s->x1 = enc_alloc(nd)) || !(s->h2 = enc_alloc(nd)) ||
            !(s->mu2 = enc_alloc(n)) || !(s->rs2 = enc_alloc(n)) || !(s->f1 = enc_alloc(nff)) ||
            !(s->f1g = enc_alloc(nff)) || !(s->out = enc_alloc(nd)))
            goto oom;
        if (e->train_capable && (!(s->mask1 = enc_alloc(nd)) || !(s->mask2 = enc_alloc(nd))))
            goto oom;
    }
    if (!(st->fout = enc_alloc(nd)) || !(st->fmu = enc_alloc(n)) || !(st->frs = enc_alloc(n)))
        goto oom;
    if (e->train_capable && (!(st->dqkv = enc_alloc(3 * nd)) || !(st->df1 = enc_alloc(nff)) ||
                             !(st->df2 = enc_alloc(nff))))
        goto oom;
    return ECG_OK;
oom:
    return err_set(err, ECG_ENOMEM, "out of memory for Transformer activations (batch %d, d %d)", B,
                   d);
}

static void tf_free_state(encoder *e) {
    tf_state *st = e->bb;
    if (!st) return;
    for (int i = 0; st->slot && i < st->n_slots; i++) {
        tf_slot *s = &st->slot[i];
        free(s->h1), free(s->mu1), free(s->rs1), free(s->qkv), free(s->cache), free(s->a);
        free(s->mask1), free(s->x1), free(s->h2), free(s->mu2), free(s->rs2), free(s->f1);
        free(s->f1g), free(s->mask2), free(s->out);
    }
    free(st->fout), free(st->fmu), free(st->frs), free(st->dqkv), free(st->df1), free(st->df2);
    free(st->slot), free(st->blk), free(st);
    e->bb = NULL;
}

static ecg_code tf_init_params(encoder *e, const rng_state *base, ecg_err *err) {
    (void)err;
    const struct encoder_config *c = &e->cfg;
    tf_state *st = e->bb;
    const float bd = 1.0f / sqrtf((float)c->d_model), bf = 1.0f / sqrtf((float)c->ff_dim);
    for (int l = 0; l < c->n_layers; l++) {
        const tf_block *b = &st->blk[l];
        enc_init_const(e, b->n1w, 1.0f), enc_init_const(e, b->n1b, 0.0f);
        enc_init_const(e, b->n2w, 1.0f), enc_init_const(e, b->n2b, 0.0f);
        enc_init_uniform(e, base, b->qkv_w, bd), enc_init_uniform(e, base, b->qkv_b, bd);
        enc_init_uniform(e, base, b->proj_w, bd), enc_init_uniform(e, base, b->proj_b, bd);
        enc_init_uniform(e, base, b->ff1_w, bd), enc_init_uniform(e, base, b->ff1_b, bd);
        enc_init_uniform(e, base, b->ff2_w, bf), enc_init_uniform(e, base, b->ff2_b, bf);
    }
    enc_init_const(e, st->nw, 1.0f);
    enc_init_const(e, st->nb, 0.0f);
    return ECG_OK;
}

/* out = x + drop(branch); branch is clobbered only through dropout's output buffer. */
static void residual(float *out, float *mask, const float *x, const float *branch, size_t nd,
                     encoder *e, enc_mode mode) {
    if (mode == ENC_TRAIN) {
        dropout_forward(out, mask, branch, nd, e->cfg.dropout, &e->rng);
        vec_acc(out, x, nd);
    } else {
        vec_add(out, x, branch, nd);
    }
}

static void tf_fwd(encoder *e, const float *in, int B, enc_mode mode) {
    const struct encoder_config *c = &e->cfg;
    tf_state *st = e->bb;
    const int d = c->d_model, T = e->T, n = B * T, ff = c->ff_dim, nh = c->n_heads;
    const size_t nd = (size_t)n * d;
    const float eps = c->ln_eps;
    float *tmp = e->g[0];
    const float *x = in;
    for (int l = 0; l < c->n_layers; l++) {
        const tf_block *b = &st->blk[l];
        tf_slot *s = &st->slot[l % st->n_slots];
        layernorm_forward(s->h1, s->mu1, s->rs1, x, ENC_P(e, b->n1w), ENC_P(e, b->n1b), n, d, eps);
        linear_forward(s->qkv, s->h1, ENC_P(e, b->qkv_w), ENC_P(e, b->qkv_b), n, d, 3 * d);
        attention_forward(s->a, s->cache, s->qkv, B, T, nh, d / nh, c->rope_base, c->causal);
        linear_forward(tmp, s->a, ENC_P(e, b->proj_w), ENC_P(e, b->proj_b), n, d, d);
        residual(s->x1, s->mask1, x, tmp, nd, e, mode);
        layernorm_forward(s->h2, s->mu2, s->rs2, s->x1, ENC_P(e, b->n2w), ENC_P(e, b->n2b), n, d,
                          eps);
        linear_forward(s->f1, s->h2, ENC_P(e, b->ff1_w), ENC_P(e, b->ff1_b), n, d, ff);
        gelu_forward(s->f1g, s->f1, (size_t)n * ff);
        linear_forward(tmp, s->f1g, ENC_P(e, b->ff2_w), ENC_P(e, b->ff2_b), n, ff, d);
        residual(s->out, s->mask2, s->x1, tmp, nd, e, mode);
        x = s->out;
    }
    layernorm_forward(st->fout, st->fmu, st->frs, x, ENC_P(e, st->nw), ENC_P(e, st->nb), n, d, eps);
    e->tokens = st->fout;
}

static void tf_bwd(encoder *e, const float *in, int B) {
    const struct encoder_config *c = &e->cfg;
    tf_state *st = e->bb;
    const int d = c->d_model, T = e->T, n = B * T, ff = c->ff_dim, nh = c->n_heads;
    const size_t nd = (size_t)n * d;
    const int train = e->mode == ENC_TRAIN;
    float *dx = e->dstem; /* running gradient on the residual stream */
    float *t1 = e->g[1], *t2 = e->g[2];
    const float *last = c->n_layers ? st->slot[c->n_layers - 1].out : in;
    layernorm_backward(dx, ENC_G(e, st->nw), ENC_G(e, st->nb), e->dtok, last, st->fmu, st->frs,
                       ENC_P(e, st->nw), n, d);
    for (int l = c->n_layers - 1; l >= 0; l--) {
        const tf_block *b = &st->blk[l];
        const tf_slot *s = &st->slot[l];
        const float *x = l == 0 ? in : st->slot[l - 1].out;
        /* feed-forward branch: out = x1 + drop(ff2(gelu(ff1(LN2(x1))))) */
        const float *db = dx;
        if (train) dropout_backward(t1, dx, s->mask2, nd), db = t1;
        linear_backward(st->df1, ENC_G(e, b->ff2_w), ENC_G(e, b->ff2_b), db, s->f1g,
                        ENC_P(e, b->ff2_w), n, ff, d);
        gelu_backward(st->df2, st->df1, s->f1, (size_t)n * ff);
        linear_backward(t1, ENC_G(e, b->ff1_w), ENC_G(e, b->ff1_b), st->df2, s->h2,
                        ENC_P(e, b->ff1_w), n, d, ff);
        layernorm_backward(t2, ENC_G(e, b->n2w), ENC_G(e, b->n2b), t1, s->x1, s->mu2, s->rs2,
                           ENC_P(e, b->n2w), n, d);
        vec_acc(dx, t2, nd);
        /* attention branch: x1 = x + drop(proj(attn(qkv(LN1(x))))) */
        db = dx;
        if (train) dropout_backward(t1, dx, s->mask1, nd), db = t1;
        linear_backward(t2, ENC_G(e, b->proj_w), ENC_G(e, b->proj_b), db, s->a, ENC_P(e, b->proj_w),
                        n, d, d);
        attention_backward(st->dqkv, t2, s->qkv, s->cache, B, T, nh, d / nh, c->rope_base,
                           c->causal);
        linear_backward(t1, ENC_G(e, b->qkv_w), ENC_G(e, b->qkv_b), st->dqkv, s->h1,
                        ENC_P(e, b->qkv_w), n, d, 3 * d);
        layernorm_backward(t2, ENC_G(e, b->n1w), ENC_G(e, b->n1b), t1, x, s->mu1, s->rs1,
                           ENC_P(e, b->n1w), n, d);
        vec_acc(dx, t2, nd);
    }
}

static const float *tf_layer_out(const encoder *e, int l) {
    const tf_state *st = e->bb;
    if (!e->train_capable && l < e->cfg.n_layers - st->n_slots) return NULL;
    return st->slot[l % st->n_slots].out;
}

const backbone_ops backbone_transformer_ops = {
    .declare = tf_declare,
    .alloc = tf_alloc,
    .init = tf_init_params,
    .forward = tf_fwd,
    .backward = tf_bwd,
    .layer_out = tf_layer_out,
    .free = tf_free_state,
};

/* backbone_s4.c — the paper's S4 backbone: post-norm blocks
 * y = S4(x) -> GELU -> Linear(d, 2d) -> GLU -> dropout; x = LayerNorm(x + y). */
#include <math.h>
#include <string.h>

#include "core/model/encoder_impl.h"
#include "core/nn/layers.h"
#include "core/nn/s4.h"

typedef struct {
    int s4;           /* view of log_dt; C, log_A_real, A_imag, D follow contiguously */
    int out_w, out_b; /* Linear(d, 2d) */
    int norm_w, norm_b;
} s4_block;

typedef struct {
    float *k;     /* [ch, H, L] */
    const float *kused; /* the kernel the last forward used: k, or the frozen copy */
    float *y;     /* S4 output (pre-GELU) */
    float *cache; /* s4_conv cache */
    float *gb;    /* GELU output */
    float *z;     /* (n, 2d) linear output */
    float *mask;  /* dropout scale (train-capable only) */
    float *r;     /* residual sum (LayerNorm input) */
    float *mu, *rs;
    float *out;
} s4_slot;

typedef struct {
    s4_block *blk;
    s4_slot *slot;
    int n_slots;
    s4_fft *fft;
    float *dz, *dk;
    float *kfrozen; /* [n_layers][ch, H, L]: kernels of a frozen encoder, computed once */
} s4_state;


static int n_kernels(const struct encoder_config *c) {
    return c->causal ? 1 : 2;
}

static ecg_code s4_declare(encoder *e, ecg_err *err) {
    const struct encoder_config *c = &e->cfg;
    s4_state *st = calloc(1, sizeof *st);
    if (!st) return err_set(err, ECG_ENOMEM, "out of memory for the S4 backbone");
    e->bb = st;
    st->blk = calloc((size_t)(c->n_layers ? c->n_layers : 1), sizeof *st->blk);
    if (!st->blk) return err_set(err, ECG_ENOMEM, "out of memory for the S4 backbone");
    const int H = c->d_model, M = c->s4_state / 2, ch = n_kernels(c), tA = c->s4_train_A;
    const int d = H, d2 = 2 * H;
    for (int l = 0; l < c->n_layers; l++) {
        s4_block *b = &st->blk[l];
        int i0, i1, i2, i3, i4;
        if ((i0 = enc_param(e, PG_BACKBONE, 1, 1, &H, err, "backbone.layers.%d.s4.log_dt", l)) <
                0 ||
            (i1 = enc_param(e, PG_BACKBONE, 1, 4, (int[]){ch, H, M, 2}, err,
                            "backbone.layers.%d.s4.C", l)) < 0 ||
            (i2 = enc_param(e, PG_BACKBONE, tA, 2, (int[]){H, M}, err,
                            "backbone.layers.%d.s4.log_A_real", l)) < 0 ||
            (i3 = enc_param(e, PG_BACKBONE, tA, 2, (int[]){H, M}, err,
                            "backbone.layers.%d.s4.A_imag", l)) < 0 ||
            (i4 = enc_param(e, PG_BACKBONE, 1, 1, &H, err, "backbone.layers.%d.s4.D", l)) < 0 ||
            (b->out_w = enc_param(e, PG_BACKBONE, 1, 2, (int[]){d2, d}, err,
                                  "backbone.layers.%d.out.weight", l)) < 0 ||
            (b->out_b =
                 enc_param(e, PG_BACKBONE, 1, 1, &d2, err, "backbone.layers.%d.out.bias", l)) < 0 ||
            (b->norm_w = enc_param(e, PG_BACKBONE, 1, 1, &d, err, "backbone.layers.%d.norm.weight",
                                   l)) < 0 ||
            (b->norm_b =
                 enc_param(e, PG_BACKBONE, 1, 1, &d, err, "backbone.layers.%d.norm.bias", l)) < 0)
            return err ? err->code : ECG_EINVAL;
        b->s4 = i0;
        /* s4_params_view needs the five tensors back to back, in this order */
        const param_view *v = e->ps.views;
        if (v[i4].offset + v[i4].count - v[i0].offset != s4_param_floats(H, c->s4_state, ch))
            return err_set(err, ECG_EINVAL, "S4 parameter layout differs from s4_param_floats");
    }
    return ECG_OK;
}

static ecg_code s4_alloc(encoder *e, ecg_err *err) {
    const struct encoder_config *c = &e->cfg;
    s4_state *st = e->bb;
    const int H = c->d_model, ch = n_kernels(c), L = e->T, B = e->max_batch;
    const size_t n = (size_t)B * L, nd = n * H;
    st->n_slots = e->train_capable ? c->n_layers : (c->n_layers < 2 ? c->n_layers : 2);
    st->slot = calloc((size_t)(st->n_slots ? st->n_slots : 1), sizeof *st->slot);
    if (!st->slot) goto oom;
    for (int i = 0; i < st->n_slots; i++) {
        s4_slot *s = &st->slot[i];
        if (!(s->k = enc_alloc((size_t)ch * H * L)) || !(s->y = enc_alloc(nd)) ||
            !(s->cache = enc_alloc(s4_conv_cache_floats(B, L, H, ch))) ||
            !(s->gb = enc_alloc(nd)) || !(s->z = enc_alloc(2 * nd)) || !(s->r = enc_alloc(nd)) ||
            !(s->mu = enc_alloc(n)) || !(s->rs = enc_alloc(n)) || !(s->out = enc_alloc(nd)))
            goto oom;
        if (e->train_capable && !(s->mask = enc_alloc(nd))) goto oom;
    }
    if (e->train_capable &&
        (!(st->dz = enc_alloc(2 * nd)) || !(st->dk = enc_alloc((size_t)ch * H * L))))
        goto oom;
    if (c->n_layers > 0 && !(st->kfrozen = enc_alloc((size_t)c->n_layers * ch * H * L))) goto oom;
    if (c->n_layers > 0) {
        ecg_code rc = s4_fft_init(&st->fft, L, err);
        if (rc != ECG_OK) return rc;
    }
    return ECG_OK;
oom:
    return err_set(err, ECG_ENOMEM, "out of memory for S4 activations (batch %d, d %d)", B, H);
}

static void s4_free_state(encoder *e) {
    s4_state *st = e->bb;
    if (!st) return;
    for (int i = 0; st->slot && i < st->n_slots; i++) {
        s4_slot *s = &st->slot[i];
        free(s->k), free(s->y), free(s->cache), free(s->gb), free(s->z), free(s->mask);
        free(s->r), free(s->mu), free(s->rs), free(s->out);
    }
    if (st->fft) {
        s4_fft_free(st->fft);
    }
    free(st->slot), free(st->blk), free(st->dz), free(st->dk), free(st->kfrozen), free(st);
    e->bb = NULL;
}

static ecg_code s4_init_params(encoder *e, const rng_state *base, ecg_err *err) {
    const struct encoder_config *c = &e->cfg;
    s4_state *st = e->bb;
    const int H = c->d_model, ch = n_kernels(c);
    for (int l = 0; l < c->n_layers; l++) {
        const s4_block *b = &st->blk[l];
        s4_params p;
        s4_params_view(&p, ENC_P(e, b->s4), H, c->s4_state, ch);
        rng_state r = enc_view_rng(base, b->s4);
        ecg_code rc = s4_init(&p, H, c->s4_state, ch, c->s4_dt_min, c->s4_dt_max, &r, err);
        if (rc != ECG_OK) return rc;
        float bound = 1.0f / sqrtf((float)H);
        enc_init_uniform(e, base, b->out_w, bound);
        enc_init_uniform(e, base, b->out_b, bound);
        enc_init_const(e, b->norm_w, 1.0f);
        enc_init_const(e, b->norm_b, 0.0f);
    }
    return ECG_OK;
}

static void s4_fwd(encoder *e, const float *in, int B, enc_mode mode) {
    const struct encoder_config *c = &e->cfg;
    s4_state *st = e->bb;
    const int H = c->d_model, N = c->s4_state, ch = n_kernels(c), L = e->T, n = B * L;
    const size_t nd = (size_t)n * H;
    const float *x = in;
    /* A frozen encoder's kernels depend on nothing that changes: compute them once. */
    const int reuse = mode == ENC_EVAL && e->frozen;
    for (int l = 0; l < c->n_layers; l++) {
        const s4_block *b = &st->blk[l];
        s4_slot *s = &st->slot[l % st->n_slots];
        s4_params p;
        s4_params_view(&p, ENC_P(e, b->s4), H, N, ch);
        float *k = reuse ? st->kfrozen + (size_t)l * ch * H * L : s->k;
        if (!reuse || !e->derived_valid) s4_kernel_forward(k, &p, H, N, ch, L);
        s->kused = k;
        s4_conv_forward(s->y, s->cache, x, k, p.D, B, L, H, ch, st->fft);
        gelu_forward(s->gb, s->y, nd);
        linear_forward(s->z, s->gb, ENC_P(e, b->out_w), ENC_P(e, b->out_b), n, H, 2 * H);
        if (mode == ENC_TRAIN) {
            glu_forward(e->g[0], s->z, n, H);
            dropout_forward(s->r, s->mask, e->g[0], nd, c->dropout, &e->rng);
        } else {
            glu_forward(s->r, s->z, n, H);
        }
        vec_acc(s->r, x, nd);
        layernorm_forward(s->out, s->mu, s->rs, s->r, ENC_P(e, b->norm_w), ENC_P(e, b->norm_b), n,
                          H, c->ln_eps);
        x = s->out;
    }
    if (reuse) e->derived_valid = 1;
    e->tokens = x;
}

static void s4_bwd(encoder *e, const float *in, int B) {
    const struct encoder_config *c = &e->cfg;
    s4_state *st = e->bb;
    const int H = c->d_model, N = c->s4_state, ch = n_kernels(c), L = e->T, n = B * L;
    const size_t nd = (size_t)n * H;
    float *dxo = e->dtok; /* gradient on the current block's output, then on its input */
    float *dr = e->g[1], *dt = e->g[2], *dy = e->g[3];
    for (int l = c->n_layers - 1; l >= 0; l--) {
        const s4_block *b = &st->blk[l];
        const s4_slot *s = &st->slot[l];
        const float *x = l == 0 ? in : st->slot[l - 1].out;
        s4_params p, g;
        s4_params_view(&p, ENC_P(e, b->s4), H, N, ch);
        s4_params_view(&g, ENC_G(e, b->s4), H, N, ch);
        layernorm_backward(dr, ENC_G(e, b->norm_w), ENC_G(e, b->norm_b), dxo, s->r, s->mu, s->rs,
                           ENC_P(e, b->norm_w), n, H);
        if (e->mode == ENC_TRAIN) {
            dropout_backward(dt, dr, s->mask, nd);
            glu_backward(st->dz, dt, s->z, n, H);
        } else {
            glu_backward(st->dz, dr, s->z, n, H);
        }
        linear_backward(dt, ENC_G(e, b->out_w), ENC_G(e, b->out_b), st->dz, s->gb,
                        ENC_P(e, b->out_w), n, H, 2 * H);
        gelu_backward(dy, dt, s->y, nd);
        memset(st->dk, 0, (size_t)ch * H * L * sizeof *st->dk);
        s4_conv_backward(dt, st->dk, g.D, dy, x, s->cache, s->kused, p.D, B, L, H, ch, st->fft);
        s4_kernel_backward(&g, st->dk, &p, H, N, ch, L, c->s4_train_A);
        vec_add(dxo, dt, dr, nd); /* through the S4 path plus the residual */
    }
    memcpy(e->dstem, dxo, nd * sizeof *dxo);
}

static const float *s4_layer_out(const encoder *e, int l) {
    const s4_state *st = e->bb;
    if (!e->train_capable && l < e->cfg.n_layers - st->n_slots) return NULL;
    return st->slot[l % st->n_slots].out;
}

const backbone_ops backbone_s4_ops = {
    .declare = s4_declare,
    .alloc = s4_alloc,
    .init = s4_init_params,
    .forward = s4_fwd,
    .backward = s4_bwd,
    .layer_out = s4_layer_out,
    .free = s4_free_state,
};

/* encoder_impl.h — what encoder.c shares with the backbone files (backbone_*.c): the encoder's
 * struct, the backbone interface and the small helpers for parameter setup. Not a public header. */
#ifndef ECGFM_CORE_ENCODER_IMPL_H
#define ECGFM_CORE_ENCODER_IMPL_H

#include <stdlib.h>

#include "core/model/encoder.h"

typedef struct backbone_ops backbone_ops;

typedef struct {
    int w, bn_w, bn_b; /* parameter views */
    int rm, rv;        /* buffer views */
} stem_layer;

struct encoder {
    struct encoder_config cfg;
    param_set ps;
    int n_enc_views, n_enc_bviews; /* views 0..n-1 belong to the encoder (the rest to heads) */
    rng_state rng;                 /* dropout */
    uint64_t seed;
    int max_batch, T, train_capable;
    int B;         /* batch of the last forward */
    enc_mode mode; /* mode of the last forward */
    int stage;     /* 0 nothing, 1 stem done, 2 forward done, 3 backbone backward done */
    int64_t bn_batches;
    int frozen;        /* encoder_set_frozen: parameters promised unchanged */
    int derived_valid; /* with frozen: the backbone's parameter-only caches are current */

    /* stem */
    stem_layer *stem;
    float *xcl;                                  /* (B, in_samples, in_channels) */
    float *col, *dcol;                           /* im2col of the first conv */
    float **s_conv, **s_act, **s_mean, **s_rstd; /* per stem slot */
    int n_stem_slots;
    float *xin; /* backbone input (B, T, d), a copy of the last stem activation */

    /* backbone */
    const backbone_ops *ops;
    void *bb;
    const float *tokens; /* set by the backbone forward */
    float *emb;          /* (B, d) */

    /* backward scratch, n = max_batch * T rows */
    float *dtok;  /* (n, d): gradient on the tokens */
    float *dstem; /* (n, d): gradient on the backbone input, written by the backbone backward */
    float *g[4];  /* (n, d) each */
    float *dxcl;  /* (B, in_samples, in_channels) */
};

struct backbone_ops {
    /* Register parameters and buffers (in state_dict order). */
    ecg_code (*declare)(encoder *e, ecg_err *err);
    /* Allocate the backbone state e->bb and its activations for e->max_batch. */
    ecg_code (*alloc)(encoder *e, ecg_err *err);
    ecg_code (*init)(encoder *e, const rng_state *base, ecg_err *err);
    /* in: (B, T, d); sets e->tokens. */
    void (*forward)(encoder *e, const float *in, int B, enc_mode mode);
    /* dout: e->dtok (may be overwritten); writes e->dstem. */
    void (*backward)(encoder *e, const float *in, int B);
    const float *(*layer_out)(const encoder *e, int l);
    void (*free)(encoder *e);
    /* Folds the on/off pattern of the backbone's ReLUs into h (NULL: no ReLUs). */
    uint64_t (*relu_signature)(const encoder *e, uint64_t h);
};

/* A hash of which ReLUs of the last forward were active. The encoder is smooth wherever this does
 * not change, which lets a finite-difference check tell a wrong gradient from a crossed kink. */
uint64_t encoder_relu_signature(const encoder *e);
uint64_t enc_sign_hash(uint64_t h, const float *a, size_t n);

extern const backbone_ops backbone_s4_ops, backbone_transformer_ops, backbone_cnn_ops;

/* Helpers for backbones. */
#define ENC_P(e, i) params_data(&(e)->ps, (i))
#define ENC_G(e, i) params_grad(&(e)->ps, (i))
#define ENC_BUF(e, i) params_buffer(&(e)->ps, (i))

/* Add a parameter named printf(fmt, ...); returns the view index, -1 on error. */
int enc_param(encoder *e, int group, int trainable, int ndim, const int *shape, ecg_err *err,
              const char *fmt, ...) __attribute__((format(printf, 7, 8)));
int enc_buffer(encoder *e, int d0, float fill, ecg_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Weight and bias init as PyTorch's Linear/Conv1d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from a
 * stream forked from base by the view index, so inits do not depend on each other's order. */
void enc_init_uniform(encoder *e, const rng_state *base, int view, float bound);
void enc_init_const(encoder *e, int view, float v);
rng_state enc_view_rng(const rng_state *base, int view);
/* calloc of n floats (n may be 0) with overflow check; NULL on failure. */
float *enc_alloc(size_t n);

#endif

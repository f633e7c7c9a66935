/* finetune_impl.h — the pieces of fine-tuning that task fine-tuning (finetune.c) and ECG dataset
 * fine-tuning (finetune_ecg.c) share: encoder + head context, forward/backward halves, snapshots.
 */
#ifndef ECGFM_CORE_TRANSFER_FINETUNE_IMPL_H
#define ECGFM_CORE_TRANSFER_FINETUNE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/rng.h"
#include "core/model/adamw.h"
#include "core/model/params.h"
#include "core/transfer/finetune.h"

/* An encoder and its head (finetune.h's modes) with per-batch work buffers for max_b windows. */
typedef struct {
    encoder *e;
    ft_mode mode;
    int C, W, T, d, K, max_b;
    param_set head;
    int v_w, v_b, v_q;
    /* per-batch work: inputs, pooled features, attention, logits and their gradients */
    float *xb, *feat, *attn, *pooled, *logits, *dlogits, *dfeat;
    int *yb;
    size_t feat_floats; /* per window: T*d (FROZEN) or d */
    float *mu, *inv_sd; /* [d] frozen-feature standardisation (FROZEN, LINEAR); NULL: none */
} ft_ctx;

/* Head Linear(d -> K) (+ query in FROZEN) initialised as torch.nn.Linear from rng; buffers. */
ecg_code ft_ctx_init(ft_ctx *c, encoder *e, ft_mode mode, int K, int max_b, rng_state *rng,
                     ecg_err *err);
void ft_ctx_free(ft_ctx *c);

/* Encoder features (tokens in FROZEN, embedding otherwise) of the n windows x [n][C*W], eval mode,
 * standardised when c->mu is set, written to out [n][feat_floats]. n <= encoder_max_batch. */
ecg_code ft_features(ft_ctx *c, const float *x, int n, float *out, ecg_err *err);

/* Head forward on the features of n windows -> c->logits (FROZEN: attention weights in c->attn,
 * pooled vectors in c->pooled). Returns the Linear layer's input. */
const float *ft_head_forward(ft_ctx *c, const float *feat, int n);

/* A training step in two halves around the caller's loss. Forward: head gradients zeroed;
 * FINETUNE runs the encoder in train mode on the n windows in c->xb (encoder gradients zeroed),
 * the other modes take the n feature rows in c->feat; then the head -> c->logits. *feat and
 * *lin_in are what the backward needs. Backward: from c->dlogits (the caller's loss gradient)
 * through the head (and the encoder in FINETUNE), then one AdamW step of each optimiser. */
ecg_code ft_train_forward(ft_ctx *c, int n, const float **feat, const float **lin_in, ecg_err *err);
ecg_code ft_train_backward(ft_ctx *c, const float *feat, const float *lin_in, int n, adamw *oh,
                           adamw *oe, float lr, ecg_err *err);

/* AdamW for the head (oh) and, in FINETUNE, the encoder (oe), one weight decay for every group;
 * free with ft_optim_free. */
ecg_code ft_optim_init(ft_ctx *c, float weight_decay, adamw *oh, adamw *oe, ecg_err *err);
void ft_optim_free(ft_ctx *c, adamw *oh, adamw *oe);

/* The weights of the best epoch so far: the head, and in FINETUNE the encoder's parameters,
 * buffers (BatchNorm statistics) and BatchNorm batch count. Restoring unfreezes the encoder in
 * FINETUNE (its parameters changed under a possibly frozen encoder). */
typedef struct {
    float *head, *enc, *buf;
    int64_t bn;
} ft_snapshot;

ecg_code ft_snapshot_init(ft_snapshot *s, const ft_ctx *c, ecg_err *err);
void ft_snapshot_take(ft_snapshot *s, ft_ctx *c);
void ft_snapshot_restore(const ft_snapshot *s, ft_ctx *c);
void ft_snapshot_free(ft_snapshot *s);

#endif

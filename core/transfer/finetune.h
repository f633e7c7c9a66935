/* finetune.h — domain-specific fine-tuning on a classification task (SPEC §3): the encoder plus a
 * head trained on the task's train split (finetune, frozen + attention pooling, linear). */
#ifndef ECGFM_CORE_TRANSFER_FINETUNE_H
#define ECGFM_CORE_TRANSFER_FINETUNE_H

#include <stdint.h>

#include "core/base/error.h"
#include "core/data/task.h"
#include "core/model/encoder.h"
#include "core/transfer/mapping.h"
#include "core/transfer/transfer.h"

/* Modes, as in the paper:
 * FINETUNE: encoder (train mode: batch-statistics BatchNorm, dropout) + Linear(d_model -> classes)
 *   on the mean-pooled embedding, all trained by AdamW with the study's lr factors (stem 0.01,
 *   backbone 0.1, head 1). From a random-init encoder this is the supervised from-scratch
 *   baseline.
 * FROZEN: the encoder is never updated (eval-mode BatchNorm, no encoder gradients): its token
 *   outputs are computed once, and an attention-pooling head is trained on them: a learned query
 *   q (d) scores each token, s_t = q.h_t / sqrt(d), a = softmax_t(s), p = sum_t a_t h_t, then
 *   Linear(d -> classes). q starts at 0 (mean pooling).
 * LINEAR: frozen encoder, mean-pooled embedding (as zero-shot transfer), Linear head.
 * FROZEN and LINEAR standardise the frozen features per channel with the fitting windows'
 * statistics. FROZEN keeps every train window's tokens in memory: T * d floats per window (77 KB
 * with the small config, 614 KB at paper size); test windows are embedded batch by batch. */
typedef enum { FT_FINETUNE = 0, FT_FROZEN = 1, FT_LINEAR = 2 } ft_mode;

const char *ft_mode_name(ft_mode m); /* "finetune", "frozen", "linear" */
ecg_code ft_mode_parse(const char *s, ft_mode *out, ecg_err *err);

typedef struct {
    ft_mode mode;
    map_opts map; /* series -> windows, as zero-shot transfer (map_series) */
    int epochs;   /* at most this many passes over the fitting part of train */
    int batch;    /* windows per step (<= encoder_max_batch in FINETUNE) */
    float lr;     /* base rate (constant); group rate = lr * factor; <= 0: the mode's default */
    float weight_decay;
    int patience;        /* stop after this many epochs without a better validation score */
    double val_fraction; /* stratified share of train series held out for early stopping */
    uint64_t seed;       /* validation split, shuffling, head init, dropout stream */
} ft_opts;

/* Defaults: FINETUNE, map_opts_default, 100 epochs, batch 16, lr 0 (the mode's default:
 * ft_default_lr), weight decay 1e-3 (the paper's AdamW), patience 20, val_fraction 0.2, seed 0. */
void ft_opts_default(ft_opts *o);
/* 1e-2 for every mode (FINETUNE: backbone 1e-3, stem 1e-4; FROZEN and LINEAR heads work on
 * standardised frozen features). Chosen from 1e-3, 3e-3, 1e-2 (and 3e-2 for the heads) by the
 * validation loss on the train splits of GunPoint and ItalyPowerDemand, never on test
 * (docs/results/finetune_bundled.md). */
float ft_default_lr(ft_mode m);

/* Training record. Early stopping: after each epoch the held-out series are scored (probabilities
 * = mean over a series' windows of the window softmax); the criterion is the validation loss
 * (mean -log p(true class)): on validation sets of ten series accuracy moves in steps of 0.1 and
 * an early lucky step stopped training too soon. Candidates are epochs 1..epochs_run (epoch 0,
 * the untrained head, is recorded only). The weights of the best epoch
 * (encoder parameters, BatchNorm statistics and head in FINETUNE; the head otherwise) are restored
 * before testing. */
typedef struct {
    ft_mode mode;
    int n_fit, n_val; /* train series used for fitting / validation */
    int n_fit_windows;
    int epochs_run, best_epoch; /* 1-based; 0 only when no epoch ran */
    double *train_loss;         /* [epochs_run] mean window cross-entropy of the epoch's steps */
    double *val_loss, *val_acc; /* [epochs_run + 1]: index 0 before training */
    transfer_score test;        /* on the test split (classifier = mode name) */
    double seconds;
} ft_result;

/* Train on `train`, score on `test` (test aligned to train's classes). e is changed in FINETUNE
 * (it ends with the best epoch's weights); in FROZEN and LINEAR its parameters and buffers are
 * left bit-identical. FINETUNE needs an encoder created without ENC_INFERENCE_ONLY. e's dropout
 * stream is reseeded from o->seed. Deterministic for a fixed seed and thread count. */
ecg_code finetune_run(encoder *e, const ft_opts *o, const task_split *train, const task_split *test,
                      ft_result *r, ecg_err *err);
void ft_result_free(ft_result *r);

/* ---- The attention-pooling head's pooling, for B windows of T tokens of d:
 * tokens (B, T, d), q (d) -> pooled (B, d); attn (B, T) keeps the weights for backward.
 * Backward accumulates dq, writes dtokens (may be NULL). ---- */
void ft_attnpool_forward(float *pooled, float *attn, const float *tokens, const float *q, int B,
                         int T, int d);
void ft_attnpool_backward(float *dtokens, float *dq, const float *dpooled, const float *tokens,
                          const float *attn, const float *q, int B, int T, int d);

/* Softmax cross-entropy over rows: returns the mean over n rows of -log softmax(z)[y], and writes
 * dz = (softmax - onehot) * scale (dz may be NULL). */
double ft_cross_entropy(float *dz, const float *z, const int *y, int n, int k, float scale);

#endif

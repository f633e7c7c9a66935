/* cpc.h — Contrastive Predictive Coding (SPEC §2): InfoNCE of a linear prediction W c_t against the
 * stem token z_{t+k} and same-sequence negatives; the loss and sampling are exposed for tests. */
#ifndef ECGFM_CORE_CPC_H
#define ECGFM_CORE_CPC_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/ssl/objective.h"

#define CPC_HEAD_NAME "ssl.cpc.proj.weight" /* (d, d), PyTorch Linear layout (out, in), no bias */

/* Negatives for a batch: idx (B, P, K) with P = T - k. Row (b, p) holds K positions of sequence b
 * drawn uniformly WITH replacement from {0, ..., T-1} minus the positive p + k, exactly as the
 * study's CPCLoss: an integer below T - 1, plus one when it is >= p + k. The draws are taken from
 * rng in row-major order (one rng_below(T - 1) per entry). */
void cpc_sample_negatives(int32_t *idx, int B, int T, int k, int K, rng_state *rng);

/* Scratch for cpc_loss, independent of the batch size (work is done one sequence at a time). */
typedef struct {
    int T, d, k, K, P;
    float *pred;            /* (P, d): W c_p */
    float *scores;          /* (P, T): pred . z_t for every token t; becomes dscores in place */
    float *dpred;           /* (P, d) */
    double *gath;           /* (P, K + 1): gathered scores, then their exponentials */
    double *row_loss;       /* (P) */
    unsigned char *row_hit; /* (P) */
} cpc_workspace;

ecg_code cpc_workspace_init(cpc_workspace *ws, int T, int d, int k, int K, ecg_err *err);
void cpc_workspace_free(cpc_workspace *ws);

/* The CPC loss of one batch, without the encoder. c and z are (B, T, d) channels-last context and
 * target tokens, W is (d, d) (out, in), idx (B, T - k, K) from cpc_sample_negatives. For each
 * sequence b and position p < P: candidates (z_{p+k}, z_{idx[b,p,0]}, ..., z_{idx[b,p,K-1]}),
 * scores (W c_p) . candidate (temperature 1), cross-entropy with the positive at index 0;
 * loss = sum over b and p / B. Returns the loss; *hits (may be NULL) receives the number of rows
 * whose positive scores highest (ties count as hits, as torch.argmax picks the first maximum).
 * Gradients: dW (d, d) ACCUMULATES; dc and dz (B, T, d) are WRITTEN (rows p >= P of dc are zero).
 * Each may be NULL. Targets z are not detached: dz carries the gradient through the positives and
 * the negatives. */
double cpc_loss(cpc_workspace *ws, const float *c, const float *z, const float *W,
                const int32_t *idx, int B, float *dW, float *dc, float *dz, long *hits);

/* ssl_step for a CPC objective with the given negatives (idx (B, T - k, K); NULL samples them as
 * ssl_step does: from the objective's stream in training, from a stream forked off it in
 * validation so that validating never moves training). m is cleared first, as ssl_step does. For
 * tests and the PyTorch parity. */
ecg_code cpc_step_with(ssl_objective *o, const float *x, int B, int train, const int32_t *idx,
                       ssl_metrics *m, ecg_err *err);

#endif

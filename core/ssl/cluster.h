/* cluster.h — DinoSR's and HuBERT++'s clustering (SPEC §2): token norms, the online codebook,
 * Sinkhorn-Knopp soft assignments, their losses, and the two objectives' masked steps. */
#ifndef ECGFM_CORE_CLUSTER_H
#define ECGFM_CORE_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/ssl/objective.h"

/* Every function works on flat row-major float arrays and accumulates in double, in a fixed order
 * (the result does not depend on the thread count). Rows are tokens, n = B * T. Functions that
 * return int give 0, or -1 when they could not allocate their scratch memory (nothing written). */

/* ---- Normalisation of teacher tokens ---- */

/* Instance norm as torch.nn.functional.instance_norm on (B, d, T) without affine: for each window
 * and channel, over its T tokens, (x - mean) / sqrt(var + eps), biased variance. x (B, T, d). */
void cluster_instance_norm(float *out, const float *in, int B, int T, int d, float eps);
/* Each row divided by max(||row||_2, eps), as F.normalize(x, dim=-1) (eps 1e-12). */
void cluster_l2_normalize(float *out, const float *in, int n, int d, float eps);

/* ---- DinoSR codebook: K codewords of d, each the running mean code_sum / code_cnt. ---- */

/* Nearest codeword by Euclidean distance for each row (ties: the lowest index). */
int cluster_nearest(int *assign, const float *x, const float *code, int n, int K, int d);
/* The codebook's EMA step (DinoSR, and the study's release): for every codeword k,
 *   sum_k <- m sum_k + (1 - m) sum_{i: assign_i = k} x_i,   cnt_k <- m cnt_k + (1 - m) n_k,
 *   code_k = sum_k / max(cnt_k, 1e-8) (from the sum and count before rounding to float),
 * so a codeword moves toward the mean of the tokens assigned to it (weighted by how many) and an
 * unused one keeps its place (sum and count decay together). */
int cluster_codebook_update(float *code, float *sum, float *cnt, const float *x, const int *assign,
                            int n, int K, int d, float m);
/* Initial codebook: normal rows standardised to zero mean and unit variance over d (the scale of
 * instance-normalised tokens); sum = code, cnt = 1. */
void cluster_codebook_init(float *code, float *sum, float *cnt, int K, int d, rng_state *rng);
/* Number of distinct codewords among assign[0..n). */
int cluster_count_used(const int *assign, int n, int K);

/* ---- HuBERT++ online Sinkhorn-Knopp k-means ---- */

/* Soft assignments Q (n, K) of scores S (n, K) (already divided by the teacher temperature), as
 * the study's release (after CAPI) and SwAV: Q = exp(S - rowmax(S)), then `iters` times
 * { each column /= (its sum + eps); each row /= (its sum + eps) }. Rows end summing to 1 (up to
 * eps), columns approach n / K (the equal-partition constraint over the batch's tokens) as the
 * iterations go on. eps 1e-8. Q may alias S. */
int cluster_sinkhorn(float *Q, const float *S, int n, int K, int iters, float eps);
/* Prototype EMA step: P (K, d) rows unit norm; f (n, d) the L2-normalised teacher tokens, Q their
 * soft assignments: new = normalize(Q^T f); P <- normalize(m P + (1 - m) new). work: K*d floats. */
void cluster_proto_update(float *P, const float *f, const float *Q, int n, int K, int d, float m,
                          float *work);
/* Initial prototypes: normal rows, L2-normalised. */
void cluster_proto_init(float *P, int K, int d, rng_state *rng);

/* ---- Losses over logits (n, K); each writes the loss to *loss and ACCUMULATES its gradient
 * w.r.t. the logits into dlogits (may be NULL: loss only). ---- */

/* Cross-entropy of logits against hard targets, averaged over the n rows; *correct receives the
 * number of rows whose argmax is the target (may be NULL). */
int cluster_ce_loss(const float *logits, const int *target, int n, int K, float *dlogits,
                    int *correct, double *loss);

/* Soft-target KL of the student at temperature tau: p_i = softmax(logits_i / tau),
 *   L = sum_i w_i KL(q_i || p_i) = sum_i w_i sum_k q_ik (log q_ik - log p_ik)   (0 log 0 = 0).
 * The targets q are constants (stop-gradient): dL/dlogits_i = w_i (p_i sum_k q_ik - q_i) / tau. */
int cluster_kl_loss(const float *logits, const float *q, const float *w, int n, int K, float tau,
                    float *dlogits, double *loss);

/* Entropy regulariser on the mean student assignment pbar = (1/n) sum_i softmax(logits_i / tau):
 *   R = sum_k pbar_k log pbar_k = -H(pbar)   (log of max(pbar_k, 1e-30)).
 * Minimising R (weight > 0 in the loss) maximises H(pbar): the batch spreads over all clusters.
 * The gradient is scaled by `scale` (the regulariser's weight) before it is accumulated; *reg
 * receives R unscaled. *entropy receives H(pbar) in nats (may be NULL). */
int cluster_entropy_reg(const float *logits, int n, int K, float tau, float scale, float *dlogits,
                        double *reg, double *entropy);

/* Cosine schedule of the temperatures: start at step 0, end from `steps` on,
 * end + (start - end) * (1 + cos(pi * step / steps)) / 2 in between; steps <= 0: end. */
float cluster_cosine_schedule(float start, float end, long long step, long long steps);

/* ---- The objectives (dinosr.c, hubert.c; their comments give the definitions and choices).
 * Head parameters (group PG_HEAD, torch Linear init): DINOSR_HEAD_W/B; ssl.hubert.head{0,1}.weight
 * (K_j, d) and .bias (K_j); both add SSL_MASK_EMB. Objective state (ssl_state_tensors):
 *   DinoSR:   ssl.dinosr.codebook, ssl.dinosr.code_sum (K, d), ssl.dinosr.code_cnt (K), teacher.*
 *   HuBERT++: ssl.hubert.proto0 (K_0, d), ssl.hubert.proto1 (K_1, d), ssl.hubert.step (1: updates
 *             done, the temperature schedule's clock), teacher.*
 * Metrics: DinoSR codebook_usage (codewords used by the batch's teacher tokens / K), dinosr_acc
 * (masked tokens whose argmax is the target), mask_frac; HuBERT++ per K: cluster_entropy_K
 * (entropy in nats of the batch's mean student assignment, log K at most), cluster_usage_K
 * (prototypes that are some token's top target / K), hubert_acc_K (masked tokens whose student
 * argmax is the target's), then mask_frac and teacher_temp.
 * ssl_after_update: teacher EMA, then the codebook / prototype EMA with the last training step's
 * teacher tokens and assignments; the step's own targets were computed before either moved. */

/* ---- The objectives' steps with the masks given instead of drawn from o->rng (which is then left
 * untouched): parity tests and callers that bring their own masks. mask is (B, T) bytes, 1 =
 * masked. The head names are public so tests can find them. ---- */
#define DINOSR_HEAD_W "ssl.dinosr.head.weight" /* (K, d), PyTorch Linear layout */
#define DINOSR_HEAD_B "ssl.dinosr.head.bias"   /* (K) */
#define SSL_MASK_EMB "ssl.mask_emb"            /* (d): the learned mask vector */
ecg_code dinosr_step_masked(ssl_objective *o, const float *x, int B, int train, const uint8_t *mask,
                            ssl_metrics *m, ecg_err *err);
ecg_code hubert_step_masked(ssl_objective *o, const float *x, int B, int train, const uint8_t *mask,
                            ssl_metrics *m, ecg_err *err);
/* HuBERT++'s temperatures after `updates` optimizer updates (cosine from 0.15 and 0.5, see
 * hubert.c). */
void hubert_temperatures(const ssl_config *c, long long updates, float *teacher, float *student);

#endif

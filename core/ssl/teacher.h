/* teacher.h — what the masked objectives share (SPEC §2): the EMA teacher (a full copy of stem and
 * backbone with BatchNorm statistics), the learned mask vector, layer-normed targets, SmoothL1. */
#ifndef ECGFM_CORE_TEACHER_H
#define ECGFM_CORE_TEACHER_H

#include <stdint.h>

#include "core/base/error.h"
#include "core/model/encoder.h"
#include "core/ssl/objective.h"

/* ---- EMA teacher ----
 * A second encoder of the student's config (and max_batch) whose parameters and BatchNorm running
 * statistics start as an exact copy of the student's encoder part (the student's head parameters,
 * added after the encoder's, are not part of it). It only ever runs eval-mode forwards (running
 * statistics, no dropout) and never gets a gradient.
 * keep_layers: how many of the last backbone layers' outputs must stay readable through
 * encoder_layer_out (data2vec's d2v_top_layers); <= 2 builds an inference-only encoder (half the
 * memory), more a train-capable one. */
typedef struct ssl_teacher ssl_teacher;

ecg_code teacher_create(ssl_teacher **out, encoder *student, int keep_layers, ecg_err *err);
void teacher_free(ssl_teacher *t);
encoder *teacher_encoder(ssl_teacher *t);

/* teacher = m * teacher + (1 - m) * student, elementwise in float ((1 - m) rounded to float once),
 * for every encoder parameter (trainable or not) AND every BatchNorm running_mean / running_var.
 * The student's BN batch counter is copied. */
void teacher_update_ema(ssl_teacher *t, const encoder *student, float m);

/* Exact copy of the student's encoder parameters and buffers into the teacher. */
void teacher_copy_from(ssl_teacher *t, const encoder *student);

/* Eval-mode forward of x (B, in_channels, in_samples), already normalised as the student's input,
 * unmasked. Outputs through encoder_out / encoder_layer_out of teacher_encoder(t). */
ecg_code teacher_forward(ssl_teacher *t, const float *x, int B, ecg_err *err);

/* Objective state for checkpoints: one tensor per teacher parameter and buffer, named
 * "teacher.<state_dict name>" (e.g. teacher.stem.0.bn.running_mean), pointing into the teacher.
 * Returns how many were written (at most max); teacher_state_count says how many there are. */
int teacher_state_count(const ssl_teacher *t);
int teacher_state_tensors(ssl_teacher *t, ssl_state_tensor *out, int max);

/* ---- Learned mask vector ----
 * A head parameter of d floats (named e.g. "ssl.mask_emb" for the stem output, the SPEC's learned
 * mask vector) written into masked rows of a (n, d) token buffer. Initialised uniform in [0, 1)
 * (wav2vec 2.0 / data2vec's mask_emb init; the stem output it stands in for is a ReLU, >= 0).
 * maskvec_add returns the view index in the student's param_set, or -1 with err set. */
int maskvec_add(encoder *student, const char *name, rng_state *rng, ecg_err *err);
/* rows[i] = vec for every i with mask[i] (n rows of d). */
void maskvec_apply(float *rows, const uint8_t *mask, const float *vec, int n, int d);
/* Backward of maskvec_apply on the gradient drows: dvec += sum of drows over masked rows, then the
 * masked rows of drows are zeroed (what was there before apply does not reach the output).
 * Typical use: drows = encoder_backward_backbone(...), then encoder_backward_stem. */
void maskvec_backward(float *dvec, float *drows, const uint8_t *mask, int n, int d);
/* The common case: write ssl.mask_emb into the masked tokens of encoder_stem_out(student). */
void maskvec_apply_stem(encoder *student, int view, const uint8_t *mask);
/* The student on masked input, as the span-masked objectives (DinoSR, HuBERT++) run it: stem
 * (ENC_TRAIN or ENC_EVAL), the mask vector `view` in the masked stem tokens, backbone. */
ecg_code maskvec_student_forward(encoder *student, int view, const float *x, int B, int train,
                                 const uint8_t *mask, ecg_err *err);
/* Its backward from dtok, the gradient at the backbone output (n tokens): backbone, the mask
 * vector's gradient from the masked rows (maskvec_backward), stem. */
ecg_code maskvec_student_backward(encoder *student, int view, float *dtok, const uint8_t *mask,
                                  int n, ecg_err *err);

/* ---- Targets and regression ---- */
/* Per-row layer norm without affine over the d channels of each token (biased variance, eps):
 * out = (in - mean) / sqrt(var + eps). out may alias in. This is LayerNorm(elementwise_affine=
 * False), i.e. an instance norm over channels per token. */
void ssl_layernorm_rows(float *out, const float *in, int n, int d, float eps);
/* data2vec's targets: the mean over the last top_layers backbone layers of the teacher's last
 * forward of ssl_layernorm_rows(layer output) (n = B * T rows of d). ECG_EINVAL when a layer is not
 * readable (top_layers > keep_layers). */
ecg_code teacher_layer_targets(float *out, ssl_teacher *t, int top_layers, ecg_err *err);

/* SmoothL1 (beta 1, torch.nn.functional.smooth_l1_loss's elementwise term) summed over n values:
 * returns sum_i l(a_i - b_i) (in double) with l(x) = x^2 / 2 for |x| < 1, |x| - 1/2 otherwise,
 * and when da is not NULL writes da_i = scale * l'(a_i - b_i) (= scale * clamp(a_i - b_i, -1, 1)).
 */
double ssl_smooth_l1(float *da, const float *a, const float *b, size_t n, float scale);

/* Per-channel standard deviation over n rows, averaged over the d channels (collapse watch:
 * "target_std" / "pred_std"). Rows with mask[i] == 0 are skipped when mask is not NULL. */
double ssl_rows_std(const float *rows, const uint8_t *mask, int n, int d);

/* ---- Masked steps for parity tests and callers that bring their own masks ----
 * The same step as ssl_step for data2vec / JEPA, with the masks given instead of drawn from
 * o->rng (which is then left untouched). mask / target / context are (B, T) bytes. */
ecg_code data2vec_step_masked(ssl_objective *o, const float *x, int B, int train,
                              const uint8_t *mask, ssl_metrics *m, ecg_err *err);
ecg_code jepa_step_masked(ssl_objective *o, const float *x, int B, int train, const uint8_t *target,
                          const uint8_t *context, ssl_metrics *m, ecg_err *err);

#endif

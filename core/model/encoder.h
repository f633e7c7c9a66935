/* encoder.h — the ECG encoder: CNN stem then an S4, Transformer or CNN backbone, forward (train and
 * eval) and backward over preallocated activations, with parameters in one named param_set. */
#ifndef ECGFM_CORE_ENCODER_H
#define ECGFM_CORE_ENCODER_H

#include <stdint.h>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/model/config.h"
#include "core/model/params.h"

/* Shapes: input x is (B, in_channels, in_samples) in PyTorch layout; everything inside is
 * channels-last. The stem gives T = encoder_config_tokens() tokens of d_model; the backbone keeps
 * that shape; the embedding is the mean over tokens, (B, d_model).
 *
 * Tensor names equal the state_dict names of tests/parity/ref_encoder.py:
 *   stem.{i}.conv.weight, stem.{i}.bn.{weight,bias,running_mean,running_var}
 *   S4:          backbone.layers.{l}.s4.{log_dt,C,log_A_real,A_imag,D},
 *                backbone.layers.{l}.out.{weight,bias}, backbone.layers.{l}.norm.{weight,bias}
 *   Transformer: backbone.layers.{l}.{norm1,qkv,proj,norm2,ff1,ff2}.{weight,bias},
 *                backbone.norm.{weight,bias}
 *   CNN:         backbone.layers.{l}.conv{1,2}.weight, backbone.layers.{l}.bn{1,2}.{weight,bias,
 *                running_mean,running_var}
 * The CNN backbone is a simplification of the reference's RegNet-like Net1D (no groups, no
 * squeeze-excitation): residual blocks Conv1d(k, pad k/2, no bias) -> BN -> ReLU -> Conv1d -> BN,
 * + skip, -> ReLU, with no downsampling. */

typedef struct encoder encoder;

typedef enum { ENC_EVAL = 0, ENC_TRAIN = 1 } enc_mode;

/* ENC_INFERENCE_ONLY: keep activations for two layers only (forward only, about half the memory);
 * backward then returns ECG_EINVAL. */
#define ENC_INFERENCE_ONLY 1

/* Builds the parameters (initialised from seed: same seed, same bits), the activations for up to
 * max_batch windows, and the dropout stream (also derived from seed). Creation takes a lock around
 * FFTW planning, which other FFTW users in the process must not run concurrently. One encoder is
 * used by one thread at a time; separate encoders are independent. */
ecg_code encoder_create(encoder **out, const struct encoder_config *cfg, int max_batch,
                        uint64_t seed, int flags, ecg_err *err);
void encoder_free(encoder *e);

/* Re-initialise every encoder parameter and buffer from seed (head parameters are left alone). */
ecg_code encoder_init_weights(encoder *e, uint64_t seed, ecg_err *err);

const struct encoder_config *encoder_get_config(const encoder *e);
param_set *encoder_params(encoder *e); /* encoder and head parameters, one buffer */
rng_state *encoder_rng(encoder *e);    /* the dropout stream, saved in training state */
int encoder_tokens(const encoder *e);  /* T */
int encoder_max_batch(const encoder *e);
/* Train-mode forwards so far: every BatchNorm's num_batches_tracked. */
int64_t encoder_bn_batches(const encoder *e);
void encoder_set_bn_batches(encoder *e, int64_t n);

/* A head parameter (group PG_HEAD, trainable, zero-filled) for a training objective; returns its
 * view index or -1 with err set. Pointers into the param_set move when one is added. */
int encoder_add_head_param(encoder *e, const char *name, int ndim, const int *shape, ecg_err *err);

/* ---- Forward. encoder_forward = forward_stem + forward_backbone. ---- */
ecg_code encoder_forward(encoder *e, const float *x, int B, enc_mode mode, ecg_err *err);
/* Split form for masked objectives: after forward_stem the caller may overwrite the backbone input
 * encoder_stem_out() (B, T, d) (mask tokens) before forward_backbone. */
ecg_code encoder_forward_stem(encoder *e, const float *x, int B, enc_mode mode, ecg_err *err);
ecg_code encoder_forward_backbone(encoder *e, ecg_err *err);

float *encoder_stem_out(encoder *e);              /* (B, T, d): stem output = backbone input */
const float *encoder_out(const encoder *e);       /* (B, T, d): token outputs */
const float *encoder_embedding(const encoder *e); /* (B, d): mean over tokens */
/* Output of backbone layer l (before the Transformer's final LayerNorm); with ENC_INFERENCE_ONLY
 * only the last two layers are kept, and NULL is returned for the others. */
const float *encoder_layer_out(const encoder *e, int l);
int encoder_batch(const encoder *e); /* B of the last forward */

/* ---- Backward of the last forward (its mode decides BatchNorm's path). Parameter gradients
 * accumulate; dtokens (B, T, d) and dembed (B, d) may each be NULL; dx (B, in_channels,
 * in_samples) is written when not NULL. ---- */
ecg_code encoder_backward(encoder *e, const float *dtokens, const float *dembed, float *dx,
                          ecg_err *err);
/* Split form: backward_backbone leaves the gradient of the stem output in the buffer it returns
 * (B, T, d), which the caller may edit (e.g. zero masked tokens); backward_stem then continues
 * from it, adding dstem_extra (may be NULL) first. */
float *encoder_backward_backbone(encoder *e, const float *dtokens, const float *dembed,
                                 ecg_err *err);
ecg_code encoder_backward_stem(encoder *e, const float *dstem_extra, float *dx, ecg_err *err);

void encoder_zero_grad(encoder *e);

/* Freezing is the caller's promise that the parameters stay as they are until it unfreezes: eval
 * forwards then compute what depends on parameters alone (the S4 convolution kernels, SPEC §1) once
 * and reuse it. Inference paths (embedding, transfer, benchmarks) freeze; training never does.
 * A train-mode forward, encoder_init_weights and checkpoint_load unfreeze. */
void encoder_set_frozen(encoder *e, int frozen);
int encoder_frozen(const encoder *e);

#endif

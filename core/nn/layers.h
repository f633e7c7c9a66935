/* layers.h — the basic layers of ecgfm as forward/backward pairs over flat float arrays.
 * Activations are channels-last (rows × channels, rows = batch × time); weights use PyTorch layouts. */
#ifndef ECGFM_CORE_LAYERS_H
#define ECGFM_CORE_LAYERS_H

#include <stddef.h>

#include "core/base/rng.h"

/* Conventions for every backward below:
 *  - gradients of parameters ACCUMULATE (+=) so one buffer can gather a whole step;
 *  - the gradient of the input is WRITTEN (=), and is skipped when the pointer is NULL;
 *  - inputs and caches are what the matching forward saw and wrote. */

/* ---- Linear: out[n,o] = sum_i in[n,i] w[o,i] + b[o]; b may be NULL. ---- */
void linear_forward(float *out, const float *in, const float *w, const float *b, int n, int in_dim,
                    int out_dim);
void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, int n, int in_dim, int out_dim);

/* ---- Conv1d, channels-last: in (B, L, cin), w (cout, cin, K), b (cout) or NULL,
 * out (B, Lout, cout) with Lout = conv1d_out_len(L, K, stride, pad).
 * col is an im2col workspace of conv1d_col_floats() floats; forward fills it and backward reads it
 * (it is unused, and may be NULL, when K == 1, stride == 1 and pad == 0). dcol is a workspace of
 * the same size for the backward pass. ---- */
int conv1d_out_len(int L, int K, int stride, int pad);
size_t conv1d_col_floats(int B, int L, int cin, int K, int stride, int pad);
void conv1d_forward(float *out, float *col, const float *in, const float *w, const float *b, int B,
                    int L, int cin, int cout, int K, int stride, int pad);
void conv1d_backward(float *din, float *dw, float *db, float *dcol, const float *dout,
                     const float *col, const float *in, const float *w, int B, int L, int cin,
                     int cout, int K, int stride, int pad);

/* ---- BatchNorm1d over rows (n = B*T) per channel, as torch.nn.BatchNorm1d.
 * Train mode normalises with the biased batch variance, saves mean and rstd (c floats each) and
 * updates run_mean / run_var (unbiased variance) with momentum (PyTorch's 0.1).
 * Eval mode uses the running statistics. ---- */
void batchnorm_forward_train(float *out, float *mean, float *rstd, const float *in,
                             const float *gamma, const float *beta, float *run_mean,
                             float *run_var, int n, int c, float momentum, float eps);
void batchnorm_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                            const float *run_mean, const float *run_var, int n, int c, float eps);
void batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                        const float *in, const float *mean, const float *rstd, const float *gamma,
                        int n, int c);
void batchnorm_backward_eval(float *din, float *dgamma, float *dbeta, const float *dout,
                             const float *in, const float *gamma, const float *run_mean,
                             const float *run_var, int n, int c, float eps);

/* ---- Elementwise activations over n values; out may alias in for forward. ---- */
void relu_forward(float *out, const float *in, size_t n);
void relu_backward(float *din, const float *dout, const float *in, size_t n);
/* GELU, the exact form x * Phi(x) with erf (torch.nn.GELU(approximate='none')). */
void gelu_forward(float *out, const float *in, size_t n);
void gelu_backward(float *din, const float *dout, const float *in, size_t n);

/* ---- GLU over the last dim: in (n, 2c) -> out (n, c) = in[:, :c] * sigmoid(in[:, c:]). ---- */
void glu_forward(float *out, const float *in, int n, int c);
void glu_backward(float *din, const float *dout, const float *in, int n, int c);

/* ---- LayerNorm over the last dim c with weight w and bias b (both may be NULL = 1, 0).
 * Saves mean and rstd (n floats each). ---- */
void layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *w,
                       const float *b, int n, int c, float eps);
void layernorm_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *mean, const float *rstd, const float *w, int n, int c);

/* ---- Dropout: keeps each value with probability 1 - p and scales it by 1 / (1 - p).
 * mask (n floats) receives the applied scale (0 or 1/(1-p)); with p == 0 it is all ones.
 * The random stream is advanced by exactly n draws whatever p is, so runs stay aligned. ---- */
void dropout_forward(float *out, float *mask, const float *in, size_t n, float p, rng_state *rng);
void dropout_backward(float *din, const float *dout, const float *mask, size_t n);

/* ---- Mean over time: in (B, T, C) -> out (B, C). ---- */
void meanpool_forward(float *out, const float *in, int B, int T, int C);
void meanpool_backward(float *din, const float *dout, int B, int T, int C);

/* ---- Residual helpers used by the blocks. ---- */
void vec_add(float *out, const float *a, const float *b, size_t n); /* out = a + b (may alias) */
void vec_acc(float *out, const float *a, size_t n);                 /* out += a */

#endif

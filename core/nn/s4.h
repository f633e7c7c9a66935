/* s4.h — the S4 layer: a diagonal state space (S4D) initialised from HiPPO-LegS, its convolution
 * kernel, and the long convolution y = K * u + D ⊙ u computed by FFT with 2L padding. */
#ifndef ECGFM_CORE_S4_H
#define ECGFM_CORE_S4_H

#include <stddef.h>

#include "core/base/error.h"
#include "core/base/rng.h"

/* One S4 layer has H channels, state size N (M = N/2 complex-conjugate modes per channel) and
 * ch kernels: ch = 1 is causal, ch = 2 bidirectional with
 *   y[t] = sum_{s<=t} k0[t-s] u[s] + sum_{s>t} k1[s-t-1] u[s] + D u[t].
 * Parameters (PyTorch names in brackets; the order is the order in the parameter buffer):
 *   log_dt     [H]           dt = exp(log_dt)
 *   C          [ch, H, M, 2] complex C as (real, imag); the fixed input vector B is folded in
 *   log_A_real [H, M]        A = -exp(log_A_real) + i * A_imag
 *   A_imag     [H, M]
 *   D          [H]
 * Discretisation is bilinear: dA = (1 + dt A/2) / (1 - dt A/2), dB = dt / (1 - dt A/2), and
 *   k_c[h, l] = 2 Re( sum_m C[c,h,m] dB[h,m] dA[h,m]^l ),  l = 0..L-1. */
typedef struct {
    float *log_dt, *C, *log_A_real, *A_imag, *D;
} s4_params;

size_t s4_param_floats(int H, int N, int ch);
/* Point the five views into a contiguous buffer of s4_param_floats() floats, in the order above. */
void s4_params_view(s4_params *p, float *buf, int H, int N, int ch);

/* S4D-LegS initialisation: A from the eigenvalues of the normal part of HiPPO-LegS (real part
 * -1/2), B from the same diagonalisation folded into C = (randn + i randn)/sqrt(2) * B,
 * log_dt uniform in [log dt_min, log dt_max], D ~ randn. Deterministic given rng. */
ecg_code s4_init(s4_params *p, int H, int N, int ch, float dt_min, float dt_max, rng_state *rng,
                 ecg_err *err);

/* Kernel generation: k is [ch, H, L]. Backward accumulates into g (the gradient views);
 * with train_A == 0 the gradients of log_A_real and A_imag are left untouched. */
void s4_kernel_forward(float *k, const s4_params *p, int H, int N, int ch, int L);
void s4_kernel_backward(s4_params *g, const float *dk, const s4_params *p, int H, int N, int ch,
                        int L, int train_A);

/* FFT plans for one sequence length L (transform size: the smallest 2^a 5^b >= 2L, which gives
 * the same circular convolution as 2L padding; 640 for L = 300). Creating plans is not
 * thread-safe (FFTW); executing them is. One plan per layer shape, made once. Fails for L past
 * what the per-thread stack buffers of the convolution allow (L <= 8192). */
typedef struct s4_fft s4_fft;
ecg_code s4_fft_init(s4_fft **out, int L, ecg_err *err);
void s4_fft_free(s4_fft *f);

/* The convolution y = K * u + D ⊙ u on channels-last u, y of shape (B, L, H); k is [ch, H, L].
 * cache holds s4_conv_cache_floats() floats written by forward and read by backward (the
 * spectra of k and D: backward reads k and D from there, not from its own arguments).
 * Backward writes du (=, may be NULL) and accumulates dk and dD (+=). */
size_t s4_conv_cache_floats(int B, int L, int H, int ch);
void s4_conv_forward(float *y, float *cache, const float *u, const float *k, const float *D, int B,
                     int L, int H, int ch, const s4_fft *f);
void s4_conv_backward(float *du, float *dk, float *dD, const float *dy, const float *u,
                      const float *cache, const float *k, const float *D, int B, int L, int H,
                      int ch, const s4_fft *f);

#endif

/* layers.c — forward/backward pairs for the basic layers (linear, conv1d, batchnorm, activations,
 * layernorm, dropout, pooling), channels-last, matrix products through OpenBLAS. */
#include "core/nn/layers.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Below this many elements a parallel region costs more than it saves. */
#define PAR_MIN ((size_t)1 << 15)
/* Channel chunk for reductions over rows: each chunk is owned by one thread, which walks the rows
 * in order, so every per-channel sum has the same order whatever the thread count. */
#define CHUNK 64

/* Inner loops carry `omp simd`: GCC's -O2 cost model otherwise leaves most of them scalar. Vector
 * lanes run over independent channels or elements, so no per-value summation order changes. */

/* acc[j] += sum over rows of x[i, j], summed in double, rows in order. */
static void colsum_acc(float *acc, const float *x, int n, int c) {
    int nchunks = (c + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if ((size_t)n * c >= PAR_MIN)
    for (int ch = 0; ch < nchunks; ch++) {
        int j0 = ch * CHUNK, m = c - j0 < CHUNK ? c - j0 : CHUNK;
        double s[CHUNK] = {0};
        for (int i = 0; i < n; i++) {
            const float *xr = x + (size_t)i * c + j0;
#pragma omp simd
            for (int j = 0; j < m; j++)
                s[j] += xr[j];
        }
        for (int j = 0; j < m; j++)
            acc[j0 + j] += (float)s[j];
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Linear */

void linear_forward(float *out, const float *in, const float *w, const float *b, int n, int in_dim,
                    int out_dim) {
    if (n <= 0 || out_dim <= 0) return;
    float beta = 0.0f;
    if (b) {
#pragma omp parallel for schedule(static) if ((size_t)n * out_dim >= PAR_MIN)
        for (int i = 0; i < n; i++)
            memcpy(out + (size_t)i * out_dim, b, out_dim * sizeof *out);
        beta = 1.0f;
    }
    if (in_dim <= 0) {
        if (!b) memset(out, 0, (size_t)n * out_dim * sizeof *out);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out_dim, in_dim, 1.0f, in, in_dim, w,
                in_dim, beta, out, out_dim);
}

void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, int n, int in_dim, int out_dim) {
    if (n <= 0 || in_dim <= 0) return;
    if (out_dim <= 0) {
        if (din) memset(din, 0, (size_t)n * in_dim * sizeof *din);
        return;
    }
    if (din) /* din (n, in) = dout (n, out) . w (out, in) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in_dim, out_dim, 1.0f, dout,
                    out_dim, w, in_dim, 0.0f, din, in_dim);
    if (dw) /* dw (out, in) += dout^T . in */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out_dim, in_dim, n, 1.0f, dout,
                    out_dim, in, in_dim, 1.0f, dw, in_dim);
    if (db) colsum_acc(db, dout, n, out_dim);
}

/* ------------------------------------------------------------------------------------------ */
/* Conv1d as im2col + GEMM. A col row is one output position; its columns are ordered (ci, k) so
 * that the PyTorch weight (cout, cin, K) is already the (cout, cin*K) matrix the GEMM needs. */

static int conv1d_direct(int K, int stride, int pad) {
    return K == 1 && stride == 1 && pad == 0;
}

int conv1d_out_len(int L, int K, int stride, int pad) {
    if (L <= 0 || K <= 0 || stride <= 0 || pad < 0 || L + 2 * pad < K) return 0;
    return (L + 2 * pad - K) / stride + 1;
}

size_t conv1d_col_floats(int B, int L, int cin, int K, int stride, int pad) {
    if (conv1d_direct(K, stride, pad)) return 0;
    return (size_t)B * conv1d_out_len(L, K, stride, pad) * cin * K;
}

static void conv1d_im2col(float *col, const float *in, int B, int L, int cin, int K, int stride,
                          int pad, int Lout) {
    size_t rows = (size_t)B * Lout, ck = (size_t)cin * K;
#pragma omp parallel for schedule(static) if (rows * ck >= PAR_MIN)
    for (size_t r = 0; r < rows; r++) {
        int b = (int)(r / Lout), t = (int)(r % Lout);
        float *cr = col + r * ck;
        for (int k = 0; k < K; k++) {
            int l = t * stride - pad + k;
            if (l < 0 || l >= L) {
                for (int ci = 0; ci < cin; ci++)
                    cr[(size_t)ci * K + k] = 0.0f;
            } else {
                const float *ir = in + ((size_t)b * L + l) * cin;
                for (int ci = 0; ci < cin; ci++)
                    cr[(size_t)ci * K + k] = ir[ci];
            }
        }
    }
}

/* din[b, l, ci] = sum over (t, k) with t*stride - pad + k == l of dcol[(b, t), (ci, k)]: a gather
 * per input position, k in order, so each din value is summed by one thread in one order. */
static void conv1d_col2im(float *din, const float *dcol, int B, int L, int cin, int K, int stride,
                          int pad, int Lout) {
    size_t rows = (size_t)B * L, ck = (size_t)cin * K;
#pragma omp parallel for schedule(static) if (rows * cin >= PAR_MIN)
    for (size_t r = 0; r < rows; r++) {
        int b = (int)(r / L), l = (int)(r % L);
        float *dr = din + r * cin;
        for (int ci = 0; ci < cin; ci++)
            dr[ci] = 0.0f;
        for (int k = 0; k < K; k++) {
            int num = l + pad - k;
            if (num < 0 || num % stride) continue;
            int t = num / stride;
            if (t >= Lout) continue;
            const float *cr = dcol + ((size_t)b * Lout + t) * ck + k;
            for (int ci = 0; ci < cin; ci++)
                dr[ci] += cr[(size_t)ci * K];
        }
    }
}

void conv1d_forward(float *out, float *col, const float *in, const float *w, const float *b, int B,
                    int L, int cin, int cout, int K, int stride, int pad) {
    int Lout = conv1d_out_len(L, K, stride, pad);
    if (B <= 0 || Lout <= 0 || cout <= 0) return;
    const float *a = in;
    if (!conv1d_direct(K, stride, pad)) {
        conv1d_im2col(col, in, B, L, cin, K, stride, pad, Lout);
        a = col;
    }
    linear_forward(out, a, w, b, B * Lout, cin * K, cout);
}

void conv1d_backward(float *din, float *dw, float *db, float *dcol, const float *dout,
                     const float *col, const float *in, const float *w, int B, int L, int cin,
                     int cout, int K, int stride, int pad) {
    int Lout = conv1d_out_len(L, K, stride, pad);
    if (B <= 0 || L <= 0 || cin <= 0) return;
    if (Lout <= 0 || cout <= 0) {
        if (din) memset(din, 0, (size_t)B * L * cin * sizeof *din);
        return;
    }
    if (conv1d_direct(K, stride, pad)) {
        linear_backward(din, dw, db, dout, in, w, B * L, cin, cout);
        return;
    }
    linear_backward(din ? dcol : NULL, dw, db, dout, col, w, B * Lout, cin * K, cout);
    if (din) conv1d_col2im(din, dcol, B, L, cin, K, stride, pad, Lout);
}

/* ------------------------------------------------------------------------------------------ */
/* BatchNorm1d */

/* out = (x - mean) * scale + beta per channel, scale = gamma * rstd (rstd given, or
 * 1/sqrt(var + eps) when rstd is NULL), folded per 64-channel chunk once per block of 64 rows.
 * Subtracting the mean first (rather than folding it into a shift) keeps full precision when the
 * mean is large against the spread. out may alias in. */
static void bn_apply(float *out, const float *in, const float *gamma, const float *beta,
                     const float *mean, const float *rstd, const float *var, float eps, int n,
                     int c) {
    if (c <= 0 || n <= 0) return;
    int nblocks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if ((size_t)n * c >= PAR_MIN)
    for (int blk = 0; blk < nblocks; blk++) {
        int i0 = blk * CHUNK, i1 = n - i0 < CHUNK ? n : i0 + CHUNK;
        float scale[CHUNK], shift[CHUNK];
        for (int j0 = 0; j0 < c; j0 += CHUNK) {
            int m = c - j0 < CHUNK ? c - j0 : CHUNK;
            const float *mu = mean + j0;
            for (int j = 0; j < m; j++) {
                double rs = rstd ? rstd[j0 + j] : 1.0 / sqrt((double)var[j0 + j] + (double)eps);
                scale[j] = (float)((gamma ? gamma[j0 + j] : 1.0) * rs);
                shift[j] = beta ? beta[j0 + j] : 0.0f;
            }
            for (int i = i0; i < i1; i++) {
                const float *xr = in + (size_t)i * c + j0;
                float *yr = out + (size_t)i * c + j0;
#pragma omp simd
                for (int j = 0; j < m; j++)
                    yr[j] = (xr[j] - mu[j]) * scale[j] + shift[j];
            }
        }
    }
}

void batchnorm_forward_train(float *out, float *mean, float *rstd, const float *in,
                             const float *gamma, const float *beta, float *run_mean, float *run_var,
                             int n, int c, float momentum, float eps) {
    if (c <= 0) return;
    int nchunks = (c + CHUNK - 1) / CHUNK;
    /* Statistics in one row-wise pass: sums of x - x[0, j] in double (the shift keeps the
     * one-pass variance exact enough even when the mean is large against the spread). */
#pragma omp parallel for schedule(static) if ((size_t)n * c >= PAR_MIN)
    for (int ch = 0; ch < nchunks; ch++) {
        int j0 = ch * CHUNK, m = c - j0 < CHUNK ? c - j0 : CHUNK;
        double k[CHUNK] = {0}, s[CHUNK] = {0}, s2[CHUNK] = {0};
        if (n > 0)
            for (int j = 0; j < m; j++)
                k[j] = in[j0 + j];
        for (int i = 0; i < n; i++) {
            const float *xr = in + (size_t)i * c + j0;
#pragma omp simd
            for (int j = 0; j < m; j++) {
                double d = xr[j] - k[j];
                s[j] += d;
                s2[j] += d * d;
            }
        }
        for (int j = 0; j < m; j++) {
            double mu = n > 0 ? s[j] / n : 0.0;
            double var = n > 0 ? s2[j] / n - mu * mu : 0.0;
            if (var < 0) var = 0;
            mean[j0 + j] = (float)(k[j] + mu);
            rstd[j0 + j] = (float)(1.0 / sqrt(var + (double)eps));
            if (run_mean && run_var) {
                /* torch divides by n - 1 for the running variance; with one row it would be
                 * undefined (torch refuses), so the biased value is used instead. */
                double uvar = n > 1 ? var * n / (n - 1) : var;
                run_mean[j0 + j] =
                    (float)((1.0 - momentum) * run_mean[j0 + j] + (double)momentum * (k[j] + mu));
                run_var[j0 + j] =
                    (float)((1.0 - momentum) * run_var[j0 + j] + (double)momentum * uvar);
            }
        }
    }
    bn_apply(out, in, gamma, beta, mean, rstd, NULL, 0.0f, n, c);
}

void batchnorm_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                            const float *run_mean, const float *run_var, int n, int c, float eps) {
    bn_apply(out, in, gamma, beta, run_mean, NULL, run_var, eps, n, c);
}

void batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                        const float *mean, const float *rstd, const float *gamma, int n, int c) {
    if (c <= 0 || n <= 0) return;
    int nchunks = (c + CHUNK - 1) / CHUNK;
    /* Per chunk: one pass for sum(dy) and sum(dy * xhat), then (if din) one pass writing
     * din = gamma * rstd * (dy - sum(dy)/n - xhat * sum(dy * xhat)/n). */
#pragma omp parallel for schedule(static) if ((size_t)n * c >= PAR_MIN)
    for (int ch = 0; ch < nchunks; ch++) {
        int j0 = ch * CHUNK, m = c - j0 < CHUNK ? c - j0 : CHUNK;
        double sdy[CHUNK] = {0}, sdyx[CHUNK] = {0};
        const float *mu = mean + j0, *rs = rstd + j0;
        for (int i = 0; i < n; i++) {
            const float *xr = in + (size_t)i * c + j0, *gr = dout + (size_t)i * c + j0;
#pragma omp simd
            for (int j = 0; j < m; j++) {
                sdy[j] += gr[j];
                sdyx[j] += (double)gr[j] * (xr[j] - mu[j]);
            }
        }
        float a[CHUNK], bm[CHUNK], cm[CHUNK];
        for (int j = 0; j < m; j++) {
            sdyx[j] *= rs[j]; /* sum(dy * xhat) */
            if (dgamma) dgamma[j0 + j] += (float)sdyx[j];
            if (dbeta) dbeta[j0 + j] += (float)sdy[j];
            double g = (gamma ? gamma[j0 + j] : 1.0) * rs[j];
            a[j] = (float)g;
            bm[j] = (float)(g * sdy[j] / n);
            cm[j] = (float)(g * sdyx[j] / n * rs[j]); /* multiplies (x - mean) */
        }
        if (!din) continue;
        for (int i = 0; i < n; i++) {
            const float *xr = in + (size_t)i * c + j0, *gr = dout + (size_t)i * c + j0;
            float *dr = din + (size_t)i * c + j0;
#pragma omp simd
            for (int j = 0; j < m; j++)
                dr[j] = a[j] * gr[j] - bm[j] - (xr[j] - mu[j]) * cm[j];
        }
    }
}

void batchnorm_backward_eval(float *din, float *dgamma, float *dbeta, const float *dout,
                             const float *in, const float *gamma, const float *run_mean,
                             const float *run_var, int n, int c, float eps) {
    if (c <= 0 || n <= 0) return;
    int nchunks = (c + CHUNK - 1) / CHUNK;
    /* The statistics are constants here: din = dy * gamma * rstd, one fused pass with the
     * parameter sums. */
#pragma omp parallel for schedule(static) if ((size_t)n * c >= PAR_MIN)
    for (int ch = 0; ch < nchunks; ch++) {
        int j0 = ch * CHUNK, m = c - j0 < CHUNK ? c - j0 : CHUNK;
        double sdy[CHUNK] = {0}, sdyx[CHUNK] = {0};
        float rs[CHUNK], g[CHUNK];
        const float *mu = run_mean + j0;
        for (int j = 0; j < m; j++) {
            double r = 1.0 / sqrt((double)run_var[j0 + j] + (double)eps);
            rs[j] = (float)r;
            g[j] = (float)((gamma ? gamma[j0 + j] : 1.0) * r);
        }
        for (int i = 0; i < n; i++) {
            const float *xr = in + (size_t)i * c + j0, *gr = dout + (size_t)i * c + j0;
#pragma omp simd
            for (int j = 0; j < m; j++) {
                sdy[j] += gr[j];
                sdyx[j] += (double)gr[j] * (xr[j] - mu[j]);
            }
            if (din) {
                float *dr = din + (size_t)i * c + j0;
#pragma omp simd
                for (int j = 0; j < m; j++)
                    dr[j] = gr[j] * g[j];
            }
        }
        for (int j = 0; j < m; j++) {
            if (dgamma) dgamma[j0 + j] += (float)(sdyx[j] * rs[j]);
            if (dbeta) dbeta[j0 + j] += (float)sdy[j];
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Elementwise activations */

void relu_forward(float *out, const float *in, size_t n) {
#pragma omp parallel for simd schedule(static) if (parallel : n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void relu_backward(float *din, const float *dout, const float *in, size_t n) {
#pragma omp parallel for simd schedule(static) if (parallel : n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        din[i] = in[i] > 0.0f ? dout[i] : 0.0f;
}

#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

/* exp for the activations: Cephes' expf polynomial on x - n ln2, times 2^n built from bits.
 * libm's expf and erff do not vectorise without -ffast-math, and a libmvec variant would give
 * different bits from the scalar remainder loop, i.e. results that move with the thread count;
 * this is plain IEEE arithmetic, the same bits in vector and scalar code. Relative error about
 * 2e-7; the argument is clamped to [-87, 88] (exp(-87) ~ 1.6e-38 stands in for smaller values). */
static inline float exp_act(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    /* Round to nearest by the 1.5 * 2^23 trick (floorf does not vectorise here). */
    float fx = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - fx * 0.693359375f;
    r = r - fx * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    union {
        int32_t i;
        float f;
    } u = {.i = ((int32_t)fx + 127) << 23};
    return p * u.f;
}

/* The standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2, with erfc from the Chebyshev fit of
 * Numerical Recipes' erfcc (relative error < 1.2e-7 for every argument >= 0). Taking erfc of |x|
 * keeps full relative accuracy in the lower tail, where 1 + erf(x) cancels. */
static inline float normal_cdf(float x) {
    float z = fabsf(x) * INV_SQRT2;
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    float h = 0.5f * t * exp_act(p - z * z); /* Phi(-|x|) */
    return x >= 0.0f ? 1.0f - h : h;
}

void gelu_forward(float *out, const float *in, size_t n) {
#pragma omp parallel for simd schedule(static) if (parallel : n >= PAR_MIN / 4)
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        out[i] = x * normal_cdf(x);
    }
}

void gelu_backward(float *din, const float *dout, const float *in, size_t n) {
#pragma omp parallel for simd schedule(static) if (parallel : n >= PAR_MIN / 4)
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        float pdf = INV_SQRT_2PI * exp_act(-0.5f * x * x);
        din[i] = dout[i] * (normal_cdf(x) + x * pdf);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* GLU */

static inline float sigmoid_act(float x) {
    return 1.0f / (1.0f + exp_act(-x));
}

void glu_forward(float *out, const float *in, int n, int c) {
#pragma omp parallel for schedule(static) if ((size_t)n * c >= PAR_MIN / 4)
    for (int i = 0; i < n; i++) {
        const float *a = in + (size_t)i * 2 * c, *g = a + c;
        float *y = out + (size_t)i * c;
#pragma omp simd
        for (int j = 0; j < c; j++)
            y[j] = a[j] * sigmoid_act(g[j]);
    }
}

void glu_backward(float *din, const float *dout, const float *in, int n, int c) {
#pragma omp parallel for schedule(static) if ((size_t)n * c >= PAR_MIN / 4)
    for (int i = 0; i < n; i++) {
        const float *a = in + (size_t)i * 2 * c, *g = a + c, *dy = dout + (size_t)i * c;
        float *da = din + (size_t)i * 2 * c, *dg = da + c;
#pragma omp simd
        for (int j = 0; j < c; j++) {
            float s = sigmoid_act(g[j]);
            da[j] = dy[j] * s;
            dg[j] = dy[j] * a[j] * s * (1.0f - s);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* LayerNorm */

void layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *w,
                       const float *b, int n, int c, float eps) {
    if (c <= 0) return;
#pragma omp parallel for schedule(static) if ((size_t)n * c >= PAR_MIN)
    for (int i = 0; i < n; i++) {
        const float *x = in + (size_t)i * c;
        float *y = out + (size_t)i * c;
        double s = 0, s2 = 0;
        /* simd reductions reorder the sums, but identically for every row and thread count. */
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < c; j++)
            s += x[j];
        double mu = s / c;
#pragma omp simd reduction(+ : s2)
        for (int j = 0; j < c; j++) {
            double d = x[j] - mu;
            s2 += d * d;
        }
        float m = (float)mu, r = (float)(1.0 / sqrt(s2 / c + (double)eps));
        mean[i] = m;
        rstd[i] = r;
        if (w && b) {
#pragma omp simd
            for (int j = 0; j < c; j++)
                y[j] = (x[j] - m) * r * w[j] + b[j];
        } else {
            for (int j = 0; j < c; j++) {
                float h = (x[j] - m) * r;
                y[j] = (w ? h * w[j] : h) + (b ? b[j] : 0.0f);
            }
        }
    }
}

void layernorm_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *mean, const float *rstd, const float *w, int n, int c) {
    if (c <= 0 || n <= 0) return;
    if (din) {
        /* din = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w, per row. */
#pragma omp parallel for schedule(static) if ((size_t)n * c >= PAR_MIN)
        for (int i = 0; i < n; i++) {
            const float *x = in + (size_t)i * c, *dy = dout + (size_t)i * c;
            float *dx = din + (size_t)i * c;
            float m = mean[i], r = rstd[i];
            double sg = 0, sgx = 0;
            if (w) {
#pragma omp simd reduction(+ : sg, sgx)
                for (int j = 0; j < c; j++) {
                    float g = dy[j] * w[j];
                    sg += g;
                    sgx += (double)g * ((x[j] - m) * r);
                }
            } else {
#pragma omp simd reduction(+ : sg, sgx)
                for (int j = 0; j < c; j++) {
                    sg += dy[j];
                    sgx += (double)dy[j] * ((x[j] - m) * r);
                }
            }
            float mg = (float)(sg / c), mgx = (float)(sgx / c);
            if (w) {
#pragma omp simd
                for (int j = 0; j < c; j++)
                    dx[j] = r * (dy[j] * w[j] - mg - (x[j] - m) * r * mgx);
            } else {
#pragma omp simd
                for (int j = 0; j < c; j++)
                    dx[j] = r * (dy[j] - mg - (x[j] - m) * r * mgx);
            }
        }
    }
    if (!dw && !db) return;
    /* Parameter sums over rows, a chunk of channels per thread, rows in order. */
    int nchunks = (c + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if ((size_t)n * c >= PAR_MIN)
    for (int ch = 0; ch < nchunks; ch++) {
        int j0 = ch * CHUNK, m = c - j0 < CHUNK ? c - j0 : CHUNK;
        double sdy[CHUNK] = {0}, sdyx[CHUNK] = {0};
        for (int i = 0; i < n; i++) {
            const float *x = in + (size_t)i * c + j0, *dy = dout + (size_t)i * c + j0;
            float mu = mean[i], r = rstd[i];
#pragma omp simd
            for (int j = 0; j < m; j++) {
                sdy[j] += dy[j];
                sdyx[j] += (double)dy[j] * ((x[j] - mu) * r);
            }
        }
        for (int j = 0; j < m; j++) {
            if (dw) dw[j0 + j] += (float)sdyx[j];
            if (db) db[j0 + j] += (float)sdy[j];
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Dropout: sequential, because the contract is one draw per element from one stream. */

void dropout_forward(float *out, float *mask, const float *in, size_t n, float p, rng_state *rng) {
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    for (size_t i = 0; i < n; i++) {
        float u = rng_uniform(rng);
        float m = p <= 0.0f ? 1.0f : (u >= p ? scale : 0.0f);
        mask[i] = m;
        out[i] = in[i] * m;
    }
}

void dropout_backward(float *din, const float *dout, const float *mask, size_t n) {
#pragma omp parallel for simd schedule(static) if (parallel : n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        din[i] = dout[i] * mask[i];
}

/* ------------------------------------------------------------------------------------------ */
/* Mean over time */

void meanpool_forward(float *out, const float *in, int B, int T, int C) {
    if (C <= 0) return;
#pragma omp parallel for schedule(static) if ((size_t)B * T * C >= PAR_MIN)
    for (int b = 0; b < B; b++) {
        float *y = out + (size_t)b * C;
        for (int j0 = 0; j0 < C; j0 += CHUNK) {
            int m = C - j0 < CHUNK ? C - j0 : CHUNK;
            double s[CHUNK] = {0};
            for (int t = 0; t < T; t++) {
                const float *xr = in + ((size_t)b * T + t) * C + j0;
#pragma omp simd
                for (int j = 0; j < m; j++)
                    s[j] += xr[j];
            }
            for (int j = 0; j < m; j++)
                y[j0 + j] = T > 0 ? (float)(s[j] / T) : 0.0f;
        }
    }
}

void meanpool_backward(float *din, const float *dout, int B, int T, int C) {
    if (T <= 0 || C <= 0) return;
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)B * T * C >= PAR_MIN)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *g = dout + (size_t)b * C;
            float *dx = din + ((size_t)b * T + t) * C;
#pragma omp simd
            for (int j = 0; j < C; j++)
                dx[j] = g[j] / (float)T;
        }
}

/* ------------------------------------------------------------------------------------------ */
/* Residual helpers */

void vec_add(float *out, const float *a, const float *b, size_t n) {
#pragma omp parallel for simd schedule(static) if (parallel : n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void vec_acc(float *out, const float *a, size_t n) {
#pragma omp parallel for simd schedule(static) if (parallel : n >= PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] += a[i];
}

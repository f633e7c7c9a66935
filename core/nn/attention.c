/* attention.c — multi-head self-attention with RoPE between the projections, forward, backward.
 * Work is split over (batch, head) pairs; scores are handled in tiles so causal skips the masked
 * half, backward needs no heap, and every sgemm stays on the calling thread. */
#include "core/nn/attention.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Cache layout, all float:
 *   rope   T * hd      cos[t][i] then sin[t][i], i < hd/2 (filled even without RoPE, unused then)
 *   qr     B*nh*T*hd   rotated q per (b, head), rows contiguous (a copy when RoPE is off)
 *   kr     B*nh*T*hd   rotated k, same layout
 *   p      B*nh*T*T    softmax probabilities, exact zeros above the diagonal when causal
 * RoPE needs hd even (pairs (i, i + hd/2)); the caller's config check owns that. */

/* Query rows per block: few enough that causal wastes little above the diagonal. */
#define ATT_ROWS 32
/* The backward keeps one block of score gradients on the stack: at most this many floats (64 KiB),
 * or one row of T floats when T exceeds it. */
#define ATT_STACK_FLOATS 16384
/* Below this many score multiply-adds (pairs * T * T * hd) one thread does the call: forking costs
 * more than it saves, and far more when the cores are busy with other work. */
#define ATT_PARALLEL_MIN (1L << 20)
/* OpenBLAS (pthread build) spreads an sgemm over its own threads once m*n*k exceeds
 * 65536 * GEMM_MULTITHREAD_THRESHOLD. Inside our (b, head) loop that oversubscribes the cores
 * (2.2 s instead of 0.47 s for B=32, T=300, 8 heads of 64 on 2 cores), so key columns are cut into
 * chunks that keep every product below it, whatever openblas_set_num_threads said. */
#ifdef OPENBLAS_GEMM_MULTITHREAD_THRESHOLD
#define ATT_SERIAL_MNK (65536L * OPENBLAS_GEMM_MULTITHREAD_THRESHOLD)
#else
#define ATT_SERIAL_MNK (65536L * 4)
#endif

size_t attention_cache_floats(int B, int T, int nh, int hd) {
    size_t pairs = (size_t)B * nh, t = (size_t)T;
    return t * hd + 2 * pairs * t * hd + pairs * t * t;
}

static int att_parallel(int pairs, int T, int hd) {
    return pairs > 1 && (double)pairs * T * T * hd >= (double)ATT_PARALLEL_MIN;
}

/* Tile sizes: R query rows by C key columns, so R * C * hd <= ATT_SERIAL_MNK (unless hd alone is
 * past it) and R * T <= ATT_STACK_FLOATS (unless T alone is past it). */
static void att_tiles(int T, int hd, int *R, int *C) {
    long r = ATT_ROWS;
    if (r > ATT_STACK_FLOATS / T) r = ATT_STACK_FLOATS / T;
    if (r > ATT_SERIAL_MNK / hd) r = ATT_SERIAL_MNK / hd;
    if (r < 1) r = 1;
    long c = ATT_SERIAL_MNK / (r * hd);
    if (c > T) c = T;
    *R = (int)r;
    *C = c < 1 ? 1 : (int)c;
}

/* Row-major sgemm: C = alpha op(A) op(B) + beta C. */
static void mm(int ta, int tb, int m, int n, int k, float alpha, const float *a, size_t lda,
               const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
                k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* cos/sin of t * base^(-2i/hd), computed in double once per call and rounded to float. */
static void rope_fill_tables(float *tab, int T, int hd, float rope_base) {
    int h2 = hd / 2;
    float *c = tab, *s = tab + (size_t)T * h2;
    for (int i = 0; i < h2; i++) {
        double theta = pow((double)rope_base, -2.0 * i / hd);
        for (int t = 0; t < T; t++) {
            double a = t * theta;
            c[(size_t)t * h2 + i] = (float)cos(a);
            s[(size_t)t * h2 + i] = (float)sin(a);
        }
    }
}

/* One row: y = rotate(x) (y may not alias x). */
static void rope_row(float *restrict y, const float *restrict x, const float *restrict c,
                     const float *restrict s, int h2) {
    for (int i = 0; i < h2; i++) {
        y[i] = x[i] * c[i] - x[i + h2] * s[i];
        y[i + h2] = x[i + h2] * c[i] + x[i] * s[i];
    }
}

/* dst (T, hd) contiguous = rotate(src rows of stride ld); plain copy when tab is NULL. */
static void rope_rotate(float *dst, const float *src, size_t ld, int T, int hd, const float *tab) {
    int h2 = hd / 2;
    for (int t = 0; t < T; t++) {
        if (tab)
            rope_row(dst + (size_t)t * hd, src + (size_t)t * ld, tab + (size_t)t * h2,
                     tab + (size_t)(T + t) * h2, h2);
        else
            memcpy(dst + (size_t)t * hd, src + (size_t)t * ld, (size_t)hd * sizeof *dst);
    }
}

/* In place on rows of stride ld: the transpose of rope_rotate, taking gradients of rotated values
 * back to gradients of the inputs. */
static void rope_unrotate(float *g, size_t ld, int T, int hd, const float *tab) {
    int h2 = hd / 2;
    for (int t = 0; t < T; t++) {
        float *restrict y = g + (size_t)t * ld;
        const float *restrict c = tab + (size_t)t * h2, *restrict s = tab + (size_t)(T + t) * h2;
        for (int i = 0; i < h2; i++) {
            float a = y[i], b = y[i + h2];
            y[i] = a * c[i] + b * s[i];
            y[i + h2] = b * c[i] - a * s[i];
        }
    }
}

/* exp(x) for x <= 0 in plain float arithmetic, so the softmax loop vectorises (libm's expf is a
 * scalar call): Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, Cephes' degree-6 polynomial,
 * about 1 ulp. Inputs below -87 give exp(-87) ~ 1.6e-38, not 0: no subnormals, and nothing a
 * probability summed with a 1 can see. */
static inline float exp_nonpos(float x) {
    x = x < -87.0f ? -87.0f : x;
    /* round(x / ln2) by the 1.5 * 2^23 trick; exact without -ffast-math */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* Softmax of row[0, n) in place, stable (max subtracted), zeros in row[n, width). The simd
 * reductions have an order fixed at compile time, so results stay the same run to run. */
static void softmax_row(float *restrict row, int n, int width) {
    float mx = row[0], sum = 0;
#pragma omp simd reduction(max : mx)
    for (int s = 1; s < n; s++)
        mx = row[s] > mx ? row[s] : mx;
#pragma omp simd reduction(+ : sum)
    for (int s = 0; s < n; s++) {
        row[s] = exp_nonpos(row[s] - mx);
        sum += row[s];
    }
    float inv = 1.0f / sum;
#pragma omp simd
    for (int s = 0; s < n; s++)
        row[s] *= inv;
    if (width > n) memset(row + n, 0, (size_t)(width - n) * sizeof *row);
}

/* Softmax backward of one row: d[s] = p[s] (d[s] - sum_s p d) * scale for s < n, zero up to w. */
static void softmax_row_backward(float *restrict d, const float *restrict p, int n, int w,
                                 float scale) {
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int s = 0; s < n; s++)
        dot += p[s] * d[s];
#pragma omp simd
    for (int s = 0; s < n; s++)
        d[s] = p[s] * (d[s] - dot) * scale;
    if (w > n) memset(d + n, 0, (size_t)(w - n) * sizeof *d);
}

void attention_forward(float *out, float *cache, const float *qkv, int B, int T, int nh, int hd,
                       float rope_base, int causal) {
    if (B <= 0 || T <= 0 || nh <= 0 || hd <= 0) return;
    const int D = nh * hd, pairs = B * nh, par = att_parallel(pairs, T, hd);
    const size_t ld = 3 * (size_t)D, th = (size_t)T * hd, tt = (size_t)T * T;
    const float scale = 1.0f / sqrtf((float)hd);
    int R, C;
    att_tiles(T, hd, &R, &C);
    float *tab = cache, *qr = cache + th, *kr = qr + (size_t)pairs * th;
    float *pr = kr + (size_t)pairs * th;
    const float *rope = rope_base > 0 ? tab : NULL;
    if (rope) rope_fill_tables(tab, T, hd, rope_base);

#pragma omp parallel for schedule(static) if (par)
    for (int pi = 0; pi < pairs; pi++) {
        /* One (b, head) per iteration: every output is written by one thread in a fixed order. */
        int b = pi / nh, h = pi % nh;
        const float *xq = qkv + (size_t)b * T * ld + (size_t)h * hd;
        const float *xv = xq + 2 * (size_t)D;
        float *q = qr + pi * th, *k = kr + pi * th, *p = pr + pi * tt;
        float *o = out + (size_t)b * T * D + (size_t)h * hd;
        rope_rotate(q, xq, ld, T, hd, rope);
        rope_rotate(k, xq + D, ld, T, hd, rope);
        for (int r0 = 0; r0 < T; r0 += R) {
            int m = T - r0 < R ? T - r0 : R;
            int n = causal ? r0 + m : T; /* keys this block can see */
            float *pb = p + (size_t)r0 * T;
            for (int c0 = 0; c0 < n; c0 += C)
                mm(0, 1, m, n - c0 < C ? n - c0 : C, hd, scale, q + (size_t)r0 * hd, hd,
                   k + (size_t)c0 * hd, hd, 0.0f, pb + c0, T);
            for (int i = 0; i < m; i++)
                softmax_row(pb + (size_t)i * T, causal ? r0 + i + 1 : T, T);
            for (int c0 = 0; c0 < n; c0 += C)
                mm(0, 0, m, hd, n - c0 < C ? n - c0 : C, 1.0f, pb + c0, T, xv + c0 * ld, ld,
                   c0 ? 1.0f : 0.0f, o + (size_t)r0 * D, D);
        }
    }
}

void attention_backward(float *dqkv, const float *dout, const float *qkv, const float *cache, int B,
                        int T, int nh, int hd, float rope_base, int causal) {
    if (B <= 0 || T <= 0 || nh <= 0 || hd <= 0) return;
    const int D = nh * hd, pairs = B * nh, par = att_parallel(pairs, T, hd);
    const size_t ld = 3 * (size_t)D, th = (size_t)T * hd, tt = (size_t)T * T;
    const float scale = 1.0f / sqrtf((float)hd);
    int R, C;
    att_tiles(T, hd, &R, &C);
    const float *tab = cache, *qr = cache + th, *kr = qr + (size_t)pairs * th;
    const float *pr = kr + (size_t)pairs * th;

#pragma omp parallel for schedule(static) if (par)
    for (int pi = 0; pi < pairs; pi++) {
        int b = pi / nh, h = pi % nh;
        const float *xv = qkv + (size_t)b * T * ld + 2 * (size_t)D + (size_t)h * hd;
        const float *q = qr + pi * th, *k = kr + pi * th, *p = pr + pi * tt;
        const float *go = dout + (size_t)b * T * D + (size_t)h * hd;
        float *dq = dqkv + (size_t)b * T * ld + (size_t)h * hd;
        float *dk = dq + D, *dv = dq + 2 * (size_t)D;
        float ds[(size_t)R * T]; /* bounded by ATT_STACK_FLOATS, or T when R == 1 */

        /* dk and dv gather contributions from every row block, in block order. */
        for (int t = 0; t < T; t++) {
            memset(dk + (size_t)t * ld, 0, (size_t)hd * sizeof *dk);
            memset(dv + (size_t)t * ld, 0, (size_t)hd * sizeof *dv);
        }
        for (int r0 = 0; r0 < T; r0 += R) {
            int m = T - r0 < R ? T - r0 : R;
            int n = causal ? r0 + m : T;
            const float *pb = p + (size_t)r0 * T, *gob = go + (size_t)r0 * D;
            /* dP = dO V^T, then dS = P * (dP - rowsum(P * dP)) * scale. */
            for (int c0 = 0; c0 < n; c0 += C)
                mm(0, 1, m, n - c0 < C ? n - c0 : C, hd, 1.0f, gob, D, xv + c0 * ld, ld, 0.0f,
                   ds + c0, n);
            for (int i = 0; i < m; i++)
                softmax_row_backward(ds + (size_t)i * n, pb + (size_t)i * T,
                                     causal ? r0 + i + 1 : T, n, scale);
            /* dq = dS K; dk += dS^T Q; dv += P^T dO. */
            for (int c0 = 0; c0 < n; c0 += C) {
                int nc = n - c0 < C ? n - c0 : C;
                mm(0, 0, m, hd, nc, 1.0f, ds + c0, n, k + (size_t)c0 * hd, hd, c0 ? 1.0f : 0.0f,
                   dq + (size_t)r0 * ld, ld);
                mm(1, 0, nc, hd, m, 1.0f, ds + c0, n, q + (size_t)r0 * hd, hd, 1.0f, dk + c0 * ld,
                   ld);
                mm(1, 0, nc, hd, m, 1.0f, pb + c0, T, gob, D, 1.0f, dv + c0 * ld, ld);
            }
        }
        if (rope_base > 0) {
            rope_unrotate(dq, ld, T, hd, tab);
            rope_unrotate(dk, ld, T, hd, tab);
        }
    }
}

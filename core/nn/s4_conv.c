/* s4_conv.c — the S4 long convolution y = K * u + D ⊙ u by FFT with zero padding, and its backward.
 * Two batch rows share one complex FFT (u[b] + i u[b+1]): the kernel is real, both ride along. */
#include "core/nn/s4.h"

#include <fftw3.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

/* Why these choices (timings at B = 32, L = 300, H = 512 on one core of the build machine):
 * - Transform size n: the smallest 2^a 5^b >= 2L (a >= 1). Any n >= 2L gives the same circular
 *   convolution as 2L padding (the bidirectional kernel's negative lags sit at the end,
 *   kk[n-1-i] = k1[i]); FFTW_ESTIMATE's complex plan for n = 640 runs ~0.7 us, for 600 ~1.1-1.6.
 *   All plans are out of place: FFTW's in-place n = 640 copies through a malloc'd buffer.
 * - D u is the convolution with D at lag 0, so D is folded into the kernel spectrum: one pass,
 *   and dD comes out of the backward as the lag-0 entry of dkk.
 * - Packing two real rows into one complex transform halves the number of transforms. The
 *   backward separates the two spectra where it needs them (dk) and packs two channels' dk into
 *   one inverse transform.
 * - Memory: the (B, L, H) arrays are walked one batch pair at a time in tiles of up to 64 adjacent
 *   channels, gathered into a compact tile (lane j: L complex values) with software prefetch. Rows
 *   are H floats apart, so narrower tiles lose the hardware prefetchers: a full gather + scatter
 *   costs ~6.5 ms at 64 channels, ~12 at 32 and ~18 at 16. The backward accumulates dk in the time
 *   domain pair after pair, so each dk entry is summed in batch order whatever the thread count.
 * - Work buffers live on the stack (forward and backward cannot fail and are re-entrant): the
 *   tile width is the largest power of two <= 64 whose buffers fit S4_STACK_BYTES per thread
 *   (forward 165 KiB, backward 330 KiB at L = 300); s4_fft_init refuses an L whose one-channel
 *   buffers would exceed S4_STACK_MAX.
 * The cache holds kf, H * (n/2+1) complex floats: the half spectrum of each channel's combined
 * kernel plus D, divided by n. */
#define S4_TILE_MAX 64
#define S4_STACK_BYTES (384 * 1024)
#define S4_STACK_MAX (1024 * 1024)
#define S4_FWD_SCRATCH 3 /* n-point scratch buffers per thread */
#define S4_BWD_SCRATCH 6
/* Rows ahead to prefetch in the strided row walks. */
#define S4_PREFETCH 8

struct s4_fft {
    int L, n;
    int tw_fwd, tw_bwd; /* channel tile widths */
    fftwf_plan fwd, inv, r2c;
};

static int s4_fft_size(int L) {
    long best = -1;
    for (long p2 = 2; p2 < 4L * L + 4; p2 *= 2)
        for (long v = p2; v < 4L * L + 4; v *= 5)
            if (v >= 2L * L && (best < 0 || v < best)) best = v;
    return (int)best;
}

/* Floats between the starts of two n-point complex scratch buffers: a multiple of 16, so that every
 * buffer handed to FFTW is 64-byte aligned like the arrays the plans were made on. */
static size_t s4_scratch_stride(int n) {
    return ((size_t)2 * n + 15) & ~(size_t)15;
}

/* Floats of the per-thread stack buffer: `tiles` compact tiles of tw lanes, plus scratch. */
static size_t s4_stack_floats(int tiles, int tw, int L, int n, int scratch) {
    return (size_t)tiles * tw * 2 * L + scratch * s4_scratch_stride(n) + 16;
}

static int s4_tile_width(int tiles, int L, int n, int scratch) {
    int tw = S4_TILE_MAX;
    while (tw > 1 && s4_stack_floats(tiles, tw, L, n, scratch) * sizeof(float) > S4_STACK_BYTES)
        tw /= 2;
    return tw;
}

/* FFTW's planner (plan creation and destruction) is not thread-safe; every plan in ecgfm is made
 * here, so this one lock covers encoders, JEPA's predictor and anything else built on threads. */
static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER;

ecg_code s4_fft_init(s4_fft **out, int L, ecg_err *err) {
    *out = NULL;
    if (L < 1 || L > (1 << 20)) return err_set(err, ECG_EINVAL, "s4_fft_init: bad length %d", L);
    int n = s4_fft_size(L);
    size_t need = s4_stack_floats(2, 1, L, n, S4_BWD_SCRATCH) * sizeof(float);
    if (need > S4_STACK_MAX)
        return err_set(err, ECG_EINVAL,
                       "s4_fft_init: L = %d needs %zu stack bytes per thread; the limit is %d", L,
                       need, S4_STACK_MAX);
    s4_fft *f = calloc(1, sizeof *f);
    fftwf_complex *a = fftwf_malloc(sizeof(fftwf_complex) * (size_t)n);
    fftwf_complex *b = fftwf_malloc(sizeof(fftwf_complex) * (size_t)n);
    if (!f || !a || !b) {
        free(f);
        fftwf_free(a);
        fftwf_free(b);
        return err_set(err, ECG_ENOMEM, "s4_fft_init: no memory");
    }
    f->L = L;
    f->n = n;
    f->tw_fwd = s4_tile_width(1, L, n, S4_FWD_SCRATCH);
    f->tw_bwd = s4_tile_width(2, L, n, S4_BWD_SCRATCH);
    /* Planned on fftwf_malloc'd arrays; every execution uses 64-byte aligned buffers, so the
     * alignment FFTW requires for the new-array execute functions matches. */
    pthread_mutex_lock(&plan_lock);
    f->fwd = fftwf_plan_dft_1d(n, a, b, FFTW_FORWARD, FFTW_ESTIMATE);
    f->inv = fftwf_plan_dft_1d(n, a, b, FFTW_BACKWARD, FFTW_ESTIMATE);
    f->r2c = fftwf_plan_dft_r2c_1d(n, (float *)a, b, FFTW_ESTIMATE);
    pthread_mutex_unlock(&plan_lock);
    fftwf_free(a);
    fftwf_free(b);
    if (!f->fwd || !f->inv || !f->r2c) {
        s4_fft_free(f);
        return err_set(err, ECG_ENOMEM, "s4_fft_init: FFTW could not plan n = %d", n);
    }
    *out = f;
    return ECG_OK;
}

void s4_fft_free(s4_fft *f) {
    if (!f) return;
    pthread_mutex_lock(&plan_lock);
    if (f->fwd) fftwf_destroy_plan(f->fwd);
    if (f->inv) fftwf_destroy_plan(f->inv);
    if (f->r2c) fftwf_destroy_plan(f->r2c);
    pthread_mutex_unlock(&plan_lock);
    free(f);
}

size_t s4_conv_cache_floats(int B, int L, int H, int ch) {
    (void)B;
    (void)ch;
    return (size_t)H * (size_t)(s4_fft_size(L) / 2 + 1) * 2;
}

static float *s4_align64(float *p) {
    return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

static void s4_fwd(const s4_fft *f, float *in, float *out) {
    fftwf_execute_dft(f->fwd, (fftwf_complex *)in, (fftwf_complex *)out);
}

static void s4_inv(const s4_fft *f, float *in, float *out) {
    fftwf_execute_dft(f->inv, (fftwf_complex *)in, (fftwf_complex *)out);
}

/* kf (n/2+1 complex) = (FFT of channel h's combined kernel + D[h]) / n, bins 0..n/2. kk (n floats)
 * and spec (n/2+1 complex) are aligned scratch. */
static void s4_kernel_spectrum(float *kf, float *kk, float *spec, const float *k, const float *D,
                               int h, int H, int L, int ch, const s4_fft *f) {
    int n = f->n;
    memset(kk, 0, (size_t)n * sizeof *kk);
    memcpy(kk, k + (size_t)h * L, (size_t)L * sizeof *kk);
    if (ch == 2) {
        const float *k1 = k + ((size_t)H + h) * L;
        for (int i = 0; i < L; i++)
            kk[n - 1 - i] = k1[i];
    }
    fftwf_execute_dft_r2c(f->r2c, kk, (fftwf_complex *)spec);
    float s = 1.0f / (float)n;
    for (int i = 0; i <= n / 2; i++) {
        kf[2 * i] = (spec[2 * i] + D[h]) * s;
        kf[2 * i + 1] = spec[2 * i + 1] * s;
    }
}

/* Compact tile T (lane j at T + j 2L) = x[2p, t, h0+j] + i x[2p+1, t, h0+j], t < L; the
 * imaginary part is zero when 2p is the last row of an odd batch. */
static void s4_gather_pair(float *T, const float *x, int p, int B, int L, int H, int h0, int nl) {
    const float *x0 = x + (size_t)2 * p * L * H + h0;
    const float *x1 = 2 * p + 1 < B ? x0 + (size_t)L * H : NULL;
    size_t lw = 2 * (size_t)L;
    for (int t = 0; t < L; t++) {
        int ta = t + S4_PREFETCH < L ? t + S4_PREFETCH : L - 1;
        const float *r0 = x0 + (size_t)t * H;
        for (int c = 0; c < nl; c += 16) {
            __builtin_prefetch(x0 + (size_t)ta * H + c);
            if (x1) __builtin_prefetch(x1 + (size_t)ta * H + c);
        }
        if (x1) {
            const float *r1 = x1 + (size_t)t * H;
            for (int j = 0; j < nl; j++) {
                T[j * lw + 2 * t] = r0[j];
                T[j * lw + 2 * t + 1] = r1[j];
            }
        } else {
            for (int j = 0; j < nl; j++) {
                T[j * lw + 2 * t] = r0[j];
                T[j * lw + 2 * t + 1] = 0.0f;
            }
        }
    }
}

/* out[2p, t, h0+j] = Re T lane j at t, and Im to row 2p+1 when it exists. */
static void s4_scatter_pair(float *out, const float *T, int p, int B, int L, int H, int h0,
                            int nl) {
    float *o0 = out + (size_t)2 * p * L * H + h0;
    float *o1 = 2 * p + 1 < B ? o0 + (size_t)L * H : NULL;
    size_t lw = 2 * (size_t)L;
    for (int t = 0; t < L; t++) {
        int ta = t + S4_PREFETCH < L ? t + S4_PREFETCH : L - 1;
        for (int c = 0; c < nl; c += 16) {
            __builtin_prefetch(o0 + (size_t)ta * H + c, 1);
            if (o1) __builtin_prefetch(o1 + (size_t)ta * H + c, 1);
        }
        float *r0 = o0 + (size_t)t * H;
        for (int j = 0; j < nl; j++)
            r0[j] = T[j * lw + 2 * t];
        if (o1) {
            float *r1 = o1 + (size_t)t * H;
            for (int j = 0; j < nl; j++)
                r1[j] = T[j * lw + 2 * t + 1];
        }
    }
}

/* out = a * k (sg = 1) or a * conj(k) (sg = -1), n complex values, k given as the half spectrum
 * (bins 0..n/2) of a real sequence: k[i] = conj k[n-i] above n/2. */
static void s4_cmul(float *restrict out, const float *restrict a, const float *restrict k, int n,
                    float sg) {
#pragma omp simd
    for (int i = 0; i <= n / 2; i++) {
        float ar = a[2 * i], ai = a[2 * i + 1], kr = k[2 * i], ki = sg * k[2 * i + 1];
        out[2 * i] = ar * kr - ai * ki;
        out[2 * i + 1] = ar * ki + ai * kr;
    }
#pragma omp simd
    for (int i = n / 2 + 1; i < n; i++) {
        float ar = a[2 * i], ai = a[2 * i + 1], kr = k[2 * (n - i)], ki = -sg * k[2 * (n - i) + 1];
        out[2 * i] = ar * kr - ai * ki;
        out[2 * i + 1] = ar * ki + ai * kr;
    }
}

/* z = conj(z) * g in place, n complex values. */
static void s4_cmul_conj_into(float *restrict z, const float *restrict g, int n) {
#pragma omp simd
    for (int i = 0; i < n; i++) {
        float zr = z[2 * i], zi = z[2 * i + 1], gr = g[2 * i], gi = g[2 * i + 1];
        z[2 * i] = zr * gr + zi * gi;
        z[2 * i + 1] = zr * gi - zi * gr;
    }
}

void s4_conv_forward(float *y, float *cache, const float *u, const float *k, const float *D, int B,
                     int L, int H, int ch, const s4_fft *f) {
    int n = f->n, tw = f->tw_fwd, ntile = (H + tw - 1) / tw, P = (B + 1) / 2;
    size_t ss = s4_scratch_stride(n), lw = 2 * (size_t)L, kfl = 2 * (size_t)(n / 2 + 1);
    float *kf = cache;
#pragma omp parallel
    {
        float raw[s4_stack_floats(1, tw, L, n, S4_FWD_SCRATCH)];
        float *x0 = s4_align64(raw), *x1 = x0 + ss, *x2 = x1 + ss, *T = x2 + ss;
#pragma omp for schedule(static)
        for (int h = 0; h < H; h++)
            s4_kernel_spectrum(kf + h * kfl, x0, x1, k, D, h, H, L, ch, f);
        memset(x0, 0,
               2 * (size_t)n *
                   sizeof *x0); /* the zero padding; FFTW's c2c leaves its input alone */
#pragma omp for schedule(static)
        for (int task = 0; task < P * ntile; task++) {
            int p = task / ntile, h0 = (task % ntile) * tw, nl = H - h0 < tw ? H - h0 : tw;
            s4_gather_pair(T, u, p, B, L, H, h0, nl);
            for (int j = 0; j < nl; j++) {
                memcpy(x0, T + j * lw, lw * sizeof *x0);
                s4_fwd(f, x0, x1);
                s4_cmul(x2, x1, kf + (h0 + j) * kfl, n, 1.0f);
                s4_inv(f, x2, x1);
                memcpy(T + j * lw, x1, lw * sizeof *x1);
            }
            s4_scatter_pair(y, T, p, B, L, H, h0, nl);
        }
    }
}

/* The dk spectrum of one channel from the packed spectra Γ = FFT(g0 + i g1), Z = FFT(u0 + i u1):
 * IFFT(conj(Z) Γ) is the correlation of u0 + i u1 with g0 + i g1, whose real part is the wanted
 * u0 ⋆ g0 + u1 ⋆ g1 (the imaginary part holds the cross terms). Taking the real part is taking the
 * Hermitian part S[i] = (Q[i] + conj Q[-i]) / 2 of Q = conj(Z) Γ, and two Hermitian spectra share
 * one inverse transform: t = S_a + i S_b. qa, qb hold Q for channels a and b (qb may be NULL). */
static void s4_pack_dk_spectrum(float *restrict t, const float *restrict qa,
                                const float *restrict qb, int n) {
    t[0] = qa[0];
    t[1] = qb ? qb[0] : 0.0f; /* S[0] = Re Q[0] */
    if (qb) {
#pragma omp simd
        for (int i = 1; i < n; i++) {
            int m = n - i;
            t[2 * i] = 0.5f * (qa[2 * i] + qa[2 * m]) - 0.5f * (qb[2 * i + 1] - qb[2 * m + 1]);
            t[2 * i + 1] = 0.5f * (qa[2 * i + 1] - qa[2 * m + 1]) + 0.5f * (qb[2 * i] + qb[2 * m]);
        }
    } else {
#pragma omp simd
        for (int i = 1; i < n; i++) {
            int m = n - i;
            t[2 * i] = 0.5f * (qa[2 * i] + qa[2 * m]);
            t[2 * i + 1] = 0.5f * (qa[2 * i + 1] - qa[2 * m + 1]);
        }
    }
}

/* With g = dy zero-padded and kk the combined kernel plus D at lag 0 (circular, length n):
 *   du  = first L of (g correlated with kk): spectrum conj(KK) G, two rows per transform;
 *   dkk = sum over rows of (u correlated with g): two rows per forward transform, two channels
 *         per inverse transform (s4_pack_dk_spectrum);
 *   dk0[l] = dkk[l], dk1[i] = dkk[n-1-i], dD = dkk[0]. */
void s4_conv_backward(float *du, float *dk, float *dD, const float *dy, const float *u,
                      const float *cache, const float *k, const float *D, int B, int L, int H,
                      int ch, const s4_fft *f) {
    (void)k;
    (void)D;
    int n = f->n, tw = f->tw_bwd, ntile = (H + tw - 1) / tw, P = (B + 1) / 2;
    size_t ss = s4_scratch_stride(n), lw = 2 * (size_t)L, kfl = 2 * (size_t)(n / 2 + 1);
    const float *kf = cache;
    float s = 1.0f / (float)n;
#pragma omp parallel
    {
        float raw[s4_stack_floats(2, tw, L, n, S4_BWD_SCRATCH)];
        float *x0 = s4_align64(raw), *za = x0 + ss, *zb = za + ss, *ga = zb + ss, *gb = ga + ss;
        float *w = gb + ss, *Tg = w + ss, *Tu = Tg + (size_t)tw * lw; /* dy (then du), u tiles */
        memset(x0, 0, 2 * (size_t)n * sizeof *x0);
        for (int p = 0; p < P; p++) {
            /* One pair at a time: the implicit barrier keeps each dk entry's sum in batch order. */
#pragma omp for schedule(static)
            for (int it = 0; it < ntile; it++) {
                int h0 = it * tw, nl = H - h0 < tw ? H - h0 : tw;
                s4_gather_pair(Tg, dy, p, B, L, H, h0, nl);
                s4_gather_pair(Tu, u, p, B, L, H, h0, nl);
                for (int j = 0; j < nl; j += 2) {
                    int two = j + 1 < nl;
                    for (int q = 0; q <= two; q++) {
                        float *z = q ? zb : za, *g = q ? gb : ga;
                        memcpy(x0, Tu + (j + q) * lw, lw * sizeof *x0);
                        s4_fwd(f, x0, z);
                        memcpy(x0, Tg + (j + q) * lw, lw * sizeof *x0);
                        s4_fwd(f, x0, g);
                        s4_cmul_conj_into(z, g, n);
                    }
                    s4_pack_dk_spectrum(w, za, two ? zb : NULL, n);
                    s4_inv(f, w, za);
                    for (int q = 0; q <= two; q++) {
                        int h = h0 + j + q;
                        float *dk0 = dk + (size_t)h * L;
#pragma omp simd
                        for (int l = 0; l < L; l++)
                            dk0[l] += za[2 * l + q] * s;
                        if (ch == 2) {
                            float *dk1 = dk + ((size_t)H + h) * L;
#pragma omp simd
                            for (int i = 0; i < L; i++)
                                dk1[i] += za[2 * (n - 1 - i) + q] * s;
                        }
                        dD[h] += za[q] * s;
                    }
                    if (!du) continue;
                    for (int q = 0; q <= two; q++) {
                        s4_cmul(w, q ? gb : ga, kf + (h0 + j + q) * kfl, n, -1.0f);
                        s4_inv(f, w, zb);
                        memcpy(Tg + (j + q) * lw, zb, lw * sizeof *zb);
                    }
                }
                if (du) s4_scatter_pair(du, Tg, p, B, L, H, h0, nl);
            }
        }
    }
}

/* s4_conv.c — the S4 long convolution y = K * u + D ⊙ u by FFT with zero padding, and its backward.
 * Two batch rows share one complex FFT (u[b] + i u[b+1]): the kernel is real, so both ride along.
 */
#include "core/nn/s4.h"

#include <fftw3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Why these choices:
 * - Transform size n: the smallest 2^a 5^b >= 2L (a >= 1). Any n >= 2L gives the same circular
 *   convolution as 2L padding (the bidirectional kernel's negative lags sit at the end:
 *   kk[n-1-i] = k1[i]); FFTW_ESTIMATE plans for 2^a 5^b run 1.5-2x faster than for 600 = 2L at
 *   the encoder's L = 300 (n = 640).
 * - Packing two real rows into one complex transform halves the number of transforms; the
 *   backward separates the two spectra again where it needs them (for dk).
 * - Work buffers live on the stack (so forward and backward cannot fail and are re-entrant);
 *   s4_fft_init picks a channel tile width that keeps them under S4_STACK_BYTES per thread and
 *   refuses L whose single-channel buffers would not fit S4_STACK_MAX.
 * Cache layout, all float:
 *   kf   H * (n/2+1) * 2        spectrum of each channel's combined kernel, divided by n
 *   zf   P * H * n * 2          spectrum of u[2p] + i u[2p+1], P = ceil(B/2), per (p, h) */
#define S4_TILE_MAX 16
#define S4_STACK_BYTES (192 * 1024)
#define S4_STACK_MAX (1024 * 1024)

struct s4_fft {
    int L, n, tw;
    fftwf_plan fwd, inv, r2c, c2r;
};

static int s4_fft_size(int L) {
    long best = -1;
    for (long p2 = 2; p2 < 4L * L + 4; p2 *= 2)
        for (long v = p2; v < 4L * L + 4; v *= 5)
            if (v >= 2L * L && (best < 0 || v < best)) best = v;
    return (int)best;
}

/* Floats between the starts of two lanes' n-point complex buffers: a multiple of 16, so that every
 * buffer handed to FFTW is 64-byte aligned like the arrays the plans were made on. */
static size_t s4_lane_stride(int n) {
    return ((size_t)2 * n + 15) & ~(size_t)15;
}

/* Stack bytes per channel lane: two complex buffers and the backward's double accumulator for
 * the half spectrum (the forward needs only the buffers). */
static size_t s4_lane_bytes(int n) {
    return 2 * s4_lane_stride(n) * sizeof(float) + (size_t)(n / 2 + 1) * 2 * sizeof(double);
}

ecg_code s4_fft_init(s4_fft **out, int L, ecg_err *err) {
    *out = NULL;
    if (L < 1 || L > (1 << 20)) return err_set(err, ECG_EINVAL, "s4_fft_init: bad length %d", L);
    int n = s4_fft_size(L);
    if (s4_lane_bytes(n) > S4_STACK_MAX)
        return err_set(err, ECG_EINVAL,
                       "s4_fft_init: L = %d needs %zu stack bytes per thread; the limit is %d", L,
                       s4_lane_bytes(n), S4_STACK_MAX);
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
    /* A power of two, so tiles of channels line up with cache lines. */
    f->tw = S4_TILE_MAX;
    while (f->tw > 1 && (size_t)f->tw * s4_lane_bytes(n) > S4_STACK_BYTES)
        f->tw /= 2;
    /* Planned on fftwf_malloc'd arrays; every execution uses 64-byte aligned buffers, so the
     * alignment FFTW requires for the new-array execute functions matches. */
    f->fwd = fftwf_plan_dft_1d(n, a, b, FFTW_FORWARD, FFTW_ESTIMATE);
    f->inv = fftwf_plan_dft_1d(n, a, b, FFTW_BACKWARD, FFTW_ESTIMATE);
    f->r2c = fftwf_plan_dft_r2c_1d(n, (float *)a, b, FFTW_ESTIMATE);
    f->c2r = fftwf_plan_dft_c2r_1d(n, a, (float *)b, FFTW_ESTIMATE);
    fftwf_free(a);
    fftwf_free(b);
    if (!f->fwd || !f->inv || !f->r2c || !f->c2r) {
        s4_fft_free(f);
        return err_set(err, ECG_ENOMEM, "s4_fft_init: FFTW could not plan n = %d", n);
    }
    *out = f;
    return ECG_OK;
}

void s4_fft_free(s4_fft *f) {
    if (!f) return;
    if (f->fwd) fftwf_destroy_plan(f->fwd);
    if (f->inv) fftwf_destroy_plan(f->inv);
    if (f->r2c) fftwf_destroy_plan(f->r2c);
    if (f->c2r) fftwf_destroy_plan(f->c2r);
    free(f);
}

size_t s4_conv_cache_floats(int B, int L, int H, int ch) {
    (void)ch;
    size_t n = (size_t)s4_fft_size(L), pairs = ((size_t)B + 1) / 2;
    return (size_t)H * (n / 2 + 1) * 2 + pairs * H * n * 2;
}

static float *s4_align64(float *p) {
    return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

/* kf (n/2+1 complex) = r2c of channel h's combined kernel, divided by n. kk (n floats) and spec
 * (n/2+1 complex) are aligned scratch. */
static void s4_kernel_spectrum(float *kf, float *kk, float *spec, const float *k, int h, int H,
                               int L, int ch, const s4_fft *f) {
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
    for (int i = 0; i < 2 * (n / 2 + 1); i++)
        kf[i] = spec[i] * s;
}

/* Lane j < nl of buf (stride ls) = x[2p, t, h0+j] + i x[2p+1, t, h0+j] for t < L, zero after;
 * the imaginary part is zero when B is odd and 2p is the last row. */
static void s4_gather_pair(float *buf, size_t ls, const float *x, int p, int B, int L, int H,
                           int h0, int nl, int n) {
    int b0 = 2 * p, b1 = b0 + 1;
    for (int j = 0; j < nl; j++)
        memset(buf + j * ls + 2 * (size_t)L, 0, (size_t)(n - L) * 2 * sizeof *buf);
    for (int t = 0; t < L; t++) {
        const float *r0 = x + ((size_t)b0 * L + t) * H + h0;
        if (b1 < B) {
            const float *r1 = x + ((size_t)b1 * L + t) * H + h0;
            for (int j = 0; j < nl; j++) {
                buf[j * ls + 2 * t] = r0[j];
                buf[j * ls + 2 * t + 1] = r1[j];
            }
        } else {
            for (int j = 0; j < nl; j++) {
                buf[j * ls + 2 * t] = r0[j];
                buf[j * ls + 2 * t + 1] = 0.0f;
            }
        }
    }
}

/* The inverse of gather for results: out[2p, t, h0+j] = Re lane j + D[h0+j] x[...], and the
 * imaginary part to row 2p+1 when it exists. */
static void s4_scatter_pair(float *out, const float *buf, size_t ls, const float *x, const float *D,
                            int p, int B, int L, int H, int h0, int nl) {
    for (int r = 0; r < 2 && 2 * p + r < B; r++) {
        int b = 2 * p + r;
        for (int t = 0; t < L; t++) {
            const float *xr = x + ((size_t)b * L + t) * H + h0;
            float *o = out + ((size_t)b * L + t) * H + h0;
            for (int j = 0; j < nl; j++)
                o[j] = buf[j * ls + 2 * t + r] + D[h0 + j] * xr[j];
        }
    }
}

/* spec (n complex) *= kf or conj(kf), kf being the half spectrum of a real sequence. */
static void s4_mul_spectrum(float *spec, const float *kf, int n, int conjugate) {
    float sg = conjugate ? -1.0f : 1.0f;
    for (int i = 0; i < n; i++) {
        int m = i <= n / 2 ? i : n - i;
        float kr = kf[2 * m], ki = (i <= n / 2 ? sg : -sg) * kf[2 * m + 1];
        float zr = spec[2 * i], zi = spec[2 * i + 1];
        spec[2 * i] = zr * kr - zi * ki;
        spec[2 * i + 1] = zr * ki + zi * kr;
    }
}

void s4_conv_forward(float *y, float *cache, const float *u, const float *k, const float *D, int B,
                     int L, int H, int ch, const s4_fft *f) {
    int n = f->n, tw = f->tw, ntile = (H + tw - 1) / tw, P = (B + 1) / 2;
    size_t ls = s4_lane_stride(n), kfl = (size_t)(n / 2 + 1) * 2;
    float *kf_all = cache, *zf_all = cache + (size_t)H * kfl;
#pragma omp parallel for schedule(static)
    for (int it = 0; it < ntile; it++) {
        float raw[2 * tw * ls + 16];
        float *bufa = s4_align64(raw), *bufb = bufa + tw * ls;
        int h0 = it * tw, nl = H - h0 < tw ? H - h0 : tw;
        for (int j = 0; j < nl; j++)
            s4_kernel_spectrum(kf_all + (size_t)(h0 + j) * kfl, bufa, bufb, k, h0 + j, H, L, ch, f);
        for (int p = 0; p < P; p++) {
            s4_gather_pair(bufa, ls, u, p, B, L, H, h0, nl, n);
            for (int j = 0; j < nl; j++) {
                float *za = bufa + j * ls, *zb = bufb + j * ls;
                fftwf_execute_dft(f->fwd, (fftwf_complex *)za, (fftwf_complex *)zb);
                memcpy(zf_all + ((size_t)p * H + h0 + j) * 2 * n, zb, (size_t)n * 2 * sizeof *zb);
                s4_mul_spectrum(zb, kf_all + (size_t)(h0 + j) * kfl, n, 0);
                fftwf_execute_dft(f->inv, (fftwf_complex *)zb, (fftwf_complex *)za);
            }
            s4_scatter_pair(y, bufa, ls, u, D, p, B, L, H, h0, nl);
        }
    }
}

/* With g = dy zero-padded and kk the combined kernel (circular, length n):
 *   du = first L of (g correlated with kk): spectrum conj(KK) G, packed two rows at a time;
 *   dkk = sum_b (g_b correlated with u_b): spectrum sum_b conj(U_b) G_b, where the two rows of a
 *         packed spectrum Z are U0[i] = (Z[i] + conj Z[-i]) / 2, U1[i] = (Z[i] - conj Z[-i]) / 2i.
 * The batch sums (dk, dD) run over rows in order inside one channel tile, so they do not depend on
 * the thread count. */
void s4_conv_backward(float *du, float *dk, float *dD, const float *dy, const float *u,
                      const float *cache, const float *k, const float *D, int B, int L, int H,
                      int ch, const s4_fft *f) {
    (void)k;
    int n = f->n, tw = f->tw, ntile = (H + tw - 1) / tw, P = (B + 1) / 2, nh = n / 2 + 1;
    size_t ls = s4_lane_stride(n), kfl = (size_t)nh * 2;
    const float *kf_all = cache, *zf_all = cache + (size_t)H * kfl;
#pragma omp parallel for schedule(static)
    for (int it = 0; it < ntile; it++) {
        float raw[2 * tw * ls + 2 * tw * kfl + 16];
        float *bufa = s4_align64(raw), *bufb = bufa + tw * ls;
        double *acc = (double *)(bufb + tw * ls); /* tw half spectra, complex */
        int h0 = it * tw, nl = H - h0 < tw ? H - h0 : tw;
        memset(acc, 0, (size_t)tw * kfl * sizeof *acc);
        double dd[S4_TILE_MAX] = {0};
        for (int p = 0; p < P; p++) {
            for (int b = 2 * p; b < 2 * p + 2 && b < B; b++)
                for (int t = 0; t < L; t++) {
                    const float *g = dy + ((size_t)b * L + t) * H + h0;
                    const float *x = u + ((size_t)b * L + t) * H + h0;
                    for (int j = 0; j < nl; j++)
                        dd[j] += (double)g[j] * x[j];
                }
            s4_gather_pair(bufa, ls, dy, p, B, L, H, h0, nl, n);
            for (int j = 0; j < nl; j++) {
                float *ga = bufa + j * ls, *gb = bufb + j * ls;
                const float *z = zf_all + ((size_t)p * H + h0 + j) * 2 * n;
                double *a = acc + j * kfl;
                fftwf_execute_dft(f->fwd, (fftwf_complex *)ga, (fftwf_complex *)gb);
                for (int i = 0; i < nh; i++) {
                    int r = i == 0 ? 0 : n - i;
                    /* With Γ = gb, e = 2 G0 = Γ[i] + conj Γ[-i] and o = 2i G1 = Γ[i] - conj Γ[-i]
                     * (same for U from z): conj(U0) G0 + conj(U1) G1 = (conj(eU) eG + conj(oU) oG)
                     * / 4. */
                    double gr = gb[2 * i], gi = gb[2 * i + 1], hr = gb[2 * r], hi = gb[2 * r + 1];
                    double zr = z[2 * i], zi = z[2 * i + 1], wr = z[2 * r], wi = z[2 * r + 1];
                    double eGr = gr + hr, eGi = gi - hi, oGr = gr - hr, oGi = gi + hi;
                    double eUr = zr + wr, eUi = zi - wi, oUr = zr - wr, oUi = zi + wi;
                    a[2 * i] += 0.25 * (eUr * eGr + eUi * eGi + oUr * oGr + oUi * oGi);
                    a[2 * i + 1] += 0.25 * (eUr * eGi - eUi * eGr + oUr * oGi - oUi * oGr);
                }
                if (du) {
                    s4_mul_spectrum(gb, kf_all + (size_t)(h0 + j) * kfl, n, 1);
                    fftwf_execute_dft(f->inv, (fftwf_complex *)gb, (fftwf_complex *)ga);
                }
            }
            if (du) s4_scatter_pair(du, bufa, ls, dy, D, p, B, L, H, h0, nl);
        }
        float s = 1.0f / (float)n;
        for (int j = 0; j < nl; j++) {
            int h = h0 + j;
            const double *a = acc + j * kfl;
            for (size_t i = 0; i < kfl; i++)
                bufa[i] = (float)(a[i] * s);
            fftwf_execute_dft_c2r(f->c2r, (fftwf_complex *)bufa, bufb);
            float *dk0 = dk + (size_t)h * L;
            for (int l = 0; l < L; l++)
                dk0[l] += bufb[l];
            if (ch == 2) {
                float *dk1 = dk + ((size_t)H + h) * L;
                for (int i = 0; i < L; i++)
                    dk1[i] += bufb[n - 1 - i];
            }
            dD[h] += (float)dd[j];
        }
    }
}

/* resample.c — polyphase and windowed-sinc resampling, zero-phase biquad filters, windows.
 * The filter is scipy.signal.resample_poly's so that a record resampled here matches scipy's. */
#include "core/data/resample.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

/* Modified Bessel function of the first kind, order 0 (power series; converges for all x, and
 * the Kaiser window only needs 0 <= x <= beta). */
static double bessel_i0(double x) {
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 200; k++) {
        term *= q / ((double)k * k);
        sum += term;
        if (term < 1e-17 * sum) break;
    }
    return sum;
}

/* np.sinc: sin(pi x) / (pi x). */
static double sinc(double x) {
    if (x == 0.0) return 1.0;
    double px = PI * x;
    return sin(px) / px;
}

/* The Kaiser window as a function of u in [-1, 1] (scipy's kaiser(M, beta, sym=True) at
 * u = (n - (M-1)/2) / ((M-1)/2)). */
static double kaiser(double u, double beta, double i0_beta) {
    double r = 1.0 - u * u;
    if (r < 0) return 0.0;
    return bessel_i0(beta * sqrt(r)) / i0_beta;
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* ---- polyphase ----------------------------------------------------------------------------------
 */

ecg_code resample_plan_init(resample_plan *p, int up, int down, ecg_err *err) {
    memset(p, 0, sizeof *p);
    if (up < 1 || down < 1)
        return err_set(err, ECG_EINVAL, "resample: up and down must be >= 1 (got %d/%d)", up, down);
    int g = (int)gcd64(up, down);
    up /= g;
    down /= g;
    if (up > RESAMPLE_MAX_FACTOR || down > RESAMPLE_MAX_FACTOR)
        return err_set(err, ECG_EINVAL, "resample: ratio %d/%d needs factors above %d", up, down,
                       RESAMPLE_MAX_FACTOR);
    int max_rate = up > down ? up : down;
    int half = RESAMPLE_HALF_ZEROS * max_rate;
    size_t n_taps = 2 * (size_t)half + 1;
    double *h = malloc(n_taps * sizeof *h);
    if (!h) return err_set(err, ECG_ENOMEM, "resample: no memory for %zu taps", n_taps);
    /* firwin(n_taps, f_c): f_c * sinc(f_c * m) * window, then scaled to unit sum at DC. */
    double f_c = 1.0 / max_rate, i0b = bessel_i0(RESAMPLE_KAISER_BETA), s = 0;
    for (size_t i = 0; i < n_taps; i++) {
        double m = (double)i - half;
        h[i] = f_c * sinc(f_c * m) * kaiser(half ? m / half : 0.0, RESAMPLE_KAISER_BETA, i0b);
        s += h[i];
    }
    for (size_t i = 0; i < n_taps; i++)
        h[i] = h[i] / s * up;
    p->up = up;
    p->down = down;
    p->half_len = half;
    p->h = h;
    /* Regroup by phase: phase r uses h[r], h[r + up], ... up to index 2*half. */
    p->stride = (int)(2 * (size_t)half / (size_t)up) + 1;
    p->poly = calloc((size_t)up * p->stride, sizeof *p->poly);
    p->poly_len = calloc((size_t)up, sizeof *p->poly_len);
    if (!p->poly || !p->poly_len) {
        resample_plan_free(p);
        return err_set(err, ECG_ENOMEM, "resample: no memory for %d polyphase branches", up);
    }
    for (int r = 0; r < up; r++) {
        int len = (int)((2 * (size_t)half - (size_t)r) / (size_t)up) + 1;
        p->poly_len[r] = len;
        for (int i = 0; i < len; i++)
            p->poly[(size_t)r * p->stride + i] = h[r + (size_t)(len - 1 - i) * up];
    }
    return ECG_OK;
}

void resample_plan_free(resample_plan *p) {
    if (!p) return;
    free(p->h);
    free(p->poly);
    free(p->poly_len);
    memset(p, 0, sizeof *p);
}

size_t resample_plan_out_len(const resample_plan *p, size_t n_in) {
    uint64_t n = (uint64_t)n_in * (uint64_t)p->up;
    return (size_t)(n / (uint64_t)p->down + (n % (uint64_t)p->down != 0));
}

/* ---- applying a plan: every output is the float sum, in increasing input index, of x[j] times
 * the float tap over the taps that meet the record (x is zero outside it). Whatever the layout
 * below, each output is that one sequential sum, so a lead gives the same bits alone or with others
 * and under any thread count. The fast layout puts up to 16 rows side by side ([time][lane]) so one
 * vector multiply-add serves every row of an output position; the rows' taps are loaded once. */

#define POLY_LANES 16
#define POLY_SPAN 512  /* interleaved input positions per block: 32 KiB on the stack */
#define POLY_TAPS 8192 /* float copies of the taps held on the stack */
#define POLY_MIN_BLOCK 8

typedef float poly_vec __attribute__((vector_size(POLY_LANES * sizeof(float))));

/* First input index under output k's filter and its phase. */
static inline void poly_pos(const resample_plan *p, size_t k, int64_t *j0, int *r) {
    int64_t t = (int64_t)k * p->down + p->half_len;
    int64_t hi = t / p->up;
    *r = (int)(t - hi * p->up);
    *j0 = hi - p->poly_len[*r] + 1;
}

/* The reference: one output of one row, sequentially over the taps that meet the record. */
static float poly_one(const resample_plan *p, const float *x, size_t n_in, size_t k) {
    int64_t j0;
    int r;
    poly_pos(p, k, &j0, &r);
    const double *f = p->poly + (size_t)r * p->stride;
    float acc = 0;
    for (int i = 0; i < p->poly_len[r]; i++) {
        int64_t j = j0 + i;
        if (j >= 0 && j < (int64_t)n_in) acc += x[j] * (float)f[i];
    }
    return acc;
}

/* Outputs [k0, k0 + nk) of up to 16 rows from xi (positions from jb on, zero where the record
 * has no sample), four outputs at a time so that four addition chains overlap. */
static void poly_block(const resample_plan *p, const float *fp, const poly_vec *xi, int64_t jb,
                       size_t k0, size_t nk, poly_vec *out) {
    size_t m = 0;
    for (; m + 4 <= nk; m += 4) {
        const poly_vec *xs[4];
        const float *f[4];
        int len[4], lmin = INT32_MAX;
        for (int q = 0; q < 4; q++) {
            int64_t j0;
            int r;
            poly_pos(p, k0 + m + (size_t)q, &j0, &r);
            xs[q] = xi + (j0 - jb);
            f[q] = fp + (size_t)r * p->stride;
            len[q] = p->poly_len[r];
            if (len[q] < lmin) lmin = len[q];
        }
        poly_vec a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        int i = 0;
        for (; i < lmin; i++) {
            a0 += xs[0][i] * f[0][i];
            a1 += xs[1][i] * f[1][i];
            a2 += xs[2][i] * f[2][i];
            a3 += xs[3][i] * f[3][i];
        }
        for (int j = i; j < len[0]; j++)
            a0 += xs[0][j] * f[0][j];
        for (int j = i; j < len[1]; j++)
            a1 += xs[1][j] * f[1][j];
        for (int j = i; j < len[2]; j++)
            a2 += xs[2][j] * f[2][j];
        for (int j = i; j < len[3]; j++)
            a3 += xs[3][j] * f[3][j];
        out[m] = a0;
        out[m + 1] = a1;
        out[m + 2] = a2;
        out[m + 3] = a3;
    }
    for (; m < nk; m++) {
        int64_t j0;
        int r;
        poly_pos(p, k0 + m, &j0, &r);
        const poly_vec *xs = xi + (j0 - jb);
        const float *f = fp + (size_t)r * p->stride;
        poly_vec a = {0};
        for (int i = 0; i < p->poly_len[r]; i++)
            a += xs[i] * f[i];
        out[m] = a;
    }
}

/* t[i][p] <- t[p][i]: the off-diagonal blocks of 8, 4, 2 and 1 swapped in turn, each new row
 * one two-source shuffle (vpermt2ps with AVX-512). */
typedef int32_t poly_idx __attribute__((vector_size(POLY_LANES * sizeof(int32_t))));
#define POLY_SWAP(S, LO, HI)                                                                       \
    for (int i = 0; i < POLY_LANES; i++) {                                                         \
        if (i & (S)) continue;                                                                     \
        poly_vec a = t[i], b = t[i + (S)];                                                         \
        t[i] = __builtin_shuffle(a, b, LO);                                                        \
        t[i + (S)] = __builtin_shuffle(a, b, HI);                                                  \
    }
static void poly_transpose(poly_vec t[POLY_LANES]) {
    const poly_idx lo8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
                   hi8 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31},
                   lo4 = {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
                   hi4 = {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31},
                   lo2 = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
                   hi2 = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31},
                   lo1 = {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30},
                   hi1 = {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31};
    POLY_SWAP(8, lo8, hi8)
    POLY_SWAP(4, lo4, hi4)
    POLY_SWAP(2, lo2, hi2)
    POLY_SWAP(1, lo1, hi1)
}
#undef POLY_SWAP

void resample_plan_apply_rows(const resample_plan *p, const float *const *x, int n_rows,
                              size_t n_in, float *const *y) {
    size_t n_out = resample_plan_out_len(p, n_in);
    size_t n_taps = (size_t)p->up * (size_t)p->stride;
    /* Outputs per block so that their inputs fit POLY_SPAN positions. */
    double per = (double)p->down / p->up;
    double fit = (POLY_SPAN - p->stride - 2) / per;
    size_t block = fit > 256 ? 256 : fit > 0 ? (size_t)fit : 0;
    if (n_rows <= 0 || n_out == 0) return;
    if (n_taps > POLY_TAPS || block < POLY_MIN_BLOCK) {
        for (int c = 0; c < n_rows; c++)
            for (size_t k = 0; k < n_out; k++)
                y[c][k] = x[c] ? poly_one(p, x[c], n_in, k) : 0.0f;
        return;
    }
    float fp[POLY_TAPS];
    for (size_t i = 0; i < n_taps; i++)
        fp[i] = (float)p->poly[i];
    poly_vec xi[POLY_SPAN], out[256];
    for (int g = 0; g < n_rows; g += POLY_LANES) {
        int nr = n_rows - g < POLY_LANES ? n_rows - g : POLY_LANES;
        /* Lanes past the rows and lanes of absent rows stay zero from here on; each block
         * overwrites the other lanes inside the record and zeroes them outside it. */
        memset(xi, 0, sizeof xi);
        for (size_t k0 = 0; k0 < n_out; k0 += block) {
            size_t nk = n_out - k0 < block ? n_out - k0 : block;
            int64_t jb, je;
            int r;
            poly_pos(p, k0, &jb, &r);
            poly_pos(p, k0 + nk - 1, &je, &r);
            je += p->poly_len[r]; /* one past the last input position */
            int64_t lo = jb < 0 ? 0 : jb, hi = je > (int64_t)n_in ? (int64_t)n_in : je;
            if (hi < lo) hi = lo;
            memset(xi, 0, (size_t)(lo - jb) * sizeof *xi);
            memset(xi + (hi - jb), 0, (size_t)(je - hi) * sizeof *xi);
            /* 16 positions at a time: one vector load per row, a 16 x 16 transpose in
             * registers, one store per position; the rest position by position. */
            const float *xr[POLY_LANES];
            int lanes[POLY_LANES], nl = 0;
            for (int l = 0; l < nr; l++)
                if (x[g + l]) xr[nl] = x[g + l], lanes[nl++] = l;
            int64_t j = lo;
            for (; j + POLY_LANES <= hi; j += POLY_LANES) {
                poly_vec t[POLY_LANES] = {{0}};
                for (int i = 0; i < nl; i++)
                    memcpy(&t[lanes[i]], xr[i] + j, sizeof t[0]);
                poly_transpose(t);
                memcpy(&xi[j - jb], t, sizeof t);
            }
            for (; j < hi; j++) {
                float *dst = (float *)&xi[j - jb];
                for (int i = 0; i < nl; i++)
                    dst[lanes[i]] = xr[i][j];
            }
            poly_block(p, fp, xi, jb, k0, nk, out);
            size_t m = 0;
            for (; m + POLY_LANES <= nk; m += POLY_LANES) {
                poly_transpose(out + m); /* now out[m + l] holds lane l's 16 outputs */
                for (int l = 0; l < nr; l++)
                    memcpy(y[g + l] + k0 + m, &out[m + (size_t)l], sizeof out[0]);
            }
            for (int l = 0; l < nr; l++)
                for (size_t q = m; q < nk; q++)
                    y[g + l][k0 + q] = out[q][l];
        }
    }
}

void resample_plan_apply(const resample_plan *p, const float *x, size_t n_in, float *y) {
    resample_plan_apply_rows(p, &x, 1, n_in, &y);
}

int resample_ratio(double fs_in, double fs_out, int *up, int *down) {
    if (!(fs_in > 0) || !(fs_out > 0) || !isfinite(fs_in) || !isfinite(fs_out)) return 0;
    for (double scale = 1; scale <= 1000; scale *= 10) {
        double a = fs_in * scale, b = fs_out * scale;
        if (a > 9e15 || b > 9e15) return 0;
        double ra = nearbyint(a), rb = nearbyint(b);
        if (fabs(a - ra) > 1e-9 * fmax(1, a) || fabs(b - rb) > 1e-9 * fmax(1, b)) continue;
        int64_t ia = (int64_t)ra, ib = (int64_t)rb;
        if (ia < 1 || ib < 1) return 0;
        int64_t g = gcd64(ia, ib);
        ia /= g;
        ib /= g;
        if (ia > RESAMPLE_MAX_FACTOR || ib > RESAMPLE_MAX_FACTOR) return 0;
        *up = (int)ib;
        *down = (int)ia;
        return 1;
    }
    return 0;
}

/* ---- windowed sinc ------------------------------------------------------------------------------
 */

/* The kernel in units of zero crossings, f(u) = sinc(u) * kaiser(u / 10) for |u| <= 10, is
 * tabulated once per process at KERNEL_RES points per crossing and read with linear
 * interpolation: error below 3.3 / (8 KERNEL_RES^2) = 2.5e-8 of the peak, while evaluating I0 at
 * every tap made the sinc path 100x slower than the polyphase one. */
#define KERNEL_RES 4096
#define KERNEL_N (RESAMPLE_HALF_ZEROS * KERNEL_RES + 2)
static double kernel_table[KERNEL_N];
static double kernel_integral; /* of f over [-10, 10] */
static pthread_once_t kernel_once = PTHREAD_ONCE_INIT;

static double kernel_exact(double u, double i0b) {
    return sinc(u) * kaiser(u / RESAMPLE_HALF_ZEROS, RESAMPLE_KAISER_BETA, i0b);
}

static void kernel_build(void) {
    double i0b = bessel_i0(RESAMPLE_KAISER_BETA);
    for (int i = 0; i < KERNEL_N; i++)
        kernel_table[i] = kernel_exact((double)i / KERNEL_RES, i0b);
    kernel_table[KERNEL_N - 1] = 0; /* past the last crossing */
    /* firwin scales its taps to unit sum; the continuous kernel is scaled to unit integral, which
     * is what the tap sum tends to. They differ by the filter's response at multiples of the
     * upsampled rate: 1e-6 relative for 500 -> 240 Hz (up 12), 7e-8 for 359.7 -> 240 (up 800),
     * as measured against scipy in test_resample. Composite Simpson on the exact function. */
    int n = 2 * 4096;
    double h = (double)RESAMPLE_HALF_ZEROS / n;
    double s = kernel_exact(0, i0b) + kernel_exact(RESAMPLE_HALF_ZEROS, i0b);
    for (int i = 1; i < n; i++)
        s += (i % 2 ? 4 : 2) * kernel_exact(i * h, i0b);
    kernel_integral = 2.0 * s * h / 3.0;
}

typedef struct {
    double c;     /* cutoff as a fraction of the input Nyquist: min(1, out/in) */
    double w;     /* half-width in input samples: RESAMPLE_HALF_ZEROS / c */
    double scale; /* c / integral: the kernel c f(c tau) has unit integral */
} sinc_kernel;

static double sinc_raw(const sinc_kernel *k, double tau) {
    double pos = fabs(k->c * tau) * KERNEL_RES;
    if (pos > RESAMPLE_HALF_ZEROS * KERNEL_RES) return 0.0;
    size_t i = (size_t)pos;
    double f = pos - (double)i;
    return kernel_table[i] + f * (kernel_table[i + 1] - kernel_table[i]);
}

static void sinc_kernel_init(sinc_kernel *k, double ratio) {
    pthread_once(&kernel_once, kernel_build);
    k->c = ratio < 1 ? ratio : 1.0;
    k->w = RESAMPLE_HALF_ZEROS / k->c;
    k->scale = k->c / kernel_integral;
}

typedef enum { EDGE_ZERO, EDGE_MIRROR } edge_mode;

static size_t mirror_index(int64_t j, size_t n) {
    if (n == 1) return 0;
    int64_t period = 2 * ((int64_t)n - 1);
    j %= period;
    if (j < 0) j += period;
    return (size_t)(j < (int64_t)n ? j : period - j);
}

/* y[k] = sum_j x[j] kernel(t0 + k*step - j). */
static void sinc_apply(const float *x, size_t n_in, float *y, size_t n_out, double t0, double step,
                       double ratio, edge_mode edge) {
    sinc_kernel kr;
    sinc_kernel_init(&kr, ratio);
    for (size_t k = 0; k < n_out; k++) {
        double t = t0 + (double)k * step;
        int64_t lo = (int64_t)ceil(t - kr.w), hi = (int64_t)floor(t + kr.w);
        if (edge == EDGE_ZERO) {
            if (lo < 0) lo = 0;
            if (hi > (int64_t)n_in - 1) hi = (int64_t)n_in - 1;
        }
        double acc = 0;
        for (int64_t j = lo; j <= hi; j++) {
            size_t src = edge == EDGE_ZERO ? (size_t)j : mirror_index(j, n_in);
            acc += (double)x[src] * sinc_raw(&kr, t - (double)j);
        }
        y[k] = (float)(acc * kr.scale);
    }
}

static ecg_code check_rates(double fs_in, double fs_out, size_t n_in, ecg_err *err) {
    if (!(fs_in > 0) || !(fs_out > 0) || !isfinite(fs_in) || !isfinite(fs_out))
        return err_set(err, ECG_EINVAL, "resample: rates must be positive and finite (%g -> %g)",
                       fs_in, fs_out);
    if (fs_out / fs_in > 1e4 || fs_in / fs_out > 1e4)
        return err_set(err, ECG_EINVAL, "resample: ratio %g -> %g Hz is out of range", fs_in,
                       fs_out);
    if ((double)n_in * (fs_out / fs_in) > 1e11)
        return err_set(err, ECG_EINVAL, "resample: %zu samples at %g -> %g Hz is too long", n_in,
                       fs_in, fs_out);
    return ECG_OK;
}

size_t resample_out_len(size_t n_in, double fs_in, double fs_out) {
    int up, down;
    if (resample_ratio(fs_in, fs_out, &up, &down)) {
        uint64_t n = (uint64_t)n_in * (uint64_t)up;
        return (size_t)(n / (uint64_t)down + (n % (uint64_t)down != 0));
    }
    if (!(fs_in > 0) || !(fs_out > 0)) return 0;
    double v = (double)n_in * fs_out / fs_in;
    return (size_t)ceil(v - 1e-9 * fmax(1.0, v));
}

ecg_code resample_rate_sinc(const float *x, size_t n_in, double fs_in, double fs_out, float *y,
                            ecg_err *err) {
    ecg_code rc = check_rates(fs_in, fs_out, n_in, err);
    if (rc) return rc;
    sinc_apply(x, n_in, y, resample_out_len(n_in, fs_in, fs_out), 0.0, fs_in / fs_out,
               fs_out / fs_in, EDGE_ZERO);
    return ECG_OK;
}

ecg_code resample_rate(const float *x, size_t n_in, double fs_in, double fs_out, float *y,
                       ecg_err *err) {
    ecg_code rc = check_rates(fs_in, fs_out, n_in, err);
    if (rc) return rc;
    int up, down;
    if (!resample_ratio(fs_in, fs_out, &up, &down))
        return resample_rate_sinc(x, n_in, fs_in, fs_out, y, err);
    if (up == down) {
        memcpy(y, x, n_in * sizeof *x);
        return ECG_OK;
    }
    resample_plan p;
    if ((rc = resample_plan_init(&p, up, down, err))) return rc;
    resample_plan_apply(&p, x, n_in, y);
    resample_plan_free(&p);
    return ECG_OK;
}

ecg_code resample_length(const float *x, size_t n_in, float *y, size_t n_out, resample_method m,
                         ecg_err *err) {
    if (n_in == 0 || n_out == 0)
        return err_set(err, ECG_EINVAL, "resample: lengths must be positive (%zu -> %zu)", n_in,
                       n_out);
    if (n_out == n_in) {
        memcpy(y, x, n_in * sizeof *x);
        return ECG_OK;
    }
    double step = (double)n_in / (double)n_out, t0 = 0.5 * step - 0.5;
    if (m == RESAMPLE_SINC) {
        sinc_apply(x, n_in, y, n_out, t0, step, 1.0 / step, EDGE_MIRROR);
        return ECG_OK;
    }
    if (m != RESAMPLE_LINEAR) return err_set(err, ECG_EINVAL, "resample: unknown method %d", m);
    for (size_t k = 0; k < n_out; k++) {
        double t = t0 + (double)k * step;
        if (t < 0) t = 0;
        size_t i0 = (size_t)t;
        if (i0 >= n_in - 1) {
            y[k] = x[n_in - 1];
            continue;
        }
        double f = t - (double)i0;
        y[k] = (float)((1.0 - f) * x[i0] + f * x[i0 + 1]);
    }
    return ECG_OK;
}

ecg_code resample_record(ecg_record *out, const ecg_record *in, double fs_out, ecg_err *err) {
    memset(out, 0, sizeof *out);
    ecg_code rc = check_rates(in->fs, fs_out, in->n_samples, err);
    if (rc) return rc;
    size_t n_out = resample_out_len(in->n_samples, in->fs, fs_out);
    if ((rc = record_alloc(out, in->n_channels, n_out, err))) return rc;
    out->fs = fs_out;
    memcpy(out->channels, in->channels, (size_t)in->n_channels * sizeof *in->channels);
    memcpy(out->record_name, in->record_name, sizeof out->record_name);
    if (in->comments) {
        out->comments = strdup(in->comments);
        if (!out->comments) {
            record_free(out);
            return err_set(err, ECG_ENOMEM, "resample: no memory for comments");
        }
    }
    int up, down;
    int poly = resample_ratio(in->fs, fs_out, &up, &down) && up != down;
    resample_plan p = {0};
    if (poly && (rc = resample_plan_init(&p, up, down, err))) {
        record_free(out);
        return rc;
    }
    size_t n = in->n_samples;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < in->n_channels; c++) {
        const float *x = in->signal + (size_t)c * n;
        float *y = out->signal + (size_t)c * n_out;
        if (poly)
            resample_plan_apply(&p, x, n, y);
        else if (n_out == n && in->fs == fs_out)
            memcpy(y, x, n * sizeof *x);
        else
            sinc_apply(x, n, y, n_out, 0.0, in->fs / fs_out, fs_out / in->fs, EDGE_ZERO);
    }
    resample_plan_free(&p);
    return ECG_OK;
}

/* ---- filters ------------------------------------------------------------------------------------
 */

ecg_code resample_design_highpass(double fs, double fc, double b[3], double a[3], ecg_err *err) {
    if (!(fs > 0) || !(fc > 0) || !(fc < fs / 2) || !isfinite(fs))
        return err_set(err, ECG_EINVAL, "highpass: need 0 < %g Hz < fs/2 = %g Hz", fc, fs / 2);
    /* Bilinear transform of the analogue Butterworth with the cutoff prewarped (scipy.butter). */
    double k = tan(PI * fc / fs), r2 = sqrt(2.0), norm = 1.0 / (1.0 + r2 * k + k * k);
    b[0] = norm;
    b[1] = -2.0 * norm;
    b[2] = norm;
    a[0] = 1.0;
    a[1] = 2.0 * (k * k - 1.0) * norm;
    a[2] = (1.0 - r2 * k + k * k) * norm;
    return ECG_OK;
}

ecg_code resample_design_notch(double fs, double f0, double q, double b[3], double a[3],
                               ecg_err *err) {
    if (q == 0) q = 30.0;
    if (!(fs > 0) || !(f0 > 0) || !(f0 < fs / 2) || !(q > 0) || !isfinite(fs) || !isfinite(q))
        return err_set(err, ECG_EINVAL, "notch: need 0 < %g Hz < fs/2 = %g Hz and Q > 0", f0,
                       fs / 2);
    /* scipy.signal.iirnotch: bandwidth w0/Q at -3 dB. */
    double w0 = 2.0 * f0 / fs, bw = w0 / q;
    double beta = tan(bw * PI / 2.0), gain = 1.0 / (1.0 + beta), cw = cos(w0 * PI);
    b[0] = gain;
    b[1] = -2.0 * cw * gain;
    b[2] = gain;
    a[0] = 1.0;
    a[1] = -2.0 * gain * cw;
    a[2] = 2.0 * gain - 1.0;
    return ECG_OK;
}

/* lfilter, transposed direct form II, state z in/out. */
static void biquad_run(const double b[3], const double a[3], double *x, size_t n, double z[2]) {
    double z0 = z[0], z1 = z[1];
    for (size_t i = 0; i < n; i++) {
        double xi = x[i], yi = b[0] * xi + z0;
        z0 = b[1] * xi - a[1] * yi + z1;
        z1 = b[2] * xi - a[2] * yi;
        x[i] = yi;
    }
    z[0] = z0;
    z[1] = z1;
}

/* filtfilt with padtype 'odd', padlen 9 (fewer for records of 9 samples or less). */
static ecg_code filtfilt(const double b[3], const double a[3], float *x, int n_ch, size_t n,
                         ecg_err *err) {
    if (n == 0 || n_ch <= 0) return ECG_OK;
    size_t pad = n > 9 ? 9 : n - 1, m = n + 2 * pad;
    double *e = malloc(m * sizeof *e);
    if (!e) return err_set(err, ECG_ENOMEM, "filter: no memory for %zu samples", m);
    /* lfilter_zi: the state of a step response in steady state. */
    double B0 = b[1] - a[1] * b[0], B1 = b[2] - a[2] * b[0];
    double zi0 = (B0 + B1) / (1.0 + a[1] + a[2]), zi1 = B1 - a[2] * zi0;
    for (int c = 0; c < n_ch; c++) {
        float *xc = x + (size_t)c * n;
        for (size_t i = 0; i < pad; i++)
            e[i] = 2.0 * xc[0] - xc[pad - i];
        for (size_t i = 0; i < n; i++)
            e[pad + i] = xc[i];
        for (size_t i = 0; i < pad; i++)
            e[pad + n + i] = 2.0 * xc[n - 1] - xc[n - 2 - i];
        double z[2] = {zi0 * e[0], zi1 * e[0]};
        biquad_run(b, a, e, m, z);
        for (size_t i = 0, j = m - 1; i < j; i++, j--) {
            double t = e[i];
            e[i] = e[j];
            e[j] = t;
        }
        z[0] = zi0 * e[0];
        z[1] = zi1 * e[0];
        biquad_run(b, a, e, m, z);
        for (size_t i = 0; i < n; i++)
            xc[i] = (float)e[m - 1 - pad - i];
    }
    free(e);
    return ECG_OK;
}

ecg_code resample_highpass(float *x, int n_ch, size_t n, double fs, double fc, ecg_err *err) {
    double b[3], a[3];
    ecg_code rc = resample_design_highpass(fs, fc, b, a, err);
    return rc ? rc : filtfilt(b, a, x, n_ch, n, err);
}

ecg_code resample_notch(float *x, int n_ch, size_t n, double fs, double f0, double q,
                        ecg_err *err) {
    double b[3], a[3];
    ecg_code rc = resample_design_notch(fs, f0, q, b, a, err);
    return rc ? rc : filtfilt(b, a, x, n_ch, n, err);
}

ecg_code resample_filter(float *x, int n_ch, size_t n, double fs, const resample_filter_opts *o,
                         ecg_err *err) {
    if (!o) return ECG_OK;
    ecg_code rc;
    if (o->highpass_hz != 0 && (rc = resample_highpass(x, n_ch, n, fs, o->highpass_hz, err)))
        return rc;
    if (o->notch_hz != 0 && (rc = resample_notch(x, n_ch, n, fs, o->notch_hz, o->notch_q, err)))
        return rc;
    return ECG_OK;
}

/* ---- windows ------------------------------------------------------------------------------------
 */

size_t resample_window_count(size_t n, size_t win) {
    if (n == 0 || win == 0) return 0;
    return n < win ? 1 : n / win;
}

void resample_window_extract(const float *x, int n_ch, size_t n, size_t start, size_t win,
                             float *out) {
    size_t avail = start < n ? n - start : 0;
    size_t take = avail < win ? avail : win;
    for (int c = 0; c < n_ch; c++) {
        float *o = out + (size_t)c * win;
        if (take) memcpy(o, x + (size_t)c * n + start, take * sizeof *o);
        if (take < win) memset(o + take, 0, (win - take) * sizeof *o);
    }
}

size_t resample_crop_random(const float *x, int n_ch, size_t n, size_t win, rng_state *r,
                            float *out) {
    size_t start = n >= win ? (size_t)rng_below(r, (uint64_t)(n - win) + 1) : 0;
    resample_window_extract(x, n_ch, n, start, win, out);
    return start;
}

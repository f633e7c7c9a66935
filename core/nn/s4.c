/* s4.c — S4D parameters: the HiPPO-LegS initialisation, and the convolution kernel with its
 * backward, computed in double (powers of dA by repeated multiplication) and stored as float. */
#include "core/nn/s4.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>

/* LAPACK (exported by OpenBLAS): eigen-decomposition of a complex Hermitian matrix. The trailing
 * size_t arguments are the hidden lengths gfortran passes for CHARACTER arguments. */
void zheev_(const char *jobz, const char *uplo, const int *n, double complex *a, const int *lda,
            double *w, double complex *work, const int *lwork, double *rwork, int *info,
            size_t jobz_len, size_t uplo_len);

size_t s4_param_floats(int H, int N, int ch) {
    size_t h = (size_t)H, m = (size_t)(N / 2);
    return h + (size_t)ch * h * m * 2 + 2 * h * m + h;
}

void s4_params_view(s4_params *p, float *buf, int H, int N, int ch) {
    size_t h = (size_t)H, m = (size_t)(N / 2);
    p->log_dt = buf;
    p->C = p->log_dt + h;
    p->log_A_real = p->C + (size_t)ch * h * m * 2;
    p->A_imag = p->log_A_real + h * m;
    p->D = p->A_imag + h * m;
}

/* The diagonal part of S4D-LegS for state size N (even): the normal part of HiPPO-LegS is
 * -1/2 I + S with S skew-symmetric, S[n,k] = -sign(n-k) sqrt((2n+1)(2k+1)) / 2. Its eigenvalues are
 * -1/2 ± i w; the Hermitian -iS has the real eigenvalues ±w (LAPACK returns them ascending), and
 * we keep the N/2 positive ones in ascending order. b[m] = |v_m^H B| with B[n] = sqrt(2n+1): the
 * phase of an eigenvector is arbitrary, so we choose it to make v_m^H B real and positive (C is
 * drawn from a rotation-invariant complex normal, so this does not change its distribution, and it
 * makes the result independent of the LAPACK build). */
static ecg_code s4_legs_modes(double *w_imag, double *b, int N, ecg_err *err) {
    int n = N, lwork = 4 * N, info = 0;
    double complex *a = malloc((size_t)n * n * sizeof *a);
    double complex *work = malloc((size_t)lwork * sizeof *work);
    double *w = malloc((size_t)n * sizeof *w);
    double *rwork = malloc((size_t)(3 * n) * sizeof *rwork);
    ecg_code rc = ECG_OK;
    if (!a || !work || !w || !rwork) {
        rc = err_set(err, ECG_ENOMEM, "s4_init: no memory for the %dx%d eigenproblem", N, N);
        goto out;
    }
    /* Column-major a[i + j n] = -i S[i, j]. */
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            double s = i == j ? 0.0 : -0.5 * sqrt((2.0 * i + 1) * (2.0 * j + 1)) * (i > j ? 1 : -1);
            a[i + (size_t)j * n] = -I * s;
        }
    zheev_("V", "L", &n, a, &n, w, work, &lwork, rwork, &info, 1, 1);
    if (info != 0) {
        rc = err_set(err, ECG_EINVAL, "s4_init: zheev failed (info %d) for N = %d", info, N);
        goto out;
    }
    int M = N / 2;
    for (int m = 0; m < M; m++) {
        int col = N - M + m; /* the M largest, ascending */
        double complex vb = 0;
        for (int i = 0; i < n; i++)
            vb += conj(a[i + (size_t)col * n]) * sqrt(2.0 * i + 1);
        w_imag[m] = w[col];
        b[m] = cabs(vb);
    }
    if (w_imag[0] <= 0) rc = err_set(err, ECG_EINVAL, "s4_init: LegS spectrum has a zero mode");
out:
    free(a);
    free(work);
    free(w);
    free(rwork);
    return rc;
}

/* Draw order (part of the determinism contract): log_dt[h] for every h; then C[c,h,m] as
 * (real normal, imaginary normal) in memory order; then D[h]. */
ecg_code s4_init(s4_params *p, int H, int N, int ch, float dt_min, float dt_max, rng_state *rng,
                 ecg_err *err) {
    if (H < 1 || N < 2 || N % 2 != 0 || (ch != 1 && ch != 2))
        return err_set(err, ECG_EINVAL,
                       "s4_init: need H >= 1, even N >= 2, ch 1 or 2 (got %d %d %d)", H, N, ch);
    if (!(dt_min > 0) || !(dt_max >= dt_min))
        return err_set(err, ECG_EINVAL, "s4_init: need 0 < dt_min <= dt_max (got %g %g)",
                       (double)dt_min, (double)dt_max);
    int M = N / 2;
    double *w = malloc((size_t)M * sizeof *w), *b = malloc((size_t)M * sizeof *b);
    if (!w || !b) {
        free(w);
        free(b);
        return err_set(err, ECG_ENOMEM, "s4_init: no memory");
    }
    ecg_code rc = s4_legs_modes(w, b, N, err);
    if (rc == ECG_OK) {
        double lo = log((double)dt_min), hi = log((double)dt_max);
        for (int h = 0; h < H; h++)
            p->log_dt[h] = (float)(lo + (hi - lo) * rng_uniform(rng));
        for (int c = 0; c < ch; c++)
            for (int h = 0; h < H; h++)
                for (int m = 0; m < M; m++) {
                    float *z = p->C + (((size_t)c * H + h) * M + m) * 2;
                    double re = rng_normal(rng), im = rng_normal(rng);
                    z[0] = (float)(re * M_SQRT1_2 * b[m]);
                    z[1] = (float)(im * M_SQRT1_2 * b[m]);
                }
        for (int h = 0; h < H; h++)
            for (int m = 0; m < M; m++) {
                p->log_A_real[(size_t)h * M + m] = (float)log(0.5);
                p->A_imag[(size_t)h * M + m] = (float)w[m];
            }
        for (int h = 0; h < H; h++)
            p->D[h] = rng_normal(rng);
    }
    free(w);
    free(b);
    return rc;
}

/* Bilinear discretisation of one mode, with what the backward needs. */
typedef struct {
    double dt;
    double complex A, den, dA, dB;
} s4_mode;

static s4_mode s4_mode_get(const s4_params *p, int h, int m, int M) {
    s4_mode d;
    size_t i = (size_t)h * M + m;
    d.dt = exp((double)p->log_dt[h]);
    d.A = -exp((double)p->log_A_real[i]) + I * (double)p->A_imag[i];
    d.den = 1.0 - 0.5 * d.dt * d.A;
    d.dA = (1.0 + 0.5 * d.dt * d.A) / d.den;
    d.dB = d.dt / d.den;
    return d;
}

static double complex s4_c(const float *C, int c, int h, int m, int H, int M) {
    const float *z = C + (((size_t)c * H + h) * M + m) * 2;
    return (double)z[0] + I * (double)z[1];
}

/* The hot loops keep the modes' powers as separate real and imaginary arrays, so they run across
 * modes in SIMD lanes (C's complex multiply also carries a NaN check per product). */
void s4_kernel_forward(float *k, const s4_params *p, int H, int N, int ch, int L) {
    int M = N / 2;
#pragma omp parallel for schedule(static)
    for (int h = 0; h < H; h++) {
        /* z^l (pr, pi) is shared by the ch kernels; W = C dB differs per kernel. */
        double ar[M], ai[M], pr[M], pi[M], wr[2][M], wi[2][M];
        for (int m = 0; m < M; m++) {
            s4_mode d = s4_mode_get(p, h, m, M);
            ar[m] = creal(d.dA);
            ai[m] = cimag(d.dA);
            pr[m] = 1;
            pi[m] = 0;
            for (int c = 0; c < ch; c++) {
                double complex w = s4_c(p->C, c, h, m, H, M) * d.dB;
                wr[c][m] = creal(w);
                wi[c][m] = cimag(w);
            }
        }
        float *k0 = k + (size_t)h * L, *k1 = ch == 2 ? k + ((size_t)H + h) * L : NULL;
        for (int l = 0; l < L; l++) {
            double s0 = 0, s1 = 0;
#pragma omp simd reduction(+ : s0, s1)
            for (int m = 0; m < M; m++) {
                s0 += wr[0][m] * pr[m] - wi[0][m] * pi[m];
                if (ch == 2) s1 += wr[1][m] * pr[m] - wi[1][m] * pi[m];
                double t = pr[m] * ar[m] - pi[m] * ai[m];
                pi[m] = pr[m] * ai[m] + pi[m] * ar[m];
                pr[m] = t;
            }
            k0[l] = (float)(2.0 * s0);
            if (ch == 2) k1[l] = (float)(2.0 * s1);
        }
    }
}

/* Gradients use g_z = dL/dRe z + i dL/dIm z for complex z. With k_l = 2 Re(W z^l):
 *   g_W = 2 conj(S0), g_z = 2 conj(W S1), S0 = sum_l dk_l z^l, S1 = sum_l l dk_l z^(l-1),
 * and through a holomorphic map q -> f(q), g_q = conj(f'(q)) g_f. With den = 1 - dt A / 2:
 *   d dA/dA = dt/den^2, d dA/ddt = A/den^2, d dB/dA = dt^2/(2 den^2), d dB/ddt = 1/den^2. */
void s4_kernel_backward(s4_params *g, const float *dk, const s4_params *p, int H, int N, int ch,
                        int L, int train_A) {
    int M = N / 2;
#pragma omp parallel for schedule(static)
    for (int h = 0; h < H; h++) {
        double ar[M], ai[M], pr[M], pi[M], qr[M], qi[M];
        double s0r[2][M], s0i[2][M], s1r[2][M], s1i[2][M]; /* per kernel c (zero when ch = 1) */
        for (int m = 0; m < M; m++) {
            double complex dA = s4_mode_get(p, h, m, M).dA;
            ar[m] = creal(dA);
            ai[m] = cimag(dA);
        }
        for (int m = 0; m < M; m++) {
            pr[m] = 1, pi[m] = 0, qr[m] = 0, qi[m] = 0; /* z^l and z^(l-1), shared by the kernels */
            for (int c = 0; c < 2; c++)
                s0r[c][m] = s0i[c][m] = s1r[c][m] = s1i[c][m] = 0;
        }
        const float *dk0 = dk + (size_t)h * L, *dk1 = ch == 2 ? dk + ((size_t)H + h) * L : NULL;
        for (int l = 0; l < L; l++) {
            double d0 = dk0[l], d1 = ch == 2 ? dk1[l] : 0.0;
#pragma omp simd
            for (int m = 0; m < M; m++) {
                s0r[0][m] += d0 * pr[m];
                s0i[0][m] += d0 * pi[m];
                s1r[0][m] += l * d0 * qr[m];
                s1i[0][m] += l * d0 * qi[m];
                s0r[1][m] += d1 * pr[m];
                s0i[1][m] += d1 * pi[m];
                s1r[1][m] += l * d1 * qr[m];
                s1i[1][m] += l * d1 * qi[m];
                qr[m] = pr[m];
                qi[m] = pi[m];
                double t = pr[m] * ar[m] - pi[m] * ai[m];
                pi[m] = pr[m] * ai[m] + pi[m] * ar[m];
                pr[m] = t;
            }
        }
        double gdt = 0;
        for (int m = 0; m < M; m++) {
            s4_mode d = s4_mode_get(p, h, m, M);
            double complex gz = 0, gdB = 0;
            for (int c = 0; c < ch; c++) {
                double complex s0 = s0r[c][m] + I * s0i[c][m], s1 = s1r[c][m] + I * s1i[c][m];
                double complex C = s4_c(p->C, c, h, m, H, M);
                double complex gW = 2.0 * conj(s0);
                double complex gC = conj(d.dB) * gW;
                float *gc = g->C + (((size_t)c * H + h) * M + m) * 2;
                gc[0] += (float)creal(gC);
                gc[1] += (float)cimag(gC);
                gz += 2.0 * conj(C * d.dB * s1);
                gdB += conj(C) * gW;
            }
            double complex den2 = d.den * d.den;
            gdt += creal(conj(gz) * d.A / den2) + creal(conj(gdB) / den2);
            if (train_A) {
                double complex gA = conj(d.dt / den2) * gz + conj(d.dt * d.dt / (2.0 * den2)) * gdB;
                size_t i = (size_t)h * M + m;
                g->log_A_real[i] += (float)(creal(gA) * creal(d.A));
                g->A_imag[i] += (float)cimag(gA);
            }
        }
        g->log_dt[h] += (float)(gdt * exp((double)p->log_dt[h]));
    }
}

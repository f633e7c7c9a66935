/* fit.c — power-law fits with constrained least squares, seed bootstrap for the exponent,
 * t-intervals, rank and linear correlation, and linear CKA between embeddings. */
#include "core/study/fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/rng.h"

#define FIT_GRID 400

/* Best (E, A) >= 0 for fixed alpha; returns the SSE. */
static double fit_fixed_alpha(const double *N, const double *y, int n, double alpha, double *E,
                              double *A) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        double x = pow(N[i], -alpha);
        sx += x;
        sy += y[i];
        sxx += x * x;
        sxy += x * y[i];
    }
    double xm = sx / n, ym = sy / n;
    double cxx = sxx - n * xm * xm, cxy = sxy - n * xm * ym;
    double cand[4][2];
    int nc = 0;
    if (cxx > 0) {
        double a = cxy / cxx, e = ym - a * xm;
        if (a >= 0 && e >= 0) {
            cand[nc][0] = e;
            cand[nc++][1] = a;
        }
    }
    cand[nc][0] = 0; /* E = 0 */
    cand[nc++][1] = sxx > 0 && sxy > 0 ? sxy / sxx : 0;
    cand[nc][0] = ym > 0 ? ym : 0; /* A = 0 */
    cand[nc++][1] = 0;
    double best = INFINITY;
    for (int c = 0; c < nc; c++) {
        double sse = 0;
        for (int i = 0; i < n; i++) {
            double r = y[i] - cand[c][0] - cand[c][1] * pow(N[i], -alpha);
            sse += r * r;
        }
        if (sse < best) {
            best = sse;
            *E = cand[c][0];
            *A = cand[c][1];
        }
    }
    return best;
}

/* Fit on points already filtered to N > 0 (no checks). */
static void fit_points(const double *N, const double *y, int n, fit_power *out) {
    double la = log(FIT_ALPHA_MIN), lb = log(FIT_ALPHA_MAX);
    double best = INFINITY, E, A;
    int kbest = 0;
    for (int k = 0; k < FIT_GRID; k++) {
        double alpha = exp(la + (lb - la) * k / (FIT_GRID - 1));
        double sse = fit_fixed_alpha(N, y, n, alpha, &E, &A);
        if (sse < best) {
            best = sse;
            kbest = k;
        }
    }
    /* golden section on log(alpha) between the grid neighbours */
    double lo = la + (lb - la) * (kbest > 0 ? kbest - 1 : 0) / (FIT_GRID - 1);
    double hi = la + (lb - la) * (kbest < FIT_GRID - 1 ? kbest + 1 : FIT_GRID - 1) / (FIT_GRID - 1);
    const double g = (sqrt(5.0) - 1) / 2;
    double c = hi - g * (hi - lo), d = lo + g * (hi - lo);
    double fc = fit_fixed_alpha(N, y, n, exp(c), &E, &A);
    double fd = fit_fixed_alpha(N, y, n, exp(d), &E, &A);
    for (int it = 0; it < 80 && hi - lo > 1e-12; it++) {
        if (fc <= fd) {
            hi = d;
            d = c;
            fd = fc;
            c = hi - g * (hi - lo);
            fc = fit_fixed_alpha(N, y, n, exp(c), &E, &A);
        } else {
            lo = c;
            c = d;
            fc = fd;
            d = lo + g * (hi - lo);
            fd = fit_fixed_alpha(N, y, n, exp(d), &E, &A);
        }
    }
    double alpha = exp(0.5 * (lo + hi));
    double sse = fit_fixed_alpha(N, y, n, alpha, &E, &A);
    if (sse > best) { /* refinement can only help; keep the grid value otherwise */
        alpha = exp(la + (lb - la) * kbest / (FIT_GRID - 1));
        sse = fit_fixed_alpha(N, y, n, alpha, &E, &A);
    }
    out->E = E;
    out->A = A;
    out->alpha = alpha;
    out->sse = sse;
    out->rmse = sqrt(sse / n);
    out->n = n;
    out->flat = !(A > 0);
    out->at_bound = alpha <= FIT_ALPHA_MIN * (1 + 1e-6) || alpha >= FIT_ALPHA_MAX * (1 - 1e-6);
}

static int distinct_positive(const double *N, int n) {
    int d = 0;
    for (int i = 0; i < n; i++) {
        if (!(N[i] > 0)) continue;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = N[j] == N[i];
        d += !seen;
    }
    return d;
}

ecg_code fit_power_law(const double *N, const double *y, int n, fit_power *out, ecg_err *err) {
    memset(out, 0, sizeof *out);
    out->E = out->A = out->alpha = out->sse = out->rmse = NAN;
    if (n < 1) return err_set(err, ECG_EINVAL, "fit: no points");
    double *nn = malloc((size_t)n * 2 * sizeof *nn);
    if (!nn) return err_set(err, ECG_ENOMEM, "fit: out of memory");
    double *yy = nn + n;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (!(N[i] > 0)) continue;
        if (!isfinite(y[i]) || !isfinite(N[i])) {
            free(nn);
            return err_set(err, ECG_EINVAL, "fit: point %d is not finite", i);
        }
        nn[m] = N[i];
        yy[m++] = y[i];
    }
    int nd = distinct_positive(nn, m);
    if (nd < 3) {
        free(nn);
        return err_set(err, ECG_EINVAL,
                       "fit: E + A N^-alpha needs at least 3 distinct sizes N > 0, got %d", nd);
    }
    fit_points(nn, yy, m, out);
    free(nn);
    return ECG_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile_sorted(const double *v, int n, double p) {
    double pos = p * (n - 1);
    int i = (int)floor(pos);
    if (i >= n - 1) return v[n - 1];
    double f = pos - i;
    return v[i] + f * (v[i + 1] - v[i]);
}

ecg_code fit_bootstrap_alpha(const double *N, const int *counts, const double *y, int n_groups,
                             int B, uint64_t seed, double *lo, double *hi, int *n_flat,
                             ecg_err *err) {
    *lo = *hi = NAN;
    if (n_flat) *n_flat = 0;
    if (B < 2) return err_set(err, ECG_EINVAL, "fit: bootstrap needs at least 2 replicates");
    int total = 0, pos = 0;
    for (int g = 0; g < n_groups; g++) {
        if (counts[g] < 0) return err_set(err, ECG_EINVAL, "fit: negative group count");
        total += counts[g];
        if (counts[g] > 0 && N[g] > 0) pos++;
    }
    if (pos < 3)
        return err_set(err, ECG_EINVAL, "fit: bootstrap needs at least 3 sizes N > 0 with data");
    double *nn = malloc((size_t)total * sizeof *nn), *yy = malloc((size_t)total * sizeof *yy);
    double *alphas = malloc((size_t)B * sizeof *alphas);
    if (!nn || !yy || !alphas) {
        free(nn);
        free(yy);
        free(alphas);
        return err_set(err, ECG_ENOMEM, "fit: out of memory");
    }
    rng_state r;
    rng_seed(&r, seed);
    int flat = 0;
    for (int b = 0; b < B; b++) {
        int m = 0, off = 0;
        for (int g = 0; g < n_groups; g++) {
            for (int k = 0; k < counts[g]; k++) {
                int j = (int)rng_below(&r, (uint64_t)counts[g]);
                if (N[g] > 0) {
                    nn[m] = N[g];
                    yy[m++] = y[off + j];
                }
            }
            off += counts[g];
        }
        fit_power f;
        fit_points(nn, yy, m, &f);
        alphas[b] = f.alpha;
        flat += f.flat;
    }
    qsort(alphas, (size_t)B, sizeof *alphas, cmp_double);
    *lo = percentile_sorted(alphas, B, 0.025);
    *hi = percentile_sorted(alphas, B, 0.975);
    if (n_flat) *n_flat = flat;
    free(nn);
    free(yy);
    free(alphas);
    return ECG_OK;
}

double fit_t975(int df) {
    static const double t[31] = {NAN,   12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
                                 2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                                 2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
                                 2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    if (df < 1) return NAN;
    if (df <= 30) return t[df];
    return 1.959964 + 2.4 / df;
}

void fit_mean_ci95(const double *x, int n, double *mean, double *lo, double *hi, int *n_used) {
    double s = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(x[i])) {
            s += x[i];
            m++;
        }
    if (n_used) *n_used = m;
    *mean = m ? s / m : NAN;
    *lo = *hi = NAN;
    if (m < 2) return;
    double ss = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(x[i])) ss += (x[i] - *mean) * (x[i] - *mean);
    double half = fit_t975(m - 1) * sqrt(ss / (m - 1) / m);
    *lo = *mean - half;
    *hi = *mean + half;
}

double fit_pearson(const double *x, const double *y, int n) {
    if (n < 2) return NAN;
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= n;
    my /= n;
    double sxx = 0, syy = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    if (!(sxx > 0) || !(syy > 0)) return NAN;
    return sxy / sqrt(sxx * syy);
}

/* Average ranks (1-based), ties sharing their mean rank. */
static int ranks(const double *x, int n, double *rk) {
    int *idx = malloc((size_t)n * sizeof *idx);
    if (!idx) return -1;
    for (int i = 0; i < n; i++)
        idx[i] = i;
    for (int i = 1; i < n; i++) { /* insertion sort: n is a handful of runs */
        int v = idx[i], j = i - 1;
        while (j >= 0 && x[idx[j]] > x[v]) {
            idx[j + 1] = idx[j];
            j--;
        }
        idx[j + 1] = v;
    }
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && x[idx[j + 1]] == x[idx[i]])
            j++;
        for (int k = i; k <= j; k++)
            rk[idx[k]] = 0.5 * (i + j) + 1;
        i = j + 1;
    }
    free(idx);
    return 0;
}

double fit_spearman(const double *x, const double *y, int n) {
    if (n < 2) return NAN;
    double *rx = malloc((size_t)n * 2 * sizeof *rx);
    if (!rx) return NAN;
    double *ry = rx + n;
    double r = NAN;
    if (!ranks(x, n, rx) && !ranks(y, n, ry)) r = fit_pearson(rx, ry, n);
    free(rx);
    return r;
}

/* Columns of X [n][p] centred, stored column-major [p][n]. */
static void centre_columns(const float *X, int p, int n, double *out) {
    for (int j = 0; j < p; j++) {
        double m = 0;
        for (int i = 0; i < n; i++)
            m += X[(size_t)i * p + j];
        m /= n;
        for (int i = 0; i < n; i++)
            out[(size_t)j * n + i] = X[(size_t)i * p + j] - m;
    }
}

/* ||Aᵀ B||²_F for column-major A [a][n], B [b][n]; each entry reduced in row order. */
static double cross_frob2(const double *A, int a, const double *B, int b, int n) {
    double *row = malloc((size_t)a * sizeof *row);
    if (!row) return NAN;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < a; i++) {
        double s2 = 0;
        for (int j = 0; j < b; j++) {
            double s = 0;
            const double *u = A + (size_t)i * n, *v = B + (size_t)j * n;
            for (int k = 0; k < n; k++)
                s += u[k] * v[k];
            s2 += s * s;
        }
        row[i] = s2;
    }
    double t = 0;
    for (int i = 0; i < a; i++)
        t += row[i];
    free(row);
    return t;
}

ecg_code fit_linear_cka(const float *X, int p, const float *Y, int q, int n, double *cka,
                        ecg_err *err) {
    *cka = NAN;
    if (n < 2 || p < 1 || q < 1) return err_set(err, ECG_EINVAL, "cka: needs n >= 2 rows");
    double *xc = malloc((size_t)p * n * sizeof *xc), *yc = malloc((size_t)q * n * sizeof *yc);
    if (!xc || !yc) {
        free(xc);
        free(yc);
        return err_set(err, ECG_ENOMEM, "cka: out of memory");
    }
    centre_columns(X, p, n, xc);
    centre_columns(Y, q, n, yc);
    double xy = cross_frob2(yc, q, xc, p, n);
    double xx = cross_frob2(xc, p, xc, p, n);
    double yy = cross_frob2(yc, q, yc, q, n);
    free(xc);
    free(yc);
    if (isnan(xy) || isnan(xx) || isnan(yy)) return err_set(err, ECG_ENOMEM, "cka: out of memory");
    if (xx > 0 && yy > 0) *cka = xy / (sqrt(xx) * sqrt(yy));
    return ECG_OK;
}

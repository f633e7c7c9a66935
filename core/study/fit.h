/* fit.h — the statistics of the scaling study: power-law fits error = E + A·N^(−α) with bootstrap
 * intervals, t-intervals over seeds, Pearson and Spearman correlation, and linear CKA. */
#ifndef ECGFM_CORE_STUDY_FIT_H
#define ECGFM_CORE_STUDY_FIT_H

#include <stdint.h>

#include "core/base/error.h"

/* Bounds of the exponent search. */
#define FIT_ALPHA_MIN 1e-3
#define FIT_ALPHA_MAX 4.0

typedef struct {
    double E, A, alpha; /* E >= 0, A >= 0, alpha in [FIT_ALPHA_MIN, FIT_ALPHA_MAX] */
    double sse;         /* sum of squared residuals */
    double rmse;
    int n;        /* points used */
    int flat;     /* A == 0: no decrease with N, alpha is then meaningless */
    int at_bound; /* alpha ended on a search bound */
} fit_power;

/*
 * Least-squares fit of y = E + A·N^(−α) over n points with N > 0 (points with N <= 0 are
 * ignored), constrained E >= 0, A >= 0, α in [FIT_ALPHA_MIN, FIT_ALPHA_MAX]. For fixed α the model
 * is linear in (E, A): the constrained 2-variable least squares is solved exactly (the
 * unconstrained solution when feasible, else the best of the boundary solutions E = 0 or A = 0).
 * α is found by a grid of 400 log-spaced values followed by golden-section refinement between the
 * grid neighbours of the best value (the profile SSE is not guaranteed unimodal, the grid guards
 * against that). Deterministic, double precision throughout. Needs at least 3 distinct N > 0
 * (3 parameters); ECG_EINVAL otherwise.
 */
ecg_code fit_power_law(const double *N, const double *y, int n, fit_power *out, ecg_err *err);

/* Bootstrap interval for α: groups g = 0..n_groups-1 are the sizes N[g], each with counts[g]
 * observations (seeds) in y[offset[g] ..]; each replicate resamples every group's observations
 * with replacement (same count), refits, and keeps α. Replicates whose fit fails or is flat count
 * in *n_flat and keep α as fitted (flat fits have A = 0, α at its search value). lo/hi are the
 * 2.5 % and 97.5 % percentiles (linear interpolation between order statistics) of the B values.
 * Stream: rng_seed(seed). */
ecg_code fit_bootstrap_alpha(const double *N, const int *counts, const double *y, int n_groups,
                             int B, uint64_t seed, double *lo, double *hi, int *n_flat,
                             ecg_err *err);

/* Mean and two-sided 95 % Student-t interval (mean ± t_{0.975, n−1}·s/√n, s with n−1): lo/hi NaN
 * for n < 2. NaN values in x are skipped (n counts the rest); *n_used may be NULL. */
void fit_mean_ci95(const double *x, int n, double *mean, double *lo, double *hi, int *n_used);
/* t_{0.975, df} (exact table to df 30, then 1.96 + 2.4/df). */
double fit_t975(int df);

/* Pearson correlation of x and y (NaN when either is constant or n < 2). */
double fit_pearson(const double *x, const double *y, int n);
/* Spearman: Pearson of the average ranks (ties share their mean rank, as scipy). */
double fit_spearman(const double *x, const double *y, int n);

/* Linear CKA (Kornblith et al. 2019) between X [n][p] and Y [n][q] (row-major, same n rows):
 * columns centred, ||Yᶜᵀ Xᶜ||²_F / (||Xᶜᵀ Xᶜ||_F ||Yᶜᵀ Yᶜ||_F), in double. NaN when either
 * centred matrix is zero. Deterministic: each Gram entry is reduced in row order. */
ecg_code fit_linear_cka(const float *X, int p, const float *Y, int q, int n, double *cka,
                        ecg_err *err);

#endif

/* probe_logreg.c — the linear probe: multinomial logistic regression with an L2 penalty, fitted by
 * L-BFGS in double to a tight gradient (the minimiser sklearn's lbfgs reaches), C chosen by CV. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/rng.h"
#include "core/transfer/classify_impl.h"

#define LBFGS_M 10
#define CV_GTOL 1e-6 /* model selection only ranks C values: a looser fit is enough */

static const double DEFAULT_C[] = {1e-4, 1e-3, 1e-2, 1e-1, 1, 1e1, 1e2, 1e3, 1e4};

/* One problem: standardised rows X [n][d], compact labels y in [0, K), penalty lambda = 1/(C n).
 * Parameters theta = [W (K x d) row-major, b (K)]. */
typedef struct {
    const double *X;
    const int *y;
    int n, d, K;
    double lambda;
    double *Z;    /* [n][K] logits, then P - Y */
    double *loss; /* [n] */
} lr_problem;

/* f = mean cross-entropy + lambda/2 |W|^2, and its gradient g. */
static double lr_eval(lr_problem *p, const double *theta, double *g) {
    int n = p->n, d = p->d, K = p->K;
    const double *W = theta, *b = theta + (size_t)K * d;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, K, d, 1.0, p->X, d, W, d, 0.0, p->Z, K);
    for (int i = 0; i < n; i++) {
        double *z = p->Z + (size_t)i * K, mx = -INFINITY, s = 0;
        for (int k = 0; k < K; k++) {
            z[k] += b[k];
            if (z[k] > mx) mx = z[k];
        }
        for (int k = 0; k < K; k++)
            s += exp(z[k] - mx);
        double lse = mx + log(s);
        p->loss[i] = lse - z[p->y[i]];
        for (int k = 0; k < K; k++)
            z[k] = exp(z[k] - lse);
        z[p->y[i]] -= 1;
    }
    double f = 0, w2 = 0;
    for (int i = 0; i < n; i++)
        f += p->loss[i];
    for (size_t j = 0; j < (size_t)K * d; j++)
        w2 += W[j] * W[j];
    f = f / n + 0.5 * p->lambda * w2;
    memcpy(g, W, (size_t)K * d * sizeof *g);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, d, n, 1.0 / n, p->Z, K, p->X, d,
                p->lambda, g, d);
    double *gb = g + (size_t)K * d;
    for (int k = 0; k < K; k++)
        gb[k] = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < K; k++)
            gb[k] += p->Z[(size_t)i * K + k];
    for (int k = 0; k < K; k++)
        gb[k] /= n;
    return f;
}

static double max_abs(const double *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

typedef struct {
    int iters, converged;
    double grad_max;
} lr_result;

/* L-BFGS from theta (warm start) until max |g| < gtol or max_iter. The line search backtracks
 * from the unit step under Armijo; near the optimum, where f stops resolving the decrease, a step
 * that keeps f within rounding and shrinks the directional derivative is taken instead. */
static ecg_code lr_minimise(lr_problem *p, double *theta, double gtol, int max_iter, lr_result *res,
                            ecg_err *err) {
    size_t np = (size_t)p->K * (p->d + 1);
    double *mem = probe_calloc(np * (4 + 2 * LBFGS_M), sizeof *mem, err, "L-BFGS memory");
    if (!mem) return ECG_ENOMEM;
    double *g = mem, *dir = g + np, *xn = dir + np, *gn = xn + np;
    double *S = gn + np, *Y = S + np * LBFGS_M, rho[LBFGS_M], alpha[LBFGS_M];
    int head = 0, stored = 0;
    double f = lr_eval(p, theta, g);
    res->iters = 0;
    res->converged = 0;
    for (;;) {
        res->grad_max = max_abs(g, np);
        if (res->grad_max < gtol) {
            res->converged = 1;
            break;
        }
        if (res->iters >= max_iter) break;
        /* Two-loop recursion: dir = -H g. */
        for (size_t j = 0; j < np; j++)
            dir[j] = -g[j];
        for (int t = 0; t < stored; t++) {
            int s = (head - 1 - t + LBFGS_M) % LBFGS_M;
            alpha[s] = rho[s] * dot(S + np * s, dir, np);
            for (size_t j = 0; j < np; j++)
                dir[j] -= alpha[s] * Y[np * s + j];
        }
        double gamma = 1;
        if (stored) {
            int s = (head - 1 + LBFGS_M) % LBFGS_M;
            gamma = dot(S + np * s, Y + np * s, np) / dot(Y + np * s, Y + np * s, np);
        } else {
            gamma = 1 / fmax(1.0, sqrt(dot(g, g, np)));
        }
        for (size_t j = 0; j < np; j++)
            dir[j] *= gamma;
        for (int t = stored - 1; t >= 0; t--) {
            int s = (head - 1 - t + LBFGS_M) % LBFGS_M;
            double beta = rho[s] * dot(Y + np * s, dir, np);
            for (size_t j = 0; j < np; j++)
                dir[j] += (alpha[s] - beta) * S[np * s + j];
        }
        double dphi0 = dot(g, dir, np);
        if (!(dphi0 < 0)) { /* not a descent direction (rounding): restart from the gradient */
            stored = 0;
            for (size_t j = 0; j < np; j++)
                dir[j] = -g[j] / fmax(1.0, sqrt(dot(g, g, np)));
            dphi0 = dot(g, dir, np);
        }
        double step = 1, fn = f;
        int ok = 0;
        for (int ls = 0; ls < 40; ls++) {
            for (size_t j = 0; j < np; j++)
                xn[j] = theta[j] + step * dir[j];
            fn = lr_eval(p, xn, gn);
            double dphi = dot(gn, dir, np);
            if (fn <= f + 1e-4 * step * dphi0 ||
                (fn <= f + 1e-13 * fabs(f) && fabs(dphi) <= 0.9 * fabs(dphi0))) {
                ok = 1;
                break;
            }
            step *= 0.5;
        }
        res->iters++;
        if (!ok) break; /* no progress is resolvable in double: stop, report the gradient */
        int s = head;
        double sy = 0;
        for (size_t j = 0; j < np; j++) {
            S[np * s + j] = xn[j] - theta[j];
            Y[np * s + j] = gn[j] - g[j];
        }
        sy = dot(S + np * s, Y + np * s, np);
        if (sy > 1e-300) { /* convex: sy >= 0; skip a pair that carries no curvature */
            rho[s] = 1 / sy;
            head = (head + 1) % LBFGS_M;
            if (stored < LBFGS_M) stored++;
        }
        memcpy(theta, xn, np * sizeof *theta);
        memcpy(g, gn, np * sizeof *g);
        f = fn;
    }
    free(mem);
    return ECG_OK;
}

/* Standardised copies of rows `rows` of x (all when NULL) in double. */
static double *scaled_rows(const float *x, const int *rows, int n, int d, const double *mean,
                           const double *std, ecg_err *err) {
    double *X = probe_calloc((size_t)n * d, sizeof *X, err, "design matrix");
    if (!X) return NULL;
    for (int i = 0; i < n; i++)
        probe_scaler_apply(X + (size_t)i * d, x + (size_t)(rows ? rows[i] : i) * d, mean, std, d);
    return X;
}

/* Fit rows X with labels yfull mapped through cls_of onto the Kp present classes; theta (compact,
 * [Kp x d] then [Kp]) is the warm start and receives the result. */
static ecg_code lr_fit_rows(const double *X, const int *yfull, int n, int d, const int *cls_of,
                            int Kp, double C, double gtol, int max_iter, double *theta,
                            lr_result *res, ecg_err *err) {
    int *yc = probe_calloc((size_t)n, sizeof *yc, err, "labels");
    double *Z = probe_calloc((size_t)n * Kp, sizeof *Z, err, "logits");
    double *loss = probe_calloc((size_t)n, sizeof *loss, err, "losses");
    ecg_code rc = ECG_ENOMEM;
    if (yc && Z && loss) {
        for (int i = 0; i < n; i++)
            yc[i] = cls_of[yfull[i]];
        lr_problem p = {X, yc, n, d, Kp, 1.0 / (C * n), Z, loss};
        rc = lr_minimise(&p, theta, gtol, max_iter, res, err);
    }
    free(yc);
    free(Z);
    free(loss);
    return rc;
}

/* Probabilities over the present classes for rows X: z = W x + b, softmax. */
static void lr_proba(const double *X, int n, int d, int Kp, const double *theta, double *P) {
    const double *W = theta, *b = theta + (size_t)Kp * d;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, Kp, d, 1.0, X, d, W, d, 0.0, P, Kp);
    for (int i = 0; i < n; i++) {
        double *z = P + (size_t)i * Kp, mx = -INFINITY, s = 0;
        for (int k = 0; k < Kp; k++) {
            z[k] += b[k];
            if (z[k] > mx) mx = z[k];
        }
        for (int k = 0; k < Kp; k++)
            s += (z[k] = exp(z[k] - mx));
        for (int k = 0; k < Kp; k++)
            z[k] /= s;
    }
}

/* Stratified folds: each class's rows shuffled, classes concatenated, dealt round-robin. */
static void make_folds(int *fold, const int *y, int n, int K, int nf, uint64_t seed, int *order) {
    rng_state r;
    rng_seed(&r, seed);
    int p = 0;
    for (int c = 0; c < K; c++) {
        int start = p;
        for (int i = 0; i < n; i++)
            if (y[i] == c) order[p++] = i;
        for (int i = p - start - 1; i > 0; i--) {
            int j = (int)rng_below(&r, (uint64_t)i + 1);
            int t = order[start + i];
            order[start + i] = order[start + j];
            order[start + j] = t;
        }
    }
    for (int q = 0; q < n; q++)
        fold[order[q]] = q % nf;
}

/* One fold: fit every C of the grid on the other folds' rows (warm-started along the grid), score
 * accuracy and log-loss on this fold into acc[g], ll[g]. */
static ecg_code lr_fold(const probe_model *m, const float *x, const int *y, int n, const int *fold,
                        int f, const double *grid, int ng, double gtol, int max_iter, double *acc,
                        double *ll, ecg_err *err) {
    int d = m->dim, K = m->n_classes;
    int *rows = probe_calloc((size_t)n, sizeof *rows, err, "fold rows");
    int *ytr = probe_calloc((size_t)n, sizeof *ytr, err, "fold labels");
    int *cls_of = probe_calloc((size_t)K, sizeof *cls_of, err, "class map");
    double *mean = probe_calloc((size_t)d, sizeof *mean, err, "fold mean");
    double *std = probe_calloc((size_t)d, sizeof *std, err, "fold std");
    double *theta = probe_calloc((size_t)K * (d + 1), sizeof *theta, err, "fold parameters");
    double *P = probe_calloc((size_t)n * K, sizeof *P, err, "fold probabilities");
    double *X = NULL;
    ecg_code rc = ECG_ENOMEM;
    if (!rows || !ytr || !cls_of || !mean || !std || !theta || !P) goto out;
    int ntr = 0, nva, Kp = 0;
    for (int i = 0; i < n; i++)
        if (fold[i] != f) rows[ntr++] = i;
    nva = n - ntr;
    for (int i = 0, v = ntr; i < n; i++)
        if (fold[i] == f) rows[v++] = i;
    for (int c = 0; c < K; c++)
        cls_of[c] = -1;
    for (int t = 0; t < ntr; t++)
        cls_of[ytr[t] = y[rows[t]]] = 0;
    for (int c = 0; c < K; c++)
        if (cls_of[c] == 0) cls_of[c] = Kp++;
    if (m->mean && (rc = probe_scaler_fit(mean, std, x, rows, ntr, d, err))) goto out;
    rc = ECG_ENOMEM;
    if (!(X = scaled_rows(x, rows, n, d, m->mean ? mean : NULL, std, err))) goto out;
    rc = ECG_OK;
    for (int g = 0; g < ng && !rc; g++) {
        lr_result res;
        rc = lr_fit_rows(X, ytr, ntr, d, cls_of, Kp, grid[g], gtol, max_iter, theta, &res, err);
        if (rc) break;
        lr_proba(X + (size_t)ntr * d, nva, d, Kp, theta, P);
        int right = 0;
        double lsum = 0;
        for (int v = 0; v < nva; v++) {
            const double *pv = P + (size_t)v * Kp;
            int best = 0;
            for (int k = 1; k < Kp; k++)
                if (pv[k] > pv[best]) best = k;
            int c = cls_of[y[rows[ntr + v]]];
            right += c == best;
            /* A class absent from this fold's train part has probability 0: clipped as sklearn's
             * log_loss clips, at 1e-15. */
            lsum -= log(c >= 0 ? fmax(pv[c], 1e-15) : 1e-15);
        }
        acc[g] = (double)right / nva;
        ll[g] = lsum / nva;
    }
out:
    free(rows);
    free(ytr);
    free(cls_of);
    free(mean);
    free(std);
    free(theta);
    free(P);
    free(X);
    return rc;
}

/* Mean fold accuracy and log-loss per C. Folds run in parallel, each with single-threaded BLAS
 * (OpenBLAS does not thread inside a parallel region): the problems are small enough that
 * threading each GEMM mostly measured barrier waits on this shared machine. Results do not depend
 * on which thread ran a fold; the means are summed in fold order. *skipped = 1 (nothing computed)
 * when some fold's train part has fewer than two classes. */
static ecg_code lr_cv(const probe_model *m, const float *x, const int *y, int n, const double *grid,
                      int ng, int nf, uint64_t seed, double gtol, int max_iter, double *acc,
                      double *ll, int *skipped, ecg_err *err) {
    int K = m->n_classes;
    int *fold = probe_calloc((size_t)n, sizeof *fold, err, "folds");
    int *order = probe_calloc((size_t)n, sizeof *order, err, "fold order");
    int *seen = probe_calloc((size_t)nf * K, sizeof *seen, err, "fold classes");
    double *fa = probe_calloc((size_t)nf * ng * 2, sizeof *fa, err, "fold scores");
    ecg_code *frc = probe_calloc((size_t)nf, sizeof *frc, err, "fold status");
    ecg_err *ferr = probe_calloc((size_t)nf, sizeof *ferr, err, "fold errors");
    ecg_code rc = ECG_ENOMEM;
    *skipped = 0;
    if (!fold || !order || !seen || !fa || !frc || !ferr) goto out;
    rc = ECG_OK;
    make_folds(fold, y, n, K, nf, seed, order);
    for (int i = 0; i < n; i++)
        for (int f = 0; f < nf; f++)
            if (fold[i] != f) seen[f * K + y[i]] = 1;
    for (int f = 0; f < nf; f++) {
        int kp = 0;
        for (int c = 0; c < K; c++)
            kp += seen[f * K + c];
        if (kp < 2) *skipped = 1;
    }
    if (*skipped) goto out;
#pragma omp parallel for schedule(dynamic, 1)
    for (int f = 0; f < nf; f++)
        frc[f] = lr_fold(m, x, y, n, fold, f, grid, ng, gtol, max_iter, fa + (size_t)f * ng * 2,
                         fa + (size_t)f * ng * 2 + ng, &ferr[f]);
    for (int f = 0; f < nf && !rc; f++)
        if ((rc = frc[f])) *err = ferr[f];
    for (int g = 0; g < ng; g++) {
        acc[g] = ll[g] = 0;
        for (int f = 0; f < nf; f++) {
            acc[g] += fa[(size_t)f * ng * 2 + g] / nf;
            ll[g] += fa[(size_t)f * ng * 2 + ng + g] / nf;
        }
    }
out:
    free(fold);
    free(order);
    free(seen);
    free(fa);
    free(frc);
    free(ferr);
    return rc;
}

ecg_code probe_logreg_fit(probe_model *m, const float *x, const int *y, int n,
                          const probe_options *o, ecg_err *err) {
    int d = m->dim, K = m->n_classes;
    double gtol = o->gtol > 0 ? o->gtol : 1e-8;
    int max_iter = o->max_iter > 0 ? o->max_iter : 20000;
    if (o->C < 0 || (o->C == 0 && o->c_grid && o->n_c < 1))
        return err_set(err, ECG_EINVAL, "logreg: C must be > 0 or a non-empty grid given");
    double C = o->C;
    if (C == 0) {
        const double *grid = o->c_grid ? o->c_grid : DEFAULT_C;
        int ng = o->c_grid ? o->n_c : (int)(sizeof DEFAULT_C / sizeof *DEFAULT_C);
        for (int g = 0; g < ng; g++)
            if (!(grid[g] > 0) || !isfinite(grid[g]))
                return err_set(err, ECG_EINVAL, "logreg: grid value %g is not a positive C",
                               grid[g]);
        int nf = o->cv_folds > 0 ? o->cv_folds : 5;
        if (nf > n) nf = n;
        m->sel_param = probe_calloc((size_t)ng, sizeof *m->sel_param, err, "C grid");
        m->sel_score = probe_calloc((size_t)ng, sizeof *m->sel_score, err, "C scores");
        double *ll = probe_calloc((size_t)ng, sizeof *ll, err, "C log-losses");
        ecg_code rc = ECG_ENOMEM;
        if (m->sel_param && m->sel_score && ll) {
            int skipped = nf < 2;
            rc = skipped ? ECG_OK
                         : lr_cv(m, x, y, n, grid, ng, nf, o->seed, fmax(gtol, CV_GTOL), max_iter,
                                 m->sel_score, ll, &skipped, err);
            if (!rc && skipped) {
                m->cv_skipped = 1;
                C = 1;
            } else if (!rc) {
                int best = 0;
                for (int g = 0; g < ng; g++) {
                    m->sel_param[g] = grid[g];
                    double a = m->sel_score[g], ab = m->sel_score[best];
                    if (a > ab || (a == ab && (ll[g] < ll[best] ||
                                               (ll[g] == ll[best] && grid[g] < grid[best]))))
                        best = g;
                }
                m->n_sel = ng;
                C = grid[best];
            }
        }
        free(ll);
        if (rc) return rc;
    }
    m->C = C;
    int *cls_of = probe_calloc((size_t)K, sizeof *cls_of, err, "class map");
    double *X = scaled_rows(x, NULL, n, d, m->mean, m->std, err);
    m->weight = probe_calloc((size_t)K * d, sizeof *m->weight, err, "weights");
    m->bias = probe_calloc((size_t)K, sizeof *m->bias, err, "bias");
    int Kp = 0;
    for (int c = 0; cls_of && c < K; c++)
        cls_of[c] = m->present[c] ? Kp++ : -1;
    double *theta = probe_calloc((size_t)Kp * (d + 1), sizeof *theta, err, "parameters");
    ecg_code rc = ECG_ENOMEM;
    if (cls_of && X && m->weight && m->bias && theta) {
        lr_result res;
        rc = lr_fit_rows(X, y, n, d, cls_of, Kp, C, gtol, max_iter, theta, &res, err);
        if (!rc) {
            m->iters = res.iters;
            m->converged = res.converged;
            m->grad_max = res.grad_max;
            for (int c = 0; c < K; c++) {
                if (cls_of[c] < 0) continue;
                memcpy(m->weight + (size_t)c * d, theta + (size_t)cls_of[c] * d,
                       (size_t)d * sizeof *theta);
                m->bias[c] = theta[(size_t)Kp * d + cls_of[c]];
            }
        }
    }
    free(cls_of);
    free(X);
    free(theta);
    return rc;
}

ecg_code probe_logreg_predict(const probe_model *m, const float *x, int n, int *pred, float *prob,
                              ecg_err *err) {
    int d = m->dim, K = m->n_classes;
    double *X = scaled_rows(x, NULL, n, d, m->mean, m->std, err);
    double *Z = probe_calloc((size_t)n * K, sizeof *Z, err, "logits");
    if (!X || !Z) {
        free(X);
        free(Z);
        return ECG_ENOMEM;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, K, d, 1.0, X, d, m->weight, d, 0.0, Z,
                K);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        double *z = Z + (size_t)i * K, mx = -INFINITY, s = 0;
        int best = -1;
        for (int k = 0; k < K; k++) {
            if (!m->present[k]) continue;
            z[k] += m->bias[k];
            if (best < 0 || z[k] > z[best]) best = k;
        }
        mx = z[best];
        for (int k = 0; k < K; k++)
            s += m->present[k] ? exp(z[k] - mx) : 0;
        if (pred) pred[i] = best;
        for (int k = 0; prob && k < K; k++)
            prob[(size_t)i * K + k] = m->present[k] ? (float)(exp(z[k] - mx) / s) : 0.0f;
    }
    free(X);
    free(Z);
    return ECG_OK;
}

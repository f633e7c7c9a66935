/* probe_knn.c — k nearest neighbours under cosine distance, similarities by one GEMM per block of
 * query rows, k chosen by leave-one-out accuracy on train. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/transfer/classify_impl.h"

#define KNN_BLOCK 256 /* query rows per GEMM: bounds the similarity buffer to 256 x n_train */

static const int DEFAULT_K[] = {1, 3, 5, 7, 9, 15};

/* Standardise (when the model does) and scale each row to unit norm; zero rows stay zero. */
static void unit_rows(float *out, const float *x, int n, const probe_model *m) {
    int d = m->dim;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        float *o = out + (size_t)i * d;
        const float *xi = x + (size_t)i * d;
        double s = 0;
        for (int j = 0; j < d; j++) {
            double v = m->mean ? (xi[j] - m->mean[j]) / m->std[j] : xi[j];
            o[j] = (float)v;
            s += v * v;
        }
        double inv = s > 0 ? 1 / sqrt(s) : 0;
        for (int j = 0; j < d; j++)
            o[j] = (float)(o[j] * inv);
    }
}

/* The kmax most similar train rows to one query, by (similarity descending, index ascending);
 * `skip` (the query itself in leave-one-out) is left out. Returns how many were found. */
static int top_k(const float *sim, int n_train, int kmax, int skip, int *idx, float *best) {
    int have = 0;
    for (int j = 0; j < n_train; j++) {
        if (j == skip) continue;
        float s = sim[j];
        if (have == kmax && !(s > best[have - 1])) continue; /* equal: the earlier index stays */
        int p = have < kmax ? have++ : kmax - 1;
        while (p > 0 && s > best[p - 1]) {
            best[p] = best[p - 1];
            idx[p] = idx[p - 1];
            p--;
        }
        best[p] = s;
        idx[p] = j;
    }
    return have;
}

/* Votes of the first k neighbours; the winner is the lowest class index among the most voted. */
static int vote(const int *idx, int k, const int *train_y, int *count, int K) {
    memset(count, 0, (size_t)K * sizeof *count);
    for (int t = 0; t < k; t++)
        count[train_y[idx[t]]]++;
    int best = 0;
    for (int c = 1; c < K; c++)
        if (count[c] > count[best]) best = c;
    return best;
}

/* For every query row of q (unit rows), its kmax neighbours among the model's train rows into
 * nbr [n][kmax]; loo: query i is train row i and is skipped. */
static ecg_code neighbours(const probe_model *m, const float *q, int n, int kmax, int loo, int *nbr,
                           ecg_err *err) {
    int nt = m->n_train, d = m->dim;
    float *sim = probe_calloc((size_t)KNN_BLOCK * nt, sizeof *sim, err, "similarities");
    float *best = probe_calloc((size_t)KNN_BLOCK * kmax, sizeof *best, err, "neighbours");
    if (!sim || !best) {
        free(sim);
        free(best);
        return ECG_ENOMEM;
    }
    for (int i0 = 0; i0 < n; i0 += KNN_BLOCK) {
        int b = n - i0 < KNN_BLOCK ? n - i0 : KNN_BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, nt, d, 1.0f, q + (size_t)i0 * d, d,
                    m->train_x, d, 0.0f, sim, nt);
#pragma omp parallel for schedule(static)
        for (int r = 0; r < b; r++)
            top_k(sim + (size_t)r * nt, nt, kmax, loo ? i0 + r : -1, nbr + (size_t)(i0 + r) * kmax,
                  best + (size_t)r * kmax);
    }
    free(sim);
    free(best);
    return ECG_OK;
}

ecg_code probe_knn_fit(probe_model *m, const float *x, const int *y, int n, const probe_options *o,
                       ecg_err *err) {
    int d = m->dim, K = m->n_classes;
    const int *grid = o->k_grid ? o->k_grid : DEFAULT_K;
    int ng = o->k_grid ? o->n_k : (int)(sizeof DEFAULT_K / sizeof *DEFAULT_K);
    if (o->k < 0 || (o->k == 0 && ng < 1))
        return err_set(err, ECG_EINVAL, "knn: k must be > 0 or a non-empty grid given");
    if (o->k > n)
        return err_set(err, ECG_EINVAL, "knn: k = %d is more than the %d train rows", o->k, n);
    m->n_train = n;
    m->train_x = probe_calloc((size_t)n * d, sizeof *m->train_x, err, "train rows");
    m->train_y = probe_calloc((size_t)n, sizeof *m->train_y, err, "train labels");
    if (!m->train_x || !m->train_y) return ECG_ENOMEM;
    unit_rows(m->train_x, x, n, m);
    memcpy(m->train_y, y, (size_t)n * sizeof *y);
    if (o->k > 0) {
        m->k = o->k;
        return ECG_OK;
    }
    int kmax = 0, nvalid = 0;
    for (int g = 0; g < ng; g++) {
        if (grid[g] < 1) return err_set(err, ECG_EINVAL, "knn: grid value %d < 1", grid[g]);
        if (grid[g] <= n - 1) {
            nvalid++;
            if (grid[g] > kmax) kmax = grid[g];
        }
    }
    if (!nvalid)
        return err_set(err, ECG_EINVAL, "knn: no k of the grid is below the %d train rows", n);
    int *nbr = probe_calloc((size_t)n * kmax, sizeof *nbr, err, "neighbour lists");
    int *count = probe_calloc((size_t)K, sizeof *count, err, "votes");
    m->sel_param = probe_calloc((size_t)nvalid, sizeof *m->sel_param, err, "k grid");
    m->sel_score = probe_calloc((size_t)nvalid, sizeof *m->sel_score, err, "k scores");
    ecg_code rc = ECG_ENOMEM;
    if (nbr && count && m->sel_param && m->sel_score &&
        !(rc = neighbours(m, m->train_x, n, kmax, 1, nbr, err))) {
        double best = -1;
        for (int g = 0; g < ng; g++) {
            int k = grid[g];
            if (k > n - 1) continue;
            int right = 0;
            for (int i = 0; i < n; i++)
                right += vote(nbr + (size_t)i * kmax, k, y, count, K) == y[i];
            double acc = (double)right / n;
            m->sel_param[m->n_sel] = k;
            m->sel_score[m->n_sel++] = acc;
            if (acc > best || (acc == best && k < m->k)) {
                best = acc;
                m->k = k;
            }
        }
    }
    free(nbr);
    free(count);
    return rc;
}

ecg_code probe_knn_predict(const probe_model *m, const float *x, int n, int *pred, float *prob,
                           ecg_err *err) {
    int K = m->n_classes, k = m->k, d = m->dim;
    float *q = probe_calloc((size_t)n * d, sizeof *q, err, "query rows");
    int *nbr = probe_calloc((size_t)n * k, sizeof *nbr, err, "neighbour lists");
    int *count = probe_calloc((size_t)n * K, sizeof *count, err, "votes");
    ecg_code rc = ECG_ENOMEM;
    if (q && nbr && count) {
        unit_rows(q, x, n, m);
        if (!(rc = neighbours(m, q, n, k, 0, nbr, err))) {
            for (int i = 0; i < n; i++) {
                int *cnt = count + (size_t)i * K;
                int c = vote(nbr + (size_t)i * k, k, m->train_y, cnt, K);
                if (pred) pred[i] = c;
                for (int t = 0; prob && t < K; t++)
                    prob[(size_t)i * K + t] = (float)cnt[t] / k;
            }
        }
    }
    free(q);
    free(nbr);
    free(count);
    return rc;
}

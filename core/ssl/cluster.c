/* cluster.c — instance/L2 norms, the DinoSR codebook, Sinkhorn-Knopp k-means and the losses of
 * DinoSR and HuBERT++; sums in double, in a fixed order, products through OpenBLAS. */
#include "core/ssl/cluster.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Below this many elements a parallel region costs more than it saves. */
#define PAR_MIN ((size_t)1 << 15)

void cluster_instance_norm(float *out, const float *in, int B, int T, int d, float eps) {
#pragma omp parallel for schedule(static) if ((size_t)B * T * d >= PAR_MIN)
    for (int b = 0; b < B; b++) {
        const float *x = in + (size_t)b * T * d;
        float *y = out + (size_t)b * T * d;
        for (int c = 0; c < d; c++) {
            double s = 0, s2 = 0;
            for (int t = 0; t < T; t++)
                s += x[(size_t)t * d + c];
            double mu = s / T;
            for (int t = 0; t < T; t++) {
                double v = x[(size_t)t * d + c] - mu;
                s2 += v * v;
            }
            double r = 1.0 / sqrt(s2 / T + eps);
            for (int t = 0; t < T; t++)
                y[(size_t)t * d + c] = (float)((x[(size_t)t * d + c] - mu) * r);
        }
    }
}

void cluster_l2_normalize(float *out, const float *in, int n, int d, float eps) {
#pragma omp parallel for schedule(static) if ((size_t)n * d >= PAR_MIN)
    for (int i = 0; i < n; i++) {
        const float *x = in + (size_t)i * d;
        float *y = out + (size_t)i * d;
        double s = 0;
        for (int j = 0; j < d; j++)
            s += (double)x[j] * x[j];
        double nrm = sqrt(s);
        if (nrm < eps) nrm = eps;
        for (int j = 0; j < d; j++)
            y[j] = (float)(x[j] / nrm);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* DinoSR codebook */

#define NEAREST_ROWS 256

int cluster_nearest(int *assign, const float *x, const float *code, int n, int K, int d) {
    /* ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, and ||x||^2 is the same for every k of a row: the
     * argmin of ||c||^2 - 2 x.c, with the products from one GEMM per block of rows. */
    double *cn = malloc((size_t)K * sizeof *cn);
    float *dot = malloc((size_t)NEAREST_ROWS * K * sizeof *dot);
    if (!cn || !dot) {
        free(cn), free(dot);
        return -1;
    }
    for (int k = 0; k < K; k++) {
        double s = 0;
        for (int j = 0; j < d; j++)
            s += (double)code[(size_t)k * d + j] * code[(size_t)k * d + j];
        cn[k] = s;
    }
    for (int i0 = 0; i0 < n; i0 += NEAREST_ROWS) {
        int m = n - i0 < NEAREST_ROWS ? n - i0 : NEAREST_ROWS;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, K, d, 1.0f, x + (size_t)i0 * d, d,
                    code, d, 0.0f, dot, K);
        for (int i = 0; i < m; i++) {
            const float *di = dot + (size_t)i * K;
            int best = 0;
            double bd = DBL_MAX;
            for (int k = 0; k < K; k++) {
                double dist = cn[k] - 2.0 * di[k];
                if (dist < bd) bd = dist, best = k;
            }
            assign[i0 + i] = best;
        }
    }
    free(cn), free(dot);
    return 0;
}

int cluster_codebook_update(float *code, float *sum, float *cnt, const float *x, const int *assign,
                            int n, int K, int d, float m) {
    /* sums over the rows in order, one pass, K*d accumulators in double */
    double *acc = calloc((size_t)K * d, sizeof *acc), *nk = calloc((size_t)K, sizeof *nk);
    if (!acc || !nk) {
        free(acc), free(nk);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int k = assign[i];
        if (k < 0 || k >= K) continue;
        nk[k] += 1;
        double *a = acc + (size_t)k * d;
        const float *xi = x + (size_t)i * d;
        for (int j = 0; j < d; j++)
            a[j] += xi[j];
    }
    const double a = m, b = 1.0 - (double)m;
    for (int k = 0; k < K; k++) {
        float *s = sum + (size_t)k * d, *c = code + (size_t)k * d;
        /* the codeword from the unrounded sum and count: one rounding, as a float64 reference */
        double ck = a * cnt[k] + b * nk[k];
        cnt[k] = (float)ck;
        double den = ck > 1e-8 ? ck : 1e-8;
        for (int j = 0; j < d; j++) {
            double sj = a * s[j] + b * acc[(size_t)k * d + j];
            s[j] = (float)sj;
            c[j] = (float)(sj / den);
        }
    }
    free(acc), free(nk);
    return 0;
}

void cluster_codebook_init(float *code, float *sum, float *cnt, int K, int d, rng_state *rng) {
    for (int k = 0; k < K; k++) {
        float *c = code + (size_t)k * d;
        double s = 0, s2 = 0;
        for (int j = 0; j < d; j++)
            c[j] = rng_normal(rng), s += c[j];
        double mu = s / d;
        for (int j = 0; j < d; j++)
            s2 += (c[j] - mu) * (c[j] - mu);
        double r = 1.0 / sqrt(s2 / d + 1e-5);
        for (int j = 0; j < d; j++)
            c[j] = (float)((c[j] - mu) * r);
        memcpy(sum + (size_t)k * d, c, (size_t)d * sizeof *c);
        cnt[k] = 1.0f;
    }
}

int cluster_count_used(const int *assign, int n, int K) {
    unsigned char *seen = calloc((size_t)K, 1);
    if (!seen) return -1;
    int used = 0;
    for (int i = 0; i < n; i++)
        if (assign[i] >= 0 && assign[i] < K && !seen[assign[i]]) seen[assign[i]] = 1, used++;
    free(seen);
    return used;
}

/* ------------------------------------------------------------------------------------------ */
/* Sinkhorn-Knopp */

int cluster_sinkhorn(float *Q, const float *S, int n, int K, int iters, float eps) {
    double *col = malloc((size_t)K * sizeof *col);
    if (!col) return -1;
#pragma omp parallel for schedule(static) if ((size_t)n * K >= PAR_MIN)
    for (int i = 0; i < n; i++) {
        const float *s = S + (size_t)i * K;
        float *q = Q + (size_t)i * K;
        float mx = s[0];
        for (int k = 1; k < K; k++)
            mx = s[k] > mx ? s[k] : mx;
        for (int k = 0; k < K; k++)
            q[k] = (float)exp((double)s[k] - mx);
    }
    for (int it = 0; it < iters; it++) {
        /* columns: sums over the rows in order (one pass, K accumulators) */
        memset(col, 0, (size_t)K * sizeof *col);
        for (int i = 0; i < n; i++) {
            const float *q = Q + (size_t)i * K;
            for (int k = 0; k < K; k++)
                col[k] += q[k];
        }
        for (int k = 0; k < K; k++)
            col[k] = 1.0 / (col[k] + eps);
#pragma omp parallel for schedule(static) if ((size_t)n * K >= PAR_MIN)
        for (int i = 0; i < n; i++) {
            float *q = Q + (size_t)i * K;
            double r = 0;
            for (int k = 0; k < K; k++) {
                q[k] = (float)(q[k] * col[k]);
                r += q[k];
            }
            double ri = 1.0 / (r + eps);
            for (int k = 0; k < K; k++)
                q[k] = (float)(q[k] * ri);
        }
    }
    free(col);
    return 0;
}

void cluster_proto_update(float *P, const float *f, const float *Q, int n, int K, int d, float m,
                          float *work) {
    /* work = Q^T f (K, d) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, d, n, 1.0f, Q, K, f, d, 0.0f, work, d);
    cluster_l2_normalize(work, work, K, d, 1e-12f);
    for (size_t i = 0; i < (size_t)K * d; i++)
        P[i] = m * P[i] + (1.0f - m) * work[i];
    cluster_l2_normalize(P, P, K, d, 1e-12f);
}

void cluster_proto_init(float *P, int K, int d, rng_state *rng) {
    for (size_t i = 0; i < (size_t)K * d; i++)
        P[i] = rng_normal(rng);
    cluster_l2_normalize(P, P, K, d, 1e-12f);
}

/* ------------------------------------------------------------------------------------------ */
/* Losses */

/* log-softmax of one row of s / tau, in double. */
static void row_log_softmax(double *lp, const float *s, int K, double inv_tau) {
    double mx = -DBL_MAX;
    for (int k = 0; k < K; k++) {
        lp[k] = s[k] * inv_tau;
        if (lp[k] > mx) mx = lp[k];
    }
    double z = 0;
    for (int k = 0; k < K; k++)
        z += exp(lp[k] - mx);
    double lz = mx + log(z);
    for (int k = 0; k < K; k++)
        lp[k] -= lz;
}

int cluster_ce_loss(const float *logits, const int *target, int n, int K, float *dlogits,
                    int *correct, double *loss) {
    if (correct) *correct = 0;
    *loss = 0;
    if (n <= 0) return 0;
    double *lp = malloc((size_t)K * sizeof *lp);
    if (!lp) return -1;
    double sum = 0;
    int ok = 0;
    for (int i = 0; i < n; i++) {
        const float *s = logits + (size_t)i * K;
        row_log_softmax(lp, s, K, 1.0);
        sum -= lp[target[i]];
        int am = 0;
        for (int k = 1; k < K; k++)
            if (s[k] > s[am]) am = k;
        ok += am == target[i];
        if (dlogits) {
            float *g = dlogits + (size_t)i * K;
            for (int k = 0; k < K; k++)
                g[k] += (float)((exp(lp[k]) - (k == target[i])) / n);
        }
    }
    free(lp);
    if (correct) *correct = ok;
    *loss = sum / n;
    return 0;
}

int cluster_kl_loss(const float *logits, const float *q, const float *w, int n, int K, float tau,
                    float *dlogits, double *loss) {
    *loss = 0;
    if (n <= 0) return 0;
    /* rows in parallel, each row's KL kept, then summed in row order: thread-count independent */
    double *rl = malloc((size_t)n * sizeof *rl);
    if (!rl) return -1;
    const double inv_tau = 1.0 / (double)tau;
    int fail = 0;
#pragma omp parallel if ((size_t)n * K >= PAR_MIN)
    {
        double *lp = malloc((size_t)K * sizeof *lp);
        if (!lp) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            rl[i] = 0;
            if (!lp || w[i] == 0) continue;
            const float *qi = q + (size_t)i * K;
            row_log_softmax(lp, logits + (size_t)i * K, K, inv_tau);
            double kl = 0, qs = 0;
            for (int k = 0; k < K; k++) {
                qs += qi[k];
                if (qi[k] > 0) kl += qi[k] * (log((double)qi[k]) - lp[k]);
            }
            rl[i] = w[i] * kl;
            if (dlogits) {
                float *g = dlogits + (size_t)i * K;
                double c = w[i] * inv_tau;
                for (int k = 0; k < K; k++)
                    g[k] += (float)(c * (exp(lp[k]) * qs - qi[k]));
            }
        }
        free(lp);
    }
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += rl[i];
    free(rl);
    if (fail) return -1;
    *loss = sum;
    return 0;
}

#define COL_CHUNK 32

int cluster_entropy_reg(const float *logits, int n, int K, float tau, float scale, float *dlogits,
                        double *reg, double *entropy) {
    *reg = 0;
    if (entropy) *entropy = 0;
    if (n <= 0) return 0;
    double *lz = malloc((size_t)n * sizeof *lz), *lpb = malloc((size_t)K * sizeof *lpb);
    if (!lz || !lpb) {
        free(lz), free(lpb);
        return -1;
    }
    const double inv_tau = 1.0 / (double)tau;
    const int par = (size_t)n * K >= PAR_MIN;
    /* each row's log normaliser: log sum_k exp(s_ik / tau) */
#pragma omp parallel for schedule(static) if (par)
    for (int i = 0; i < n; i++) {
        const float *s = logits + (size_t)i * K;
        double mx = -DBL_MAX, z = 0;
        for (int k = 0; k < K; k++)
            mx = fmax(mx, s[k] * inv_tau);
        for (int k = 0; k < K; k++)
            z += exp(s[k] * inv_tau - mx);
        lz[i] = mx + log(z);
    }
    /* pbar by column chunks, each owned by one thread that walks the rows in order */
    const int nch = (K + COL_CHUNK - 1) / COL_CHUNK;
#pragma omp parallel for schedule(static) if (par)
    for (int ch = 0; ch < nch; ch++) {
        const int k0 = ch * COL_CHUNK, m = K - k0 < COL_CHUNK ? K - k0 : COL_CHUNK;
        double acc[COL_CHUNK] = {0};
        for (int i = 0; i < n; i++) {
            const float *s = logits + (size_t)i * K + k0;
            for (int k = 0; k < m; k++)
                acc[k] += exp(s[k] * inv_tau - lz[i]);
        }
        for (int k = 0; k < m; k++)
            lpb[k0 + k] = acc[k] / n;
    }
    double R = 0;
    for (int k = 0; k < K; k++) {
        double l = log(lpb[k] > 1e-30 ? lpb[k] : 1e-30);
        R += lpb[k] * l;
        lpb[k] = l; /* from here on log pbar: dR/dpbar minus the constant 1 */
    }
    *reg = R;
    if (entropy) *entropy = -R;
    if (dlogits) {
        /* dR/dp_i = (log pbar + 1) / n; through the softmax of s / tau,
         * ds_ik = p_ik (g_k - sum_j p_ij g_j) / tau, where the + 1 cancels. */
        const double c = scale * inv_tau / n;
#pragma omp parallel for schedule(static) if (par)
        for (int i = 0; i < n; i++) {
            const float *s = logits + (size_t)i * K;
            float *g = dlogits + (size_t)i * K;
            double dot = 0;
            for (int k = 0; k < K; k++)
                dot += exp(s[k] * inv_tau - lz[i]) * lpb[k];
            for (int k = 0; k < K; k++)
                g[k] += (float)(c * exp(s[k] * inv_tau - lz[i]) * (lpb[k] - dot));
        }
    }
    free(lz), free(lpb);
    return 0;
}

float cluster_cosine_schedule(float start, float end, long long step, long long steps) {
    if (steps <= 0 || step >= steps) return end;
    if (step <= 0) return start;
    double c = 0.5 * (1.0 + cos(M_PI * (double)step / (double)steps));
    return (float)(end + (start - end) * c);
}

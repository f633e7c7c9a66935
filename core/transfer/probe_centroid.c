/* probe_centroid.c — nearest class mean under Euclidean distance, with softmax(-d^2/2) as its
 * probabilities; the simplest probe, and the one that shows whether classes are separated at all.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "core/transfer/classify_impl.h"

ecg_code probe_centroid_fit(probe_model *m, const float *x, const int *y, int n, ecg_err *err) {
    int K = m->n_classes, d = m->dim;
    m->centroids = probe_calloc((size_t)K * d, sizeof *m->centroids, err, "centroids");
    int *count = probe_calloc((size_t)K, sizeof *count, err, "class counts");
    double *row = probe_calloc((size_t)d, sizeof *row, err, "row");
    ecg_code rc = ECG_ENOMEM;
    if (m->centroids && count && row) {
        for (int i = 0; i < n; i++) {
            probe_scaler_apply(row, x + (size_t)i * d, m->mean, m->std, d);
            double *c = m->centroids + (size_t)y[i] * d;
            for (int j = 0; j < d; j++)
                c[j] += row[j];
            count[y[i]]++;
        }
        for (int k = 0; k < K; k++)
            for (int j = 0; j < d && count[k]; j++)
                m->centroids[(size_t)k * d + j] /= count[k];
        rc = ECG_OK;
    }
    free(count);
    free(row);
    return rc;
}

ecg_code probe_centroid_predict(const probe_model *m, const float *x, int n, int *pred, float *prob,
                                ecg_err *err) {
    int K = m->n_classes, d = m->dim;
    double *buf = probe_calloc((size_t)n * (d + K), sizeof *buf, err, "centroid distances");
    if (!buf) return ECG_ENOMEM;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        double *row = buf + (size_t)i * (d + K), *d2 = row + d;
        probe_scaler_apply(row, x + (size_t)i * d, m->mean, m->std, d);
        int best = -1;
        for (int k = 0; k < K; k++) {
            d2[k] = INFINITY;
            if (!m->present[k]) continue;
            const double *c = m->centroids + (size_t)k * d;
            double s = 0;
            for (int j = 0; j < d; j++)
                s += (row[j] - c[j]) * (row[j] - c[j]);
            d2[k] = s;
            if (best < 0 || s < d2[best]) best = k; /* strict: a tie keeps the lower index */
        }
        if (pred) pred[i] = best;
        if (prob) {
            double z = 0;
            for (int k = 0; k < K; k++)
                z += m->present[k] ? exp(-(d2[k] - d2[best]) / 2) : 0;
            for (int k = 0; k < K; k++)
                prob[(size_t)i * K + k] =
                    m->present[k] ? (float)(exp(-(d2[k] - d2[best]) / 2) / z) : 0.0f;
        }
    }
    free(buf);
    return ECG_OK;
}

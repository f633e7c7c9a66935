/* metrics.c — scores of a classifier on a test split, defined exactly as scikit-learn's (accuracy,
 * balanced accuracy, macro-F1, confusion matrix, one-vs-rest macro AUROC with tied scores). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/transfer/auroc.h"
#include "core/transfer/classify_impl.h"

void metrics_free(metrics_report *r) {
    if (!r) return;
    free(r->recall);
    free(r->support);
    free(r->confusion);
    memset(r, 0, sizeof *r);
}

ecg_code metrics_auroc_binary(double *auc, const float *score, const int *positive, int n,
                              ecg_err *err) {
    *auc = NAN;
    double *v = probe_calloc((size_t)n, sizeof *v, err, "AUROC scores");
    if (!v) return ECG_ENOMEM;
    for (int i = 0; i < n; i++)
        v[i] = score[i]; /* exact: the same order and ties as the floats */
    ecg_code rc = auroc_binary(auc, v, positive, n, err);
    free(v);
    return rc;
}

ecg_code metrics_compute(metrics_report *r, const int *y_true, const int *y_pred, const float *prob,
                         int n, int n_classes, ecg_err *err) {
    memset(r, 0, sizeof *r);
    int K = n_classes;
    if (n < 1 || K < 1)
        return err_set(err, ECG_EINVAL, "metrics: need n >= 1 and n_classes >= 1 (%d, %d)", n, K);
    for (int i = 0; i < n; i++)
        if (y_true[i] < 0 || y_true[i] >= K || y_pred[i] < 0 || y_pred[i] >= K)
            return err_set(err, ECG_EINVAL, "metrics: label of row %d outside [0, %d)", i, K);
    r->n_classes = K;
    r->n = n;
    r->recall = probe_calloc((size_t)K, sizeof *r->recall, err, "recall");
    r->support = probe_calloc((size_t)K, sizeof *r->support, err, "support");
    r->confusion = probe_calloc((size_t)K * K, sizeof *r->confusion, err, "confusion");
    int *predicted = probe_calloc((size_t)K, sizeof *predicted, err, "predicted counts");
    int *pos = prob ? probe_calloc((size_t)n, sizeof *pos, err, "AUROC labels") : NULL;
    float *col = prob ? probe_calloc((size_t)n, sizeof *col, err, "AUROC scores") : NULL;
    ecg_code rc = ECG_ENOMEM;
    if (!r->recall || !r->support || !r->confusion || !predicted || (prob && (!pos || !col)))
        goto out;
    rc = ECG_OK;
    int right = 0;
    for (int i = 0; i < n; i++) {
        r->confusion[(size_t)y_true[i] * K + y_pred[i]]++;
        r->support[y_true[i]]++;
        predicted[y_pred[i]]++;
        right += y_true[i] == y_pred[i];
    }
    r->accuracy = (double)right / n;
    double bsum = 0, fsum = 0;
    int bn = 0, fn = 0;
    for (int c = 0; c < K; c++) {
        int tp = r->confusion[(size_t)c * K + c];
        r->recall[c] = r->support[c] ? (double)tp / r->support[c] : NAN;
        if (r->support[c]) bsum += r->recall[c], bn++;
        if (r->support[c] || predicted[c]) {
            /* F1 = 2 tp / (2 tp + fp + fn), 0 when tp = 0 (sklearn's zero_division result). */
            fsum += tp ? 2.0 * tp / (r->support[c] + predicted[c]) : 0;
            fn++;
        }
    }
    r->balanced_accuracy = bsum / bn;
    r->macro_f1 = fsum / fn;
    r->auroc = NAN;
    if (prob) {
        for (int i = 0; i < n; i++)
            for (int c = 0; c < K; c++)
                if (!isfinite(prob[(size_t)i * K + c])) {
                    rc = err_set(err, ECG_EINVAL, "metrics: probability %d,%d not finite", i, c);
                    goto out;
                }
        int present = 0;
        for (int c = 0; c < K; c++)
            present += r->support[c] > 0;
        double sum = 0;
        for (int c = 0; c < K; c++) {
            /* Two classes: sklearn scores the positive class only. */
            if (present == 2 && K == 2 && c == 0) continue;
            for (int i = 0; i < n; i++) {
                col[i] = prob[(size_t)i * K + c];
                pos[i] = y_true[i] == c;
            }
            double a;
            if ((rc = metrics_auroc_binary(&a, col, pos, n, err))) goto out;
            if (isnan(a)) continue;
            sum += a;
            r->auroc_classes++;
        }
        if (r->auroc_classes) r->auroc = sum / r->auroc_classes;
    }
out:
    free(predicted);
    free(pos);
    free(col);
    if (rc) metrics_free(r);
    return rc;
}

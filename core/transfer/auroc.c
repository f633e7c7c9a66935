/* auroc.c — ROC AUC by midranks (ties one half), binary and macro over classes (see auroc.h); the
 * probes' metrics_auroc_binary (classify.h) is this on float scores. */
#include "core/transfer/auroc.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    double s;
    int i;
} scored;

static int cmp_scored(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->s != y->s) return x->s < y->s ? -1 : 1;
    return x->i - y->i;
}

ecg_code auroc_binary(double *auc, const double *score, const int *positive, int n, ecg_err *err) {
    *auc = NAN;
    if (n < 0) return err_set(err, ECG_EINVAL, "auroc: negative count");
    scored *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) return err_set(err, ECG_ENOMEM, "auroc: out of memory for %d ranks", n);
    long npos = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(score[i])) {
            free(v);
            return err_set(err, ECG_EINVAL, "auroc: score %d is not finite", i);
        }
        v[i] = (scored){score[i], i};
        npos += positive[i] != 0;
    }
    long nneg = n - npos;
    if (npos && nneg) {
        qsort(v, (size_t)n, sizeof *v, cmp_scored);
        /* Mann-Whitney: rank sum of the positives with midranks for ties = the trapezoidal ROC
         * area sklearn computes (a tie between a positive and a negative counts one half). */
        double rsum = 0;
        for (int a = 0; a < n;) {
            int b = a;
            while (b < n && v[b].s == v[a].s)
                b++;
            double mid = 0.5 * (a + 1 + b); /* mean of ranks a+1 .. b */
            for (int t = a; t < b; t++)
                if (positive[v[t].i]) rsum += mid;
            a = b;
        }
        *auc = (rsum - 0.5 * (double)npos * (npos + 1)) / ((double)npos * nneg);
    }
    free(v);
    return ECG_OK;
}

ecg_code auroc_macro(double *macro, double *per_class, int *n_scored, const double *prob,
                     const uint8_t *target, int n, int K, ecg_err *err) {
    *macro = NAN;
    *n_scored = 0;
    if (n < 0 || K < 1) return err_set(err, ECG_EINVAL, "auroc: need n >= 0 and K >= 1");
    double *col = malloc((size_t)(n ? n : 1) * sizeof *col);
    int *pos = malloc((size_t)(n ? n : 1) * sizeof *pos);
    if (!col || !pos) {
        free(col);
        free(pos);
        return err_set(err, ECG_ENOMEM, "auroc: out of memory for %d rows", n);
    }
    ecg_code rc = ECG_OK;
    double sum = 0;
    for (int c = 0; c < K && !rc; c++) {
        for (int i = 0; i < n; i++) {
            col[i] = prob[(size_t)i * K + c];
            pos[i] = target[(size_t)i * K + c] != 0;
        }
        double a;
        rc = auroc_binary(&a, col, pos, n, err);
        if (per_class) per_class[c] = a;
        if (!rc && !isnan(a)) {
            sum += a;
            (*n_scored)++;
        }
    }
    if (!rc && *n_scored) *macro = sum / *n_scored;
    free(col);
    free(pos);
    return rc;
}

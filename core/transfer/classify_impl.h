/* classify_impl.h — what the probe files share and nobody else needs: input checks, the train
 * scaler, and each kind's fit and predict. */
#ifndef ECGFM_CORE_CLASSIFY_IMPL_H
#define ECGFM_CORE_CLASSIFY_IMPL_H

#include <stddef.h>

#include "core/transfer/classify.h"

/* Column mean and population std (std 0 -> 1) of the rows `rows` (all n when NULL) of x. */
ecg_code probe_scaler_fit(double *mean, double *std, const float *x, const int *rows, int n,
                          int dim, ecg_err *err);
/* out = (x - mean) / std in double, or a plain copy when mean is NULL. */
void probe_scaler_apply(double *out, const float *x, const double *mean, const double *std,
                        int dim);
void *probe_calloc(size_t n, size_t size, ecg_err *err, const char *what);

ecg_code probe_centroid_fit(probe_model *m, const float *x, const int *y, int n, ecg_err *err);
ecg_code probe_centroid_predict(const probe_model *m, const float *x, int n, int *pred, float *prob,
                                ecg_err *err);
ecg_code probe_knn_fit(probe_model *m, const float *x, const int *y, int n, const probe_options *o,
                       ecg_err *err);
ecg_code probe_knn_predict(const probe_model *m, const float *x, int n, int *pred, float *prob,
                           ecg_err *err);
ecg_code probe_logreg_fit(probe_model *m, const float *x, const int *y, int n,
                          const probe_options *o, ecg_err *err);
ecg_code probe_logreg_predict(const probe_model *m, const float *x, int n, int *pred, float *prob,
                              ecg_err *err);

#endif

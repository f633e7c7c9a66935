/* auroc.h — area under the ROC curve with tied scores counted one half (midranks), as
 * sklearn.metrics.roc_auc_score, in double: binary, and macro one-vs-rest over classes. */
#ifndef ECGFM_CORE_TRANSFER_AUROC_H
#define ECGFM_CORE_TRANSFER_AUROC_H

#include <stdint.h>

#include "core/base/error.h"

/* AUROC of score[0..n) against positive[i] != 0: the Mann-Whitney rank sum of the positives with
 * midranks for tied scores, which is the trapezoidal ROC area sklearn computes (a tie between a
 * positive and a negative counts one half). NaN when there are no positives or no negatives.
 * A non-finite score is ECG_EINVAL. */
ecg_code auroc_binary(double *auc, const double *score, const int *positive, int n, ecg_err *err);

/* Macro AUROC over K classes of n rows: class c scores prob[i*K + c] against target[i*K + c]
 * (0 or 1; one-hot rows for single-label data, the label set for multi-label data). A class whose
 * targets take one value only in these rows has no AUROC: per_class[c] = NaN, it is skipped and
 * counted out of *n_scored. *macro = mean of per_class over the scored classes (NaN when none).
 * per_class may be NULL. For two single-label classes both are scored (they agree when the two
 * probabilities sum to one, and equal sklearn's binary AUROC of the positive class). */
ecg_code auroc_macro(double *macro, double *per_class, int *n_scored, const double *prob,
                     const uint8_t *target, int n, int K, ecg_err *err);

#endif

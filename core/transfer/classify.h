/* classify.h — the light classifiers of zero-shot transfer (nearest centroid, cosine k-NN, L2
 * multinomial logistic regression) fitted on frozen embeddings, saved as safetensors, scored. */
#ifndef ECGFM_CORE_CLASSIFY_H
#define ECGFM_CORE_CLASSIFY_H

#include <stdint.h>

#include "core/base/error.h"

/* Conventions shared by every call:
 * - features are row-major float [n][dim]; labels are class indices in [0, n_classes);
 * - a class with no training sample is never predicted and gets probability 0 (classes are fitted
 *   over those present); fewer than two classes present in train is ECG_EINVAL;
 * - NaN or Inf in features is ECG_EINVAL (naming the row), as is a label out of range;
 * - standardising uses the train mean and population std (ddof 0); a feature with std 0 is
 *   divided by 1, as sklearn's StandardScaler does.
 *
 * Nearest centroid: class means of the (optionally standardised) features, Euclidean distance,
 *   as sklearn.neighbors.NearestCentroid (raw features by default, as sklearn). Nearest wins; an
 *   exact distance tie goes to the lower class index. Probabilities (sklearn 1.2 has none) are
 *   softmax(-d_k^2 / 2) over squared distances to the centroids: a documented choice.
 * k-NN: cosine distance 1 - x.t/(|x||t|) on raw features by default (a zero vector has distance 1
 *   to everything, as sklearn's normalize), uniform votes, probability = vote fraction, as
 *   KNeighborsClassifier(metric='cosine', weights='uniform'). Neighbours are ordered by
 *   (similarity descending, train index ascending); a vote tie goes to the lower class index (as
 *   sklearn's mode). k is chosen by leave-one-out accuracy on train over the grid; grid values
 *   above n_train - 1 are skipped; an accuracy tie goes to the smaller k.
 * Logistic regression: features standardised by default; minimises
 *   (1/n) sum_i -log p(y_i|x_i) + 1/(2 C n) |W|^2 (bias not penalised), the minimiser of sklearn's
 *   LogisticRegression(multi_class='multinomial', solver='lbfgs', C); L-BFGS in double until
 *   max |gradient| < gtol. C is chosen by stratified k-fold CV on train (standardisation refitted
 *   on each fold's train part): best mean fold accuracy, ties to the lower mean fold log-loss, then
 *   the smaller C. Folds come from rng_seed(seed): each class's indices are shuffled, the classes
 *   concatenated in index order and dealt round-robin to folds. If any fold's train part has
 *   fewer than two classes, CV is skipped and C = 1 (cv_skipped = 1). */

typedef enum { PROBE_CENTROID = 0, PROBE_KNN = 1, PROBE_LOGREG = 2 } probe_kind;

typedef struct {
    int standardize; /* -1: the kind's default (centroid 0, k-NN 0, logreg 1) */
    /* k-NN */
    int k;             /* > 0: fixed k, no leave-one-out; 0: choose from k_grid */
    const int *k_grid; /* NULL: {1, 3, 5, 7, 9, 15} */
    int n_k;
    /* logistic regression */
    double C;             /* > 0: fixed C, no CV; 0: choose from c_grid */
    const double *c_grid; /* NULL: 1e-4, 1e-3, ..., 1e4 (9 values) */
    int n_c;
    int cv_folds;  /* 0: 5 (at most n_train) */
    uint64_t seed; /* fold assignment */
    double gtol;   /* 0: 1e-8 for the final fit (CV fits use max(gtol, 1e-6)) */
    int max_iter;  /* 0: 20000 */
} probe_options;

void probe_options_default(probe_options *o);

typedef struct {
    probe_kind kind;
    int n_classes, dim;
    char **class_names; /* [n_classes], owned; "0", "1", ... when none were given */
    int *present;       /* [n_classes] 1 when the class had training samples */
    double *mean, *std; /* [dim], NULL when not standardised */
    /* centroid: [n_classes][dim] (rows of absent classes are 0 and unused) */
    double *centroids;
    /* k-NN: the train set, unit-normalised rows (after standardising when asked) */
    int k, n_train;
    float *train_x; /* [n_train][dim] */
    int *train_y;   /* [n_train] */
    /* logreg: z = W x + b over standardised x; rows of absent classes unused */
    double C;
    double *weight; /* [n_classes][dim] */
    double *bias;   /* [n_classes] */
    int iters, converged, cv_skipped;
    double grad_max; /* max |gradient| at the end of the final fit */
    /* model selection record (not saved): LOO accuracy per k, or mean CV accuracy per C */
    int n_sel;
    double *sel_param, *sel_score;
} probe_model;

/* Fit a probe of `kind` on x [n][dim] with labels y. class_names may be NULL. opt may be NULL
 * (defaults). On failure m is left empty (safe to probe_free). */
ecg_code probe_fit(probe_model *m, probe_kind kind, const float *x, const int *y, int n, int dim,
                   int n_classes, const char *const *class_names, const probe_options *opt,
                   ecg_err *err);
/* pred [n] (may be NULL), prob [n][n_classes] (may be NULL). */
ecg_code probe_predict(const probe_model *m, const float *x, int n, int *pred, float *prob,
                       ecg_err *err);
/* Saved: tensors by kind (mean/std F64, centroids F64, train_x F32 + train_y I32, weight/bias
 * F64, present U8); metadata ecgfm_probe=1, kind, n_classes, dim, k, C, class.<i>. */
ecg_code probe_save(const probe_model *m, const char *path, ecg_err *err);
ecg_code probe_load(probe_model *m, const char *path, ecg_err *err);
void probe_free(probe_model *m);
const char *probe_kind_name(probe_kind k); /* "centroid", "knn", "logreg" */

/* Metrics of predictions against truth over classes 0..n_classes-1, as sklearn: accuracy,
 * balanced accuracy (mean recall over classes present in truth), macro-F1 (mean over classes in
 * truth or predictions; F1 = 0 where precision + recall = 0), confusion (rows truth, columns
 * predicted). Per-class recall is NaN where a class has no true sample (support 0).
 * Macro AUROC one-vs-rest (ties count one half, as roc_auc_score) when prob is given, averaged
 * over the classes with both positives and negatives in truth (auroc_classes of them; sklearn
 * raises instead when a class is missing); with two classes it is the AUROC of class 1. NaN when
 * prob is NULL or no class qualifies. */
typedef struct {
    int n_classes, n;
    double accuracy, balanced_accuracy, macro_f1, auroc;
    int auroc_classes;
    double *recall; /* [n_classes] */
    int *support;   /* [n_classes] */
    int *confusion; /* [n_classes][n_classes] */
} metrics_report;

ecg_code metrics_compute(metrics_report *r, const int *y_true, const int *y_pred, const float *prob,
                         int n, int n_classes, ecg_err *err);
void metrics_free(metrics_report *r);
/* AUROC of scores against 0/1 labels with midrank ties; *auc = NaN if either class is empty. */
ecg_code metrics_auroc_binary(double *auc, const float *score, const int *positive, int n,
                              ecg_err *err);

#endif

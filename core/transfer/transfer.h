/* transfer.h — zero-shot transfer of a frozen encoder to a classification task: embed both splits
 * through the input mapping, fit light classifiers on train only, score on test, baselines beside.
 */
#ifndef ECGFM_CORE_TRANSFER_TRANSFER_H
#define ECGFM_CORE_TRANSFER_TRANSFER_H

#include <stdint.h>

#include "core/base/error.h"
#include "core/data/task.h"
#include "core/model/encoder.h"
#include "core/transfer/mapping.h"

/* Windows per encoder forward: one encoder is created (or given) with this max batch and reused. */
#define TRANSFER_BATCH 32

/* Embeddings (n_series, d_model) of every series of t: each series mapped to its windows
 * (map_series), the windows pushed through e in batches of up to encoder_max_batch(e) (across
 * series, in order), eval mode, e frozen for the duration (left frozen on return), and each
 * series' embedding the mean of its windows' embeddings (summed in window order: deterministic).
 * *dropped (may be NULL) gets the channels per series that found no lead (MULTI past 12). */
ecg_code transfer_embed_split(encoder *e, const map_opts *m, const task_split *t, float *emb,
                              int *dropped, ecg_err *err);

/* The raw-series baseline: 1-NN with Euclidean distance on the series as given (no
 * normalisation: the UCR archive's "1-NN ED" column), distances in double over every channel,
 * ties to the first training series. Missing values are filled per channel (map_fill_missing).
 * Series of unequal length (within or across splits) are first resized, per channel, to the
 * longest length of either split by linear interpolation (resample_length, RESAMPLE_LINEAR,
 * sample centres aligned), so every series is compared over its whole extent. pred: [test n]. */
ecg_code transfer_1nn_euclidean(const task_split *train, const task_split *test, int *pred,
                                ecg_err *err);

/* One classifier's scores on the test split. Classes are the test split's class indices (align
 * the test split to train first: task_split_align_classes); confusion rows are true classes,
 * columns predicted; recall is per true class (NaN for a class absent from test); balanced
 * accuracy averages recall over classes present in test, macro-F1 over classes in test or
 * predicted (scikit-learn's definitions). */
typedef struct {
    char classifier[32]; /* "nearest_centroid", "knn_cosine", "logreg", "1nn_euclidean" */
    char param[64];      /* what was chosen on train: "k=3", "C=0.1", "" */
    double accuracy, balanced_accuracy, macro_f1;
    double auroc; /* macro one-vs-rest from the classifier's probabilities; NaN without them */
    int n_classes;
    int *confusion; /* [n_classes][n_classes] */
    double *recall; /* [n_classes] */
} transfer_score;

#define TRANSFER_MAX_CLASSIFIERS 3

/* The scores of one encoder (pretrained or random init) with every light classifier. */
typedef struct {
    char label[32]; /* "checkpoint", "random_init" */
    int n_scores;
    transfer_score score[TRANSFER_MAX_CLASSIFIERS];
    double embed_seconds; /* wall time of embedding both splits */
} transfer_encoder_result;

typedef struct {
    map_opts map;
    uint64_t random_seed; /* weights of the random-init baseline encoder */
    uint64_t seed;        /* the classifiers' seed (CV folds) */
} transfer_opts;

void transfer_opts_default(transfer_opts *o);

/* Train-only measurement for choosing a mapping (never looks at a test split): the train split is
 * embedded with e under m and each light classifier is scored by stratified `folds`-fold
 * cross-validation on those embeddings (folds from rng_seed(seed): each class's series shuffled,
 * the classes concatenated in index order and dealt round-robin; the classifier's own model
 * selection (k, C) runs inside each fold's train part). acc[c] is the pooled CV accuracy of
 * classifier c (nearest centroid, k-NN cosine, logreg, as in transfer_run). */
ecg_code transfer_cv_train(encoder *e, const map_opts *m, const task_split *train, int folds,
                           uint64_t seed, double acc[TRANSFER_MAX_CLASSIFIERS], ecg_err *err);

typedef struct {
    char task[128];
    int n_train, n_test, n_classes, n_dims;
    size_t min_length, max_length; /* over both splits */
    size_t raw_length;             /* the common length of the 1-NN baseline */
    char **class_names;            /* [n_classes], copies */
    map_opts map;
    int channels_dropped; /* per series, MULTI past the encoder's leads */
    int has_checkpoint;
    transfer_encoder_result checkpoint; /* when has_checkpoint */
    transfer_encoder_result random_init;
    transfer_score raw_1nn;
    uint64_t random_seed;
} transfer_report;

/* The whole zero-shot comparison on (train, test), test aligned to train's classes. e: the frozen
 * (pretrained) encoder, or NULL for the baselines only; the random-init baseline is an encoder of
 * cfg (e's config when e is given) created from o->random_seed, with TRANSFER_BATCH windows. */
ecg_code transfer_run(encoder *e, const struct encoder_config *cfg, const transfer_opts *o,
                      const task_split *train, const task_split *test, transfer_report *r,
                      ecg_err *err);
void transfer_report_free(transfer_report *r);
void transfer_score_free(transfer_score *s);

/* Scores of predictions pred (and probabilities prob [n][n_classes], may be NULL) against the
 * test labels, through metrics_compute (core/transfer/classify.h): scikit-learn's definitions. */
ecg_code transfer_score_compute(transfer_score *s, const char *classifier, const char *param,
                                const int *truth, const int *pred, const float *prob, int n,
                                int n_classes, ecg_err *err);

#endif

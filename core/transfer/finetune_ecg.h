/* finetune_ecg.h — domain-specific fine-tuning on a labelled ECG dataset of the store (SPEC §3,
 * issue 6): seeded record-level split, random 2.5 s crops, macro AUROC on record-level means. */
#ifndef ECGFM_CORE_TRANSFER_FINETUNE_ECG_H
#define ECGFM_CORE_TRANSFER_FINETUNE_ECG_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/data/store.h"
#include "core/model/encoder.h"
#include "core/transfer/finetune.h"

/*
 * Labels. One of the store's four int32 label fields per record (store.h), field k:
 * - single-label (multilabel = 0): the field holds a class index 0..K-1; K = the largest index
 *   in the dataset + 1 (at least 2). Class c is named by the manifest's value name of field k,
 *   value c ("value <k> <c> <name>"), else "c". Example: `ecgfm synth`, field 0 (rhythm).
 * - multi-label (multilabel = 1): the field holds a bitmask of up to 31 classes: bit c set means
 *   class c is present, 0 is a valid record with no class present. K = the highest bit set in
 *   the dataset + 1 (at least 1). Class c is named by the value name of the value 1 << c (the
 *   value a record with class c alone holds: "value <k> <1<<c> <name>"), else "c".
 * In both, -1 (STORE_LABEL_MISSING) marks an unlabelled record: it is left out and counted.
 * Other negative values are ECG_EINVAL (in single-label mode too: indices are >= 0). Nothing in
 * the store says which form a field has: multi-label on a class-index field reads the indices
 * as bitmasks (class 3 = classes 0 and 1), so the caller must know its data.
 * core/data/dx_labels.h fills such a bitmask from CinC 2020/2021 SNOMED-CT Dx codes.
 *
 * Split. Labelled records are dealt to test, validation and train by record (a record's
 * windows never straddle parts): records sorted by label value (ties by a seeded shuffle), then
 * record p of that order goes to test when frac(r + p*g) < test_fraction, to validation when it
 * is < test_fraction + val_fraction, else to train (g = (sqrt 5 - 1) / 2, r drawn from the seed):
 * a low-discrepancy deal, so each label value's records are split in about the asked shares
 * (stratified for single-label data, by label set for multi-label data). Parts keep store order.
 * (r is drawn after the shuffle, from the same stream.)
 *
 * Model and training: finetune.h's modes (encoder + Linear head on the mean-pooled embedding;
 * FROZEN: attention-pooling head on the frozen encoder's tokens; LINEAR: Linear head on the frozen
 * embedding), the same head init, optimiser (AdamW, lr factors stem 0.01, backbone 0.1, head 1)
 * and feature standardisation (FROZEN/LINEAR: per-channel mean and std of the frozen features of
 * the train records' scoring windows). Loss: softmax cross-entropy (single-label) or
 * BCE-with-logits averaged over windows and classes (multi-label). Each epoch every train record
 * gives one window: a random crop of W = encoder in_samples samples (600 = 2.5 s at 240 Hz;
 * start uniform over the record; a record shorter than W is zero-padded), in a seeded shuffle.
 * Samples are the store's mV (no normalisation), as pretraining reads them.
 *
 * Scoring (validation after each epoch, and test): every record is cut into its non-overlapping
 * windows [j*W, (j+1)*W), j < floor(n/W) (the tail shorter than W is not scored; a record shorter
 * than W gives one zero-padded window); each window's probabilities (softmax or sigmoid of the
 * logits) are averaged over the record's windows, and the record means are scored: per class
 * AUROC (auroc.h: one-vs-rest, ties one half; a class with only one label value among the scored
 * records is skipped and reported), their macro mean, and for single-label data accuracy of the
 * arg-max (a tie goes to the lower class). Early stopping: the criterion is the validation macro
 * AUROC (higher is better; the earlier epoch wins a tie); epoch 0 (untrained head) is recorded but
 * is not a candidate; an epoch whose validation macro AUROC is undefined (no validation records, or
 * no class with both values) counts as better, so without validation the last epoch stands. The
 * best epoch's weights are restored before testing.
 */

typedef struct {
    ft_mode mode;
    int label_field; /* 0..3 */
    int multilabel;
    int epochs; /* at most this many passes (one crop per train record each) */
    int batch;  /* windows per step (<= encoder_max_batch in FINETUNE) */
    float lr;   /* <= 0: ft_default_lr(mode) */
    float weight_decay;
    int patience; /* stop after this many epochs without a better validation macro AUROC; 0: never
                   */
    double val_fraction, test_fraction; /* shares of the labelled records; sum < 1 */
    uint64_t seed;                      /* split, crops, shuffling, head init, dropout */
} fte_opts;

/* Defaults: FINETUNE, field 0, single-label, 30 epochs, batch 16, lr 0 (ft_default_lr), weight
 * decay 1e-3, patience 10, validation 0.1, test 0.2, seed 0. */
void fte_opts_default(fte_opts *o);

/* Scores of record-level probabilities. */
typedef struct {
    int n_records, n_windows;
    double macro_auroc; /* over the scored classes; NaN when none */
    int n_scored;       /* classes with an AUROC */
    double *auroc;      /* [K]; NaN: skipped (one label value only among these records) */
    int *positives;     /* [K] records with the class */
    double accuracy;    /* single-label: arg-max accuracy; NaN for multi-label */
} fte_scores;

typedef struct {
    ft_mode mode;
    int multilabel, label_field;
    int n_classes;
    char **class_names; /* [n_classes] */
    size_t n_records;   /* in the dataset */
    int n_unlabelled;   /* records with label -1, left out */
    int n_train, n_val, n_test;
    int epochs_run, best_epoch;
    double *train_loss; /* [epochs_run] mean loss of the epoch's steps */
    double *val_auroc;  /* [epochs_run + 1] validation macro AUROC, index 0 before training */
    fte_scores val;     /* at the best epoch */
    fte_scores test;
    double *test_prob;    /* [n_test][K] record-level mean probabilities */
    size_t *test_records; /* [n_test] store indices of the test records */
    double seconds;
} fte_result;

/* Fine-tune e on dataset ds (fine-tuning changes e in FINETUNE, which needs an encoder created
 * without ENC_INFERENCE_ONLY; FROZEN and LINEAR leave its parameters bit-identical). e's input
 * must be 12 leads (the store's). Deterministic for a fixed seed and thread count. */
ecg_code finetune_ecg_run(encoder *e, const store_dataset *ds, const fte_opts *o, fte_result *r,
                          ecg_err *err);
void fte_result_free(fte_result *r);

/* ---- pieces, public for tests ---- */

/* Scoring windows of a record of n samples: floor(n/W), the window j starting at j*W (one
 * zero-padded window at 0 when n < W). */
int fte_window_count(size_t n_samples, int W);

/* Record-level scores from window probabilities: prob_w [n_win][K] of windows belonging to
 * records win_record[n_win] (0..n_rec-1); each record's probability is the mean of its windows'
 * (every record needs a window); targets [n_rec][K] 0/1; label [n_rec] class index for
 * single-label (NULL for multi-label: accuracy NaN). prob_rec [n_rec][K] receives the means
 * (may be NULL). s is allocated; free with fte_scores_free. */
ecg_code fte_scores_compute(fte_scores *s, const double *prob_w, const int *win_record, int n_win,
                            int n_rec, int K, const uint8_t *target, const int *label,
                            double *prob_rec, ecg_err *err);
void fte_scores_free(fte_scores *s);

/* The split (see above) of n labelled records with label values value[0..n): part[i] receives
 * FTE_TRAIN, FTE_VAL or FTE_TEST. rng: the split's stream (finetune_ecg_run forks it from the
 * seed). */
enum { FTE_TRAIN = 0, FTE_VAL = 1, FTE_TEST = 2 };
ecg_code fte_split(const int32_t *value, int n, double val_fraction, double test_fraction,
                   rng_state *rng, uint8_t *part, ecg_err *err);

/* Mean binary cross-entropy with logits over n*k elements, as torch.nn.BCEWithLogitsLoss:
 * max(z, 0) - z*y + log(1 + exp(-|z|)); dz (may be NULL) = (sigmoid(z) - y) * scale. */
double fte_bce_with_logits(float *dz, const float *z, const uint8_t *y, int n, int k, float scale);

#endif

/* study.h — the scaling study (SPEC §3): pretraining on nested subsets × objectives × seeds, each
 * checkpoint's zero-shot transfer per task, the result table with intervals over seeds, the fits.
 */
#ifndef ECGFM_CORE_STUDY_STUDY_H
#define ECGFM_CORE_STUDY_STUDY_H

#include <stdint.h>
#include <stdio.h>

#include "core/base/error.h"
#include "core/study/fit.h"
#include "core/train/pretrain.h"
#include "core/transfer/finetune.h"
#include "core/transfer/mapping.h"

#define STUDY_MAX_SIZES 16
#define STUDY_MAX_OBJECTIVES 5
#define STUDY_MAX_SEEDS 16
#define STUDY_MAX_TASKS 16
/* The zero-shot classifiers the study scores: the linear probe and cosine k-NN. */
#define STUDY_N_CLASSIFIERS 2
/* Methods scored per checkpoint and task: the zero-shot classifiers, then fine-tuning
 * (core/transfer/finetune.h) when the study asks for it (index STUDY_FINETUNE). */
#define STUDY_MAX_METHODS 3
#define STUDY_FINETUNE 2

typedef struct {
    char name[64];   /* [A-Za-z0-9_.-], used in file names */
    char train[512]; /* .ts, .arff or UCR .tsv/.txt */
    char test[512];
} study_task;

typedef struct {
    char name[64];
    char dataset[512];              /* store dataset directory */
    int64_t sizes[STUDY_MAX_SIZES]; /* strictly increasing; 0 = random init (no pretraining) */
    int n_sizes;
    /* One pretraining config per objective (objective, encoder, optimizer); each run copies it
     * and sets seed, subset, epochs, batch, threads, split_seed and val_records from below. */
    pretrain_config objectives[STUDY_MAX_OBJECTIVES];
    int n_objectives;
    uint64_t seeds[STUDY_MAX_SEEDS];
    int n_seeds;
    study_task tasks[STUDY_MAX_TASKS];
    int n_tasks;
    int epochs, batch, threads;
    uint64_t split_seed;
    int64_t val_records; /* fixed for every run, so every run validates on the same records */
    map_opts map;        /* the transfer input mapping (map_opts_default); a multichannel task
                          * uses channels MULTI whatever map.channels says, as `ecgfm transfer` */
    uint64_t probe_seed; /* classifier CV folds */
    int bootstrap;       /* replicates for the α intervals (default 1000) */
    uint64_t bootstrap_seed;
    /* Fine-tuning of every checkpoint on every task (0: none). At N = 0 the random init is
     * fine-tuned: in FT_FINETUNE mode that is the supervised from-scratch baseline. ft.map is
     * replaced by `map`. */
    int finetune;
    ft_opts ft;
} study_config;

/* Defaults for the knobs (no sizes, objectives, seeds or tasks). */
void study_config_default(study_config *c);
ecg_code study_config_validate(const study_config *c, ecg_err *err);

const char *study_classifier_name(int c); /* "logreg", "knn_cosine", "finetune" */

/* One (size, objective, seed) cell. */
typedef struct {
    int64_t n_train; /* records actually trained on (0 for random init) */
    double val_loss; /* final validation loss; for N = 0 the step-0 loss of the same init */
    double first_val_loss;
    int64_t steps;
    int skipped; /* pretraining found finished in the out dir and not rerun */
    double acc[STUDY_MAX_TASKS][STUDY_MAX_METHODS]; /* test accuracy per method */
    float *emb[STUDY_MAX_TASKS];                    /* test-split embeddings [n_test][d], for CKA */
} study_run;

/* A row: size × objective × task, means and 95 % t-intervals over seeds. */
typedef struct {
    int size, objective, task; /* indices */
    int n_seeds;
    double acc_mean[STUDY_MAX_METHODS], acc_lo[STUDY_MAX_METHODS], acc_hi[STUDY_MAX_METHODS];
    double val_mean, val_lo, val_hi;
    double raw_1nn; /* the task's raw-series 1-NN Euclidean accuracy, for context */
} study_row;

/* A curve: objective × task × classifier, error = 1 − accuracy against N > 0. */
typedef struct {
    int objective, task, classifier;
    int ok;         /* a fit was possible (3 distinct sizes N > 0) */
    char note[128]; /* why not, or "flat" */
    fit_power fit;
    double alpha_lo, alpha_hi; /* bootstrap 95 % percentile interval */
    int boot_flat;             /* bootstrap replicates with A = 0 */
    double err_n0;             /* mean error of the random-init encoder */
    double err_largest;        /* mean error at the largest N */
    int rises;                 /* mean accuracy at the largest N > mean at N = 0 */
    double spearman_n_acc;     /* Spearman of N with accuracy over every run (N = 0 included) */
    double pearson_loss_err, spearman_loss_err; /* validation loss vs error over every run */
} study_curve;

/* CKA of test-split embeddings: per objective × task, the sizes × sizes matrix averaged over
 * seeds (same seed on both sides), and per size the mean over seed pairs (s < s'). */
typedef struct {
    int objective, task;
    double *size_matrix; /* [n_sizes][n_sizes] */
    double *seed_pairs;  /* [n_sizes], NaN with one seed */
} study_cka;

typedef struct {
    const study_config *cfg;
    study_run *runs; /* [n_sizes][n_objectives][n_seeds] */
    int n_runs;
    int d_model[STUDY_MAX_OBJECTIVES];
    int n_test[STUDY_MAX_TASKS];
    double raw_1nn[STUDY_MAX_TASKS];
    study_row *rows; /* [n_sizes][n_objectives][n_tasks] */
    int n_rows;
    int n_methods;       /* STUDY_N_CLASSIFIERS, + 1 with fine-tuning */
    study_curve *curves; /* [n_objectives][n_tasks][n_methods] */
    int n_curves;
    study_cka *cka; /* [n_objectives][n_tasks] */
    int n_cka;
    double seconds_pretrain, seconds_transfer, seconds_finetune;
    int n_pretrained, n_skipped;
    int n_eval_cached; /* (run, task) evaluations read back from an earlier run of the study */
} study_result;

study_run *study_result_run(const study_result *r, int size, int objective, int seed);

/* Progress lines ("pretrain cpc N=64 seed 0 ...") go to log (may be NULL). */
typedef struct {
    FILE *log;
    const atomic_int *cancel; /* may be NULL: stops before the next pretraining step */
} study_hooks;

/*
 * Runs the study into out_dir (created when missing):
 *   runs/<objective>-n<N>-s<seed>/   each pretraining run (pretrain_run's files) and study_run.txt,
 *                                    written when the run finished, with the run's config text
 *                                    (pretrain_config_text); a run dir holding study_run.txt is not
 *                                    rerun (resume a study by running it again), or is an error
 *                                    when its config differs from the one the study gives it; one
 *                                    holding LATEST without it is resumed;
 *                                    eval-<task>.txt + emb-<task>.f32: its evaluation on a task
 *                                    (accuracies, test embeddings), reused while the mapping,
 *                                    probe, fine-tuning settings, task files and config stay the
 *                                    same
 *   init/<objective>-s<seed>/        the same evaluation cache for the random init (N = 0)
 * N = 0 is not pretrained: its encoder is the one every run of that seed starts from (same
 * initialisation stream as pretrain_run: rng_fork(rng_seed(seed), 1)), its validation loss that
 * of step 0. Every checkpoint (and random init) is then embedded on each task (frozen, cfg->map)
 * and scored by the linear probe and cosine k-NN fitted on train only (core/transfer/classify.h,
 * model selection on train), then rows, curves and CKA are computed. r is freed by
 * study_result_free (also after an error).
 */
ecg_code study_run_all(const study_config *cfg, const char *out_dir, const study_hooks *hooks,
                       study_result *r, ecg_err *err);
void study_result_free(study_result *r);

/* The table as CSV: header line, then one line per row (size-major, objective, task):
 *   n,objective,task,seeds,logreg_acc_mean,logreg_acc_lo,logreg_acc_hi,knn_acc_mean,knn_acc_lo,
 *   knn_acc_hi,val_loss_mean,val_loss_lo,val_loss_hi,raw_1nn_acc
 * and, with fine-tuning, finetune_acc_mean,finetune_acc_lo,finetune_acc_hi
 * (numbers %.9g, NaN written as empty). */
ecg_code study_write_csv(const study_result *r, const char *path, ecg_err *err);
/* scaling plot: error (1 - accuracy) of `classifier` against N, one series per objective × task
 * (mean, 95 % t-interval bars, the fit dashed when there is one). */
ecg_code study_write_scaling_svg(const study_result *r, int classifier, const char *path,
                                 ecg_err *err);
/* loss plot: validation loss against N per objective (N = 0: the step-0 loss of the same init). */
ecg_code study_write_loss_svg(const study_result *r, const char *path, ecg_err *err);
/* A Markdown summary: what ran, the table, the fits, the answer per curve, the correlations. */
ecg_code study_write_readme(const study_result *r, const char *path, ecg_err *err);

#endif

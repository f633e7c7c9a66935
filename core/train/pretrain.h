/* pretrain.h — the self-supervised pretraining loop (SPEC §2): crops from a dataset store, seeded
 * shuffles, AdamW with the study's lr groups, validation, checkpoints and bit-exact resumption. */
#ifndef ECGFM_CORE_PRETRAIN_H
#define ECGFM_CORE_PRETRAIN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/model/adamw.h"
#include "core/model/config.h"
#include "core/model/schedule.h"
#include "core/ssl/objective.h"

/* Everything that decides a run's result. */
typedef struct {
    ssl_config ssl;            /* objective and its knobs (ssl_config_default) */
    struct encoder_config enc; /* student; `causal` must be what the objective needs */
    adamw_config opt;    /* adamw_config_default: wd 1e-3, lr factors stem .01 backbone .1 head 1 */
    lr_schedule sched;   /* constant 3e-3 */
    int batch;           /* 64 */
    int epochs;          /* 10 */
    uint64_t seed;       /* weights, objective stream, crops and shuffles */
    uint64_t split_seed; /* the dataset's validation split and nested subsets (fixed per study) */
    int64_t subset;      /* training records: first N of the pool; 0 = the whole pool */
    int64_t val_records; /* held-out records; 0 = auto: min(1000, max(1, count / 10)) */
    /* 0 = PRETRAIN_DEFAULT_EVERY: at each epoch end, or every 1000 steps when epochs are longer */
    int64_t val_every;        /* steps between validations */
    int64_t checkpoint_every; /* steps between checkpoint + train state */
    int threads;              /* compute threads (threads_set); 0 = all cores */
} pretrain_config;

#define PRETRAIN_DEFAULT_EVERY 1000

/* Study defaults (SPEC §2) for an objective: paper-size S4 encoder, causal for CPC. */
void pretrain_config_default(pretrain_config *c, ssl_kind kind);
ecg_code pretrain_config_validate(const pretrain_config *c, ecg_err *err);

typedef enum {
    PRETRAIN_EV_STEP = 0,   /* after an optimizer update */
    PRETRAIN_EV_VAL,        /* after a validation (also at step 0, before training) */
    PRETRAIN_EV_CHECKPOINT, /* after checkpoint + train state were written */
    PRETRAIN_EV_DONE,       /* run finished (or cancelled: see pretrain_result) */
} pretrain_event;

typedef struct {
    pretrain_event event;
    int64_t step, total_steps; /* updates done / planned */
    int64_t epoch, epochs;     /* current epoch (0-based) */
    double elapsed_s;          /* wall time in this process */
    double windows_per_s;      /* training windows per second in this process */
    double eta_s;              /* remaining steps at this process's rate (validation included) */
    double train_loss;         /* last step's loss */
    double train_loss_avg;     /* mean over the steps since the previous validation */
    ssl_metrics train_metrics; /* last step's */
    double val_loss;           /* last validation's; NAN before the first */
    ssl_metrics val_metrics;
    const char *checkpoint; /* path of the checkpoint just written (EV_CHECKPOINT, EV_DONE) */
} pretrain_progress;

/* Called on the training thread; keep it short (the CLI redraws a bar, the service persists). */
typedef void (*pretrain_progress_fn)(void *ctx, const pretrain_progress *p);

typedef struct {
    pretrain_progress_fn progress; /* may be NULL */
    void *progress_ctx;
    const atomic_int *cancel; /* may be NULL; checked before every step and validation batch */
    int resume;               /* continue from out_dir's latest state; starts afresh when none */
    const char *dataset_name; /* recorded in metadata; NULL: dataset_dir */
} pretrain_hooks;

typedef enum { PRETRAIN_FINISHED = 0, PRETRAIN_CANCELLED = 1 } pretrain_status;

typedef struct {
    pretrain_status status;
    int64_t step, total_steps;
    int64_t start_step;                   /* where this process began (> 0 after a resume) */
    double first_val_loss, last_val_loss; /* in this process; NAN when none ran */
    ssl_metrics last_val_metrics;
    int64_t n_train, n_val;
} pretrain_result;

/*
 * Train cfg on the store dataset in dataset_dir, writing into out_dir (created when missing):
 *   checkpoint-<step>.safetensors  student + heads (checkpoint_save), metadata ecgfm.pretrain.*
 *   objective-<step>.safetensors   the objective's state tensors (teacher, codebooks, ...), its
 *                                  random stream and the trainer's bookkeeping in the metadata
 *   train_state-<step>.bin         AdamW moments and step, epoch, data position, dropout stream
 *   LATEST                         "step <n>": the last complete set (written last, atomically;
 *                                  older sets are deleted after it)
 *   checkpoint.safetensors         the final checkpoint (also objective.safetensors)
 * A run without hooks->resume refuses an out_dir that already holds LATEST.
 *
 * Data: the dataset's store_split(count, val_records, split_seed); training records are the first
 * `subset` of the pool. Every epoch visits them in a seeded order (Fisher-Yates from a stream of
 * (seed, epoch)), one random 600-sample crop per record (start from a stream of (seed, epoch,
 * position), zero-padded when shorter); floor(n_train / batch) full batches, the last partial
 * batch dropped (a constant batch keeps BatchNorm statistics and the loss scale comparable).
 * Validation: the first 600 samples of each held-out record, eval mode, the objective's stream
 * set to a fixed fork of the seed for the pass and restored after (so every validation sees the
 * same masks and negatives, and training does not depend on the cadence); losses are means over
 * windows. Validation runs at step 0, every val_every steps and at the end.
 *
 * Cancellation: *cancel != 0 stops before the next step (or validation batch), writes the state
 * at the current step so that a resume continues exactly, and returns ECG_OK with status
 * PRETRAIN_CANCELLED. The latency is at most one step plus that write: ~0.2 s for the small
 * config at batch 32, ~10 s for the paper-size encoder at batch 32 on 2 cores.
 * Same config, data, seed and thread count give byte-identical files however often the run was
 * interrupted and resumed. The loop itself does not depend on the thread count, but OpenBLAS's
 * sgemm does in the last bits for the weight-gradient shapes (K = B * T), so a different thread
 * count gives slightly different weights.
 */
ecg_code pretrain_run(const pretrain_config *cfg, const char *dataset_dir, const char *out_dir,
                      const pretrain_hooks *hooks, pretrain_result *res, ecg_err *err);

/* Canonical one-line text of every result-deciding field (stored with the state; a resume with a
 * different config is refused, naming the first field that differs). */
ecg_code pretrain_config_text(const pretrain_config *c, char *buf, size_t n, ecg_err *err);

#endif

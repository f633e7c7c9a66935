/* pretrain_impl.h — what pretrain.c (the loop) shares with pretrain_io.c (the files a run writes
 * and resumes from). Not a public header. */
#ifndef ECGFM_CORE_PRETRAIN_IMPL_H
#define ECGFM_CORE_PRETRAIN_IMPL_H

#include "core/data/store.h"
#include "core/model/encoder.h"
#include "core/train/pretrain.h"

#define PRETRAIN_WINDOW 600 /* 2.5 s at 240 Hz */

typedef struct {
    pretrain_config cfg;
    const pretrain_hooks *hooks;
    pretrain_result *res;
    const char *out_dir, *dataset_name;
    char cfg_text[4096];

    store_dataset *ds;
    store_split split;
    int have_split;
    const size_t *train, *val; /* record indices */
    int64_t n_train, n_val;
    size_t *order; /* epoch order: positions into train */
    int64_t order_epoch;
    float *x; /* (batch, 12, 600) */

    encoder *enc;
    ssl_objective *obj;
    adamw opt;
    int have_opt;
    rng_state rng_data, rng_val;

    int64_t step, total_steps, steps_per_epoch, start_step, val_every, ckpt_every;
    int64_t saved_step;    /* step of the last state set written or loaded; -1 none */
    int64_t last_val_step; /* -1 none */
    double last_val_loss;
    ssl_metrics last_val, last_train;
    double avg_sum;
    int64_t avg_n;
    double t_start, train_time;
    int64_t windows_done;
    char final_path[4096];
} pretrain_ctx;

double pretrain_now(void);
void pretrain_emit(pretrain_ctx *c, pretrain_event ev, const char *ckpt);
int pretrain_need_val(const pretrain_ctx *c, int64_t step);
int pretrain_is_dir(const char *path);

/* LATEST's step, or -1 when out_dir holds none. */
ecg_code pretrain_latest(const char *out_dir, int64_t *step, ecg_err *err);
/* Write checkpoint, objective state and train state for c->step, then LATEST, then delete the
 * previous set. */
ecg_code pretrain_save_state(pretrain_ctx *c, ecg_err *err);
/* Restore everything from the set of `step` (config must match). */
ecg_code pretrain_load_state(pretrain_ctx *c, int64_t step, ecg_err *err);
/* checkpoint.safetensors and objective.safetensors from the current state. */
ecg_code pretrain_save_final(pretrain_ctx *c, ecg_err *err);

#endif

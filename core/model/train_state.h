/* train_state.h — what a training job needs beside its checkpoint to resume exactly: AdamW moments
 * and step, the random streams, the data position. One binary file with magic, version, checksum.
 */
#ifndef ECGFM_CORE_TRAIN_STATE_H
#define ECGFM_CORE_TRAIN_STATE_H

#include <stdint.h>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/model/adamw.h"
#include "core/model/params.h"

#define TRAIN_STATE_MAGIC "ECGFMTS\0" /* 8 bytes */
#define TRAIN_STATE_VERSION 1

typedef struct {
    int64_t step;        /* optimizer updates done (the schedule's position) */
    int64_t epoch;       /* current epoch */
    int64_t data_pos;    /* next sample index within the epoch */
    int64_t bn_batches;  /* the encoder's num_batches_tracked */
    rng_state rng_model; /* dropout stream (encoder_rng) */
    rng_state rng_data;  /* the trainer's stream: crops, shuffles, masks */
} train_state;

/* File layout, little-endian: magic[8], u32 version, u32 n_views; i64 step, epoch, data_pos,
 * bn_batches, adam_step; u64 rng_model[4], rng_data[4]; f64 beta1, beta2, eps; f32 lr_factor[3],
 * weight_decay[3]; u64 n_floats; per view: u32 name length, name, u64 offset, u64 count; then
 * f32 m[n_floats], f32 v[n_floats]; u64 FNV-1a hash of all preceding bytes. Written atomically. */
ecg_code train_state_save(const char *path, const train_state *ts, const adamw *opt,
                          const param_set *ps, ecg_err *err);
/* Restores ts and opt (config, step, moments). The parameter layout stored must equal ps's (the
 * error names the first tensor that differs). opt must be zero-filled or initialised; its old
 * moments are freed. */
ecg_code train_state_load(const char *path, train_state *ts, adamw *opt, const param_set *ps,
                          ecg_err *err);

#endif

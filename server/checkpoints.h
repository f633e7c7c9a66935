/* checkpoints.h — the checkpoints resource's state: safetensors files under the data directory,
 * rows in SQLite (which one is the default for embedding), and the lookups other modules use. */
#ifndef ECGFM_SERVER_CHECKPOINTS_H
#define ECGFM_SERVER_CHECKPOINTS_H

#include "core/base/error.h"
#include "server/db.h"

typedef struct {
    long long id;
    char name[128];
    char path[1300]; /* data_dir-joined path of the safetensors file */
    char sha256[65];
    long long size_bytes;
    char objective[16]; /* "" when uploaded */
    int is_default;
} checkpoint_info;

/* A checkpoint by "default", decimal id or name: 1 found, 0 not found, -1 error (err set). */
int checkpoints_lookup(db *d, const char *data_dir, const char *ref, checkpoint_info *out,
                       ecg_err *err);

/* Records a checkpoint file that is already at data_dir/rel (written atomically by the caller):
 * checks it loads as an encoder, computes sha256 and size, stores its model config; *id gets the
 * row id. objective may be NULL; dataset_id, subset, step, job_id <= 0 and val_loss NaN mean
 * unknown. The name must be unique (ECG_EINVAL when taken). */
ecg_code checkpoints_register(db *d, const char *data_dir, const char *rel, const char *name,
                              const char *objective, long long dataset_id, long long subset,
                              long long step, double val_loss, long long job_id, long long *id,
                              ecg_err *err);

#endif

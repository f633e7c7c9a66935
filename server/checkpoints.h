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

/* SHA-256 (lowercase hex) and size in bytes of the file at path, read in 64 KiB pieces: the
 * sha256/size_bytes a checkpoint row records (used by checkpoints_register and the pretrain job's
 * result). ECG_EIO when it cannot be opened or read. */
ecg_code checkpoints_hash_file(const char *path, char hex[65], long long *size, ecg_err *err);

/* ---- the resource's own operations (server/checkpoints.c; used by routes_checkpoints.c, serve.c)
 * ---- */
#include "api/checkpoints_json.h"

/* At start-up: the default checkpoint into *out, making one when the database has none: the
 * configured model file is copied atomically to data_dir/checkpoints/bundled-NAME.safetensors
 * (NAME from its directory or file name), registered and marked default. */
ecg_code checkpoints_ensure_default(db *d, const char *data_dir, const char *model_path,
                                    checkpoint_info *out, ecg_err *err);
/* len bytes to data_dir/rel (under checkpoints/), atomically: temp file, fsync, rename, fsync of
 * the directory. */
ecg_code checkpoints_write_file(const char *data_dir, const char *rel, const void *data,
                                size_t len, ecg_err *err);
/* id becomes the default (the old default stops being it) in one transaction; ECG_ENOTFOUND. */
ecg_code checkpoints_set_default(db *d, long long id, ecg_err *err);
/* Row and file, both or neither. ECG_ENOTFOUND; ECG_EINVAL when id is the default. */
ecg_code checkpoints_delete(db *d, const char *data_dir, long long id, ecg_err *err);
/* The view of "default", an id or a name: 1 found, 0 not, -1 error (err set). Free with
 * checkpoints_views_free(v, 1). */
int checkpoints_get_view(db *d, const char *ref, checkpoint_view *v, ecg_err *err);
/* Newest first, up to q->limit + 1 views (one more than asked says whether a next page exists). */
ecg_code checkpoints_list_views(db *d, const checkpoints_list_query *q, checkpoint_view **out,
                                size_t *n, ecg_err *err);
void checkpoints_views_free(checkpoint_view *vs, size_t n);
/* Start-up: removes what interrupted writes and deletes left under data_dir/checkpoints/ (temp
 * files, files being deleted, files no row names); returns how many files it removed. */
int checkpoints_sweep(db *d, const char *data_dir);

#endif

/* datasets.h — the datasets resource's state: rows in SQLite (datasets, records), blobs under
 * data_dir/datasets/<name>/ (an ECG store, or a task's split files), and the lookups jobs use. */
#ifndef ECGFM_SERVER_DATASETS_H
#define ECGFM_SERVER_DATASETS_H

#include <stdatomic.h>
#include <stddef.h>

#include <jansson.h>

#include "core/base/error.h"
#include "server/db.h"

#define DATASETS_NAME_MAX 64 /* [A-Za-z0-9_.-], not starting with '.' */

typedef enum { DATASET_ECG = 0, DATASET_TASK = 1 } dataset_kind;

typedef struct {
    long long id;
    char name[DATASETS_NAME_MAX + 1];
    dataset_kind kind;
    char state[16]; /* "importing", "ready", "deleting" */
    char dir[1200]; /* data_dir/datasets/<name>: the store (ECG) or the split files (task) */
    /* Task datasets: the split files (data_dir-joined paths; "" while not uploaded). Their format
     * is known from the extension: .ts (sktime), .arff, .tsv/.txt (UCR). */
    char train[1300], test[1300];
    long long n_records; /* ECG records, or train + test series of a task */
} dataset_info;

/* A dataset by decimal id or by name: 1 found (out filled), 0 not found, -1 error (err set). */
int datasets_lookup(db *d, const char *data_dir, const char *id_or_name, dataset_info *out,
                    ecg_err *err);

/* Server-side import: `requested` resolved (realpath) inside one of the allowed roots; a path that
 * leaves every root (.., symlinks) or does not exist is ECG_EINVAL / ECG_ENOTFOUND with why. */
ecg_code datasets_resolve_import_path(const char *const *roots, int n_roots, const char *requested,
                                      char *out, size_t cap, ecg_err *err);

typedef void (*datasets_progress_fn)(void *ctx, size_t done, size_t total, size_t skipped);

/* Appends every record of a WFDB tree, EDF tree or CODE-15% HDF5 file (format "wfdb", "edf",
 * "hdf5") at abs_path to ECG dataset id, and its records rows, the dataset's state "importing"
 * meanwhile and "ready" after (also after a failure: what was published stays, indexed).
 * *summary (new reference): {"found", "imported", "skipped", "skips": [{"path", "reason"}...]}.
 * cancel (may be NULL) stops between records. Job threads call this. */
ecg_code datasets_import(db *d, const char *data_dir, long long dataset_id, const char *format,
                         const char *abs_path, datasets_progress_fn progress, void *ctx,
                         const atomic_int *cancel, json_t **summary, ecg_err *err);

#endif

/* datasets_impl.h — what routes, serve.c and tests use of server/datasets*.c beyond datasets.h:
 * start-up, create, list, stats, appends, splits, delete (0 or an HTTP status when answering). */
#ifndef ECGFM_SERVER_DATASETS_IMPL_H
#define ECGFM_SERVER_DATASETS_IMPL_H

#include <stddef.h>

#include <jansson.h>

#include "core/base/error.h"
#include "core/data/record.h"
#include "core/data/task.h"
#include "server/datasets.h"
#include "server/db.h"

/* 1 when name follows the rules in datasets.h (and is not all digits: those are ids); else 0 and
 * why says what is wrong. */
int datasets_name_valid(const char *name, char *why, size_t cap);
const char *datasets_kind_name(dataset_kind k);

/* Start-up, before anything is served: finish deletes a crash interrupted (rows in state
 * "deleting"), remove leftover trash directories, give every directory under data_dir/datasets/
 * without a row its row (an ECG store: kind ecg with its records rows; train.* / test.* split
 * files: kind task), bring each ECG dataset's records rows in line with its store (an append that
 * crashed between publishing and committing), and mark interrupted imports ready. *adopted (may
 * be NULL) gets how many directories got a row. */
ecg_code datasets_startup(db *d, const char *data_dir, int *adopted, ecg_err *err);

/* Create a dataset (its directory; an empty store for kind ecg): 0 with *id, 409 name taken, 422
 * bad name, 500; err says why. */
int datasets_create(db *d, const char *data_dir, const char *name, dataset_kind kind,
                    const char *description, long long *id, ecg_err *err);

/* A dataset as JSON: id, name, kind, state, description, path, n_records, seconds, hours,
 * created_at, and with with_stats its stats (ECG: sampling rates, lead coverage, formats; task:
 * the splits). NULL when it does not exist (or on error, err set). */
json_t *datasets_get_json(db *d, long long id, int with_stats, ecg_err *err);

/* Up to limit datasets with id > after (kind filter "" or "ecg"/"task"), in id order: a new
 * reference {"datasets": [...], "next_cursor": last id or null}. */
json_t *datasets_list_json(db *d, const char *kind, long long after, int limit, ecg_err *err);

/* What one appended record became. */
typedef struct {
    long long idx; /* position in the store */
    double fs;
    size_t n_samples;
    int n_leads;
    unsigned lead_mask;
    double seconds;
} datasets_appended;

/* Append rec (physical units) to ECG dataset ds: the store record and its records row (with the
 * dataset totals) land together or not at all (the row's transaction is open while the store
 * publishes; a publish failure rolls it back). Appends are serialised. 0, or 409 (task dataset,
 * deleting, importing, another writer), 404 (gone), 422 (not storable: no standard lead...), 500.
 */
int datasets_append_record(db *d, const dataset_info *ds, const ecg_record *rec, const char *format,
                           const char *source_name, datasets_appended *out, ecg_err *err);

/* What an upload of many records (an HDF5 file) became. */
typedef struct {
    long long first_index; /* store index of the first appended record */
    long long found, imported, skipped;
    char first_skip[1100]; /* "exam ID: reason" of the first skipped exam, "" when none */
} datasets_batch;

/* Append every exam of a CODE-15% HDF5 file (bytes in memory) to ECG dataset ds, with their
 * records rows, both or neither as datasets_append_record. 0, or 409, 422 (not that layout: the
 * reader's reason; no exam storable), 500. */
int datasets_append_hdf5(db *d, const dataset_info *ds, const void *data, size_t len,
                         datasets_batch *out, ecg_err *err);

/* The split formats: "ts", "arff", "ucr" (stored as .ts, .arff, .tsv). */
const char *datasets_split_ext(const char *format);
/* The format a file name's extension names ("ts", "arff", "ucr" for .tsv/.txt/.csv), or NULL. */
const char *datasets_split_format_of_name(const char *name);
/* The format of a split file's bytes: "arff" (@relation...), "ts" (@problemName / @data ...),
 * else "ucr". */
const char *datasets_split_sniff(const char *buf, size_t len);

/* Parse a split held in memory with the reader of its format (the readers `ecgfm transfer` uses).
 */
ecg_code datasets_parse_split(task_split *t, const char *format, const char *buf, size_t len,
                              const char *src, ecg_err *err);

/* Validate and store split ("train" or "test") of task dataset ds: parsed, classes checked against
 * the other split when it exists, written as ds->dir/<split>.<ext> by temp + fsync + rename
 * (replacing a split of another format), the row's meta and n_records updated. *stats (new
 * reference) the split's stats. 0, 409 (ecg dataset, deleting), 422 (unreadable, classes do not
 * align), 500. */
int datasets_put_split(db *d, const dataset_info *ds, const char *split, const char *format,
                       const char *buf, size_t len, json_t **stats, ecg_err *err);

/* Delete dataset id: its row (records cascade) and its directory, both or neither. 0, 404, 409
 * (a queued or running job names it; *job gets its id), 500. */
int datasets_delete(db *d, const char *data_dir, long long id, long long *job, ecg_err *err);

/* Datasets by kind (metrics): n[0] ecg, n[1] task. */
ecg_code datasets_count(db *d, long long n[2], ecg_err *err);

#endif

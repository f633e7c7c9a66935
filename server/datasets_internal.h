/* datasets_internal.h — what server/datasets*.c share among themselves and nobody else: the lock
 * that serialises dataset writes, file helpers, statement helpers, and the rows/meta rebuilders. */
#ifndef ECGFM_SERVER_DATASETS_INTERNAL_H
#define ECGFM_SERVER_DATASETS_INTERNAL_H

#include <pthread.h>
#include <stddef.h>

#include <jansson.h>

#include "core/base/error.h"
#include "server/datasets.h"
#include "server/db.h"

/* One append, split upload, create or delete at a time in this process: the store allows one
 * writer per dataset, and these are short. Imports hold the store's own lock instead. */
extern pthread_mutex_t datasets_mu;

/* "UPDATE datasets SET state = ?2 WHERE id = ?1" (one text, so the statement cache holds one). */
extern const char datasets_sql_set_state[];

#define DATASETS_N_SPLIT_EXTS 4
/* The split file extensions looked for, in order: ts, arff, tsv, txt. */
extern const char *const datasets_split_exts[DATASETS_N_SPLIT_EXTS];

/* Temp files of uploads in a dataset directory start with this; start-up removes leftovers. */
#define DATASETS_UPLOAD_PREFIX ".upload-"

long long datasets_now_s(void);
/* rm -rf path (links removed, not followed); 0 or -1 with errno. */
int datasets_rm_tree(const char *path);
int datasets_is_dir(const char *p);
int datasets_is_file(const char *p);
void datasets_fsync_dir(const char *dir);
/* dir/<split>.<ext> of the first extension present, "" when none. */
void datasets_find_split(const char *dir, const char *split, char *out, size_t cap);
const char *datasets_base_of(const char *path);
int datasets_popcount12(unsigned mask);
/* sqlite3_step to SQLITE_DONE, then reset; ECG_EIO naming what otherwise. */
ecg_code datasets_step_done(db_conn *c, sqlite3_stmt *st, const char *what, ecg_err *err);
/* Refresh the ecgfm_datasets{kind} gauge. */
void datasets_metrics_refresh(db *d);

/* Inside a writer transaction: records rows for the store's records that have none (format names
 * them), rows past the store's end removed, the dataset's totals recomputed. */
ecg_code datasets_sync_rows(db_conn *c, long long id, const char *dir, const char *format,
                            ecg_err *err);
/* Inside a writer transaction: 0 when dataset id is of kind want and ready, else 404 or 409 (err
 * says why), 500. */
int datasets_check_writable(db_conn *c, long long id, dataset_kind want, ecg_err *err);
/* meta.splits of a task directory from its split files (read and class-aligned); *n the series. */
ecg_code datasets_task_meta_from_files(const char *dir, json_t *splits, long long *n, ecg_err *err);

#endif

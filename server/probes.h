/* probes.h — saved linear probes as rows of the probes table (with the 0005 spec column) and their
 * weights files under data_dir/probes/: storing one, reading one, listing them as JSON. */
#ifndef ECGFM_SERVER_PROBES_H
#define ECGFM_SERVER_PROBES_H

#include <jansson.h>

#include "core/base/error.h"
#include "core/transfer/classify.h"
#include "server/db.h"

/* A probe row. spec is the JSON object classify uses: {"mapping": {...}, "class_names": [...],
 * "n_dims", "dim", "classifier": "logreg", "param", "seed", "checkpoint": {"id", "name",
 * "sha256"}, "task": {"id", "name"}}; metrics the test-split scores of the probe. */
typedef struct {
    long long id, checkpoint_id, task_dataset_id, job_id, created_at;
    char method[16];
    char path[1100];        /* relative to the data directory, "" when none */
    json_t *metrics, *spec; /* owned */
} probe_row;

/* Stores m as data_dir/probes/<id>.probe (written atomically) and its row, both or neither;
 * job_id <= 0 means none. metrics and spec are borrowed. */
ecg_code probes_store(db *d, const char *data_dir, const probe_model *m, long long checkpoint_id,
                      long long task_dataset_id, long long job_id, const json_t *metrics,
                      const json_t *spec, long long *id, ecg_err *err);
/* 1 found, 0 not found, -1 error (err set). */
int probes_get(db *d, long long id, probe_row *out, ecg_err *err);
/* Newest first, ids below cursor (0: from the newest), at most limit + 1 rows into *rows (so the
 * caller sees whether there is a next page). */
ecg_code probes_list(db *d, long long cursor, long long limit, probe_row **rows, size_t *n,
                     ecg_err *err);
void probes_row_free(probe_row *r);
/* Start-up: removes files under data_dir/probes/ that no row points at (a crash between writing
 * the file and committing its row, or a probe deleted with its checkpoint or task dataset) and
 * temp files of interrupted writes. Returns how many were removed. */
int probes_sweep(db *d, const char *data_dir);
/* {"id", "method", "checkpoint_id", "task_dataset_id", "job_id", "created_at", "metrics",
 * "mapping", "class_names", "checkpoint", "task", ...spec} (new reference). */
json_t *probes_row_json(const probe_row *r);

#endif

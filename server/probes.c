/* probes.c — the probes table and data_dir/probes/ (see probes.h): a row and its weights file are
 * written in one writer transaction, the file first, so neither is left without the other. */
#include "server/probes.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/json_common.h"
#include "server/datadir.h"

#define ROW_COLS                                                                                   \
    "id, checkpoint_id, task_dataset_id, method, path, metrics, job_id, created_at, spec"
static const char SQL_INSERT[] =
    "INSERT INTO probes (checkpoint_id, task_dataset_id, method, path, metrics, job_id, "
    "created_at, spec) VALUES (?1, ?2, 'linear', NULL, ?3, ?4, ?5, ?6)";
static const char SQL_SET_PATH[] = "UPDATE probes SET path = ?2 WHERE id = ?1";
static const char SQL_GET[] = "SELECT " ROW_COLS " FROM probes WHERE id = ?1";
static const char SQL_HAS_PATH[] = "SELECT 1 FROM probes WHERE path = ?1";
static const char SQL_LIST[] =
    "SELECT " ROW_COLS " FROM probes WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2";

static json_t *parse_or_empty(const unsigned char *text) {
    json_t *j = text ? json_loads((const char *)text, 0, NULL) : NULL;
    return j ? j : json_object();
}

static int row_read(sqlite3_stmt *st, probe_row *r) {
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    r->checkpoint_id = sqlite3_column_int64(st, 1);
    r->task_dataset_id = sqlite3_column_int64(st, 2);
    snprintf(r->method, sizeof r->method, "%s", (const char *)sqlite3_column_text(st, 3));
    const unsigned char *p = sqlite3_column_text(st, 4);
    snprintf(r->path, sizeof r->path, "%s", p ? (const char *)p : "");
    r->metrics = parse_or_empty(sqlite3_column_text(st, 5));
    r->job_id = sqlite3_column_type(st, 6) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 6);
    r->created_at = sqlite3_column_int64(st, 7);
    r->spec = parse_or_empty(sqlite3_column_text(st, 8));
    return r->metrics && r->spec ? 0 : -1;
}

void probes_row_free(probe_row *r) {
    if (!r) return;
    json_decref(r->metrics);
    json_decref(r->spec);
    r->metrics = r->spec = NULL;
}

ecg_code probes_store(db *d, const char *data_dir, const probe_model *m, long long checkpoint_id,
                      long long task_dataset_id, long long job_id, const json_t *metrics,
                      const json_t *spec, long long *id, ecg_err *err) {
    char dir[1100], rel[64], abs[1200];
    snprintf(dir, sizeof dir, "%s/probes", data_dir);
    ecg_code rc = datadir_prepare(dir, err);
    if (rc) return rc;
    char *mtext = json_dumps(metrics, JSON_COMPACT | JSON_REAL_PRECISION(17));
    char *stext = json_dumps(spec, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!mtext || !stext) {
        free(mtext);
        free(stext);
        return err_set(err, ECG_ENOMEM, "out of memory storing the probe");
    }
    db_conn *c = db_writer_lock(d);
    int file_written = 0;
    rc = db_begin(c, err);
    if (!rc) {
        sqlite3_stmt *st = db_stmt(c, SQL_INSERT, err);
        if (!st) {
            rc = ECG_EIO;
        } else {
            sqlite3_bind_int64(st, 1, checkpoint_id);
            sqlite3_bind_int64(st, 2, task_dataset_id);
            sqlite3_bind_text(st, 3, mtext, -1, SQLITE_STATIC);
            if (job_id > 0)
                sqlite3_bind_int64(st, 4, job_id);
            else
                sqlite3_bind_null(st, 4);
            sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
            sqlite3_bind_text(st, 6, stext, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(c, err, "inserting the probe");
            sqlite3_reset(st);
        }
        if (!rc) {
            *id = sqlite3_last_insert_rowid(db_handle(c));
            snprintf(rel, sizeof rel, "probes/%lld.probe", *id);
            snprintf(abs, sizeof abs, "%s/%s", data_dir, rel);
            rc = probe_save(m, abs, err);
            file_written = !rc;
        }
        if (!rc) {
            st = db_stmt(c, SQL_SET_PATH, err);
            if (!st) {
                rc = ECG_EIO;
            } else {
                sqlite3_bind_int64(st, 1, *id);
                sqlite3_bind_text(st, 2, rel, -1, SQLITE_STATIC);
                if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(c, err, "recording the probe");
                sqlite3_reset(st);
            }
        }
        if (!rc) rc = db_commit(c, err);
        if (rc) {
            db_rollback(c);
            if (file_written) unlink(abs);
        }
    }
    db_writer_unlock(d, c);
    free(mtext);
    free(stext);
    return rc;
}

int probes_get(db *d, long long id, probe_row *out, ecg_err *err) {
    db_conn *c = db_reader_get(d);
    int found = -1;
    sqlite3_stmt *st = db_stmt(c, SQL_GET, err);
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW) {
            found = row_read(st, out) ? (err_set(err, ECG_ENOMEM, "out of memory"), -1) : 1;
            if (found < 0) probes_row_free(out);
        } else if (s == SQLITE_DONE) {
            found = 0;
        } else {
            db_fail(c, err, "reading a probe");
        }
        sqlite3_reset(st);
    }
    db_reader_put(d, c);
    return found;
}

ecg_code probes_list(db *d, long long cursor, long long limit, probe_row **rows, size_t *n,
                     ecg_err *err) {
    *rows = NULL;
    *n = 0;
    size_t cap = (size_t)limit + 1;
    probe_row *r = calloc(cap, sizeof *r);
    if (!r) return err_set(err, ECG_ENOMEM, "out of memory listing probes");
    ecg_code rc = ECG_OK;
    db_conn *c = db_reader_get(d);
    sqlite3_stmt *st = db_stmt(c, SQL_LIST, err);
    if (!st) {
        rc = ECG_EIO;
    } else {
        if (cursor > 0) sqlite3_bind_int64(st, 1, cursor);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)cap);
        int s = SQLITE_DONE;
        while (*n < cap && (s = sqlite3_step(st)) == SQLITE_ROW) {
            if (row_read(st, &r[*n])) {
                probes_row_free(&r[*n]);
                rc = err_set(err, ECG_ENOMEM, "out of memory listing probes");
                break;
            }
            (*n)++;
        }
        if (!rc && *n < cap && s != SQLITE_DONE) rc = db_fail(c, err, "listing probes");
        sqlite3_reset(st);
    }
    db_reader_put(d, c);
    if (rc) {
        for (size_t i = 0; i < *n; i++)
            probes_row_free(&r[i]);
        free(r);
        *n = 0;
        return rc;
    }
    *rows = r;
    return ECG_OK;
}

json_t *probes_row_json(const probe_row *r) {
    json_t *j = json_pack("{s:I, s:s, s:I, s:I, s:o, s:o, s:O}", "id", (json_int_t)r->id, "method",
                          r->method, "checkpoint_id", (json_int_t)r->checkpoint_id,
                          "task_dataset_id", (json_int_t)r->task_dataset_id, "job_id",
                          r->job_id > 0 ? json_integer(r->job_id) : json_null(), "created_at",
                          api_json_timestamp(r->created_at), "metrics", r->metrics);
    if (!j) return NULL;
    const char *k;
    json_t *v;
    json_object_foreach(r->spec, k, v) {
        if (!json_object_get(j, k)) json_object_set(j, k, v);
    }
    return j;
}

int probes_sweep(db *d, const char *data_dir) {
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/probes", data_dir);
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    int removed = 0;
    struct dirent *de;
    db_conn *c = db_reader_get(d);
    while ((de = readdir(dp))) {
        const char *name = de->d_name;
        long long id;
        char tail[16], rel[320], abs[1400];
        int ours = sscanf(name, "%lld.probe%15s", &id, tail) == 1 && id > 0;
        int temp = strstr(name, ".probe.tmp.") != NULL;
        if (!ours && !temp) continue;
        int keep = 0;
        if (ours) {
            snprintf(rel, sizeof rel, "probes/%s", name);
            ecg_err err = {0};
            sqlite3_stmt *st = db_stmt(c, SQL_HAS_PATH, &err);
            if (!st) {
                keep = 1; /* cannot tell: leave it */
            } else {
                sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
                int r = sqlite3_step(st);
                keep = r != SQLITE_DONE; /* a row, or an error: leave it */
                sqlite3_reset(st);
            }
        }
        if (keep) continue;
        snprintf(abs, sizeof abs, "%s/%s", dir, name);
        if (unlink(abs) == 0) removed++;
    }
    db_reader_put(d, c);
    closedir(dp);
    return removed;
}

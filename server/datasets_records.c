/* datasets_records.c — ECG datasets' records: appends (store record and records row together),
 * server-side imports, and the records rows brought in line with a store's index. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/data/edf.h"
#include "core/data/hdf5_tracings.h"
#include "core/data/store.h"
#include "server/datasets_impl.h"
#include "server/datasets_internal.h"
#include "server/metrics.h"

static void metrics_uploaded(const char *format, double n) {
    static const char *const labels[] = {"format", NULL};
    metrics_family *c =
        metrics_register(METRICS_COUNTER, "ecgfm_dataset_records_uploaded_total",
                         "Records appended to ECG datasets by upload, by format", labels, NULL, 0);
    metrics_counter_add(c, (const char *const[]){format}, n);
}

/* ---- rows from a store ---- */

static const char SQL_REC_INSERT[] =
    "INSERT INTO records (dataset_id, idx, source_name, format, fs, n_samples, n_leads, "
    "lead_mask, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_REC_MAXIDX[] =
    "SELECT COALESCE(MAX(idx) + 1, 0), COUNT(*) FROM records WHERE dataset_id = ?1";
static const char SQL_REC_TRIM[] = "DELETE FROM records WHERE dataset_id = ?1 AND idx >= ?2";
static const char SQL_DS_TOTALS[] =
    "UPDATE datasets SET n_records = (SELECT COUNT(*) FROM records WHERE dataset_id = ?1), "
    "seconds = (SELECT COALESCE(SUM(n_samples / fs), 0) FROM records WHERE dataset_id = ?1) "
    "WHERE id = ?1";

int datasets_popcount12(unsigned m) {
    int n = 0;
    for (int k = 0; k < ECG_N_LEADS; k++)
        n += (m >> k) & 1;
    return n;
}

ecg_code datasets_step_done(db_conn *c, sqlite3_stmt *st, const char *what, ecg_err *err) {
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) return db_fail(c, err, what);
    return ECG_OK;
}

/* Inside a writer transaction: records rows for store records [have, count) of dataset id, from
 * the store's index (the source's rate; its sample count from the 240 Hz count), then rows past
 * the store's end removed and the dataset's totals recomputed. */
ecg_code datasets_sync_rows(db_conn *c, long long id, const char *dir, const char *format,
                            ecg_err *err) {
    store_dataset *ds = NULL;
    ecg_code rc = store_open(&ds, dir, STORE_OPEN_NO_RECORD_CRC, err);
    if (rc) return rc;
    size_t count = store_count(ds);
    sqlite3_stmt *st = db_stmt(c, SQL_REC_MAXIDX, err);
    if (!st) {
        store_close(ds);
        return err->code;
    }
    sqlite3_bind_int64(st, 1, id);
    long long have = 0;
    if (sqlite3_step(st) == SQLITE_ROW) have = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    long long t = datasets_now_s();
    for (size_t i = (size_t)have; i < count && !rc; i++) {
        store_record_info info;
        rc = store_info(ds, i, &info, err);
        if (rc) break;
        double fs = info.orig_fs > 0 ? info.orig_fs : STORE_FS;
        unsigned mask = info.lead_mask;
        if (!datasets_popcount12(mask)) mask = 1; /* a store record always has a lead; be safe */
        char src[STORE_MAX_SOURCE_ID + 1];
        snprintf(src, sizeof src, "%.*s", (int)info.source_id_len,
                 info.source_id ? info.source_id : "");
        st = db_stmt(c, SQL_REC_INSERT, err);
        if (!st) {
            rc = err->code;
            break;
        }
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (long long)i);
        sqlite3_bind_text(st, 3, src, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, format, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 5, fs);
        sqlite3_bind_int64(st, 6, llround((double)info.n_samples * fs / STORE_FS));
        sqlite3_bind_int(st, 7, datasets_popcount12(mask));
        sqlite3_bind_int64(st, 8, mask);
        sqlite3_bind_int64(st, 9, t);
        rc = datasets_step_done(c, st, "inserting a records row", err);
    }
    store_close(ds);
    if (rc) return rc;
    st = db_stmt(c, SQL_REC_TRIM, err);
    if (!st) return err->code;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, (long long)count);
    rc = datasets_step_done(c, st, "trimming records rows", err);
    if (rc) return rc;
    st = db_stmt(c, SQL_DS_TOTALS, err);
    if (!st) return err->code;
    sqlite3_bind_int64(st, 1, id);
    return datasets_step_done(c, st, "updating dataset totals", err);
}

/* ---- server-side import ---- */

ecg_code datasets_resolve_import_path(const char *const *roots, int n_roots, const char *requested,
                                      char *out, size_t cap, ecg_err *err) {
    if (n_roots <= 0)
        return err_set(err, ECG_EINVAL,
                       "server-side import is disabled (the server has no import_roots)");
    if (!requested || requested[0] != '/')
        return err_set(err, ECG_EINVAL, "the import path must be absolute");
    char real[PATH_MAX];
    if (!realpath(requested, real))
        return err_set(err, errno == ENOENT ? ECG_ENOTFOUND : ECG_EINVAL, "%s: %s", requested,
                       strerror(errno));
    for (int i = 0; i < n_roots; i++) {
        char rr[PATH_MAX];
        if (!roots[i] || !realpath(roots[i], rr)) continue;
        size_t n = strlen(rr);
        while (n > 1 && rr[n - 1] == '/')
            rr[--n] = '\0';
        int inside = strncmp(real, rr, n) == 0 && (real[n] == '\0' || real[n] == '/' || n == 1);
        if (!inside) continue;
        if (strlen(real) >= cap) return err_set(err, ECG_EINVAL, "the import path is too long");
        snprintf(out, cap, "%s", real);
        return ECG_OK;
    }
    return err_set(err, ECG_EINVAL, "%s is outside every allowed import root", requested);
}

const char datasets_sql_set_state[] = "UPDATE datasets SET state = ?2 WHERE id = ?1";
static const char SQL_ID_INFO[] = "SELECT name, kind, state FROM datasets WHERE id = ?1";

static ecg_code set_state(db *d, long long id, const char *state, const char *only_from,
                          ecg_err *err) {
    db_conn *c = db_writer_lock(d);
    ecg_code rc = db_begin(c, err);
    sqlite3_stmt *st = rc ? NULL : db_stmt(c, SQL_ID_INFO, err);
    if (!rc && !st) rc = err->code;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        int r = sqlite3_step(st);
        if (r != SQLITE_ROW)
            rc = err_set(err, ECG_ENOTFOUND, "no dataset %lld", id);
        else if (only_from && strcmp((const char *)sqlite3_column_text(st, 2), only_from) != 0)
            rc = err_set(err, ECG_EINVAL, "dataset %lld is %s", id,
                         (const char *)sqlite3_column_text(st, 2));
        else if (strcmp((const char *)sqlite3_column_text(st, 1), "ecg") != 0)
            rc = err_set(err, ECG_EINVAL, "dataset %lld is a task dataset, not ECG", id);
        sqlite3_reset(st);
    }
    st = rc ? NULL : db_stmt(c, datasets_sql_set_state, err);
    if (!rc && !st) rc = err->code;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
        rc = datasets_step_done(c, st, "setting a dataset's state", err);
    }
    if (!rc)
        rc = db_commit(c, err);
    else
        db_rollback(c);
    db_writer_unlock(d, c);
    return rc;
}

typedef struct {
    datasets_progress_fn fn;
    void *ctx;
} import_progress;

static void on_import_progress(void *ctx, size_t done, size_t total, size_t skipped) {
    import_progress *p = ctx;
    if (p->fn) p->fn(p->ctx, done, total, skipped);
}

ecg_code datasets_import(db *d, const char *data_dir, long long dataset_id, const char *format,
                         const char *abs_path, datasets_progress_fn progress, void *ctx,
                         const atomic_int *cancel, json_t **summary, ecg_err *err) {
    *summary = NULL;
    if (strcmp(format, "wfdb") && strcmp(format, "edf") && strcmp(format, "hdf5"))
        return err_set(err, ECG_EINVAL, "import format must be wfdb, edf or hdf5, not \"%s\"",
                       format);
    char id_s[32];
    snprintf(id_s, sizeof id_s, "%lld", dataset_id);
    dataset_info info;
    int f = datasets_lookup(d, data_dir, id_s, &info, err);
    if (f < 0) return err->code;
    if (f == 0) return err_set(err, ECG_ENOTFOUND, "no dataset %lld", dataset_id);
    if (cancel && atomic_load(cancel))
        return err_set(err, ECG_EINVAL, "the import was cancelled before it started");
    ecg_code rc = set_state(d, dataset_id, "importing", "ready", err);
    if (rc) return rc;
    store_writer *w = NULL;
    rc = store_writer_open(&w, info.dir, NULL, err);
    store_import_summary sum;
    memset(&sum, 0, sizeof sum);
    int ran = 0;
    if (!rc) {
        import_progress ip = {progress, ctx};
        store_import_opts opt = {0};
        opt.progress = on_import_progress;
        opt.progress_ctx = &ip;
        opt.stop = cancel; /* checked between batches of records */
        ran = 1;
        if (!strcmp(format, "wfdb"))
            rc = store_import_wfdb_tree(w, abs_path, &opt, &sum, err);
        else if (!strcmp(format, "edf"))
            rc = store_import_edf_tree(w, abs_path, &opt, &sum, err);
        else
            rc = store_import_hdf5(w, abs_path, NULL, &opt, &sum, err);
        ecg_err cerr = {0};
        if (rc)
            store_writer_abort(w);
        else if (store_writer_close(w, &cerr) && !rc)
            rc = err_set(err, cerr.code, "%s", cerr.msg);
    }
    /* What was published is indexed, whatever happened. */
    pthread_mutex_lock(&datasets_mu);
    db_conn *c = db_writer_lock(d);
    ecg_err serr = {0};
    ecg_code src = db_begin(c, &serr);
    if (!src) src = datasets_sync_rows(c, dataset_id, info.dir, format, &serr);
    sqlite3_stmt *st = src ? NULL : db_stmt(c, datasets_sql_set_state, &serr);
    if (st) {
        sqlite3_bind_int64(st, 1, dataset_id);
        sqlite3_bind_text(st, 2, "ready", -1, SQLITE_STATIC);
        src = datasets_step_done(c, st, "setting a dataset's state", &serr);
    } else if (!src) {
        src = serr.code;
    }
    if (!src)
        src = db_commit(c, &serr);
    else
        db_rollback(c);
    db_writer_unlock(d, c);
    pthread_mutex_unlock(&datasets_mu);
    if (src) set_state(d, dataset_id, "ready", NULL, &serr);
    if (!rc && src) rc = err_set(err, serr.code, "indexing the imported records: %s", serr.msg);
    if (ran) {
        json_t *skips = json_array();
        for (size_t i = 0; i < sum.n_skips && i < 1000; i++)
            json_array_append_new(skips, json_pack("{s:s, s:s}", "path", sum.skips[i].path,
                                                   "reason", sum.skips[i].reason));
        *summary = json_pack("{s:I, s:I, s:I, s:o, s:b}", "found", (json_int_t)sum.found,
                             "imported", (json_int_t)sum.imported, "skipped",
                             (json_int_t)sum.skipped, "skips", skips, "cancelled", sum.stopped);
        store_import_summary_free(&sum);
    }
    return rc;
}

/* ---- appending a record ---- */

static const char SQL_ROW_STATE[] = "SELECT kind, state FROM datasets WHERE id = ?1";
static const char SQL_ADD_TOTALS[] =
    "UPDATE datasets SET n_records = n_records + 1, seconds = seconds + ?2 WHERE id = ?1";

/* Inside a writer transaction: 0 when dataset id is an ECG dataset in state ready, else the
 * status with err set. */
int datasets_check_writable(db_conn *c, long long id, dataset_kind want, ecg_err *err) {
    sqlite3_stmt *st = db_stmt(c, SQL_ROW_STATE, err);
    if (!st) return 500;
    sqlite3_bind_int64(st, 1, id);
    int status = 0;
    if (sqlite3_step(st) != SQLITE_ROW) {
        err_set(err, ECG_ENOTFOUND, "no dataset %lld", id);
        status = 404;
    } else if (strcmp((const char *)sqlite3_column_text(st, 0), datasets_kind_name(want)) != 0) {
        err_set(err, ECG_EINVAL, "dataset %lld is a %s dataset, this needs a%s %s dataset", id,
                (const char *)sqlite3_column_text(st, 0), want == DATASET_ECG ? "n" : "",
                datasets_kind_name(want));
        status = 409;
    } else if (strcmp((const char *)sqlite3_column_text(st, 1), "ready") != 0) {
        err_set(err, ECG_EINVAL, "dataset %lld is %s", id,
                (const char *)sqlite3_column_text(st, 1));
        status = 409;
    }
    sqlite3_reset(st);
    return status;
}

int datasets_append_record(db *d, const dataset_info *ds, const ecg_record *rec, const char *format,
                           const char *source_name, datasets_appended *out, ecg_err *err) {
    memset(out, 0, sizeof *out);
    if (ds->kind != DATASET_ECG) {
        err_set(err, ECG_EINVAL,
                "dataset \"%s\" is a task dataset: upload its splits with PUT "
                "/v1/datasets/%s/splits/{train,test}",
                ds->name, ds->name);
        return 409;
    }
    store_prepared p;
    ecg_code rc = store_prepare(&p, rec, err);
    if (rc) return rc == ECG_ENOMEM ? 500 : 422;
    int status = 0;
    pthread_mutex_lock(&datasets_mu);
    store_writer *w = NULL;
    rc = store_writer_open(&w, ds->dir, NULL, err);
    if (rc) {
        status = rc == ECG_EIO && strstr(err->msg, "another writer") ? 409 : 500;
        goto out;
    }
    out->idx = (long long)store_writer_count(w);
    const char *src = source_name && *source_name ? source_name : "upload";
    rc = store_writer_add(w, p.x, p.n, p.lead_mask, NULL, rec->fs, src, err);
    if (rc) {
        store_writer_abort(w);
        status = rc == ECG_EINVAL ? 422 : 500;
        goto out;
    }
    out->fs = rec->fs;
    out->n_samples = rec->n_samples;
    out->lead_mask = p.lead_mask;
    out->n_leads = datasets_popcount12(p.lead_mask);
    out->seconds = (double)rec->n_samples / rec->fs;
    /* The row first, in a transaction kept open while the store publishes: a publish failure
     * rolls the row back, a row failure discards the unpublished record. */
    db_conn *c = db_writer_lock(d);
    rc = db_begin(c, err);
    if (rc) {
        db_writer_unlock(d, c);
        store_writer_abort(w);
        status = 500;
        goto out;
    }
    status = datasets_check_writable(c, ds->id, DATASET_ECG, err);
    sqlite3_stmt *st = status ? NULL : db_stmt(c, SQL_REC_INSERT, err);
    if (!status && !st) status = 500;
    if (st) {
        sqlite3_bind_int64(st, 1, ds->id);
        sqlite3_bind_int64(st, 2, out->idx);
        sqlite3_bind_text(st, 3, src, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, format, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 5, rec->fs);
        sqlite3_bind_int64(st, 6, (long long)rec->n_samples);
        sqlite3_bind_int(st, 7, out->n_leads);
        sqlite3_bind_int64(st, 8, out->lead_mask);
        sqlite3_bind_int64(st, 9, datasets_now_s());
        if (datasets_step_done(c, st, "inserting the records row", err)) status = 500;
    }
    st = status ? NULL : db_stmt(c, SQL_ADD_TOTALS, err);
    if (!status && !st) status = 500;
    if (st) {
        sqlite3_bind_int64(st, 1, ds->id);
        sqlite3_bind_double(st, 2, (double)p.n / STORE_FS);
        if (datasets_step_done(c, st, "updating the dataset's totals", err)) status = 500;
    }
    if (status) {
        db_rollback(c);
        store_writer_abort(w);
    } else if (store_writer_close(w, err)) {
        db_rollback(c); /* the store is as it was at its last publish */
        status = 500;
    } else if (db_commit(c, err)) {
        /* Published but not recorded: the next start-up indexes it (sync_rows). */
        status = 500;
    }
    db_writer_unlock(d, c);
    if (!status) metrics_uploaded(format, 1);
out:
    pthread_mutex_unlock(&datasets_mu);
    store_prepared_free(&p);
    return status;
}

/* The upload's temp file is the server's business: messages say "the upload" instead of its path.
 */
static void scrub_path(char *msg, size_t cap, const char *path) {
    size_t n = strlen(path);
    char *p;
    if (n == 0) return;
    while ((p = strstr(msg, path))) {
        char rest[1200];
        snprintf(rest, sizeof rest, "%s", p + n);
        snprintf(p, cap - (size_t)(p - msg), "the upload%s", rest);
    }
}

/* ---- a file of many records (CODE-15% HDF5) ---- */

int datasets_append_hdf5(db *d, const dataset_info *ds, const void *data, size_t len,
                         datasets_batch *out, ecg_err *err) {
    memset(out, 0, sizeof *out);
    if (ds->kind != DATASET_ECG) {
        err_set(err, ECG_EINVAL, "dataset \"%s\" is a task dataset: records go to ECG datasets",
                ds->name);
        return 409;
    }
    int status = 0;
    char tmp[1400] = "";
    pthread_mutex_lock(&datasets_mu);
    store_writer *w = NULL;
    ecg_code rc = store_writer_open(&w, ds->dir, NULL, err);
    if (rc) {
        status = rc == ECG_EIO && strstr(err->msg, "another writer") ? 409 : 500;
        goto out;
    }
    out->first_index = (long long)store_writer_count(w);
    /* libhdf5 reads files: the upload goes to a temp file in the dataset's directory (start-up
     * removes one a crash left). Opened after the writer, whose clean-up would not touch it. */
    snprintf(tmp, sizeof tmp, "%s/" DATASETS_UPLOAD_PREFIX "XXXXXX", ds->dir);
    int fd = mkstemp(tmp);
    size_t off = 0;
    while (fd >= 0 && off < len) {
        ssize_t n = write(fd, (const char *)data + off, len - off);
        if (n <= 0) break;
        off += (size_t)n;
    }
    if (fd < 0 || off < len || close(fd) != 0) {
        if (fd < 0) tmp[0] = '\0';
        err_set(err, ECG_EIO, "cannot write the upload to a temp file: %s", strerror(errno));
        store_writer_abort(w);
        status = 500;
        goto out;
    }
    /* The rows' transaction is open while the store publishes, as for one record. */
    db_conn *c = db_writer_lock(d);
    if (db_begin(c, err)) {
        db_writer_unlock(d, c);
        store_writer_abort(w);
        status = 500;
        goto out;
    }
    status = datasets_check_writable(c, ds->id, DATASET_ECG, err);
    store_import_summary sum;
    memset(&sum, 0, sizeof sum);
    if (!status) {
        store_import_opts opt = {0};
        rc = store_import_hdf5(w, tmp, NULL, &opt, &sum, err);
        if (rc) status = rc == ECG_EFORMAT || rc == ECG_EINVAL ? 422 : 500;
        if (!rc && sum.imported == 0) {
            err_set(err, ECG_EINVAL, "none of the file's %zu exams could be stored%s%s", sum.found,
                    sum.n_skips ? ": " : "", sum.n_skips ? sum.skips[0].reason : "");
            status = 422;
        }
    }
    out->found = (long long)sum.found;
    out->imported = (long long)sum.imported;
    out->skipped = (long long)sum.skipped;
    if (sum.n_skips)
        snprintf(out->first_skip, sizeof out->first_skip, "%s: %s", sum.skips[0].path,
                 sum.skips[0].reason);
    scrub_path(out->first_skip, sizeof out->first_skip, tmp);
    scrub_path(err->msg, sizeof err->msg, tmp);
    store_import_summary_free(&sum);
    if (status)
        store_writer_abort(w); /* the unpublished records go */
    else if (store_writer_close(w, err))
        status = 500;
    /* Rows for whatever the store now holds (nothing new after a failure, unless a full shard was
     * published on the way), so store and rows agree either way. */
    ecg_err serr = {0};
    if (datasets_sync_rows(c, ds->id, ds->dir, "hdf5", &serr) || db_commit(c, &serr)) {
        db_rollback(c);
        if (!status) {
            *err = serr;
            status = 500;
        }
    }
    db_writer_unlock(d, c);
    if (!status) metrics_uploaded("hdf5", (double)out->imported);
out:
    if (tmp[0]) unlink(tmp);
    pthread_mutex_unlock(&datasets_mu);
    return status;
}

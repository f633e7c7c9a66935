/* jobs_requests.c — the job endpoints' work on the loop thread (see jobs.h): create, get, list,
 * cancel and retry, each a short transaction under the writer lock or a read on the pool. */
#include "server/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/checkpoints.h"
#include "server/datasets.h"
#include "server/job_kind.h"
#include "server/jobs_impl.h"

static const char SQL_LIST[] =
    "SELECT " ROW_COLS " FROM jobs WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR kind = ?2)"
    " AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4";
static const char SQL_INSERT[] =
    "INSERT INTO jobs (kind, state, params, progress, created_at, updated_at)"
    " VALUES (?1, 'queued', ?2, '{}', ?3, ?3)";
static const char SQL_CANCEL_RUNNING[] =
    "UPDATE jobs SET cancel_requested = 1, updated_at = ?2 WHERE id = ?1";
static const char SQL_RETRY[] =
    "UPDATE jobs SET state = 'queued', error = NULL, result = NULL, cancel_requested = 0,"
    " finished_at = NULL, updated_at = ?2 WHERE id = ?1";

static void storage_error(api_response *res, const ecg_err *err) {
    api_response_error(res, 500, "storage_error", "%s", err->msg);
}

static void answer_row(jobs *j, long long id, int status, api_response *res) {
    ecg_err err = {0};
    jobs_row r;
    db_conn *c = db_reader_get(j->db);
    int found = jobs_row_load(c, id, &r, &err);
    db_reader_put(j->db, c);
    if (found < 0) {
        storage_error(res, &err);
        return;
    }
    if (!found) {
        api_response_error(res, 404, "not_found", "no job %lld", id);
        return;
    }
    jobs_answer_one(&r.v, status, res);
    jobs_row_free(&r);
}

void jobs_submit(jobs *j, jobs_create_request *req, api_response *res) {
    long long id = 0;
    if (jobs_create(j, req->kind, req->params, &id, res)) return;
    answer_row(j, id, 201, res);
}

/* The row (and what the kind inserts beside it) in one transaction. */
static int insert_row(jobs *j, const job_kind *k, const json_t *params_obj, long long *out_id,
                      api_response *res) {
    ecg_err err = {0};
    ecg_code rc;
    char *params = json_dumps(params_obj, JSON_COMPACT);
    if (!params) {
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return -1;
    }
    long long id = 0;
    db_conn *c = db_writer_lock(j->db);
    rc = db_begin(c, &err);
    sqlite3_stmt *st = rc ? NULL : db_stmt(c, SQL_INSERT, &err);
    if (!rc && !st) rc = err.code;
    if (st) {
        sqlite3_bind_text(st, 1, k->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, params, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, jobs_now_s());
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_fail(c, &err, "creating a job");
        else
            id = sqlite3_last_insert_rowid(db_handle(c));
        sqlite3_reset(st);
    }
    if (!rc) rc = jobs_add_event(c, id, "state", json_pack("{s:s}", "state", "queued"), &err);
    if (!rc && k->insert) rc = k->insert(c, id, params_obj, &err);
    if (!rc) rc = db_commit(c, &err);
    db_writer_unlock(j->db, c);
    free(params);
    if (rc) {
        storage_error(res, &err);
        return -1;
    }
    *out_id = id;
    return 0;
}

int jobs_create(jobs *j, const char *kind, json_t *params, long long *id, api_response *res) {
    if (j->stopping) {
        api_response_error(res, 503, "shutting_down", "the service is shutting down");
        return -1;
    }
    const job_kind *k = job_kind_find(kind);
    if (!k) {
        api_response_error(res, 422, "not_built", "%s jobs are not built yet", kind);
        return -1;
    }
    if (k->check && k->check(j, params, res)) return -1;
    if (insert_row(j, k, params, id, res)) return -1;
    jobs_schedule(j);
    jobs_refresh_metrics(j);
    return 0;
}

void jobs_get(jobs *j, long long id, api_response *res) {
    answer_row(j, id, 200, res);
}

void jobs_list(jobs *j, const jobs_list_query *q, api_response *res) {
    ecg_err err = {0};
    size_t n = 0, cap = (size_t)q->limit + 1;
    jobs_row *rows = calloc(cap, sizeof *rows);
    jobs_view *views = calloc(cap, sizeof *views);
    if (!rows || !views) {
        free(rows);
        free(views);
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return;
    }
    int bad = 0;
    db_conn *c = db_reader_get(j->db);
    sqlite3_stmt *st = db_stmt(c, SQL_LIST, &err);
    if (!st) bad = 1;
    if (st) {
        if (q->state) sqlite3_bind_text(st, 1, q->state, -1, SQLITE_STATIC);
        if (q->kind) sqlite3_bind_text(st, 2, q->kind, -1, SQLITE_STATIC);
        if (q->cursor) sqlite3_bind_int64(st, 3, q->cursor);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)cap);
        int rc;
        while (n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (jobs_row_read(st, &rows[n])) {
                bad = 1;
                err_set(&err, ECG_ENOMEM, "out of memory");
                break;
            }
            views[n] = rows[n].v;
            n++;
        }
        if (!bad && n < cap && rc != SQLITE_DONE) bad = 1, db_fail(c, &err, "listing jobs");
        sqlite3_reset(st);
    }
    db_reader_put(j->db, c);
    if (bad) {
        storage_error(res, &err);
    } else {
        size_t shown = n > (size_t)q->limit ? (size_t)q->limit : n;
        jobs_answer_list(views, shown, n > shown ? views[shown - 1].id : 0, res);
    }
    for (size_t i = 0; i < n; i++)
        jobs_row_free(&rows[i]);
    free(rows);
    free(views);
}

static run *find_run(jobs *j, long long id) {
    for (run *r = j->runs; r; r = r->next)
        if (r->id == id && !atomic_load(&r->done)) return r;
    return NULL;
}

void jobs_cancel(jobs *j, long long id, api_response *res) {
    ecg_err err = {0};
    jobs_row r;
    db_conn *c = db_writer_lock(j->db);
    ecg_code rc = db_begin(c, &err);
    int found = rc ? -1 : jobs_row_load(c, id, &r, &err);
    int status = 200;
    if (found == 1) {
        if (jobs_state_is_terminal(r.state)) {
            status = 409;
            api_response_error(res, 409, "job_finished", "job %lld is already %s", id, r.state);
        } else if (!strcmp(r.state, "queued")) {
            rc = jobs_exec_id_time(c, JOBS_SQL_CANCEL_QUEUED, id, jobs_now_s(), &err);
            if (!rc)
                rc = jobs_add_event(c, id, "state",
                                    json_pack("{s:s, s:s}", "state", "cancelled", "reason",
                                              "cancelled on request before it started"),
                                    &err);
        } else {
            rc = jobs_exec_id_time(c, SQL_CANCEL_RUNNING, id, jobs_now_s(), &err);
            if (!rc)
                rc =
                    jobs_add_event(c, id, "log",
                                   json_pack("{s:s}", "message",
                                             "cancel requested; the job saves its state and stops"),
                                   &err);
        }
        jobs_row_free(&r);
        if (!rc && status == 200) rc = db_commit(c, &err);
    }
    db_writer_unlock(j->db, c);
    if (found < 0 || rc) {
        storage_error(res, &err);
        return;
    }
    if (!found) {
        api_response_error(res, 404, "not_found", "no job %lld", id);
        return;
    }
    if (status != 200) return;
    run *rn = find_run(j, id);
    if (rn) {
        atomic_store(&rn->user_cancel, 1);
        atomic_store(&rn->cancel, 1);
    }
    jobs_wake_streams(j);
    jobs_refresh_metrics(j);
    answer_row(j, id, 200, res);
}

void jobs_retry(jobs *j, long long id, api_response *res) {
    if (j->stopping) {
        api_response_error(res, 503, "shutting_down", "the service is shutting down");
        return;
    }
    ecg_err err = {0};
    jobs_row r;
    db_conn *c = db_writer_lock(j->db);
    ecg_code rc = db_begin(c, &err);
    int found = rc ? -1 : jobs_row_load(c, id, &r, &err);
    int ok = 0;
    if (found == 1) {
        if (strcmp(r.state, "failed") != 0 && strcmp(r.state, "cancelled") != 0) {
            api_response_error(res, 409, "invalid_state",
                               "job %lld is %s; only failed or cancelled jobs can be retried", id,
                               r.state);
        } else {
            ok = 1;
            rc = jobs_exec_id_time(c, SQL_RETRY, id, jobs_now_s(), &err);
            if (!rc)
                rc = jobs_add_event(c, id, "state",
                                    json_pack("{s:s, s:s, s:b}", "state", "queued", "reason",
                                              "retried on request", "retry", 1),
                                    &err);
            if (!rc) rc = db_commit(c, &err);
        }
        jobs_row_free(&r);
    }
    db_writer_unlock(j->db, c);
    if (found < 0 || rc) {
        storage_error(res, &err);
        return;
    }
    if (!found) {
        api_response_error(res, 404, "not_found", "no job %lld", id);
        return;
    }
    if (!ok) return;
    jobs_schedule(j);
    jobs_refresh_metrics(j);
    answer_row(j, id, 200, res);
}

/* ---- stored references for the job kinds ---- */

int job_ref_lookup(db *d, const char *data_dir, job_ref_kind kind, const char *key, const char *ref,
                   void *out, char *why, size_t why_cap) {
    ecg_err err = {0};
    if (kind == JOB_REF_CHECKPOINT) {
        int found = checkpoints_lookup(d, data_dir, ref, out, &err);
        if (found < 0) return snprintf(why, why_cap, "%s", err.msg), 500;
        if (!found) return snprintf(why, why_cap, "params.%s: no checkpoint \"%s\"", key, ref), 404;
        return 0;
    }
    dataset_info *di = out;
    int found = datasets_lookup(d, data_dir, ref, di, &err);
    if (found < 0) return snprintf(why, why_cap, "%s", err.msg), 500;
    if (!found) return snprintf(why, why_cap, "params.%s: no dataset \"%s\"", key, ref), 404;
    if (kind == JOB_REF_ECG && di->kind != DATASET_ECG)
        return snprintf(why, why_cap, "params.%s: dataset \"%s\" is a task dataset, not ECG", key,
                        ref),
               422;
    if (kind == JOB_REF_TASK && di->kind != DATASET_TASK)
        return snprintf(why, why_cap, "params.%s: dataset \"%s\" is an ECG dataset, not a task",
                        key, ref),
               422;
    if (kind == JOB_REF_TASK && (!di->train[0] || !di->test[0]))
        return snprintf(why, why_cap,
                        "params.%s: task dataset \"%s\" has no %s split yet (PUT "
                        "/v1/datasets/%lld/splits/%s)",
                        key, ref, di->train[0] ? "test" : "train", di->id,
                        di->train[0] ? "test" : "train"),
               422;
    return 0;
}

int job_ref_check(jobs *j, json_t *params, const char *key, job_ref_kind kind, void *out,
                  api_response *res) {
    const char *ref = json_string_value(json_object_get(params, key));
    char why[400];
    int status =
        job_ref_lookup(j->db, j->data_dir, kind, key, ref ? ref : "", out, why, sizeof why);
    if (!status) {
        /* Stored by name (unique, never renamed): "default" stays the checkpoint it was at
         * submit, and deleting a dataset a queued job names is refused (datasets.c). */
        const char *name = kind == JOB_REF_CHECKPOINT ? ((checkpoint_info *)out)->name
                                                      : ((dataset_info *)out)->name;
        if (json_object_set_new(params, key, json_string(name))) {
            api_response_error(res, 500, "out_of_memory", "out of memory");
            return -1;
        }
        return 0;
    }
    const char *code = status == 500 ? "storage_error"
                       : status == 422
                           ? (kind == JOB_REF_CHECKPOINT ? "invalid_checkpoint" : "invalid_dataset")
                       : kind == JOB_REF_CHECKPOINT ? "checkpoint_not_found"
                                                    : "dataset_not_found";
    api_response_error(res, status, code, "%s", why);
    return -1;
}

int job_check_checkpoint_task(jobs *j, json_t *params, api_response *res) {
    checkpoint_info ck;
    dataset_info task;
    return job_ref_check(j, params, "checkpoint", JOB_REF_CHECKPOINT, &ck, res) ||
                   job_ref_check(j, params, "task", JOB_REF_TASK, &task, res)
               ? -1
               : 0;
}

ecg_code job_ref_get(job_ctx *x, const char *key, job_ref_kind kind, void *out, ecg_err *err) {
    const char *ref = json_string_value(json_object_get(x->params, key));
    char why[400];
    int status =
        job_ref_lookup(x->db, x->data_dir, kind, key, ref ? ref : "", out, why, sizeof why);
    if (!status) return ECG_OK;
    return err_set(err,
                   status == 404   ? ECG_ENOTFOUND
                   : status == 422 ? ECG_EINVAL
                                   : ECG_EIO,
                   "%s", why);
}

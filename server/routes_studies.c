/* routes_studies.c — the /v1/studies endpoints (see routes_studies.h). A study's state, progress
 * and result are its job's (0004_jobs.sql keeps the row in step); files come from a fixed list
 * only. */
#include "server/routes_studies.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/studies_json.h"
#include "server/jobs.h"

#define COLS "s.id, s.name, s.state, s.spec, s.result, s.job_id, s.created_at, j.progress, j.error"
static const char SQL_GET[] =
    "SELECT " COLS " FROM studies s LEFT JOIN jobs j ON j.id = s.job_id WHERE s.id = ?1";
static const char SQL_BY_JOB[] =
    "SELECT " COLS " FROM studies s LEFT JOIN jobs j ON j.id = s.job_id WHERE s.job_id = ?1";
static const char SQL_LIST[] = "SELECT " COLS " FROM studies s LEFT JOIN jobs j ON j.id = s.job_id"
                               " WHERE (?1 IS NULL OR s.id < ?1) ORDER BY s.id DESC LIMIT ?2";

typedef struct {
    studies_view v;
    char *name, *state, *spec, *result, *progress, *error;
    const char *files[16];
} studies_row;

static char *dup_col(sqlite3_stmt *st, int i) {
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? strdup(t) : NULL;
}

static void row_free(studies_row *r) {
    free(r->name);
    free(r->state);
    free(r->spec);
    free(r->result);
    free(r->progress);
    free(r->error);
    memset(r, 0, sizeof *r);
}

/* The current row of st; -1 when out of memory. Files present on disk are listed. */
static int row_read(sqlite3_stmt *st, const char *data_dir, studies_row *r) {
    memset(r, 0, sizeof *r);
    r->name = dup_col(st, 1);
    r->state = dup_col(st, 2);
    r->spec = dup_col(st, 3);
    r->result = dup_col(st, 4);
    r->progress = dup_col(st, 7);
    r->error = dup_col(st, 8);
    if (!r->name || !r->state || !r->spec) {
        row_free(r);
        return -1;
    }
    r->v = (studies_view){sqlite3_column_int64(st, 0),
                          r->name,
                          r->state,
                          r->spec,
                          r->progress,
                          r->result,
                          r->error,
                          sqlite3_column_int64(st, 5),
                          sqlite3_column_int64(st, 6),
                          r->files,
                          0};
    for (int i = 0; STUDIES_FILES[i] && r->v.n_files < 16; i++) {
        char path[1600];
        struct stat sb;
        snprintf(path, sizeof path, "%s/studies/%lld/%s", data_dir, r->v.id, STUDIES_FILES[i]);
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
            r->files[r->v.n_files++] = STUDIES_FILES[i];
    }
    return 0;
}

/* One study by id (or by job id): 1 found, 0 not, -1 error (err set). */
static int load(const routes_ctx *ctx, const char *sql, long long id, studies_row *r,
                ecg_err *err) {
    db_conn *c = db_reader_get(ctx->db);
    sqlite3_stmt *st = db_stmt(c, sql, err);
    int out = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            out = row_read(st, ctx->data_dir, r) ? (err_set(err, ECG_ENOMEM, "out of memory"), -1)
                                                 : 1;
        else if (rc == SQLITE_DONE)
            out = 0;
        else
            db_fail(c, err, "reading a study");
        sqlite3_reset(st);
    }
    db_reader_put(ctx->db, c);
    return out;
}

static void answer(const routes_ctx *ctx, const char *sql, long long id, int status,
                   api_response *res) {
    studies_row r;
    ecg_err err = {0};
    int found = load(ctx, sql, id, &r, &err);
    if (found < 0)
        api_response_error(res, 500, "storage_error", "%s", err.msg);
    else if (!found)
        api_response_error(res, 404, "not_found", "no study %lld", id);
    else
        studies_answer_one(&r.v, status, res);
    if (found > 0) row_free(&r);
}

void routes_studies_create(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    if (!ctx->jobs) {
        api_response_error(res, 503, "not_ready", "the job scheduler is not running");
        return;
    }
    jobs_parse_env env = {ctx->configs_dir ? ctx->configs_dir : "configs",
                          jobs_thread_budget(ctx->jobs)};
    json_t *params = NULL;
    if (studies_parse_create(rq->body, rq->body_len, rq->content_type, &env, &params, res)) return;
    long long job = 0;
    int rc = jobs_create(ctx->jobs, "study", params, &job, res);
    json_decref(params);
    if (!rc) answer(ctx, SQL_BY_JOB, job, 201, res);
}

void routes_studies_list(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    long long limit, cursor;
    if (studies_parse_list(routes_query(rq, "limit"), routes_query(rq, "cursor"), &limit, &cursor,
                           res))
        return;
    size_t n = 0, cap = (size_t)limit + 1;
    studies_row *rows = calloc(cap, sizeof *rows);
    studies_view *views = calloc(cap, sizeof *views);
    ecg_err err = {0};
    int bad = !rows || !views;
    if (bad) err_set(&err, ECG_ENOMEM, "out of memory");
    db_conn *c = bad ? NULL : db_reader_get(ctx->db);
    sqlite3_stmt *st = c ? db_stmt(c, SQL_LIST, &err) : NULL;
    if (c && !st) bad = 1;
    if (st) {
        if (cursor) sqlite3_bind_int64(st, 1, cursor);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)cap);
        int rc = SQLITE_DONE;
        while (n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (row_read(st, ctx->data_dir, &rows[n])) {
                bad = 1;
                err_set(&err, ECG_ENOMEM, "out of memory");
                break;
            }
            n++;
        }
        if (!bad && n < cap && rc != SQLITE_DONE) bad = 1, db_fail(c, &err, "listing studies");
        sqlite3_reset(st);
    }
    if (c) db_reader_put(ctx->db, c);
    for (size_t i = 0; i < n; i++)
        views[i] = rows[i].v;
    if (bad) {
        api_response_error(res, 500, "storage_error", "%s", err.msg);
    } else {
        size_t shown = n > (size_t)limit ? (size_t)limit : n;
        studies_answer_list(views, shown, n > shown ? views[shown - 1].id : 0, res);
    }
    for (size_t i = 0; i < n; i++)
        row_free(&rows[i]);
    free(rows);
    free(views);
}

void routes_studies_get(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    long long id = routes_path_id(rq, "study", res);
    if (id) answer(ctx, SQL_GET, id, 200, res);
}

void routes_studies_file(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    long long id = routes_path_id(rq, "study", res);
    if (!id) return;
    const char *name = rq->params[1];
    /* Only the fixed list: a name is never joined to a path unless it is one of them. */
    const char *type = studies_file_type(name);
    if (!type) {
        api_response_error(res, 404, "not_found",
                           "no file %.64s: a study has table.csv, table.json, fit.json, "
                           "scaling.svg, scaling_knn.svg, scaling_finetune.svg, loss.svg and "
                           "README.md once it has succeeded",
                           name ? name : "");
        return;
    }
    studies_row r;
    ecg_err err = {0};
    int found = load(ctx, SQL_GET, id, &r, &err);
    if (found < 0) {
        api_response_error(res, 500, "storage_error", "%s", err.msg);
        return;
    }
    if (!found) {
        api_response_error(res, 404, "not_found", "no study %lld", id);
        return;
    }
    row_free(&r);
    char path[1600];
    snprintf(path, sizeof path, "%s/studies/%lld/%s", ctx->data_dir, id, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        api_response_error(res, 404, "not_found", "study %lld has no %s (yet)", id, name);
        return;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int oom = 0;
    for (;;) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 1 << 16;
            char *m = realloc(buf, nc + 1);
            if (!m) {
                oom = 1;
                break;
            }
            buf = m;
            cap = nc;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int io = ferror(f);
    fclose(f);
    if (oom || io) {
        free(buf);
        api_response_error(res, 500, oom ? "out_of_memory" : "storage_error",
                           "study %lld: %s cannot be read", id, name);
        return;
    }
    buf[len] = '\0';
    res->status = 200;
    res->body = buf;
    res->body_len = len;
    res->content_type = type;
}

/* jobs.c — the job scheduler (see jobs.h). The loop thread owns the list of running jobs and every
 * scheduling decision; each job runs its kind's runner (server/job_kind.h) on its own pthread and
 * talks back through SQLite (progress rows and events, under the writer lock) and one uv_async.
 */
#include "server/jobs_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "server/job_kind.h"

static const char *const STATES[] = {"queued", "running", "succeeded", "failed", "cancelled"};

long long jobs_now_s(void) {
    return (long long)time(NULL);
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int jobs_thread_budget(const jobs *j) {
    return j->o.threads;
}

const char *jobs_data_dir(const jobs *j) {
    return j->data_dir;
}

db *jobs_db(const jobs *j) {
    return j->db;
}

static void free_roots(jobs *j) {
    for (int i = 0; i < j->n_import_roots; i++)
        free(j->import_roots[i]);
    free(j->import_roots);
    j->import_roots = NULL;
    j->n_import_roots = 0;
}

ecg_code jobs_set_import_roots(jobs *j, const char *colon_list, ecg_err *err) {
    /* Job threads read the list: it changes only while none runs an import, i.e. at start-up. */
    free_roots(j);
    size_t n = 1;
    for (const char *p = colon_list ? colon_list : ""; *p; p++)
        n += *p == ':';
    j->import_roots = calloc(n, sizeof *j->import_roots);
    if (!j->import_roots) return err_set(err, ECG_ENOMEM, "out of memory");
    for (const char *p = colon_list ? colon_list : ""; *p;) {
        size_t len = strcspn(p, ":");
        if (len > 0) {
            char *root = strndup(p, len);
            if (!root) {
                free_roots(j);
                return err_set(err, ECG_ENOMEM, "out of memory");
            }
            j->import_roots[j->n_import_roots++] = root;
        }
        p += len + (p[len] == ':');
    }
    return ECG_OK;
}

const char *const *jobs_import_roots(const jobs *j, int *n) {
    *n = j->n_import_roots;
    return (const char *const *)j->import_roots;
}

/* ---- rows ---- */

const char JOBS_SQL_GET[] = "SELECT " ROW_COLS " FROM jobs WHERE id = ?1";
const char JOBS_SQL_CANCEL_QUEUED[] =
    "UPDATE jobs SET state = 'cancelled', cancel_requested = 1, finished_at = ?2, updated_at = ?2"
    " WHERE id = ?1";

static const char SQL_PARAMS[] = "SELECT kind, params FROM jobs WHERE id = ?1";
static const char SQL_EVENT[] =
    "INSERT INTO job_events (job_id, at, type, data) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_NEXT_QUEUED[] =
    "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1";
static const char SQL_START[] =
    "UPDATE jobs SET state = 'running', attempt = attempt + 1, started_at = ?2, finished_at = NULL,"
    " updated_at = ?2, state_dir = ?3 WHERE id = ?1 RETURNING attempt";
static const char SQL_PROGRESS[] = "UPDATE jobs SET progress = ?2, updated_at = ?3 WHERE id = ?1";
static const char SQL_FINISH[] =
    "UPDATE jobs SET state = ?2, error = ?3, result = ?4, finished_at = ?5, updated_at = ?5"
    " WHERE id = ?1";
static const char SQL_REQUEUE[] = "UPDATE jobs SET state = 'queued', updated_at = ?2 WHERE id = ?1";
static const char SQL_RUNNING[] = "SELECT id, cancel_requested FROM jobs WHERE state = 'running'";
static const char SQL_COUNTS[] = "SELECT state, count(*) FROM jobs GROUP BY state";

char *jobs_dup_col(sqlite3_stmt *st, int i) {
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? strdup(t) : NULL;
}

void jobs_row_free(jobs_row *r) {
    free(r->params);
    free(r->progress);
    free(r->result);
    free(r->error);
    memset(r, 0, sizeof *r);
}

/* The current jobs_row of st (ROW_COLS); -1 when out of memory. */
int jobs_row_read(sqlite3_stmt *st, jobs_row *r) {
    memset(r, 0, sizeof *r);
    snprintf(r->kind, sizeof r->kind, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(r->state, sizeof r->state, "%s", (const char *)sqlite3_column_text(st, 2));
    r->params = jobs_dup_col(st, 3);
    r->progress = jobs_dup_col(st, 4);
    r->result = jobs_dup_col(st, 5);
    r->error = jobs_dup_col(st, 6);
    if (!r->params || !r->progress || (!r->result && sqlite3_column_type(st, 5) != SQLITE_NULL) ||
        (!r->error && sqlite3_column_type(st, 6) != SQLITE_NULL)) {
        jobs_row_free(r);
        return -1;
    }
    r->v = (jobs_view){sqlite3_column_int64(st, 0),
                       r->kind,
                       r->state,
                       r->params,
                       r->progress,
                       r->result,
                       r->error,
                       sqlite3_column_int64(st, 7),
                       sqlite3_column_int(st, 8),
                       sqlite3_column_int64(st, 9),
                       sqlite3_column_int64(st, 10),
                       sqlite3_column_int64(st, 11),
                       sqlite3_column_int64(st, 12)};
    return 0;
}

/* Row id into *r: 1 found, 0 not found, -1 error (err set). */
int jobs_row_load(db_conn *c, long long id, jobs_row *r, ecg_err *err) {
    sqlite3_stmt *st = db_stmt(c, JOBS_SQL_GET, err);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int out;
    if (rc == SQLITE_ROW)
        out = jobs_row_read(st, r) ? (err_set(err, ECG_ENOMEM, "out of memory"), -1) : 1;
    else if (rc == SQLITE_DONE)
        out = 0;
    else
        out = (db_fail(c, err, "reading a job"), -1);
    sqlite3_reset(st);
    return out;
}

ecg_code jobs_add_event(db_conn *c, long long id, const char *type, json_t *data, ecg_err *err) {
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (!text) return err_set(err, ECG_ENOMEM, "out of memory");
    sqlite3_stmt *st = db_stmt(c, SQL_EVENT, err);
    ecg_code rc = ECG_OK;
    if (!st) {
        rc = err->code;
    } else {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, jobs_now_s());
        sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(c, err, "appending a job event");
        sqlite3_reset(st);
    }
    free(text);
    return rc;
}

/* Run one prepared update binding (id, t) and optionally a text; ECG_OK or err. */
ecg_code jobs_exec_id_time(db_conn *c, const char *sql, long long id, long long t, ecg_err *err) {
    sqlite3_stmt *st = db_stmt(c, sql, err);
    if (!st) return err->code;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, t);
    ecg_code rc = sqlite3_step(st) == SQLITE_DONE ? ECG_OK : db_fail(c, err, "updating a job");
    sqlite3_reset(st);
    return rc;
}

/* ---- metrics ---- */

void jobs_refresh_metrics(jobs *j) {
    double n[5] = {0};
    db_conn *c = db_reader_get(j->db);
    ecg_err err = {0};
    sqlite3_stmt *st = db_stmt(c, SQL_COUNTS, &err);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        for (int i = 0; i < 5; i++)
            if (s && !strcmp(s, STATES[i])) n[i] = (double)sqlite3_column_int64(st, 1);
    }
    if (st) sqlite3_reset(st);
    db_reader_put(j->db, c);
    for (int i = 0; i < 5; i++)
        metrics_gauge_set(j->m_jobs, (const char *[]){STATES[i]}, n[i]);
    metrics_gauge_set(j->m_streams, NULL, j->n_streams);
    pthread_mutex_lock(&j->mu);
    double wps = 0;
    for (run *r = j->runs; r; r = r->next)
        if (!atomic_load(&r->done)) wps += r->wps;
    pthread_mutex_unlock(&j->mu);
    metrics_gauge_set(j->m_wps, NULL, wps);
}

/* ---- the job thread ---- */

static const job_kind *const KINDS[] = {&JOB_KIND_PRETRAIN, &JOB_KIND_IMPORT, &JOB_KIND_TRANSFER,
                                        &JOB_KIND_FINETUNE, &JOB_KIND_STUDY};

const job_kind *job_kind_find(const char *name) {
    for (size_t i = 0; name && i < sizeof KINDS / sizeof *KINDS; i++)
        if (!strcmp(KINDS[i]->name, name)) return KINDS[i];
    return NULL;
}

json_t *job_num(double x) {
    return isfinite(x) ? json_real(x) : json_null();
}

void job_set_throughput(job_ctx *x, double windows_per_s) {
    jobs *j = x->run->owner;
    pthread_mutex_lock(&j->mu);
    x->run->wps = windows_per_s;
    pthread_mutex_unlock(&j->mu);
}

ecg_code job_stopped_or(job_ctx *x, job_outcome *out, ecg_code rc) {
    if (rc && atomic_load(x->cancel)) {
        out->stopped = 1;
        return ECG_OK;
    }
    return rc;
}

void job_count_step(job_ctx *x) {
    metrics_counter_add(x->run->owner->m_steps, NULL, 1);
}

ecg_code job_dir(job_ctx *x, char *dir, size_t cap, ecg_err *err) {
    snprintf(dir, cap, "%s/jobs", x->data_dir);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return err_set(err, ECG_EIO, "cannot create %s: %s", dir, strerror(errno));
    snprintf(dir, cap, "%s/jobs/%lld", x->data_dir, x->id);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return err_set(err, ECG_EIO, "cannot create %s: %s", dir, strerror(errno));
    return ECG_OK;
}

/* The progress row and a progress event, or a log event (progress NULL), in one transaction. */
static void save_event(job_ctx *x, const char *type, json_t *data, int set_progress) {
    jobs *j = x->run->owner;
    char *text = data && set_progress ? json_dumps(data, JSON_COMPACT) : NULL;
    if (!data || (set_progress && !text)) {
        json_decref(data);
        return; /* progress is best effort; the run goes on */
    }
    ecg_err err = {0};
    db_conn *c = db_writer_lock(j->db);
    ecg_code rc = db_begin(c, &err);
    if (!rc && set_progress) {
        sqlite3_stmt *st = db_stmt(c, SQL_PROGRESS, &err);
        if (!st) {
            rc = err.code;
        } else {
            sqlite3_bind_int64(st, 1, x->id);
            sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, jobs_now_s());
            if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(c, &err, "saving progress");
            sqlite3_reset(st);
        }
    }
    if (!rc)
        rc = jobs_add_event(c, x->id, type, data, &err);
    else
        json_decref(data);
    if (!rc) rc = db_commit(c, &err);
    db_writer_unlock(j->db, c);
    free(text);
    if (rc) fprintf(stderr, "ecgfm: job %lld: %s not saved: %s\n", x->id, type, err.msg);
    uv_async_send(&j->async);
}

void job_progress(job_ctx *x, json_t *progress, int force) {
    run *r = x->run;
    double now = mono_s();
    if (!force && r->last_persist > 0 && now - r->last_persist < r->owner->o.progress_every_s) {
        json_decref(progress);
        return;
    }
    r->last_persist = now;
    save_event(x, "progress", progress, 1);
}

void job_log(job_ctx *x, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    save_event(x, "log", json_pack("{s:s}", "message", msg), 0);
}

/* The final row of a run: succeeded (with what the kind records beside it), failed, cancelled, or
 * back to queued when the service is stopping. */
static void job_finish(job_ctx *x, const job_kind *k, ecg_code code, const ecg_err *run_err,
                       job_outcome *out) {
    jobs *j = x->run->owner;
    ecg_err err = {0};
    const char *state;
    json_t *ev = json_object(); /* {"state", then the run's fields, then why} */
    json_t *result = NULL;
    char msg[600] = "";
    if (code) {
        state = "failed";
        snprintf(msg, sizeof msg, "%s", run_err->msg);
        json_object_set_new(ev, "error", json_string(msg));
    } else if (out->stopped || !out->result) {
        state = atomic_load(&x->run->user_cancel) ? "cancelled" : "queued";
        if (!out->stopped) {
            state = "failed";
            snprintf(msg, sizeof msg, "the job ended without a result");
            json_object_set_new(ev, "error", json_string(msg));
        } else {
            json_object_set_new(ev, "reason",
                                json_string(state[0] == 'c'
                                                ? "cancelled on request; the state is saved"
                                                : "the service stopped; the job resumes from its "
                                                  "saved state at the next start"));
        }
    } else {
        state = "succeeded";
        result = out->result;
    }
    out->result = NULL;
    json_t *first = json_pack("{s:s}", "state", state);
    if (first && out->event) json_object_update(first, out->event);
    if (first) json_object_update(first, ev);
    json_decref(ev);
    ev = first;
    db_conn *c = db_writer_lock(j->db);
    ecg_code rc = db_begin(c, &err);
    if (!rc && result && k->record) rc = k->record(c, x, result, &err);
    char *result_text = result ? json_dumps(result, JSON_COMPACT) : NULL;
    if (!rc && result && !result_text) rc = err_set(&err, ECG_ENOMEM, "out of memory");
    if (!rc) {
        if (!strcmp(state, "queued")) {
            rc = jobs_exec_id_time(c, SQL_REQUEUE, x->id, jobs_now_s(), &err);
        } else {
            sqlite3_stmt *st = db_stmt(c, SQL_FINISH, &err);
            if (!st) {
                rc = err.code;
            } else {
                sqlite3_bind_int64(st, 1, x->id);
                sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
                if (msg[0]) sqlite3_bind_text(st, 3, msg, -1, SQLITE_STATIC);
                if (result_text) sqlite3_bind_text(st, 4, result_text, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 5, jobs_now_s());
                if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(c, &err, "finishing a job");
                sqlite3_reset(st);
            }
        }
    }
    if (!rc)
        rc = jobs_add_event(c, x->id, "state", ev, &err);
    else
        json_decref(ev);
    if (!rc) rc = db_commit(c, &err);
    db_writer_unlock(j->db, c);
    if (rc)
        fprintf(stderr, "ecgfm: job %lld: final state not saved (it will rerun): %s\n", x->id,
                err.msg);
    else
        fprintf(stderr, "ecgfm: job %lld %s%s%s\n", x->id, state, msg[0] ? ": " : "", msg);
    free(result_text);
    json_decref(result);
}

static void *job_main(void *arg) {
    run *r = arg;
    jobs *j = r->owner;
    ecg_err err = {0};
    char kind[16] = "";
    json_t *params = NULL;
    db_conn *c = db_reader_get(j->db);
    sqlite3_stmt *st = db_stmt(c, SQL_PARAMS, &err);
    ecg_code rc = st ? ECG_OK : err.code;
    if (st) {
        sqlite3_bind_int64(st, 1, r->id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *k = (const char *)sqlite3_column_text(st, 0);
            const char *p = (const char *)sqlite3_column_text(st, 1);
            snprintf(kind, sizeof kind, "%s", k ? k : "");
            params = p ? json_loads(p, 0, NULL) : NULL;
        }
        if (!json_is_object(params))
            rc = err_set(&err, ECG_EIO, "the job's parameters cannot be read");
        sqlite3_reset(st);
    }
    db_reader_put(j->db, c);
    const job_kind *k = job_kind_find(kind);
    if (!rc && !k) rc = err_set(&err, ECG_EINVAL, "this service does not run %s jobs", kind);
    job_ctx x = {r->id, j->db, j->data_dir, j->o.threads, params, &r->cancel, r};
    job_outcome out = {0};
    r->last_persist = 0;
    if (!rc) rc = k->run(&x, &out, &err);
    job_finish(&x, k, rc, &err, &out);
    json_decref(out.result);
    json_decref(out.event);
    json_decref(params);
    pthread_mutex_lock(&j->mu);
    r->wps = 0;
    pthread_mutex_unlock(&j->mu);
    atomic_store(&r->done, 1);
    uv_async_send(&j->async);
    return NULL;
}

/* ---- scheduling (loop thread) ---- */

/* Start queued jobs, oldest first, while fewer than max_running run. */
void jobs_schedule(jobs *j) {
    while (!j->stopping && j->n_runs < j->o.max_running) {
        ecg_err err = {0};
        long long id = 0, attempt = 0;
        char state_dir[64];
        db_conn *c = db_writer_lock(j->db);
        ecg_code rc = db_begin(c, &err);
        sqlite3_stmt *st = rc ? NULL : db_stmt(c, SQL_NEXT_QUEUED, &err);
        if (st) {
            if (sqlite3_step(st) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
            sqlite3_reset(st);
        }
        if (id) {
            snprintf(state_dir, sizeof state_dir, "jobs/%lld", id);
            st = db_stmt(c, SQL_START, &err);
            if (st) {
                sqlite3_bind_int64(st, 1, id);
                sqlite3_bind_int64(st, 2, jobs_now_s());
                sqlite3_bind_text(st, 3, state_dir, -1, SQLITE_STATIC);
                if (sqlite3_step(st) == SQLITE_ROW) attempt = sqlite3_column_int64(st, 0);
                sqlite3_reset(st);
            }
            if (!attempt) rc = db_fail(c, &err, "starting a job");
            if (!rc)
                rc = jobs_add_event(c, id, "state",
                                    json_pack("{s:s, s:I, s:i}", "state", "running", "attempt",
                                              (json_int_t)attempt, "threads", j->o.threads),
                                    &err);
            if (!rc) rc = db_commit(c, &err);
        }
        db_writer_unlock(j->db, c);
        if (!id || rc) {
            if (rc) fprintf(stderr, "ecgfm: jobs: cannot start a job: %s\n", err.msg);
            return;
        }
        run *r = calloc(1, sizeof *r);
        if (r) {
            r->owner = j;
            r->id = id;
            if (pthread_create(&r->th, NULL, job_main, r) != 0) {
                free(r);
                r = NULL;
            }
        }
        if (!r) {
            /* No thread: say so in the jobs_row rather than leave it running with nothing behind
             * it. */
            c = db_writer_lock(j->db);
            sqlite3_stmt *fs = db_begin(c, &err) ? NULL : db_stmt(c, SQL_FINISH, &err);
            if (fs) {
                sqlite3_bind_int64(fs, 1, id);
                sqlite3_bind_text(fs, 2, "failed", -1, SQLITE_STATIC);
                sqlite3_bind_text(fs, 3, "no thread could be started for the job", -1,
                                  SQLITE_STATIC);
                sqlite3_bind_int64(fs, 5, jobs_now_s());
                if (sqlite3_step(fs) == SQLITE_DONE &&
                    !jobs_add_event(c, id, "state", json_pack("{s:s}", "state", "failed"), &err))
                    db_commit(c, &err);
                sqlite3_reset(fs);
            }
            db_writer_unlock(j->db, c);
            continue;
        }
        pthread_mutex_lock(&j->mu);
        r->next = j->runs;
        j->runs = r;
        pthread_mutex_unlock(&j->mu);
        j->n_runs++;
        fprintf(stderr, "ecgfm: job %lld running (attempt %lld, %d thread%s)\n", id, attempt,
                j->o.threads, j->o.threads == 1 ? "" : "s");
    }
}

void jobs_wake_streams(jobs *j) {
    for (jstream *s = j->streams; s; s = s->next)
        if (s->base.wake) s->base.wake(s->base.wake_handle);
}

static void on_async(uv_async_t *a) {
    jobs *j = a->data;
    for (run **p = &j->runs; *p;) {
        run *r = *p;
        if (atomic_load(&r->done)) {
            pthread_join(r->th, NULL);
            pthread_mutex_lock(&j->mu);
            *p = r->next;
            pthread_mutex_unlock(&j->mu);
            j->n_runs--;
            free(r);
        } else {
            p = &r->next;
        }
    }
    jobs_wake_streams(j);
    jobs_schedule(j);
    jobs_refresh_metrics(j);
    if (j->stopping && !j->runs && j->on_stopped) {
        void (*cb)(void *) = j->on_stopped;
        j->on_stopped = NULL;
        cb(j->stopped_ctx);
    }
}

static void on_heartbeat(uv_timer_t *t) {
    jobs *j = t->data;
    for (jstream *s = j->streams; s; s = s->next)
        s->heartbeat = 1;
    jobs_wake_streams(j);
}

/* Jobs a crash left running: cancelled if that was asked, else queued again (they resume). */
static ecg_code recover(jobs *j, ecg_err *err) {
    long long ids[256];
    int cancel[256], n = 0;
    db_conn *c = db_writer_lock(j->db);
    ecg_code rc = db_begin(c, err);
    sqlite3_stmt *st = rc ? NULL : db_stmt(c, SQL_RUNNING, err);
    if (!rc && !st) rc = err->code;
    while (st && n < 256 && sqlite3_step(st) == SQLITE_ROW) {
        ids[n] = sqlite3_column_int64(st, 0);
        cancel[n++] = sqlite3_column_int(st, 1);
    }
    if (st) sqlite3_reset(st);
    for (int i = 0; i < n && !rc; i++) {
        if (cancel[i])
            rc = jobs_exec_id_time(c, JOBS_SQL_CANCEL_QUEUED, ids[i], jobs_now_s(), err);
        else
            rc = jobs_exec_id_time(c, SQL_REQUEUE, ids[i], jobs_now_s(), err);
        if (!rc)
            rc = jobs_add_event(
                c, ids[i], "state",
                json_pack("{s:s, s:s}", "state", cancel[i] ? "cancelled" : "queued", "reason",
                          cancel[i] ? "the service stopped while the cancel was pending"
                                    : "the service stopped while the job ran; it "
                                      "resumes from its last saved state"),
                err);
    }
    if (!rc) rc = db_commit(c, err);
    db_writer_unlock(j->db, c);
    if (!rc && n)
        fprintf(stderr, "ecgfm: jobs: %d interrupted job%s re-queued\n", n, n == 1 ? "" : "s");
    return rc;
}

ecg_code jobs_start(jobs **out, uv_loop_t *loop, db *d, const jobs_opts *o, ecg_err *err) {
    *out = NULL;
    jobs *j = calloc(1, sizeof *j);
    if (!j) return err_set(err, ECG_ENOMEM, "out of memory starting the job scheduler");
    j->loop = loop;
    j->db = d;
    j->o = *o;
    if (j->o.max_running < 1) j->o.max_running = 1;
    if (j->o.threads < 1) j->o.threads = 1;
    if (j->o.max_streams < 1) j->o.max_streams = 1;
    if (j->o.heartbeat_s < 1) j->o.heartbeat_s = 15;
    if (!(j->o.progress_every_s > 0)) j->o.progress_every_s = 2;
    snprintf(j->data_dir, sizeof j->data_dir, "%s", o->data_dir);
    j->o.data_dir = j->data_dir;
    pthread_mutex_init(&j->mu, NULL);
    static const char *const STATE_LABEL[] = {"state", NULL};
    j->m_jobs =
        metrics_register(METRICS_GAUGE, "ecgfm_jobs", "jobs by state", STATE_LABEL, NULL, 0);
    j->m_wps =
        metrics_register(METRICS_GAUGE, "ecgfm_training_windows_per_second",
                         "training windows per second, summed over running jobs", NULL, NULL, 0);
    j->m_steps = metrics_register(METRICS_COUNTER, "ecgfm_training_steps_total",
                                  "optimizer steps taken by jobs", NULL, NULL, 0);
    j->m_streams = metrics_register(METRICS_GAUGE, "ecgfm_job_event_streams",
                                    "open GET /v1/jobs/{id}/events streams", NULL, NULL, 0);
    ecg_code rc = recover(j, err);
    if (rc) {
        jobs_free(j);
        return rc;
    }
    uv_async_init(loop, &j->async, on_async);
    j->async.data = j;
    uv_timer_init(loop, &j->heartbeat);
    j->heartbeat.data = j;
    uv_timer_start(&j->heartbeat, on_heartbeat, (uint64_t)j->o.heartbeat_s * 1000,
                   (uint64_t)j->o.heartbeat_s * 1000);
    jobs_schedule(j);
    jobs_refresh_metrics(j);
    *out = j;
    return ECG_OK;
}

/* ---- shutdown ---- */

void jobs_shutdown(jobs *j, void (*on_stopped)(void *ctx), void *ctx) {
    j->stopping = 1;
    j->on_stopped = on_stopped;
    j->stopped_ctx = ctx;
    for (run *r = j->runs; r; r = r->next)
        atomic_store(&r->cancel, 1);
    uv_timer_stop(&j->heartbeat);
    jobs_wake_streams(j);
    if (j->runs)
        fprintf(stderr, "ecgfm: jobs: asking %d running job%s to save %s state and stop\n",
                j->n_runs, j->n_runs == 1 ? "" : "s", j->n_runs == 1 ? "its" : "their");
    uv_async_send(&j->async); /* calls on_stopped once no job runs */
}

void jobs_close(jobs *j) {
    if (!j) return;
    /* Threads still running (jobs_shutdown was not waited for) are asked to stop and joined. */
    for (run *r = j->runs; r; r = r->next)
        atomic_store(&r->cancel, 1);
    while (j->runs) {
        run *r = j->runs;
        pthread_join(r->th, NULL);
        j->runs = r->next;
        free(r);
    }
    j->n_runs = 0;
    uv_close((uv_handle_t *)&j->async, NULL);
    uv_close((uv_handle_t *)&j->heartbeat, NULL);
}

void jobs_free(jobs *j) {
    if (!j) return;
    /* Streams the HTTP server did not free (it never sent them) would point here. */
    while (j->streams)
        j->streams->base.free(&j->streams->base);
    pthread_mutex_destroy(&j->mu);
    free_roots(j);
    free(j);
}

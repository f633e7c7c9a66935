/* jobs_impl.h — what the scheduler's files share (server/jobs.c: the scheduler and the job threads;
 * jobs_requests.c: the request handlers; jobs_stream.c: the event streams). Not a public API. */
#ifndef ECGFM_SERVER_JOBS_IMPL_H
#define ECGFM_SERVER_JOBS_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "server/jobs.h"
#include "server/metrics.h"

typedef struct run {
    jobs *owner;
    long long id;
    pthread_t th;
    atomic_int cancel;      /* pretrain_run's flag: set by a user cancel or by shutdown */
    atomic_int user_cancel; /* the user asked: the job ends cancelled, not re-queued */
    atomic_int done;        /* the thread has written its final state */
    double last_persist;    /* job thread only */
    double wps;             /* under owner->mu */
    struct run *next;
} run;

typedef struct jstream {
    api_stream base; /* first: the server hands this pointer back */
    jobs *j;
    long long job_id, last_id;
    char *buf;
    size_t len, cap, off;
    int heartbeat, ended;
    struct jstream *prev, *next;
} jstream;

struct jobs {
    uv_loop_t *loop;
    uv_async_t async;
    uv_timer_t heartbeat;
    db *db;
    char data_dir[1024];
    jobs_opts o;
    run *runs; /* loop thread */
    int n_runs;
    jstream *streams; /* loop thread */
    int n_streams;
    int stopping;
    void (*on_stopped)(void *ctx);
    void *stopped_ctx;
    char **import_roots; /* copies of jobs_opts' */
    int n_import_roots;
    pthread_mutex_t mu;
    metrics_family *m_jobs, *m_wps, *m_steps, *m_streams;
};

#define ROW_COLS                                                                                   \
    "id, kind, state, params, progress, result, error, attempt, cancel_requested, created_at, "    \
    "started_at, finished_at, updated_at"

typedef struct {
    jobs_view v;
    char kind[16], state[16];
    char *params, *progress, *result, *error;
} jobs_row;

extern const char JOBS_SQL_GET[], JOBS_SQL_CANCEL_QUEUED[];

long long jobs_now_s(void);
char *jobs_dup_col(sqlite3_stmt *st, int i);
void jobs_row_free(jobs_row *r);
/* The current jobs_row of st (ROW_COLS); -1 when out of memory. */
int jobs_row_read(sqlite3_stmt *st, jobs_row *r);
/* Row id into *r: 1 found, 0 not found, -1 error (err set). */
int jobs_row_load(db_conn *c, long long id, jobs_row *r, ecg_err *err);
/* Append an event (data stolen) inside the caller's transaction. */
ecg_code jobs_add_event(db_conn *c, long long id, const char *type, json_t *data, ecg_err *err);
/* A prepared update binding (?1 id, ?2 time). */
ecg_code jobs_exec_id_time(db_conn *c, const char *sql, long long id, long long t, ecg_err *err);
/* Loop thread: */
void jobs_refresh_metrics(jobs *j);
void jobs_schedule(jobs *j);
void jobs_wake_streams(jobs *j);

#endif

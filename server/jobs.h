/* jobs.h — the job scheduler: jobs are rows in SQLite (queued, running, succeeded, failed,
 * cancelled) run on dedicated threads within a concurrency limit and a thread budget each, with
 * progress persisted at a cadence and streamed as Server-Sent Events; crash-safe resumption. */
#ifndef ECGFM_SERVER_JOBS_H
#define ECGFM_SERVER_JOBS_H

#include <uv.h>

#include "api/jobs.h"
#include "api/response.h"
#include "core/base/error.h"
#include "server/db.h"

typedef struct jobs jobs;

typedef struct {
    const char *data_dir;    /* datasets/<name> are read, jobs/<id>/ written (copied) */
    int max_running;         /* jobs running at once */
    int threads;             /* compute threads per job (its budget) */
    int max_streams;         /* concurrent GET /v1/jobs/{id}/events streams */
    int heartbeat_s;         /* SSE comment this often on an idle stream */
    double progress_every_s; /* progress is persisted at most this often (and at validations) */
} jobs_opts;

/* The scheduler's settings and database, for the kinds' submit checks (loop thread). */
const char *jobs_data_dir(const jobs *j);
db *jobs_db(const jobs *j);
/* Loop thread, after jobs_start: the directories import jobs may read, colon-separated (copied;
 * NULL or "": server-side import is disabled). ECG_ENOMEM. */
ecg_code jobs_set_import_roots(jobs *j, const char *colon_list, ecg_err *err);
/* The import roots, *n their count. */
const char *const *jobs_import_roots(const jobs *j, int *n);

/* Loop thread. Re-queues the jobs a crash left running (they resume from their saved state) and
 * starts the queue. */
ecg_code jobs_start(jobs **out, uv_loop_t *loop, db *d, const jobs_opts *o, ecg_err *err);

/* Loop thread. Each answers in res: */
/* POST /v1/jobs: a validated request (params stolen) becomes a queued row: 201 with the job. */
void jobs_submit(jobs *j, jobs_create_request *req, api_response *res);
/* jobs_submit's work without the answer: kind's submit checks, the row, scheduling. 0 with *id,
 * or -1 with res holding the error. params is borrowed (a check may change it). */
int jobs_create(jobs *j, const char *kind, json_t *params, long long *id, api_response *res);
/* GET /v1/jobs/{id}: 200 or 404. */
void jobs_get(jobs *j, long long id, api_response *res);
/* GET /v1/jobs. */
void jobs_list(jobs *j, const jobs_list_query *q, api_response *res);
/* POST /v1/jobs/{id}/cancel: a queued job is cancelled at once; a running one is asked to stop
 * (it saves its state, then ends cancelled); 409 when already finished. */
void jobs_cancel(jobs *j, long long id, api_response *res);
/* POST /v1/jobs/{id}/retry: a failed or cancelled job is queued again (same parameters; it
 * resumes from its saved state when it has one); 409 otherwise. */
void jobs_retry(jobs *j, long long id, api_response *res);
/* GET /v1/jobs/{id}/events: a text/event-stream of the job's events after event id `after`,
 * ending once the job is finished; 404, or 429 when max_streams are open. */
void jobs_events(jobs *j, long long id, long long after, api_response *res);
/* The configured thread budget per job. */
int jobs_thread_budget(const jobs *j);

/* Shutdown, loop thread: refuse new jobs, ask running ones to save their state and stop (they go
 * back to queued and resume at the next start), end the event streams; on_stopped(ctx) on the
 * loop thread once every job thread has ended. */
void jobs_shutdown(jobs *j, void (*on_stopped)(void *ctx), void *ctx);
/* Close the loop handles (after jobs_shutdown has called back); jobs_free after uv_run returned
 * and after the HTTP server is stopped (streams point into j). */
void jobs_close(jobs *j);
void jobs_free(jobs *j);

#endif

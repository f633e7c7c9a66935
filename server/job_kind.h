/* job_kind.h — a job kind as the scheduler runs it: a table entry with its submit-time checks
 * against server state and its job-thread runner; jobs.c owns the row's states, a runner only the
 * work. */
#ifndef ECGFM_SERVER_JOB_KIND_H
#define ECGFM_SERVER_JOB_KIND_H

#include <stdatomic.h>

#include <jansson.h>

#include "api/response.h"
#include "core/base/error.h"
#include "server/db.h"

struct jobs;
struct run;

/* What a runner gets, on its own thread. */
typedef struct {
    long long id;             /* the job */
    db *db;                   /* writer lock for short transactions only */
    const char *data_dir;     /* the job's own files go under data_dir/jobs/<id>/ */
    int threads;              /* the job's compute thread budget */
    const json_t *params;     /* as normalised at submit */
    const atomic_int *cancel; /* a user cancel or shutdown: stop at the next step, saving state */
    struct run *run;          /* the scheduler's; for the helpers below */
} job_ctx;

/* How a run ended when it returned ECG_OK: with a result (succeeded), or stopped because cancel
 * was set (jobs.c then ends it cancelled, or queues it again when the service is stopping). */
typedef struct {
    json_t *result; /* succeeded: the result object (stolen) */
    int stopped;    /* ended early on cancel */
    json_t *event;  /* optional fields added to the final state event (stolen) */
} job_outcome;

/* A submit check on the loop thread, before the row exists: the references in params exist (404)
 * and are of the right kind (422); it may replace values in params (e.g. resolved ids). 0, or -1
 * with res set. */
typedef int (*job_check_fn)(struct jobs *j, json_t *params, api_response *res);
/* Inside the transaction that inserts job id (e.g. a studies row for a study job). */
typedef ecg_code (*job_insert_fn)(db_conn *c, long long id, const json_t *params, ecg_err *err);
/* The work, on the job's thread: ECG_OK with out->result or out->stopped, or an error (failed). */
typedef ecg_code (*job_run_fn)(job_ctx *x, job_outcome *out, ecg_err *err);
/* Inside the transaction that records a success (e.g. the pretrain checkpoint's row); may add to
 * result. */
typedef ecg_code (*job_record_fn)(db_conn *c, job_ctx *x, json_t *result, ecg_err *err);

typedef struct {
    const char *name;
    job_check_fn check;   /* may be NULL */
    job_insert_fn insert; /* may be NULL */
    job_run_fn run;
    job_record_fn record; /* may be NULL */
} job_kind;

/* The kinds this service runs (NULL for a kind it does not). */
const job_kind *job_kind_find(const char *name);

extern const job_kind JOB_KIND_PRETRAIN, JOB_KIND_IMPORT, JOB_KIND_TRANSFER, JOB_KIND_FINETUNE,
    JOB_KIND_STUDY;

/* ---- stored references (server/jobs_requests.c) ---- */

typedef enum { JOB_REF_ECG, JOB_REF_TASK, JOB_REF_CHECKPOINT } job_ref_kind;

/* Looks up params.key's reference (a dataset of the kind asked, with both splits for a task, or a
 * checkpoint) into out (a dataset_info or checkpoint_info): 0 found; else the HTTP status it
 * deserves (404 unknown, 422 wrong kind or incomplete, 500 storage) with why. */
int job_ref_lookup(db *d, const char *data_dir, job_ref_kind kind, const char *key, const char *ref,
                   void *out, char *why, size_t why_cap);
/* At submit (loop thread): params.key checked and replaced by the name it resolves to; 0, or -1
 * with res set. */
int job_ref_check(struct jobs *j, json_t *params, const char *key, job_ref_kind kind, void *out,
                  api_response *res);
/* The submit check of a kind whose params name a "checkpoint" and a "task" (transfer, finetune):
 * job_ref_check of both, the checkpoint first; 0, or -1 with res set. */
int job_check_checkpoint_task(struct jobs *j, json_t *params, api_response *res);
/* On the job thread: the same as an error (ECG_ENOTFOUND, ECG_EINVAL, ECG_EIO). */
ecg_code job_ref_get(job_ctx *x, const char *key, job_ref_kind kind, void *out, ecg_err *err);

/* ---- for runners (job thread) ---- */

/* Progress (stolen): stored as the job's progress and appended as a "progress" event, at most
 * every progress_every_s seconds unless force (a validation, the last step, a finished record). */
void job_progress(job_ctx *x, json_t *progress, int force);
/* A "log" event {"message"} (not throttled: for rare milestones). */
void job_log(job_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Training throughput for /metrics (windows per second; 0 when not training). */
void job_set_throughput(job_ctx *x, double windows_per_s);
/* One optimizer step taken, for /metrics. */
void job_count_step(job_ctx *x);
/* data_dir/jobs/<id> created when missing, into dir. */
ecg_code job_dir(job_ctx *x, char *dir, size_t cap, ecg_err *err);
/* After a runner's error: was it because the job was asked to stop? Then out->stopped is set
 * and ECG_OK returned (the job ends cancelled or is queued again), else rc. */
ecg_code job_stopped_or(job_ctx *x, job_outcome *out, ecg_code rc);
/* A JSON number, or null when not finite. */
json_t *job_num(double x);

#endif

/* jobs.h — the jobs endpoints on the api side: a POST /v1/jobs body becomes validated, normalised
 * parameters (and a pretrain_config), stored job rows become JSON. Scheduling is server/jobs.c's.
 */
#ifndef ECGFM_API_JOBS_H
#define ECGFM_API_JOBS_H

#include <stddef.h>

#include "api/response.h"
#include "core/base/error.h"
#include "core/train/pretrain.h"

#define JOBS_DATASET_MAX 100

/* A job row as the answers show it; the strings belong to the caller. params, progress and
 * result are JSON text (result may be NULL), error a message or NULL. Times are Unix seconds,
 * 0 for never. */
typedef struct {
    long long id;
    const char *kind, *state;
    const char *params, *progress, *result, *error;
    long long attempt;
    int cancel_requested;
    long long created_at, started_at, finished_at, updated_at;
} jobs_view;

/* A POST /v1/jobs body, validated. params is the normalised parameter object (new reference)
 * that is stored and later turned back into the run's config by jobs_pretrain_config: every
 * value filled in, the model config inline (a configs/models name is resolved now, so the run
 * does not depend on the file later). */
typedef struct {
    char kind[16];
    char dataset[JOBS_DATASET_MAX + 1];
    json_t *params;
} jobs_create_request;

/*
 * {"kind": "pretrain", "params": {"dataset": NAME, "objective": "cpc"|"jepa"|"data2vec"|"dinosr"|
 *  "hubert", "model": NAME (configs_dir/models/NAME.json) | {inline model config}, "subset": N,
 *  "epochs": E, "batch": B, "lr": X, "seed": S, "threads": T, "checkpoint_every": STEPS,
 *  "val_every": STEPS}}
 * dataset and objective are required; the rest default to pretrain_config_default's values
 * (threads to max_threads, at most max_threads). 0 on success (free req->params); otherwise res
 * holds the 4xx (415 not JSON, 400 malformed, 422 invalid: unknown keys and kinds are named,
 * kinds the service does not run yet say so) and -1. The dataset's existence is the caller's.
 */
int jobs_parse_create(const char *body, size_t len, const char *content_type,
                      const char *configs_dir, int max_threads, jobs_create_request *req,
                      api_response *res);
/* The run's config from stored params (jobs_parse_create's normalised object as JSON text);
 * dataset gets the dataset name. */
ecg_code jobs_pretrain_config(const char *params_text, pretrain_config *cfg, char *dataset,
                              size_t dataset_size, ecg_err *err);

/* Query of GET /v1/jobs: filters (NULL = any), limit, cursor (0 = from the newest). 0 on
 * success; otherwise res holds the 422 and -1. */
typedef struct {
    const char *state, *kind;
    long long limit, cursor;
} jobs_list_query;
int jobs_parse_list(const char *state, const char *kind, const char *limit, const char *cursor,
                    jobs_list_query *q, api_response *res);

/* One job as JSON (new reference; NULL when out of memory). */
json_t *jobs_view_json(const jobs_view *v);
/* status {job}. */
void jobs_answer_one(const jobs_view *v, int status, api_response *res);
/* 200 {"jobs": [...], "next_cursor": id or null}. */
void jobs_answer_list(const jobs_view *vs, size_t n, long long next_cursor, api_response *res);

/* One Server-Sent Event ("id: N\nevent: TYPE\ndata: JSON\n\n") appended to *buf (malloc'd,
 * grown as needed; *len and *cap track it). 0, or -1 when out of memory. */
int jobs_sse_format(char **buf, size_t *len, size_t *cap, long long id, const char *type,
                    const char *data);

/* The error shape for a job that is not in a state the action allows. */
int jobs_state_is_terminal(const char *state);

#endif

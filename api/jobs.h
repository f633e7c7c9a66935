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
#define JOBS_REF_MAX 128 /* bytes of a dataset or checkpoint reference (id or name) */

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
 * that is stored and later turned back into the run's config (jobs_pretrain_config for pretrain):
 * every value filled in, model configs inline (a configs/models name is resolved now, so the run
 * does not depend on the file later). */
typedef struct {
    char kind[16];
    json_t *params;
} jobs_create_request;

/* What a kind's parameter check may use. */
typedef struct {
    const char *configs_dir; /* configs_dir/models/NAME.json */
    int max_threads;         /* the job thread budget */
} jobs_parse_env;

/* A kind's parameters (borrowed) checked and normalised into *out (new reference): 0, or -1 with
 * res holding the 422 (unknown keys and bad values named as params.KEY). References to stored
 * datasets and checkpoints are checked by the server at submit (404). */
typedef int (*jobs_params_fn)(json_t *params, const jobs_parse_env *env, json_t **out,
                              api_response *res);
int jobs_params_pretrain(json_t *params, const jobs_parse_env *env, json_t **out,
                         api_response *res);
/* {"dataset": ECG dataset ref, "format": "wfdb"|"edf"|"hdf5", "path": absolute path}. */
int jobs_params_import(json_t *params, const jobs_parse_env *env, json_t **out, api_response *res);
/* {"checkpoint": ref (default "default"), "task": task dataset ref, "mapping": {...}, "seed": S,
 *  "save_probe": bool}. */
int jobs_params_transfer(json_t *params, const jobs_parse_env *env, json_t **out,
                         api_response *res);
/* {"checkpoint", "task", "mode": "finetune"|"frozen"|"linear", "epochs", "patience", "lr" (0: the
 *  mode's default), "batch", "seed", "val_fraction", "mapping", "random": bool (a random-init
 *  encoder of the checkpoint's config: the from-scratch baseline), "threads"}; ft_opts_default's
 * values when absent. */
int jobs_params_finetune(json_t *params, const jobs_parse_env *env, json_t **out,
                         api_response *res);

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

/* succeeded, failed or cancelled. */
int jobs_state_is_terminal(const char *state);

/* ---- for the kinds' parameter checks ---- */

/* A name that may become a path segment: [A-Za-z0-9._-], not starting with '.', 1..max bytes. */
int jobs_safe_name(const char *s, size_t max);
/* An integer parameter in [lo, hi]: 1 when absent (*out untouched), 0 ok, -1 with res set. */
int jobs_param_int(json_t *params, const char *key, long long lo, long long hi, long long *out,
                   api_response *res);
/* A reference value (a positive integer id or a non-empty string without NUL, under cap bytes)
 * into out: 0, or -1 when it is not one. */
int jobs_ref_value(const json_t *v, char *out, size_t cap);
/* A reference (a positive integer id or a non-empty string) into out; def when absent (NULL:
 * required). 0 or -1 with res set. */
int jobs_param_ref(json_t *params, const char *key, const char *def, char *out, size_t cap,
                   api_response *res);
/* params.mapping checked (transfer_mapping_parse) and copied (new reference; {} when absent), or
 * NULL with res set. */
json_t *jobs_param_mapping(json_t *params, api_response *res);
/* A model: a configs_dir/models name or an inline object (NULL: the objective's default), as an
 * inline object (new reference); NULL with res set. */
json_t *jobs_param_model(json_t *v, const char *configs_dir, ssl_kind kind, api_response *res);

#endif

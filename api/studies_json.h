/* studies_json.h — the study job's parameters and the /v1/studies resource at the edge: a study
 * spec checked as `ecgfm study` would read it, the full config built from it, studies as JSON. */
#ifndef ECGFM_API_STUDIES_JSON_H
#define ECGFM_API_STUDIES_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "api/jobs.h"
#include "api/response.h"
#include "core/base/error.h"
#include "core/study/study.h"

/*
 * {"name": NAME (optional, [A-Za-z0-9._-], default "study"), "dataset": ECG dataset ref,
 *  "tasks": [task dataset ref, ...] (1 to 16, distinct), "spec": {"sizes", "objectives", "model",
 *  "seeds", "epochs", "batch", "val_records", "split_seed", "mapping", "probe_seed", "bootstrap",
 *  "bootstrap_seed", "finetune", "description"}}
 * spec is api/study_json's study config without what the service supplies (name, dataset, tasks,
 * threads): objectives are objective names ("cpc") or inline pretraining configs, model a
 * configs_dir/models name or an inline model config (names are resolved now, so the run does not
 * depend on the files later). Checked in full (study_config_from_json_file and
 * study_config_validate on the config it gives, with placeholder paths). 0 or -1 with res (422).
 */
int jobs_params_study(json_t *params, const jobs_parse_env *env, json_t **out, api_response *res);

typedef struct {
    const char *name, *train, *test; /* a task dataset's name and split files */
} studies_task_files;

/* The config `ecgfm study --config` reads, from normalised params: spec plus "name", "dataset"
 * (dataset_dir) and "tasks" (new reference; NULL when out of memory). */
json_t *studies_config_json(const json_t *params, const char *dataset_dir,
                            const studies_task_files *tasks, int n_tasks);
/* That config parsed by api/study_json as the CLI does, through file path (written, then read). */
ecg_code studies_config_load(const json_t *config, const char *path, study_config *cfg,
                             ecg_err *err);

/* A studies row joined with its job, as the answers show it (strings are the caller's; spec,
 * progress and result JSON text, result and progress may be NULL). files: the output files present
 * (n_files of them). */
typedef struct {
    long long id;
    const char *name, *state, *spec, *progress, *result, *error;
    long long job_id;
    long long created_at;
    const char *const *files;
    int n_files;
} studies_view;

/* POST /v1/studies: the study job's params plus its name. 0 with *params (new reference), or -1
 * with res. */
int studies_parse_create(const char *body, size_t len, const char *content_type,
                         const jobs_parse_env *env, json_t **params, api_response *res);
/* GET /v1/studies query. 0, or -1 with res (422). */
int studies_parse_list(const char *limit, const char *cursor, long long *lim, long long *cur,
                       api_response *res);
json_t *studies_view_json(const studies_view *v, int with_result);
void studies_answer_one(const studies_view *v, int status, api_response *res);
/* 200 {"studies": [...] (without results), "next_cursor"}. */
void studies_answer_list(const studies_view *vs, size_t n, long long next_cursor,
                         api_response *res);

/* The downloadable output files of a study and their content types; NULL when name is not one. */
const char *studies_file_type(const char *name);
extern const char *const STUDIES_FILES[]; /* NULL-terminated */

#endif

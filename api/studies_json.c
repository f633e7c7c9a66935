/* studies_json.c — study job parameters checked and normalised, the full study config built from
 * them and read through api/study_json as the CLI reads it, and studies as JSON (see
 * studies_json.h). */
#include "api/studies_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/json_common.h"
#include "api/pretrain_config_json.h"
#include "api/study_json.h"

const char *const STUDIES_FILES[] = {"table.csv",   "table.json",      "fit.json",
                                     "scaling.svg", "scaling_knn.svg", "scaling_finetune.svg",
                                     "loss.svg",    "README.md",       NULL};

const char *studies_file_type(const char *name) {
    static const char *const TYPES[] = {"text/csv; charset=utf-8", "application/json",
                                        "application/json",        "image/svg+xml",
                                        "image/svg+xml",           "image/svg+xml",
                                        "image/svg+xml",           "text/markdown; charset=utf-8"};
    for (int i = 0; name && STUDIES_FILES[i]; i++)
        if (!strcmp(name, STUDIES_FILES[i])) return TYPES[i];
    return NULL;
}

static const char *const SPEC_KEYS[] = {"description",    "sizes",    "objectives", "model",
                                        "seeds",          "epochs",   "batch",      "val_records",
                                        "split_seed",     "mapping",  "probe_seed", "bootstrap",
                                        "bootstrap_seed", "finetune", NULL};

/* One objective: a name becomes {"objective": name}; an object keeps its keys, its "model" name
 * resolved to an inline config. New reference, or NULL with res set. */
static json_t *norm_objective(json_t *v, size_t i, const char *configs_dir, api_response *res) {
    ecg_err err = {0};
    ssl_kind kind;
    if (json_is_string(v)) {
        if (ssl_kind_parse(json_string_value(v), &kind, &err)) {
            api_response_error(res, 422, "invalid_value",
                               "params.spec.objectives[%zu] must be cpc, jepa, data2vec, dinosr, "
                               "hubert or an inline pretraining config",
                               i);
            return NULL;
        }
        return json_pack("{s:s}", "objective", ssl_kind_name(kind));
    }
    if (!json_is_object(v)) {
        api_response_error(res, 422, "invalid_value",
                           "params.spec.objectives[%zu] must be an objective name or an object", i);
        return NULL;
    }
    json_t *o = json_deep_copy(v);
    json_t *m = json_object_get(o, "model");
    const char *obj = json_string_value(json_object_get(o, "objective"));
    if (o && m && obj && !ssl_kind_parse(obj, &kind, &err)) {
        json_t *mm = jobs_param_model(m, configs_dir, kind, res);
        if (!mm) {
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "model", mm);
    } else if (o && m && !json_is_object(m)) {
        json_object_del(o, "model"); /* no objective: pretrain_config_from_json names that */
    }
    pretrain_config cfg;
    if (o && pretrain_config_from_json(&cfg, o, NULL, &err)) {
        api_response_error(res, 422, "invalid_value", "params.spec.objectives[%zu]: %s", i,
                           err.msg);
        json_decref(o);
        return NULL;
    }
    if (!o) api_response_error(res, 500, "out_of_memory", "out of memory");
    return o;
}

static json_t *norm_spec(json_t *spec, const char *configs_dir, api_response *res) {
    if (!json_is_object(spec)) {
        api_response_error(res, spec ? 422 : 422, spec ? "invalid_value" : "missing_field",
                           "params.spec %s", spec ? "must be an object" : "is required");
        return NULL;
    }
    if (api_check_keys(spec, "params.spec.", SPEC_KEYS,
                       "description, sizes, objectives, model, seeds, epochs, batch, val_records, "
                       "split_seed, mapping, probe_seed, bootstrap, bootstrap_seed, finetune; the "
                       "service supplies name, dataset, tasks and threads",
                       res))
        return NULL;
    json_t *objs = json_object_get(spec, "objectives");
    if (!json_is_array(objs) || json_array_size(objs) < 1 ||
        json_array_size(objs) > STUDY_MAX_OBJECTIVES) {
        api_response_error(res, 422, objs ? "invalid_value" : "missing_field",
                           "params.spec.objectives must be an array of 1 to %d objectives",
                           STUDY_MAX_OBJECTIVES);
        return NULL;
    }
    json_t *out = json_deep_copy(spec), *arr = json_array();
    if (!out || !arr) {
        json_decref(out);
        json_decref(arr);
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return NULL;
    }
    json_object_set_new(out, "objectives", arr);
    size_t i;
    json_t *v;
    json_array_foreach(objs, i, v) {
        json_t *o = norm_objective(v, i, configs_dir, res);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(out);
            return NULL;
        }
    }
    json_t *model = json_object_get(spec, "model");
    if (model) {
        json_t *m = jobs_param_model(model, configs_dir, SSL_CPC, res);
        if (!m) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, "model", m);
    }
    return out;
}

json_t *studies_config_json(const json_t *params, const char *dataset_dir,
                            const studies_task_files *tasks, int n_tasks) {
    json_t *c = json_deep_copy(json_object_get(params, "spec"));
    json_t *arr = json_array();
    if (!c || !arr) {
        json_decref(c);
        json_decref(arr);
        return NULL;
    }
    int bad = json_object_set_new(c, "tasks", arr);
    for (int i = 0; i < n_tasks; i++)
        bad |=
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "name", tasks[i].name, "train",
                                                 tasks[i].train, "test", tasks[i].test));
    const char *name = json_string_value(json_object_get(params, "name"));
    bad |= json_object_set_new(c, "name", json_string(name ? name : "study"));
    bad |= json_object_set_new(c, "dataset", json_string(dataset_dir));
    if (bad) {
        json_decref(c);
        return NULL;
    }
    return c;
}

ecg_code studies_config_load(const json_t *config, const char *path, study_config *cfg,
                             ecg_err *err) {
    if (json_dump_file(config, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0)
        return err_set(err, ECG_EIO, "cannot write %s", path);
    return study_config_from_json_file(cfg, path, err);
}

int jobs_params_study(json_t *params, const jobs_parse_env *env, json_t **out, api_response *res) {
    static const char *const keys[] = {"name", "dataset", "tasks", "spec", NULL};
    if (api_check_keys(params, "params.", keys, "name, dataset, tasks, spec", res)) return -1;
    json_t *jn = json_object_get(params, "name");
    if (jn && (!json_is_string(jn) || !jobs_safe_name(json_string_value(jn), 63))) {
        api_response_error(res, 422, "invalid_value",
                           "name must be 1 to 63 letters, digits, . _ - (not starting with .)");
        return -1;
    }
    char ds[JOBS_REF_MAX + 1];
    if (jobs_param_ref(params, "dataset", NULL, ds, sizeof ds, res)) return -1;
    json_t *tasks = json_object_get(params, "tasks");
    if (!json_is_array(tasks) || json_array_size(tasks) < 1 ||
        json_array_size(tasks) > STUDY_MAX_TASKS) {
        api_response_error(res, 422, tasks ? "invalid_value" : "missing_field",
                           "params.tasks must be an array of 1 to %d task dataset references",
                           STUDY_MAX_TASKS);
        return -1;
    }
    json_t *norm_tasks = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(tasks, i, v) {
        char ref[JOBS_REF_MAX + 1];
        if (jobs_ref_value(v, ref, sizeof ref)) {
            api_response_error(res, 422, "invalid_value",
                               "params.tasks[%zu] must be a task dataset id or name", i);
            json_decref(norm_tasks);
            return -1;
        }
        for (size_t t = 0; t < json_array_size(norm_tasks); t++)
            if (!strcmp(json_string_value(json_array_get(norm_tasks, t)), ref)) {
                api_response_error(res, 422, "invalid_value", "params.tasks lists \"%s\" twice",
                                   ref);
                json_decref(norm_tasks);
                return -1;
            }
        json_array_append_new(norm_tasks, json_string(ref));
    }
    json_t *spec = norm_spec(json_object_get(params, "spec"), env->configs_dir, res);
    if (!spec) {
        json_decref(norm_tasks);
        return -1;
    }
    json_t *p = json_pack("{s:s, s:s, s:o, s:o}", "name", jn ? json_string_value(jn) : "study",
                          "dataset", ds, "tasks", norm_tasks, "spec", spec);
    if (!p) {
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return -1;
    }
    /* The whole config as the CLI would read it, with placeholder paths (the service fills in
     * the datasets' at run time): bad sizes, seeds, mapping or fine-tuning settings are a 422
     * now rather than a failed job later. */
    studies_task_files tf[STUDY_MAX_TASKS];
    char names[STUDY_MAX_TASKS][32];
    for (int t = 0; t < (int)json_array_size(norm_tasks) && t < STUDY_MAX_TASKS; t++) {
        snprintf(names[t], sizeof names[t], "task%d", t);
        tf[t] = (studies_task_files){names[t], "/placeholder/train.ts", "/placeholder/test.ts"};
    }
    json_t *full =
        studies_config_json(p, "/placeholder/dataset", tf, (int)json_array_size(norm_tasks));
    char path[] = "/tmp/ecgfm-study-spec-XXXXXX";
    int fd = full ? mkstemp(path) : -1;
    ecg_err err = {0};
    ecg_code rc;
    study_config *cfg = malloc(sizeof *cfg);
    if (fd < 0 || !cfg) {
        rc = err_set(&err, ECG_ENOMEM, "cannot check the spec (out of memory or no /tmp)");
    } else {
        close(fd);
        rc = studies_config_load(full, path, cfg, &err);
        if (!rc) rc = study_config_validate(cfg, &err);
        unlink(path);
    }
    free(cfg);
    json_decref(full);
    if (rc) {
        /* study_json names the file first: the placeholder means nothing to the caller. */
        const char *msg = err.msg;
        if (!strncmp(msg, path, strlen(path)) && msg[strlen(path)] == ':')
            msg += strlen(path) + 1 + (msg[strlen(path) + 1] == ' ');
        if (!strncmp(msg, "study: ", 7)) msg += 7;
        api_response_error(res, rc == ECG_ENOMEM ? 500 : 422,
                           rc == ECG_ENOMEM ? "out_of_memory" : "invalid_value", "params.spec: %s",
                           msg);
        json_decref(p);
        return -1;
    }
    *out = p;
    return 0;
}

int studies_parse_create(const char *body, size_t len, const char *content_type,
                         const jobs_parse_env *env, json_t **params, api_response *res) {
    static const char *const fields[] = {"name", "dataset", "tasks", "spec", NULL};
    json_t *j = api_request_object(body, len, content_type, "POST /v1/studies", fields, res);
    if (!j) return -1;
    int rc = jobs_params_study(j, env, params, res);
    json_decref(j);
    return rc;
}

int studies_parse_list(const char *limit, const char *cursor, long long *lim, long long *cur,
                       api_response *res) {
    return api_parse_paging(limit, cursor, 200, 1, 0, lim, cur, res);
}

json_t *studies_view_json(const studies_view *v, int with_result) {
    json_t *files = json_array();
    for (int i = 0; files && i < v->n_files; i++)
        json_array_append_new(files, json_string(v->files[i]));
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)v->id, "name",
                  v->name, "state", v->state, "job_id", (json_int_t)v->job_id, "spec",
                  api_json_stored(v->spec), "progress", api_json_stored(v->progress), "error",
                  v->error ? json_string(v->error) : json_null(), "files",
                  files ? files : json_null(), "created_at", api_json_timestamp(v->created_at));
    if (o && with_result) json_object_set_new(o, "result", api_json_stored(v->result));
    return o;
}

void studies_answer_one(const studies_view *v, int status, api_response *res) {
    api_response_json(res, status, studies_view_json(v, 1));
}

void studies_answer_list(const studies_view *vs, size_t n, long long next_cursor,
                         api_response *res) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        arr = api_json_append(arr, studies_view_json(&vs[i], 0));
    api_answer_page(res, "studies", arr, next_cursor);
}

/* jobs.c — job request parsing, stored parameters back to a pretrain_config, and the answers (see
 * jobs.h). Every parameter is checked here and named when wrong, so a typo is a 422, not a run. */
#include "api/jobs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/encoder_config_json.h"
#include "api/json_common.h"
#include "api/pretrain_config_json.h"
#include "api/studies_json.h"

static const char *const KINDS[] = {"pretrain", "finetune", "transfer", "import", "study", NULL};
static const char *const STATES[] = {"queued", "running", "succeeded", "failed", "cancelled", NULL};
static const char *const PARAMS[] = {
    "dataset", "objective", "model",   "subset",           "epochs",    "batch",
    "lr",      "seed",      "threads", "checkpoint_every", "val_every", NULL};

int jobs_state_is_terminal(const char *state) {
    return state &&
           (!strcmp(state, "succeeded") || !strcmp(state, "failed") || !strcmp(state, "cancelled"));
}

/* Names that become path segments: letters, digits, . _ -, not starting with a dot. */
int jobs_safe_name(const char *s, size_t max) {
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == '.') return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* An integer parameter in [lo, hi]; 1 when absent (*out untouched), 0 ok, -1 with res set. */
int jobs_param_int(json_t *params, const char *key, long long lo, long long hi, long long *out,
                   api_response *res) {
    json_t *v = json_object_get(params, key);
    if (!v) return 1;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        api_response_error(res, 422, "invalid_value",
                           "params.%s must be an integer in [%lld, %lld]", key, lo, hi);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

/* The model: a configs/models name or an inline object, as an inline object (new reference). */
json_t *jobs_param_model(json_t *v, const char *configs_dir, ssl_kind kind, api_response *res) {
    pretrain_config def;
    pretrain_config_default(&def, kind);
    struct encoder_config enc = def.enc;
    ecg_err err = {0};
    if (!v) return encoder_config_to_json(&enc);
    if (json_is_string(v)) {
        const char *name = json_string_value(v);
        if (!jobs_safe_name(name, 64)) {
            api_response_error(res, 422, "invalid_value",
                               "params.model must be a model name (letters, digits, . _ -) or an "
                               "inline model config object");
            return NULL;
        }
        char path[1200];
        snprintf(path, sizeof path, "%s/models/%s.json", configs_dir, name);
        if (encoder_config_from_json_file(&enc, path, &err)) {
            if (err.code == ECG_EIO || err.code == ECG_ENOTFOUND)
                api_response_error(res, 422, "unknown_model",
                                   "params.model: no model config named \"%s\" (%s/models/)", name,
                                   configs_dir);
            else
                api_response_error(res, 422, "invalid_value", "params.model: %s", err.msg);
            return NULL;
        }
    } else if (json_is_object(v)) {
        if (encoder_config_from_json(&enc, v, &err)) {
            api_response_error(res, 422, "invalid_value", "params.model.%s", err.msg);
            return NULL;
        }
    } else {
        api_response_error(res, 422, "invalid_value",
                           "params.model must be a model name or an inline model config object");
        return NULL;
    }
    json_t *o = encoder_config_to_json(&enc);
    if (!o) api_response_error(res, 500, "out_of_memory", "out of memory");
    return o;
}

/* The pretrain_config_from_json object for normalised params (new reference). */
static json_t *pretrain_object(const json_t *p) {
    return json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:{s:O}}", "objective",
                     json_object_get(p, "objective"), "model", json_object_get(p, "model"),
                     "subset", json_object_get(p, "subset"), "epochs", json_object_get(p, "epochs"),
                     "batch", json_object_get(p, "batch"), "seed", json_object_get(p, "seed"),
                     "threads", json_object_get(p, "threads"), "checkpoint_every",
                     json_object_get(p, "checkpoint_every"), "val_every",
                     json_object_get(p, "val_every"), "optimizer", "lr", json_object_get(p, "lr"));
}

int jobs_params_pretrain(json_t *params, const jobs_parse_env *env, json_t **out,
                         api_response *res) {
    const char *configs_dir = env->configs_dir;
    int max_threads = env->max_threads;
    char dataset[JOBS_DATASET_MAX + 1];
    if (api_check_keys(params, "params.", PARAMS,
                       "dataset, objective, model, subset, epochs, batch, lr, seed, threads, "
                       "checkpoint_every, val_every",
                       res))
        return -1;
    json_t *ds = json_object_get(params, "dataset");
    if (!ds) {
        api_response_error(res, 422, "missing_field", "params.dataset is required");
        return -1;
    }
    if (!json_is_string(ds) || !jobs_safe_name(json_string_value(ds), JOBS_DATASET_MAX)) {
        api_response_error(res, 422, "invalid_value",
                           "params.dataset must be a dataset name under the data directory's "
                           "datasets/ (letters, digits, . _ -, at most %d)",
                           JOBS_DATASET_MAX);
        return -1;
    }
    snprintf(dataset, sizeof dataset, "%s", json_string_value(ds));
    json_t *obj = json_object_get(params, "objective");
    ssl_kind kind;
    ecg_err err = {0};
    if (!obj) {
        api_response_error(res, 422, "missing_field",
                           "params.objective is required: cpc, jepa, data2vec, dinosr or hubert");
        return -1;
    }
    if (!json_is_string(obj) || ssl_kind_parse(json_string_value(obj), &kind, &err)) {
        api_response_error(res, 422, "invalid_value",
                           "params.objective must be one of cpc, jepa, data2vec, dinosr, hubert");
        return -1;
    }
    pretrain_config def;
    pretrain_config_default(&def, kind);
    long long subset = def.subset, epochs = def.epochs, batch = def.batch,
              seed = (long long)(def.seed & 0x7fffffffffffffffull), threads = max_threads,
              cevery = def.checkpoint_every, vevery = def.val_every;
    if (jobs_param_int(params, "subset", 0, 1ll << 40, &subset, res) < 0 ||
        jobs_param_int(params, "epochs", 1, 100000, &epochs, res) < 0 ||
        jobs_param_int(params, "batch", 1, 4096, &batch, res) < 0 ||
        jobs_param_int(params, "seed", 0, 0x7fffffffffffffffll, &seed, res) < 0 ||
        jobs_param_int(params, "threads", 1, max_threads, &threads, res) < 0 ||
        jobs_param_int(params, "checkpoint_every", 0, 1ll << 40, &cevery, res) < 0 ||
        jobs_param_int(params, "val_every", 0, 1ll << 40, &vevery, res) < 0)
        return -1;
    double lr = def.sched.lr;
    json_t *jlr = json_object_get(params, "lr");
    if (jlr) {
        lr = json_number_value(jlr);
        if (!json_is_number(jlr) || !(lr > 0) || !isfinite(lr) || lr > 10) {
            api_response_error(res, 422, "invalid_value", "params.lr must be a number in (0, 10]");
            return -1;
        }
    }
    json_t *model = jobs_param_model(json_object_get(params, "model"), configs_dir, kind, res);
    if (!model) return -1;
    json_t *np =
        json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I}", "dataset", dataset,
                  "objective", ssl_kind_name(kind), "model", model, "subset", (json_int_t)subset,
                  "epochs", (json_int_t)epochs, "batch", (json_int_t)batch, "lr", lr, "seed",
                  (json_int_t)seed, "threads", (json_int_t)threads, "checkpoint_every",
                  (json_int_t)cevery, "val_every", (json_int_t)vevery);
    if (!np) {
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return -1;
    }
    /* The core's own validation (sizes the model cannot take, batch against the objective...). */
    json_t *pobj = pretrain_object(np);
    pretrain_config cfg;
    ecg_code rc = pobj ? pretrain_config_from_json(&cfg, pobj, NULL, &err)
                       : err_set(&err, ECG_ENOMEM, "out of memory");
    json_decref(pobj);
    if (rc) {
        api_response_error(res, rc == ECG_ENOMEM ? 500 : 422,
                           rc == ECG_ENOMEM ? "out_of_memory" : "invalid_value", "params: %s",
                           err.msg);
        json_decref(np);
        return -1;
    }
    *out = np;
    return 0;
}

/* The api side of each kind; the service runs a kind only when it is here and in
 * server/job_kind.h's table. */
static const struct {
    const char *kind;
    jobs_params_fn parse;
} PARSERS[] = {{"pretrain", jobs_params_pretrain},
               {"import", jobs_params_import},
               {"transfer", jobs_params_transfer},
               {"finetune", jobs_params_finetune},
               {"study", jobs_params_study}};

int jobs_parse_create(const char *body, size_t len, const char *content_type,
                      const char *configs_dir, int max_threads, jobs_create_request *req,
                      api_response *res) {
    memset(req, 0, sizeof *req);
    static const char *const fields[] = {"kind", "params", NULL};
    json_t *j = api_request_object(body, len, content_type, "POST /v1/jobs", fields, res);
    if (!j) return -1;
    int rc = -1;
    json_t *kind = json_object_get(j, "kind");
    if (!kind) {
        api_response_error(res, 422, "missing_field",
                           "\"kind\" is required (pretrain, finetune, transfer, import, study)");
        goto done;
    }
    const char *ks = json_string_value(kind);
    if (!ks || !api_in_list(ks, KINDS)) {
        api_response_error(res, 422, "invalid_kind",
                           "\"kind\" must be one of pretrain, finetune, transfer, import, study");
        goto done;
    }
    jobs_params_fn parse = NULL;
    for (size_t i = 0; i < sizeof PARSERS / sizeof *PARSERS; i++)
        if (!strcmp(PARSERS[i].kind, ks)) parse = PARSERS[i].parse;
    if (!parse) {
        api_response_error(res, 422, "not_built", "%s jobs are not built yet", ks);
        goto done;
    }
    snprintf(req->kind, sizeof req->kind, "%s", ks);
    json_t *params = json_object_get(j, "params");
    if (!json_is_object(params)) {
        api_response_error(res, params ? 422 : 422, params ? "invalid_value" : "missing_field",
                           "\"params\" %s", params ? "must be an object" : "is required");
        goto done;
    }
    jobs_parse_env env = {configs_dir, max_threads};
    rc = parse(params, &env, &req->params, res);
done:
    json_decref(j);
    return rc;
}

ecg_code jobs_pretrain_config(const char *params_text, pretrain_config *cfg, char *dataset,
                              size_t dataset_size, ecg_err *err) {
    json_error_t e;
    json_t *p = json_loads(params_text, 0, &e);
    if (!p) return err_set(err, ECG_EFORMAT, "stored job parameters are not JSON: %s", e.text);
    const char *ds = json_string_value(json_object_get(p, "dataset"));
    json_t *obj = ds ? pretrain_object(p) : NULL;
    ecg_code rc;
    if (!obj)
        rc = err_set(err, ECG_EFORMAT, "stored job parameters lack a field");
    else
        rc = pretrain_config_from_json(cfg, obj, NULL, err);
    if (!rc) snprintf(dataset, dataset_size, "%s", ds);
    json_decref(obj);
    json_decref(p);
    return rc;
}

int jobs_parse_list(const char *state, const char *kind, const char *limit, const char *cursor,
                    jobs_list_query *q, api_response *res) {
    memset(q, 0, sizeof *q);
    q->limit = 50;
    if (state && !api_in_list(state, STATES)) {
        api_response_error(res, 422, "invalid_value",
                           "state must be one of queued, running, succeeded, failed, cancelled");
        return -1;
    }
    if (kind && !api_in_list(kind, KINDS)) {
        api_response_error(res, 422, "invalid_value",
                           "kind must be one of pretrain, finetune, transfer, import, study");
        return -1;
    }
    q->state = state;
    q->kind = kind;
    return api_parse_paging(limit, cursor, 200, 1, 0, &q->limit, &q->cursor, res);
}

json_t *jobs_view_json(const jobs_view *v) {
    return json_pack(
        "{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:b, s:o, s:o, s:o, s:o}", "id",
        (json_int_t)v->id, "kind", v->kind, "state", v->state, "params", api_json_stored(v->params),
        "progress", api_json_stored(v->progress), "result", api_json_stored(v->result), "error",
        v->error ? json_string(v->error) : json_null(), "attempt", (json_int_t)v->attempt,
        "cancel_requested", v->cancel_requested, "created_at", api_json_timestamp(v->created_at),
        "started_at", api_json_timestamp(v->started_at), "finished_at",
        api_json_timestamp(v->finished_at), "updated_at", api_json_timestamp(v->updated_at));
}

void jobs_answer_one(const jobs_view *v, int status, api_response *res) {
    api_response_json(res, status, jobs_view_json(v));
}

void jobs_answer_list(const jobs_view *vs, size_t n, long long next_cursor, api_response *res) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        arr = api_json_append(arr, jobs_view_json(&vs[i]));
    api_answer_page(res, "jobs", arr, next_cursor);
}

int jobs_sse_format(char **buf, size_t *len, size_t *cap, long long id, const char *type,
                    const char *data) {
    /* data is compact JSON: no newlines, so one data: line carries it. */
    size_t need = *len + strlen(data) + strlen(type) + 64;
    if (need > *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c < need)
            c *= 2;
        char *m = realloc(*buf, c);
        if (!m) return -1;
        *buf = m;
        *cap = c;
    }
    int w = snprintf(*buf + *len, *cap - *len, "id: %lld\nevent: %s\ndata: %s\n\n", id, type, data);
    if (w < 0) return -1;
    *len += (size_t)w;
    return 0;
}

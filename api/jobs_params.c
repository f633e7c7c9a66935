/* jobs_params.c — the parameters of the import, finetune and transfer job kinds checked and
 * normalised (see api/jobs.h): every key named when unknown or wrong, defaults filled in. */
#include "api/jobs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/json_common.h"
#include "api/transfer_request.h"
#include "core/transfer/finetune.h"

int jobs_ref_value(const json_t *v, char *out, size_t cap) {
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) >= cap ||
        strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    snprintf(out, cap, "%s", json_string_value(v));
    return 0;
}

int jobs_param_ref(json_t *params, const char *key, const char *def, char *out, size_t cap,
                   api_response *res) {
    json_t *v = json_object_get(params, key);
    if (!v && def) {
        snprintf(out, cap, "%s", def);
        return 0;
    }
    if (!v) {
        api_response_error(res, 422, "missing_field", "params.%s is required", key);
        return -1;
    }
    if (jobs_ref_value(v, out, cap)) {
        api_response_error(res, 422, "invalid_value",
                           "params.%s must be an id or a name (a non-empty string under %zu bytes)",
                           key, cap);
        return -1;
    }
    return 0;
}

/* A number parameter in [lo, hi] (absent: *out untouched); 0 or -1 with res set. */
static int param_num(json_t *params, const char *key, double lo, double hi, double *out,
                     api_response *res) {
    json_t *v = json_object_get(params, key);
    if (!v) return 0;
    double d = json_number_value(v);
    if (!json_is_number(v) || !isfinite(d) || d < lo || d > hi) {
        api_response_error(res, 422, "invalid_value", "params.%s must be a number in [%g, %g]", key,
                           lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

static int param_bool(json_t *params, const char *key, int *out, api_response *res) {
    json_t *v = json_object_get(params, key);
    if (!v) return 0;
    if (!json_is_boolean(v)) {
        api_response_error(res, 422, "invalid_value", "params.%s must be true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

/* The mapping object as normalised JSON (new reference; NULL with res set). */
json_t *jobs_param_mapping(json_t *params, api_response *res) {
    json_t *m = json_object_get(params, "mapping");
    if (m && !json_is_object(m)) {
        api_response_error(res, 422, "invalid_value", "params.mapping must be an object");
        return NULL;
    }
    map_opts o;
    ecg_err err = {0};
    if (transfer_mapping_parse(m, 0, &o, &err)) {
        api_response_error(res, 422, "invalid_value", "params.mapping: %s", err.msg);
        return NULL;
    }
    /* Only the keys given are kept: "channels" left out still means multi for a multichannel
     * task, as `ecgfm transfer` decides. */
    return m ? json_deep_copy(m) : json_object();
}

static json_t *oom(api_response *res) {
    api_response_error(res, 500, "out_of_memory", "out of memory");
    return NULL;
}

int jobs_params_import(json_t *params, const jobs_parse_env *env, json_t **out, api_response *res) {
    (void)env;
    static const char *const keys[] = {"dataset", "format", "path", NULL};
    static const char *const formats[] = {"wfdb", "edf", "hdf5", NULL};
    if (api_check_keys(params, "params.", keys, "dataset, format, path", res)) return -1;
    char ds[JOBS_REF_MAX + 1];
    if (jobs_param_ref(params, "dataset", NULL, ds, sizeof ds, res)) return -1;
    json_t *f = json_object_get(params, "format"), *p = json_object_get(params, "path");
    if (!f || !p) {
        api_response_error(res, 422, "missing_field", "params.%s is required",
                           f ? "path" : "format");
        return -1;
    }
    if (!api_in_list(json_string_value(f), formats)) {
        api_response_error(res, 422, "invalid_value", "params.format must be wfdb, edf or hdf5");
        return -1;
    }
    const char *ps = json_string_value(p);
    if (!ps || ps[0] != '/' || json_string_length(p) >= 1024 ||
        strlen(ps) != json_string_length(p)) {
        api_response_error(res, 422, "invalid_path",
                           "params.path must be an absolute path on the server (under one of its "
                           "import roots)");
        return -1;
    }
    *out = json_pack("{s:s, s:s, s:s}", "dataset", ds, "format", json_string_value(f), "path", ps);
    return *out ? 0 : (oom(res), -1);
}

int jobs_params_transfer(json_t *params, const jobs_parse_env *env, json_t **out,
                         api_response *res) {
    (void)env;
    static const char *const keys[] = {"checkpoint", "task", "mapping", "seed", "save_probe", NULL};
    if (api_check_keys(params, "params.", keys, "checkpoint, task, mapping, seed, save_probe", res))
        return -1;
    char ck[JOBS_REF_MAX + 1], task[JOBS_REF_MAX + 1];
    long long seed = 0;
    int save = 0;
    if (jobs_param_ref(params, "checkpoint", "default", ck, sizeof ck, res) ||
        jobs_param_ref(params, "task", NULL, task, sizeof task, res) ||
        jobs_param_int(params, "seed", 0, 0x7fffffffffffffffll, &seed, res) < 0 ||
        param_bool(params, "save_probe", &save, res))
        return -1;
    json_t *m = jobs_param_mapping(params, res);
    if (!m) return -1;
    *out = json_pack("{s:s, s:s, s:o, s:I, s:b}", "checkpoint", ck, "task", task, "mapping", m,
                     "seed", (json_int_t)seed, "save_probe", save);
    return *out ? 0 : (oom(res), -1);
}

int jobs_params_finetune(json_t *params, const jobs_parse_env *env, json_t **out,
                         api_response *res) {
    (void)env;
    static const char *const keys[] = {"checkpoint", "task",    "mode", "epochs",       "patience",
                                       "lr",         "batch",   "seed", "val_fraction", "mapping",
                                       "random",     "threads", NULL};
    if (api_check_keys(params, "params.", keys,
                       "checkpoint, task, mode, epochs, patience, lr, batch, seed, val_fraction, "
                       "mapping, random, threads",
                       res))
        return -1;
    ft_opts d;
    ft_opts_default(&d);
    char ck[JOBS_REF_MAX + 1], task[JOBS_REF_MAX + 1];
    long long epochs = d.epochs, patience = d.patience, batch = d.batch, seed = (long long)d.seed,
              threads = env->max_threads;
    double lr = d.lr > 0 ? d.lr : 0, vf = d.val_fraction;
    int random = 0;
    ft_mode mode = d.mode;
    json_t *jm = json_object_get(params, "mode");
    ecg_err err = {0};
    if (jm && (!json_is_string(jm) || ft_mode_parse(json_string_value(jm), &mode, &err))) {
        api_response_error(res, 422, "invalid_value",
                           "params.mode must be finetune, frozen or linear");
        return -1;
    }
    if (jobs_param_ref(params, "checkpoint", "default", ck, sizeof ck, res) ||
        jobs_param_ref(params, "task", NULL, task, sizeof task, res) ||
        jobs_param_int(params, "epochs", 1, 100000, &epochs, res) < 0 ||
        jobs_param_int(params, "patience", 0, 100000, &patience, res) < 0 ||
        jobs_param_int(params, "batch", 1, 4096, &batch, res) < 0 ||
        jobs_param_int(params, "seed", 0, 0x7fffffffffffffffll, &seed, res) < 0 ||
        jobs_param_int(params, "threads", 1, env->max_threads, &threads, res) < 0 ||
        param_num(params, "lr", 0, 10, &lr, res) ||
        param_num(params, "val_fraction", 0, 0.9, &vf, res) ||
        param_bool(params, "random", &random, res))
        return -1;
    json_t *m = jobs_param_mapping(params, res);
    if (!m) return -1;
    *out = json_pack("{s:s, s:s, s:s, s:I, s:I, s:f, s:I, s:I, s:f, s:o, s:b, s:I}", "checkpoint",
                     ck, "task", task, "mode", ft_mode_name(mode), "epochs", (json_int_t)epochs,
                     "patience", (json_int_t)patience, "lr", lr, "batch", (json_int_t)batch, "seed",
                     (json_int_t)seed, "val_fraction", vf, "mapping", m, "random", random,
                     "threads", (json_int_t)threads);
    return *out ? 0 : (oom(res), -1);
}

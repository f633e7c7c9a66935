/* transfer_request.c — POST /v1/transfer and POST /v1/classify bodies (see transfer_request.h):
 * types checked with the route's words, values turned into map_opts and a task split. */
#include "api/transfer_request.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_common.h"

/* A reference given as a string or a non-negative integer, into out. 0 or -1 (res set). */
static int read_ref(json_t *v, const char *key, char *out, size_t cap, api_response *res) {
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v)) {
        api_response_error(res, 400, "wrong_type", "\"%s\" must be a string (a name) or an id",
                           key);
        return -1;
    }
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n == 0 || n >= cap) {
        api_response_error(res, 422, "invalid_value", "\"%s\" must be 1 to %zu bytes long", key,
                           cap - 1);
        return -1;
    }
    memcpy(out, s, n + 1);
    return 0;
}

int transfer_parse_post(const char *body, size_t len, const char *content_type,
                        transfer_post_request *req, api_response *res) {
    static const char *const fields[] = {"checkpoint", "task",       "mapping",
                                         "seed",       "save_probe", NULL};
    memset(req, 0, sizeof *req);
    snprintf(req->checkpoint, sizeof req->checkpoint, "default");
    json_t *j = api_request_object(body, len, content_type, "POST /v1/transfer", fields, res);
    if (!j) return -1;
    int rc = -1;
    json_t *v;
    if ((v = json_object_get(j, "checkpoint")) &&
        read_ref(v, "checkpoint", req->checkpoint, sizeof req->checkpoint, res))
        goto done;
    if (!(v = json_object_get(j, "task"))) {
        api_response_error(res, 400, "missing_field", "\"task\" (a task dataset) is required");
        goto done;
    }
    if (read_ref(v, "task", req->task, sizeof req->task, res)) goto done;
    if ((v = json_object_get(j, "seed"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            api_response_error(res, json_is_integer(v) ? 422 : 400, "invalid_value",
                               "\"seed\" must be a non-negative integer");
            goto done;
        }
        req->seed = (unsigned long long)json_integer_value(v);
    }
    if ((v = json_object_get(j, "save_probe"))) {
        if (!json_is_boolean(v)) {
            api_response_error(res, 400, "wrong_type", "\"save_probe\" must be true or false");
            goto done;
        }
        req->save_probe = json_is_true(v);
    }
    if ((v = json_object_get(j, "mapping")) && !json_is_null(v)) {
        if (!json_is_object(v)) {
            api_response_error(res, 400, "wrong_type", "\"mapping\" must be an object");
            goto done;
        }
        map_opts m;
        ecg_err err = {0};
        if (transfer_mapping_parse(v, 0, &m, &err)) {
            api_response_error(res, 422, "invalid_mapping", "%s", err.msg);
            goto done;
        }
        req->mapping = json_incref(v);
    }
    rc = 0;
done:
    json_decref(j);
    return rc;
}

void transfer_post_request_free(transfer_post_request *req) {
    if (!req) return;
    json_decref(req->mapping);
    req->mapping = NULL;
}

static ecg_code mapping_string(const json_t *v, const char *key, const char **out, ecg_err *err) {
    if (!json_is_string(v)) return err_set(err, ECG_EINVAL, "mapping.%s must be a string", key);
    *out = json_string_value(v);
    return ECG_OK;
}

ecg_code transfer_mapping_parse(const json_t *mapping, int n_dims, map_opts *out, ecg_err *err) {
    map_opts_default(out);
    int have_channels = 0;
    if (mapping && !json_is_null(mapping)) {
        if (!json_is_object(mapping)) return err_set(err, ECG_EINVAL, "mapping must be an object");
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)mapping, k, v) {
            const char *s = NULL;
            ecg_code rc = ECG_OK;
            if (strcmp(k, "channels") == 0) {
                rc = mapping_string(v, k, &s, err);
                if (!rc) rc = map_channels_parse(s, &out->channels, err);
                have_channels = 1;
            } else if (strcmp(k, "length") == 0) {
                rc = mapping_string(v, k, &s, err);
                if (!rc) rc = map_length_parse(s, &out->length, err);
            } else if (strcmp(k, "amplitude") == 0) {
                rc = mapping_string(v, k, &s, err);
                if (!rc) rc = map_amplitude_parse(s, &out->amplitude, err);
            } else if (strcmp(k, "resize") == 0) {
                rc = mapping_string(v, k, &s, err);
                if (!rc && strcmp(s, "linear") == 0)
                    out->resize = RESAMPLE_LINEAR;
                else if (!rc && strcmp(s, "sinc") == 0)
                    out->resize = RESAMPLE_SINC;
                else if (!rc)
                    rc = err_set(err, ECG_EINVAL, "mapping.resize must be linear or sinc");
            } else if (strcmp(k, "slide_rate") == 0) {
                double r = json_number_value(v);
                if (!json_is_number(v) || !(r > 0) || r > 1000)
                    rc = err_set(err, ECG_EINVAL,
                                 "mapping.slide_rate must be a number in (0, 1000]");
                else
                    out->slide_rate = r;
            } else if (strcmp(k, "slide_stride") == 0) {
                if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                    json_integer_value(v) > 1000000)
                    rc = err_set(err, ECG_EINVAL,
                                 "mapping.slide_stride must be an integer in [1, 1000000]");
                else
                    out->slide_stride = (int)json_integer_value(v);
            } else {
                rc = err_set(err, ECG_EINVAL,
                             "mapping: unknown key \"%.40s\" (keys: channels, length, slide_rate, "
                             "slide_stride, resize, amplitude)",
                             k);
            }
            if (rc) return rc;
        }
    }
    if (n_dims <= 0) return ECG_OK;
    if (n_dims > 1 && !have_channels) out->channels = MAP_CH_MULTI;
    return map_opts_check(out, n_dims, err);
}

json_t *transfer_mapping_json(const map_opts *m) {
    return json_pack("{s:s, s:s, s:f, s:i, s:s, s:s}", "channels", map_channels_name(m->channels),
                     "length", map_length_name(m->length), "slide_rate", m->slide_rate,
                     "slide_stride", m->slide_stride, "resize",
                     m->resize == RESAMPLE_LINEAR ? "linear" : "sinc", "amplitude",
                     map_amplitude_name(m->amplitude));
}

/* ---- classify ---- */

/* Channel c of a series: an array of numbers or nulls, written to dst (length n). */
static int read_channel(const json_t *a, float *dst, size_t i, size_t c, api_response *res) {
    size_t t;
    json_t *x;
    json_array_foreach(a, t, x) {
        if (json_is_null(x)) {
            dst[t] = NAN;
            continue;
        }
        if (!json_is_number(x)) {
            api_response_error(res, 400, "wrong_type",
                               "\"series\"[%zu] channel %zu sample %zu must be a number or null", i,
                               c, t);
            return -1;
        }
        double v = json_number_value(x);
        if (!isfinite(v) || fabs(v) > 3e38) {
            api_response_error(res, 422, "invalid_value",
                               "\"series\"[%zu] channel %zu sample %zu is outside float range", i,
                               c, t);
            return -1;
        }
        dst[t] = (float)v;
    }
    return 0;
}

int classify_parse_request(const char *body, size_t len, const char *content_type,
                           const classify_limits *lim, long long *probe_id, task_split *out,
                           api_response *res) {
    static const char *const fields[] = {"probe", "series", NULL};
    memset(out, 0, sizeof *out);
    *probe_id = 0;
    json_t *j = api_request_object(body, len, content_type, "POST /v1/classify", fields, res);
    if (!j) return -1;
    int rc = -1;
    json_t *p = json_object_get(j, "probe"), *s = json_object_get(j, "series");
    if (!p || !s) {
        api_response_error(res, 400, "missing_field", "\"%s\" is required",
                           !p ? "probe" : "series");
        goto done;
    }
    if (json_is_integer(p))
        *probe_id = json_integer_value(p);
    else if (json_is_string(p)) {
        char *end;
        *probe_id = strtoll(json_string_value(p), &end, 10);
        if (*end || end == json_string_value(p)) *probe_id = -1;
    } else {
        api_response_error(res, 400, "wrong_type", "\"probe\" must be a probe id");
        goto done;
    }
    if (*probe_id <= 0) {
        api_response_error(res, 422, "invalid_value", "\"probe\" must be a positive probe id");
        goto done;
    }
    if (!json_is_array(s) || json_array_size(s) == 0) {
        api_response_error(res, 400, "wrong_type",
                           "\"series\" must be a non-empty array of series (each an array of "
                           "numbers, or of channels)");
        goto done;
    }
    size_t n = json_array_size(s);
    if (n > lim->max_series) {
        api_response_error(res, 413, "too_many_series",
                           "%zu series in one request; the limit is %zu (classify_max_series)", n,
                           lim->max_series);
        goto done;
    }
    /* Univariate ([[x...]...]) or multichannel ([[[x...]...]...]), decided by the first series. */
    json_t *first = json_array_get(s, 0);
    int multi = json_is_array(first) && json_array_size(first) > 0 &&
                json_is_array(json_array_get(first, 0));
    size_t dims = multi ? json_array_size(first) : 1, total = 0;
    if (dims > 4096) {
        api_response_error(res, 422, "invalid_value", "a series has more than 4096 channels");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *si = json_array_get(s, i);
        if (!json_is_array(si) || (multi && json_array_size(si) != dims)) {
            api_response_error(res, multi && json_is_array(si) ? 422 : 400,
                               multi && json_is_array(si) ? "ragged_series" : "wrong_type",
                               multi ? "\"series\"[%zu] must be an array of %zu channels"
                                     : "\"series\"[%zu] must be an array of numbers",
                               i, dims);
            goto done;
        }
        size_t L = 0;
        for (size_t c = 0; c < dims; c++) {
            json_t *ch = multi ? json_array_get(si, c) : si;
            if (!json_is_array(ch)) {
                api_response_error(res, 400, "wrong_type",
                                   "\"series\"[%zu][%zu] must be an array of numbers", i, c);
                goto done;
            }
            size_t l = json_array_size(ch);
            if (c == 0) L = l;
            if (l != L) {
                api_response_error(res, 422, "ragged_series",
                                   "\"series\"[%zu]: channel 0 has %zu samples, channel %zu has "
                                   "%zu",
                                   i, L, c, l);
                goto done;
            }
        }
        if (L == 0) {
            api_response_error(res, 422, "empty_series", "\"series\"[%zu] has no samples", i);
            goto done;
        }
        if (L > lim->max_length) {
            api_response_error(res, 413, "series_too_long",
                               "\"series\"[%zu] has %zu samples; the limit is %zu "
                               "(classify_max_length)",
                               i, L, lim->max_length);
            goto done;
        }
        total += L * dims;
    }
    out->n_series = (int)n;
    out->n_dims = (int)dims;
    out->length = calloc(n, sizeof *out->length);
    out->offset = calloc(n, sizeof *out->offset);
    out->label = malloc(n * sizeof *out->label);
    out->values = malloc(total * sizeof *out->values);
    if (!out->length || !out->offset || !out->label || !out->values) {
        api_response_error(res, 500, "out_of_memory", "out of memory reading the series");
        goto done;
    }
    snprintf(out->name, sizeof out->name, "classify");
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *si = json_array_get(s, i);
        size_t L = json_array_size(multi ? json_array_get(si, 0) : si);
        out->length[i] = L;
        out->offset[i] = off;
        out->label[i] = -1;
        for (size_t c = 0; c < dims; c++)
            if (read_channel(multi ? json_array_get(si, c) : si, out->values + off + c * L, i, c,
                             res))
                goto done;
        off += L * dims;
    }
    rc = 0;
done:
    if (rc) task_split_free(out);
    json_decref(j);
    return rc;
}

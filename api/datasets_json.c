/* datasets_json.c — /v1/datasets request bodies and queries checked into plain values, and the
 * JSON of an appended record (see datasets_json.h). */
#include "api/datasets_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_common.h"

static const char *const LEADS[12] = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                      "V1", "V2", "V3",  "V4",  "V5",  "V6"};

int datasets_parse_create(const char *body, size_t len, const char *content_type,
                          datasets_create_request *req, api_response *res) {
    static const char *const fields[] = {"name", "kind", "description", NULL};
    memset(req, 0, sizeof *req);
    json_t *o = api_request_object(body, len, content_type, "POST /v1/datasets", fields, res);
    if (!o) return -1;
    int rc = -1;
    json_t *name = json_object_get(o, "name"), *kind = json_object_get(o, "kind");
    json_t *desc = json_object_get(o, "description");
    if (!name) {
        api_response_error(res, 422, "missing_field", "name is required");
    } else if (!json_is_string(name)) {
        api_response_error(res, 422, "wrong_type", "name must be a string");
    } else if (json_string_length(name) == 0 || json_string_length(name) > DATASETS_JSON_NAME_MAX ||
               strlen(json_string_value(name)) != json_string_length(name)) {
        api_response_error(res, 422, "invalid_name",
                           "name must be 1 to %d characters of letters, digits, '_', '.', '-'",
                           DATASETS_JSON_NAME_MAX);
    } else if (!kind) {
        api_response_error(res, 422, "missing_field", "kind is required (\"ecg\" or \"task\")");
    } else if (!json_is_string(kind) || (strcmp(json_string_value(kind), "ecg") != 0 &&
                                         strcmp(json_string_value(kind), "task") != 0)) {
        api_response_error(res, 422, "invalid_kind", "kind must be \"ecg\" or \"task\"");
    } else if (desc && !json_is_null(desc) && !json_is_string(desc)) {
        api_response_error(res, 422, "wrong_type", "description must be a string");
    } else if (desc && json_is_string(desc) &&
               (json_string_length(desc) > DATASETS_JSON_DESC_MAX ||
                strlen(json_string_value(desc)) != json_string_length(desc))) {
        api_response_error(res, 422, "invalid_value",
                           "description must be at most %d bytes without NUL",
                           DATASETS_JSON_DESC_MAX);
    } else {
        snprintf(req->name, sizeof req->name, "%s", json_string_value(name));
        req->kind_task = strcmp(json_string_value(kind), "task") == 0;
        if (desc && json_is_string(desc))
            snprintf(req->description, sizeof req->description, "%s", json_string_value(desc));
        rc = 0;
    }
    json_decref(o);
    return rc;
}

int datasets_parse_list(const char *kind, const char *limit, const char *cursor,
                        datasets_list_query *q, api_response *res) {
    memset(q, 0, sizeof *q);
    q->limit = 50;
    if (kind && strcmp(kind, "ecg") != 0 && strcmp(kind, "task") != 0) {
        api_response_error(res, 422, "invalid_value", "kind must be ecg or task");
        return -1;
    }
    q->kind = kind;
    return api_parse_paging(limit, cursor, 500, 0, 0, &q->limit, &q->cursor, res);
}

int datasets_check_split(const char *split, const char *format, api_response *res) {
    if (!split || (strcmp(split, "train") != 0 && strcmp(split, "test") != 0)) {
        api_response_error(res, 404, "not_found", "a task dataset's splits are train and test");
        return -1;
    }
    if (format && strcmp(format, "ts") != 0 && strcmp(format, "arff") != 0 &&
        strcmp(format, "ucr") != 0) {
        api_response_error(res, 415, "unsupported_format",
                           "format \"%.20s\" is not a split format (ts, arff, ucr)", format);
        return -1;
    }
    return 0;
}

json_t *datasets_record_json(const datasets_record_view *v) {
    json_t *leads = json_array();
    for (int k = 0; k < 12; k++)
        if ((v->lead_mask >> k) & 1) json_array_append_new(leads, json_string(LEADS[k]));
    return json_pack("{s:I, s:s, s:I, s:s, s:s, s:f, s:I, s:o, s:i, s:f}", "dataset_id",
                     (json_int_t)v->dataset_id, "dataset", v->dataset, "index",
                     (json_int_t)v->index, "format", v->format, "source", v->source, "fs", v->fs,
                     "n_samples", (json_int_t)v->n_samples, "leads", leads, "n_leads",
                     (int)json_array_size(leads), "seconds", v->seconds);
}

json_t *datasets_split_stats_json(const task_split *t, const char *file, const char *format) {
    size_t lo = 0, hi = 0;
    for (int i = 0; i < t->n_series; i++) {
        if (i == 0 || t->length[i] < lo) lo = t->length[i];
        if (t->length[i] > hi) hi = t->length[i];
    }
    json_t *names = json_array(), *counts = json_object();
    for (int k = 0; k < t->n_classes; k++) {
        int n = 0;
        for (int i = 0; i < t->n_series; i++)
            n += t->label[i] == k;
        json_array_append_new(names, json_string(t->class_names[k]));
        json_object_set_new(counts, t->class_names[k], json_integer(n));
    }
    return json_pack("{s:s, s:s, s:i, s:i, s:o, s:o, s:i, s:I, s:I}", "file", file, "format",
                     format, "n_series", t->n_series, "n_classes", t->n_classes, "class_names",
                     names, "class_counts", counts, "dims", t->n_dims, "min_length", (json_int_t)lo,
                     "max_length", (json_int_t)hi);
}

json_t *datasets_view_json(const datasets_view *v) {
    json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s?, s:I, s:f, s:f, s:o}", "id",
                          (json_int_t)v->id, "name", v->name, "kind", v->kind, "state", v->state,
                          "path", v->path, "description", v->description, "n_records",
                          (json_int_t)v->n_records, "seconds", v->seconds, "hours",
                          v->seconds / 3600.0, "created_at", api_json_timestamp(v->created_at));
    if (j && v->splits) json_object_set(j, "splits", v->splits);
    return j;
}

json_t *datasets_list_page_json(json_t *items, long long next) {
    return json_pack("{s:O, s:o}", "datasets", items, "next_cursor",
                     next ? json_integer(next) : json_null());
}

json_t *datasets_ecg_stats_json(const datasets_ecg_stats *s) {
    json_t *fs = json_object(), *fmt = json_object(), *leads = json_object();
    for (size_t i = 0; i < s->n_fs; i++)
        json_object_set_new(fs, s->fs[i].key, json_integer(s->fs[i].count));
    for (size_t i = 0; i < s->n_formats; i++)
        json_object_set_new(fmt, s->formats[i].key, json_integer(s->formats[i].count));
    for (int k = 0; k < 12; k++)
        json_object_set_new(leads, LEADS[k], json_integer(s->lead_coverage[k]));
    return json_pack("{s:o, s:o, s:o, s:I, s:f, s:f, s:f, s:f}", "sampling_rates", fs, "formats",
                     fmt, "lead_coverage", leads, "records", (json_int_t)s->records,
                     "total_seconds", s->total_seconds, "total_hours", s->total_seconds / 3600.0,
                     "min_seconds", s->min_seconds, "max_seconds", s->max_seconds);
}

json_t *datasets_task_stats_json(json_t *splits) {
    json_t *tr = json_object_get(splits, "train"), *te = json_object_get(splits, "test");
    json_t *names = json_array(), *lengths = json_object();
    json_int_t dims = 0;
    json_t *sp[2] = {tr, te};
    const char *sn[2] = {"train", "test"};
    for (int s = 0; s < 2; s++) {
        if (!sp[s]) continue;
        size_t i, k;
        json_t *v, *w;
        json_array_foreach(json_object_get(sp[s], "class_names"), i, v) {
            int seen = 0;
            json_array_foreach(names, k, w) seen |= json_equal(v, w);
            if (!seen) json_array_append(names, v);
        }
        if (!dims) dims = json_integer_value(json_object_get(sp[s], "dims"));
        json_object_set_new(lengths, sn[s],
                            json_pack("{s:O, s:O}", "min", json_object_get(sp[s], "min_length"),
                                      "max", json_object_get(sp[s], "max_length")));
    }
    return json_pack("{s:I, s:I, s:I, s:o, s:I, s:o}", "n_train",
                     tr ? json_integer_value(json_object_get(tr, "n_series")) : 0, "n_test",
                     te ? json_integer_value(json_object_get(te, "n_series")) : 0, "n_classes",
                     (json_int_t)json_array_size(names), "class_names", names, "dims", dims,
                     "lengths", lengths);
}

json_t *datasets_batch_json(const datasets_batch_view *v) {
    return json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:s?}", "dataset_id",
                     (json_int_t)v->dataset_id, "dataset", v->dataset, "format", v->format,
                     "first_index", (json_int_t)v->first_index, "found", (json_int_t)v->found,
                     "imported", (json_int_t)v->imported, "skipped", (json_int_t)v->skipped,
                     "first_skip", v->first_skip && *v->first_skip ? v->first_skip : NULL);
}

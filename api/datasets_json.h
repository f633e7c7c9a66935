/* datasets_json.h — the /v1/datasets requests on the api side: the create body, the list query,
 * the upload options, and the answers for an appended record and a stored split. */
#ifndef ECGFM_API_DATASETS_JSON_H
#define ECGFM_API_DATASETS_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "api/response.h"
#include "core/data/task.h"

#define DATASETS_JSON_NAME_MAX 64
#define DATASETS_JSON_DESC_MAX 1024

typedef struct {
    char name[DATASETS_JSON_NAME_MAX + 1];
    int kind_task; /* 0 "ecg", 1 "task" */
    char description[DATASETS_JSON_DESC_MAX + 1];
} datasets_create_request;

/* POST /v1/datasets {"name", "kind": "ecg"|"task", "description"?}. 0, or -1 with res filled
 * (415 not JSON, 400 malformed, 422 missing/wrong field). The name's character rules are the
 * server's (datasets_name_valid); here only its type and length. */
int datasets_parse_create(const char *body, size_t len, const char *content_type,
                          datasets_create_request *req, api_response *res);

typedef struct {
    const char *kind; /* NULL, "ecg" or "task" */
    long long limit;  /* 1..500, default 50 */
    long long cursor; /* list ids above this; 0 from the start */
} datasets_list_query;

/* GET /v1/datasets ?kind= &limit= &cursor=. 0, or -1 with res filled (422). */
int datasets_parse_list(const char *kind, const char *limit, const char *cursor,
                        datasets_list_query *q, api_response *res);

/* PUT /v1/datasets/{id}/splits/{split}: split must be "train" or "test" (404 otherwise, there is
 * no such resource); ?format= ts|arff|ucr (415 otherwise). 0 or -1 with res filled. */
int datasets_check_split(const char *split, const char *format, api_response *res);

/* The answer to an appended record (201). */
typedef struct {
    long long dataset_id;
    const char *dataset;
    long long index;
    const char *format;
    const char *source;
    double fs;
    size_t n_samples;
    unsigned lead_mask; /* bit k: standard lead k */
    double seconds;
} datasets_record_view;
json_t *datasets_record_json(const datasets_record_view *v);

/* The answer to an upload of many records (an HDF5 file, 201). */
typedef struct {
    long long dataset_id;
    const char *dataset;
    const char *format;
    long long first_index, found, imported, skipped;
    const char *first_skip; /* "" when none */
} datasets_batch_view;
/* {"dataset_id", "dataset", "format", "first_index", "found", "imported", "skipped",
 * "first_skip"?}. */
json_t *datasets_batch_json(const datasets_batch_view *v);

/* A dataset row as the API shows it. */
typedef struct {
    long long id;
    const char *name, *kind, *state, *path;
    const char *description; /* NULL: none */
    long long n_records;
    double seconds;       /* at the store's 240 Hz (ECG) */
    long long created_at; /* Unix seconds */
    json_t *splits;       /* task datasets: meta.splits (borrowed), else NULL */
} datasets_view;
/* {"id", "name", "kind", "state", "path", "description", "n_records", "seconds", "hours",
 * "created_at", "splits"?}. */
json_t *datasets_view_json(const datasets_view *v);
/* {"datasets": items (borrowed), "next_cursor": next or null when 0}. */
json_t *datasets_list_page_json(json_t *items, long long next);

typedef struct {
    char key[64]; /* a sampling rate ("%g") or a format name */
    long long count;
} datasets_count_item;

/* An ECG dataset's stats from its records rows. */
typedef struct {
    long long records;
    double total_seconds, min_seconds, max_seconds;
    long long lead_coverage[12]; /* records having standard lead k */
    datasets_count_item *fs, *formats;
    size_t n_fs, n_formats;
} datasets_ecg_stats;
/* {"records", "total_seconds", "total_hours", "min_seconds", "max_seconds", "sampling_rates":
 * {fs: records}, "lead_coverage": {lead: records}, "formats": {format: records}}. */
json_t *datasets_ecg_stats_json(const datasets_ecg_stats *s);
/* A task dataset's stats from its splits' stats (NULL: none uploaded): {"n_train", "n_test",
 * "n_classes", "class_names" (train's order, then test-only classes), "dims", "lengths": {split:
 * {"min", "max"}}}. */
json_t *datasets_task_stats_json(json_t *splits);

/* One task split's stats: {"file", "format", "n_series", "n_classes", "class_names",
 * "class_counts", "dims", "min_length", "max_length"}. */
json_t *datasets_split_stats_json(const task_split *t, const char *file, const char *format);

#endif

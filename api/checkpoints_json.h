/* checkpoints_json.h — the checkpoints resource on the api side: a checkpoint row as JSON, the list
 * query (objective, limit, cursor) checked at the edge, and which names an upload may take. */
#ifndef ECGFM_API_CHECKPOINTS_JSON_H
#define ECGFM_API_CHECKPOINTS_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "api/response.h"

#define CHECKPOINT_NAME_MAX 63 /* characters of a checkpoint name */

/* One checkpoint as the endpoints show it (filled by server/checkpoints.c from its row). */
typedef struct {
    long long id;
    char name[128];
    char objective[16];    /* "" when unknown (uploaded) */
    char *model_config;    /* JSON object text, owned by whoever filled the view */
    long long dataset_id;  /* <= 0 unknown */
    char dataset[128];     /* the dataset's name, "" when unknown */
    long long subset_size; /* < 0 unknown */
    long long step;        /* < 0 unknown */
    double val_loss;       /* NaN unknown */
    long long job_id;      /* <= 0 none */
    char sha256[65];
    long long size_bytes;
    int is_default;
    long long created_at;
} checkpoint_view;

typedef struct {
    const char *objective; /* NULL: any */
    long long limit;       /* 1..500, default 50 */
    long long cursor;      /* 0: from the newest; else ids below it */
} checkpoints_list_query;

/* {"id", "name", "model", "objective", "dataset": {"id", "name"} (either may be null) | null,
 * "subset_size", "step",
 * "val_loss", "job_id", "sha256", "size_bytes", "is_default", "created_at"} (unknowns null). */
json_t *checkpoints_view_json(const checkpoint_view *v);
void checkpoints_answer_one(const checkpoint_view *v, int status, api_response *res);
/* {"checkpoints": [...], "next_cursor": id or null}. */
void checkpoints_answer_list(const checkpoint_view *vs, size_t n, long long next_cursor,
                             api_response *res);
/* 0, or -1 with res the 422 naming the bad parameter. */
int checkpoints_parse_list(const char *objective, const char *limit, const char *cursor,
                           checkpoints_list_query *q, api_response *res);
/* A name an upload may take: 1..CHECKPOINT_NAME_MAX of [A-Za-z0-9._-], starting with a letter or
 * digit, not all digits (ids are), not "default". 0 with why filled otherwise. */
int checkpoints_name_ok(const char *name, char *why, size_t why_size);

#endif

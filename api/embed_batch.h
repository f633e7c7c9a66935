/* embed_batch.h — POST /v1/embed/batch on the api side: {"records": [ {embed body}, ... ]} split
 * into the byte ranges of its records without building a JSON tree (each record is then read by
 * embed_parse_request exactly as a POST /v1/embed body), and the per-record answers put together.
 */
#ifndef ECGFM_API_EMBED_BATCH_H
#define ECGFM_API_EMBED_BATCH_H

#include <stddef.h>

#include <jansson.h>

#include "api/response.h"

typedef struct {
    size_t offset, len; /* the record's object in the body */
} embed_batch_range;

/* 0 and *ranges (malloc'd, *n of them, 1..max_records) on success; otherwise res holds the
 * answer (415 not JSON, 400 malformed or wrong types or missing "records", 422 unknown field or
 * no records, 413 more than max_records) and -1. */
int embed_batch_split(const char *body, size_t len, const char *content_type, size_t max_records,
                      embed_batch_range **ranges, size_t *n, api_response *res);

/* A failed record's entry: {"error": {...}} taken from an error answer (res is left as it was). */
json_t *embed_batch_item_error(const api_response *res);
/* {"results": [...], "n_ok", "n_failed"}; steals results. */
json_t *embed_batch_answer(json_t *results, size_t n_ok, size_t n_failed);

#endif

/* json_common.h — JSON pieces the API endpoints share: a request body read into an object whose
 * top-level fields are checked against a list, the list endpoints' limit/cursor, and timestamps. */
#ifndef ECGFM_API_JSON_COMMON_H
#define ECGFM_API_JSON_COMMON_H

#include <jansson.h>
#include <stddef.h>

#include "api/response.h"

/* 0 when content_type is application/json (parameters allowed). */
int api_is_json_content_type(const char *content_type);

/* A POST body as a JSON object (duplicate keys refused) whose keys are all in fields (a
 * NULL-terminated list). On failure res holds the answer (415 not JSON, naming route, e.g.
 * "POST /v1/keys"; 400 malformed or not an object; 422 unknown field) and NULL is returned. The
 * caller owns the object (json_decref). */
json_t *api_request_object(const char *body, size_t len, const char *content_type,
                           const char *route, const char *const *fields, api_response *res);

/* 1 when s (NULL: never) is one of list (NULL-terminated), else 0. */
int api_in_list(const char *s, const char *const *list);

/* An object's keys all in allowed (NULL-terminated): 0, or -1 with res the 422 unknown_field
 * "unknown parameter PREFIXKEY (allowed: ALLOWED_TEXT)" for the first other key (prefix names where
 * the object sits, e.g. "params." or "params.spec."). */
int api_check_keys(json_t *obj, const char *prefix, const char *const *allowed,
                   const char *allowed_text, api_response *res);

/* The list endpoints' paging query parameters: *limit (default 50) from limit_s in [1, limit_max]
 * and *cursor (default 0) from cursor_s in [cursor_min, 2^62]; a NULL string keeps the default.
 * A value is a whole decimal number (strtoll: leading blanks and a sign pass) unless digits_only,
 * where it must start with a digit. 0, or -1 with res the 422 invalid_value naming the parameter
 * and its range ("limit must be an integer in [1, 200]"), limit checked first. */
int api_parse_paging(const char *limit_s, const char *cursor_s, long long limit_max,
                     long long cursor_min, int digits_only, long long *limit, long long *cursor,
                     api_response *res);

/* JSON text a row stores (a job's params, a study's spec, a checkpoint's model config) as a value
 * for an answer: the parsed value, or JSON null when text is NULL or does not parse. */
json_t *api_json_stored(const char *text);

/* A list answer's items: one (taken) appended to arr; arr, or NULL with arr freed when one is NULL
 * or cannot be appended. Build with arr = json_array(), then arr = api_json_append(arr, item) while
 * arr is not NULL. */
json_t *api_json_append(json_t *arr, json_t *one);

/* A list answer: 200 {"KEY": items, "next_cursor": next_cursor, or null when it is 0} (items
 * taken; NULL answers out of memory). */
void api_answer_page(api_response *res, const char *key, json_t *items, long long next_cursor);

/* RFC 3339 UTC ("2026-01-02T03:04:05Z"), or JSON null for 0 (and when it cannot be formatted). */
json_t *api_json_timestamp(long long unix_seconds);

#endif

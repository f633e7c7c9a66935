/* json_common.h — JSON pieces the API endpoints share: a request body read into an object whose
 * top-level fields are checked against a list, and timestamps in answers. */
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

/* RFC 3339 UTC ("2026-01-02T03:04:05Z"), or JSON null for 0 (and when it cannot be formatted). */
json_t *api_json_timestamp(long long unix_seconds);

#endif

/* keys.h — the API-key endpoints on the api side: a POST /v1/keys body becomes a plain request,
 * stored key descriptions become JSON. Hashing and storage are the server's (server/auth.c). */
#ifndef ECGFM_API_KEYS_H
#define ECGFM_API_KEYS_H

#include <stddef.h>

#include "api/json_common.h"
#include "api/response.h"

typedef struct {
    long long id;
    const char *name;
    const char *scope;
    const char *prefix;
    long long created_at; /* Unix seconds */
    long long revoked_at; /* 0 when active */
} keys_view;

typedef struct {
    char scope[16];
    char name[128];
} keys_create_request;

/* Parse a POST /v1/keys body ({"scope": "read"|"embed"|"train"|"admin", "name": "..."}). 0 on
 * success; otherwise res holds the 4xx (415 not JSON, 400 malformed, 422 invalid) and -1. */
int keys_parse_create(const char *body, size_t len, const char *content_type,
                      keys_create_request *req, api_response *res);
/* 201 {key fields..., "key": "efm_..."}. */
void keys_answer_created(const keys_view *k, const char *key, api_response *res);
/* 200 {"keys": [...]}. */
void keys_answer_list(const keys_view *ks, size_t n, api_response *res);
/* 200 {key fields} (after a revocation). */
void keys_answer_one(const keys_view *k, api_response *res);

#endif

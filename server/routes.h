/* routes.h — which handler answers which method and path, with the scope it needs and its
 * OpenAPI description. Unknown paths get 404, known paths with the wrong method 405 (with Allow),
 * /v1 routes without a fitting key 401/403, all in the SPEC's JSON error shape. */
#ifndef ECGFM_SERVER_ROUTES_H
#define ECGFM_SERVER_ROUTES_H

#include <stddef.h>

#include "api/response.h"
#include "server/auth.h"
#include "server/db.h"

typedef struct {
    const char *version;
    const char *data_dir;
    double started_s;     /* CLOCK_MONOTONIC seconds at start, for uptime */
    db *db;               /* NULL when the database could not be opened */
    const char *db_error; /* why, when db is NULL */
    int metrics_need_key; /* GET /metrics wants a read key */
    struct embed_worker *embed; /* the default model's inference worker, NULL when none */
    struct jobs *jobs;          /* the job scheduler, NULL when none */
    const char *configs_dir;    /* model configs for jobs: configs_dir/models/NAME.json */
} routes_ctx;

#define ROUTES_MAX_PARAMS 4

/* One request as handlers see it. Strings are NUL-terminated and live until the answer is sent. */
typedef struct routes_request {
    const char *method;
    const char *path;          /* without the query string */
    const char *body;          /* NUL-terminated; "" when none */
    size_t body_len;
    const char *content_type;  /* header value or NULL */
    const char *authorization; /* header value or NULL */
    const char *last_event_id; /* Last-Event-ID header (an EventSource reconnecting) or NULL */
    /* Query parameter lookup (NULL when absent); conn is the server's connection handle. */
    const char *(*query_fn)(void *conn, const char *name);
    void *conn;
    /* Answer later (work on another thread): returns the handle to pass to http_finish_deferred
     * (loop thread, exactly once); the connection is suspended when the handler returns with res
     * left empty. NULL outside the HTTP server. */
    void *(*defer_fn)(void *http_req);
    void *http_req;
    /* Filled by routes_dispatch: */
    const char *params[ROUTES_MAX_PARAMS]; /* the {name} segments of the path, in order */
    char param_buf[512];
    const char *route;  /* matched route pattern ("/v1/keys/{id}"), "unmatched" otherwise */
    auth_key_info key;  /* the caller's key, when the route needs one */
    /* Request header lookup (NULL when absent), e.g. Range, If-None-Match; conn as above. */
    const char *(*header_fn)(void *conn, const char *name);
} routes_request;

/* A query parameter of rq, or NULL. */
const char *routes_query(const routes_request *rq, const char *name);
/* A request header of rq, or NULL. */
const char *routes_header(const routes_request *rq, const char *name);

/* The {id} of rq's path as a positive decimal integer (no sign, blank or overflow); else 0 with
 * res the 404 not_found "no WHAT ID" (no such row can exist). */
long long routes_path_id(const routes_request *rq, const char *what, api_response *res);

/* Fill res for rq (method, path and headers set; the rest is filled here). */
void routes_dispatch(const routes_ctx *ctx, routes_request *rq, api_response *res);
/* CLOCK_MONOTONIC in seconds. */
double routes_now_s(void);

/* The table as documentation: what GET /v1/openapi.json is built from (for tests). */
typedef struct {
    const char *method;
    const char *path;
    const char *summary;
    auth_scope scope;
    const char *request_schema;  /* component schema of the JSON body, NULL for none */
    const char *response_schema; /* component schema of the success body, NULL for non-JSON */
    int status;                  /* success status */
} routes_doc;
/* 1 when method and path are a route that takes file uploads (its body may be up to
 * max_upload_bytes rather than max_body_bytes). */
int routes_is_upload(const char *method, const char *path);
/* Copies up to cap entries into out; returns how many routes there are. */
size_t routes_docs(routes_doc *out, size_t cap);
/* Handlers: gather server state, call api/ to answer. */
typedef void (*route_fn)(const routes_ctx *ctx, const routes_request *rq, api_response *res);

#endif

/* routes.h — which handler answers which method and path. Unknown paths get 404, known paths with
 * the wrong method 405 (with Allow), both in the SPEC's JSON error shape. */
#ifndef ECGFM_SERVER_ROUTES_H
#define ECGFM_SERVER_ROUTES_H

#include "api/response.h"

typedef struct {
    const char *version;
    const char *data_dir;
    double started_s; /* CLOCK_MONOTONIC seconds at start, for uptime */
} routes_ctx;

/* Fill res for method and path (path without the query string). */
void routes_dispatch(const routes_ctx *ctx, const char *method, const char *path,
                     api_response *res);
/* CLOCK_MONOTONIC in seconds. */
double routes_now_s(void);

#endif

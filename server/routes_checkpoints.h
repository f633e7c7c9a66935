/* routes_checkpoints.h — the /v1/checkpoints endpoints: list, get, download (ETag, Range), upload
 * (validated), mark the default for embedding (the worker switches between batches), delete. */
#ifndef ECGFM_SERVER_ROUTES_CHECKPOINTS_H
#define ECGFM_SERVER_ROUTES_CHECKPOINTS_H

#include <uv.h>

#include "server/routes.h"

/* Uploads do their file work on loop's thread pool (without it, on the calling thread). */
void routes_checkpoints_configure(uv_loop_t *loop);

void routes_checkpoints_list(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_checkpoints_get(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_checkpoints_file(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_checkpoints_upload(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_checkpoints_default(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_checkpoints_delete(const routes_ctx *ctx, const routes_request *rq, api_response *res);

#endif

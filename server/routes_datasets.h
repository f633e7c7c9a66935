/* routes_datasets.h — the /v1/datasets endpoints; their file work (parsing uploads, appending,
 * writing splits, removing datasets) runs on libuv's pool while the connection waits suspended. */
#ifndef ECGFM_SERVER_ROUTES_DATASETS_H
#define ECGFM_SERVER_ROUTES_DATASETS_H

#include <uv.h>

#include "server/routes.h"

/* The loop whose thread pool runs the file work (serve.c, before serving). Without it the work is
 * done on the calling thread. */
void routes_datasets_configure(uv_loop_t *loop);

void routes_datasets_create(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_datasets_list(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_datasets_get(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_datasets_delete(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_datasets_add_record(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_datasets_put_split(const routes_ctx *ctx, const routes_request *rq, api_response *res);

#endif

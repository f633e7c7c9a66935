/* route_embed_batch.h — POST /v1/embed/batch: many POST /v1/embed bodies in one request, each
 * record its own job on the embedding worker, per-record errors beside the others' embeddings. */
#ifndef ECGFM_SERVER_ROUTE_EMBED_BATCH_H
#define ECGFM_SERVER_ROUTE_EMBED_BATCH_H

#include "server/routes.h"

void route_embed_batch_post(const routes_ctx *ctx, const routes_request *rq, api_response *res);

#endif

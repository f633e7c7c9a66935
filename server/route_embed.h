/* route_embed.h — POST /v1/embed: parse and window the ECG on the loop thread, embed it on the
 * inference worker, answer from the worker's completion (the connection waits suspended). */
#ifndef ECGFM_SERVER_ROUTE_EMBED_H
#define ECGFM_SERVER_ROUTE_EMBED_H

#include "server/routes.h"

/* The embed worker when its model is ready for embeds; else NULL with res the 503 not_ready naming
 * why (shared by POST /v1/embed and /v1/embed/batch). */
struct embed_worker *route_embed_worker(const routes_ctx *ctx, api_response *res);

void route_embed_post(const routes_ctx *ctx, const routes_request *rq, api_response *res);

#endif

/* route_embed.h — POST /v1/embed: parse and window the ECG on the loop thread, embed it on the
 * inference worker, answer from the worker's completion (the connection waits suspended). */
#ifndef ECGFM_SERVER_ROUTE_EMBED_H
#define ECGFM_SERVER_ROUTE_EMBED_H

#include "server/routes.h"

void route_embed_post(const routes_ctx *ctx, const routes_request *rq, api_response *res);

#endif

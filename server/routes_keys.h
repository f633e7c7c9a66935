/* routes_keys.h — handlers of POST /v1/keys, GET /v1/keys and DELETE /v1/keys/{id} (admin scope):
 * auth.c does the storing, api/keys.c the JSON. */
#ifndef ECGFM_SERVER_ROUTES_KEYS_H
#define ECGFM_SERVER_ROUTES_KEYS_H

#include "server/routes.h"

void routes_keys_create(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_keys_list(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_keys_revoke(const routes_ctx *ctx, const routes_request *rq, api_response *res);

#endif

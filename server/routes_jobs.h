/* routes_jobs.h — the /v1/jobs endpoints: parse with api/jobs.c, act through server/jobs.c. */
#ifndef ECGFM_SERVER_ROUTES_JOBS_H
#define ECGFM_SERVER_ROUTES_JOBS_H

#include "server/routes.h"

void routes_jobs_create(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_jobs_list(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_jobs_get(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_jobs_events(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_jobs_cancel(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_jobs_retry(const routes_ctx *ctx, const routes_request *rq, api_response *res);

#endif

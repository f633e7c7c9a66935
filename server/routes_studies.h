/* routes_studies.h — the /v1/studies endpoints: a study is a study job plus its row; create through
 * the job scheduler, read the rows and the study's output files under data_dir/studies/<id>/. */
#ifndef ECGFM_SERVER_ROUTES_STUDIES_H
#define ECGFM_SERVER_ROUTES_STUDIES_H

#include "server/routes.h"

void routes_studies_create(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_studies_list(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_studies_get(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_studies_file(const routes_ctx *ctx, const routes_request *rq, api_response *res);

#endif

/* routes_transfer.h — POST /v1/transfer (synchronous, small tasks), GET /v1/probes[/{id}] and
 * POST /v1/classify: parsed on the loop thread, run on the transfer worker, answered from there. */
#ifndef ECGFM_SERVER_ROUTES_TRANSFER_H
#define ECGFM_SERVER_ROUTES_TRANSFER_H

#include <stddef.h>

#include "server/routes.h"

struct transfer_worker;

/* What these routes need beside routes_ctx: set once by serve.c before serving (loop thread). */
typedef struct routes_transfer_cfg {
    struct transfer_worker *worker;    /* NULL: the routes answer 503 */
    long long max_series;              /* train + test series of a synchronous transfer (413) */
    long long classify_max_series;     /* series per classify request (413) */
    long long classify_max_length;     /* samples per channel of one classify series (413) */
    long long embed_batch_max_records; /* records per POST /v1/embed/batch (413) */
    int threads;                       /* compute threads of a synchronous transfer */
} routes_transfer_cfg;

/* Copies cfg; routes_transfer_config() returns the copy (NULL before the first call). */
void routes_transfer_configure(const routes_transfer_cfg *cfg);
const routes_transfer_cfg *routes_transfer_config(void);

void routes_transfer_post(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_probes_list(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_probes_get(const routes_ctx *ctx, const routes_request *rq, api_response *res);
void routes_classify_post(const routes_ctx *ctx, const routes_request *rq, api_response *res);

#endif

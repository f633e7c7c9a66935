/* routes_jobs.c — the /v1/jobs endpoints (see routes_jobs.h). Handlers run on the loop thread and
 * only touch SQLite briefly; the training itself is on the jobs' own threads. */
#include "server/routes_jobs.h"

#include <errno.h>
#include <stdlib.h>

#include "api/jobs.h"
#include "server/jobs.h"

static int have_jobs(const routes_ctx *ctx, api_response *res) {
    if (ctx->jobs) return 1;
    api_response_error(res, 503, "not_ready", "the job scheduler is not running");
    return 0;
}

void routes_jobs_create(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    if (!have_jobs(ctx, res)) return;
    jobs_create_request req;
    if (jobs_parse_create(rq->body, rq->body_len, rq->content_type,
                          ctx->configs_dir ? ctx->configs_dir : "configs",
                          jobs_thread_budget(ctx->jobs), &req, res))
        return;
    jobs_submit(ctx->jobs, &req, res);
    json_decref(req.params);
}

void routes_jobs_list(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    if (!have_jobs(ctx, res)) return;
    jobs_list_query q;
    if (jobs_parse_list(routes_query(rq, "state"), routes_query(rq, "kind"),
                        routes_query(rq, "limit"), routes_query(rq, "cursor"), &q, res))
        return;
    jobs_list(ctx->jobs, &q, res);
}

void routes_jobs_get(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    long long id = routes_path_id(rq, "job", res);
    if (id && have_jobs(ctx, res)) jobs_get(ctx->jobs, id, res);
}

void routes_jobs_events(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    long long id = routes_path_id(rq, "job", res);
    if (!id || !have_jobs(ctx, res)) return;
    /* ?after= or, from an EventSource that reconnects, its Last-Event-ID header. */
    const char *a = routes_query(rq, "after");
    if (!a) a = rq->last_event_id;
    long long after = 0;
    if (a) {
        char *end;
        errno = 0;
        after = strtoll(a, &end, 10);
        if (errno || end == a || *end || after < 0) {
            api_response_error(res, 422, "invalid_value",
                               "after (or Last-Event-ID) must be a non-negative event id");
            return;
        }
    }
    jobs_events(ctx->jobs, id, after, res);
}

void routes_jobs_cancel(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    long long id = routes_path_id(rq, "job", res);
    if (id && have_jobs(ctx, res)) jobs_cancel(ctx->jobs, id, res);
}

void routes_jobs_retry(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    long long id = routes_path_id(rq, "job", res);
    if (id && have_jobs(ctx, res)) jobs_retry(ctx->jobs, id, res);
}

/* route_embed.c — POST /v1/embed (see route_embed.h). The loop thread only parses and resamples
 * (bounded by the body limit); every encoder forward runs on the worker. */
#include "server/route_embed.h"

#include <stdlib.h>
#include <string.h>

#include "api/embed.h"
#include "server/embed_worker.h"
#include "server/http.h"

typedef struct {
    embed_job job; /* first: the worker hands this pointer back */
    embed_windows w;
    embed_pooling pooling;
    char checkpoint[64];
    void *deferred;
} embed_call;

static void call_free(embed_call *c) {
    free(c->job.emb);
    embed_windows_free(&c->w);
    free(c);
}

/* Loop thread, once the worker has embedded every window. */
static void on_done(embed_job *job) {
    embed_call *c = (embed_call *)job;
    api_response res = {0};
    if (job->code) {
        api_response_error(&res, 500, "inference_failed", "the encoder failed: %s", job->msg);
    } else {
        json_t *j = embed_result_json(job->emb, c->w.n_windows, embed_worker_dim(job->user),
                                      c->pooling, c->checkpoint, &c->w);
        api_response_json(&res, 200, j);
    }
    http_finish_deferred(c->deferred, &res);
    call_free(c);
}

void route_embed_post(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    embed_worker *w = ctx->embed;
    const char *why = "the embedding worker is not running";
    if (!w || embed_worker_ready(w, &why) != 1) {
        api_response_error(res, 503, "not_ready", "the embedding model is not ready: %s", why);
        return;
    }
    embed_http_input in = {rq->body,
                           rq->body_len,
                           rq->content_type,
                           routes_query(rq, "format"),
                           routes_query(rq, "pooling"),
                           routes_query(rq, "checkpoint"),
                           routes_query(rq, "fs")};
    embed_request req;
    if (embed_parse_request(&in, &req, res)) return;
    embed_call *c = calloc(1, sizeof *c);
    if (!c) {
        embed_request_free(&req);
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return;
    }
    c->pooling = req.pooling;
    snprintf(c->checkpoint, sizeof c->checkpoint, "%s", req.checkpoint);
    embed_limits lim = {embed_worker_max_windows(w)};
    ecg_err err = {0};
    ecg_code rc = embed_windows_make(&c->w, &req.rec, embed_worker_window(w),
                                     embed_worker_zscore(w), &lim, &err);
    embed_request_free(&req);
    if (rc) {
        if (rc == ECG_ENOMEM)
            api_response_error(res, 500, "out_of_memory", "%s", err.msg);
        else if (strncmp(err.msg, "record too long", 15) == 0)
            api_response_error(res, 413, "record_too_long", "%s", err.msg);
        else
            api_response_error(res, 422, "unusable_record", "%s", err.msg);
        call_free(c);
        return;
    }
    size_t dim = (size_t)embed_worker_dim(w);
    c->job.emb = malloc((c->w.n_windows ? c->w.n_windows : 1) * dim * sizeof(float));
    if (!c->job.emb || !rq->defer_fn) {
        api_response_error(res, 500, "out_of_memory", "cannot queue the request");
        call_free(c);
        return;
    }
    c->job.x = c->w.x;
    c->job.n_windows = c->w.n_windows;
    c->job.done = on_done;
    c->job.user = w;
    int st = embed_worker_submit(w, &c->job);
    if (st == 429) {
        api_response_error(res, 429, "queue_full",
                           "the embedding queue is full (%d requests); retry shortly",
                           embed_worker_queue_max(w));
        call_free(c);
        return;
    }
    if (st) {
        api_response_error(res, 503, "shutting_down", "the service is shutting down");
        call_free(c);
        return;
    }
    /* The completion runs on this thread, so it cannot overtake the deferral. */
    c->deferred = rq->defer_fn(rq->http_req);
}

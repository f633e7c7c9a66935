/* route_embed.c — POST /v1/embed (see route_embed.h). The loop thread only parses and resamples
 * (bounded by the body limit); every encoder forward runs on the worker. A request naming a
 * checkpoint whose encoder the worker has not loaded first sends a probe job that loads it (its
 * window size and input scaling decide how the record is cut), then the embedding job. */
#include "server/route_embed.h"

#include <stdlib.h>
#include <string.h>

#include "api/embed.h"
#include "server/checkpoints.h"
#include "server/embed_worker.h"
#include "server/http.h"

typedef struct {
    embed_job job; /* first: the worker hands this pointer back */
    embed_worker *worker;
    embed_request req; /* the record, kept while a probe loads the model */
    embed_model model;
    embed_windows w;
    embed_output out;
    void *deferred;
} embed_call;

static void call_free(embed_call *c) {
    free(c->job.emb);
    embed_windows_free(&c->w);
    embed_request_free(&c->req);
    free(c);
}

/* Loop thread, once the worker has embedded every window. */
static void on_done(embed_job *job) {
    embed_call *c = (embed_call *)job;
    api_response res = {0};
    if (job->code) {
        api_response_error(&res, 500, "inference_failed", "the encoder failed: %s", job->msg);
    } else {
        json_t *j = embed_result_json(job->emb, c->w.n_windows, c->model.dim, &c->out,
                                      c->model.name, &c->w);
        api_response_json(&res, 200, j);
    }
    http_finish_deferred(c->deferred, &res);
    call_free(c);
}

/* Cut the record for c->model (dims known), queue the job. 0, or -1 with res the answer. */
static int submit_embedding(embed_call *c, api_response *res) {
    embed_worker *w = c->worker;
    embed_limits lim = {embed_worker_max_windows(w)};
    ecg_err err = {0};
    ecg_code rc = embed_windows_make(&c->w, &c->req.rec, c->model.win, c->model.zscore, &lim, &err);
    embed_request_free(&c->req);
    if (rc) {
        if (rc == ECG_ENOMEM)
            api_response_error(res, 500, "out_of_memory", "%s", err.msg);
        else if (strncmp(err.msg, "record too long", 15) == 0)
            api_response_error(res, 413, "record_too_long", "%s", err.msg);
        else
            api_response_error(res, 422, "unusable_record", "%s", err.msg);
        return -1;
    }
    size_t dim = (size_t)c->model.dim;
    c->job.emb = malloc((c->w.n_windows ? c->w.n_windows : 1) * dim * sizeof(float));
    if (!c->job.emb) {
        api_response_error(res, 500, "out_of_memory", "cannot queue the request");
        return -1;
    }
    c->job.x = c->w.x;
    c->job.n_windows = c->w.n_windows;
    c->job.probe = 0;
    c->job.done = on_done;
    int st = embed_worker_submit(w, &c->job);
    if (st == 429) {
        api_response_error(res, 429, "queue_full",
                           "the embedding queue is full (%d requests); retry shortly",
                           embed_worker_queue_max(w));
        return -1;
    }
    if (st) {
        api_response_error(res, 503, "shutting_down", "the service is shutting down");
        return -1;
    }
    return 0;
}

/* Loop thread: the probe loaded (or failed to load) the request's model. */
static void on_probed(embed_job *job) {
    embed_call *c = (embed_call *)job;
    api_response res = {0};
    if (job->code) {
        api_response_error(&res, 422, "checkpoint_unusable",
                           "checkpoint \"%s\" cannot be loaded: %s", c->model.name, job->msg);
    } else {
        c->model.dim = job->dim;
        c->model.win = job->win;
        c->model.zscore = job->zscore;
        if (submit_embedding(c, &res) == 0) return; /* on_done answers */
    }
    http_finish_deferred(c->deferred, &res);
    call_free(c);
}

/* The model req names into *m: 1 with dims known, 0 known but not loaded (probe first), -1 with
 * res the answer (404 unknown checkpoint). */
static int resolve_model(const routes_ctx *ctx, embed_worker *w, const char *ref, embed_model *m,
                         api_response *res) {
    const embed_model *def = embed_worker_default(w);
    if (strcmp(ref, "default") == 0) {
        *m = *def;
        return 1;
    }
    checkpoint_info info;
    ecg_err err = {0};
    int found = ctx->db ? checkpoints_lookup(ctx->db, ctx->data_dir, ref, &info, &err) : 0;
    if (found < 0) {
        api_response_error(res, 500, "storage_error", "%s", err.msg);
        return -1;
    }
    if (!found) {
        api_response_error(res, 404, "checkpoint_not_found",
                           "no checkpoint \"%.60s\" (see GET /v1/checkpoints)", ref);
        return -1;
    }
    if (strcmp(info.sha256, def->key) == 0) {
        *m = *def; /* the same bytes as the default: its encoder */
    } else {
        memset(m, 0, sizeof *m);
        snprintf(m->key, sizeof m->key, "%s", info.sha256);
        snprintf(m->path, sizeof m->path, "%s", info.path);
        if (!embed_worker_cached(w, m)) {
            snprintf(m->name, sizeof m->name, "%s", info.name);
            return 0;
        }
    }
    snprintf(m->name, sizeof m->name, "%s", info.name);
    return 1;
}

struct embed_worker *route_embed_worker(const routes_ctx *ctx, api_response *res) {
    embed_worker *w = ctx->embed;
    const char *why = "the embedding worker is not running";
    if (!w || embed_worker_ready(w, &why) != 1) {
        api_response_error(res, 503, "not_ready", "the embedding model is not ready: %s", why);
        return NULL;
    }
    return w;
}

void route_embed_post(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    embed_worker *w = route_embed_worker(ctx, res);
    if (!w) return;
    embed_http_input in = {rq->body,
                           rq->body_len,
                           rq->content_type,
                           routes_query(rq, "format"),
                           routes_query(rq, "pooling"),
                           routes_query(rq, "checkpoint"),
                           routes_query(rq, "fs"),
                           routes_query(rq, "normalize"),
                           routes_query(rq, "encoding")};
    embed_call *c = calloc(1, sizeof *c);
    if (!c) {
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return;
    }
    if (embed_parse_request(&in, &c->req, res)) {
        free(c);
        return;
    }
    c->worker = w;
    c->out = c->req.out;
    int loaded = resolve_model(ctx, w, c->req.checkpoint, &c->model, res);
    if (loaded < 0 || !rq->defer_fn) {
        if (loaded >= 0) api_response_error(res, 500, "out_of_memory", "cannot queue the request");
        call_free(c);
        return;
    }
    snprintf(c->job.model_key, sizeof c->job.model_key, "%s", c->model.key);
    snprintf(c->job.model_path, sizeof c->job.model_path, "%s", c->model.path);
    if (loaded) {
        if (submit_embedding(c, res)) {
            call_free(c);
            return;
        }
    } else {
        c->job.probe = 1;
        c->job.done = on_probed;
        int st = embed_worker_submit(w, &c->job);
        if (st) {
            if (st == 429)
                api_response_error(res, 429, "queue_full",
                                   "the embedding queue is full (%d requests); retry shortly",
                                   embed_worker_queue_max(w));
            else
                api_response_error(res, 503, "shutting_down", "the service is shutting down");
            call_free(c);
            return;
        }
    }
    /* The completion runs on this thread, so it cannot overtake the deferral. */
    c->deferred = rq->defer_fn(rq->http_req);
}

/* route_embed_batch.c — POST /v1/embed/batch: every record parsed and windowed as POST /v1/embed's
 * body on the loop thread, each one a job on the embedding worker's queue (so the worker's dynamic
 * batching packs windows of many records into one forward), one answer once all are back. */
#include "server/route_embed_batch.h"

#include <stdlib.h>
#include <string.h>

#include "api/embed.h"
#include "api/embed_batch.h"
#include "server/embed_worker.h"
#include "server/http.h"
#include "server/route_embed.h"
#include "server/routes_transfer.h"

#define EMBED_BATCH_DEFAULT_MAX 64

typedef struct batch batch;

typedef struct {
    embed_job job; /* first: the worker hands this pointer back */
    batch *b;
    embed_windows w;
    embed_output out;
    char checkpoint[64];
    json_t *result; /* the record's entry once known */
} batch_item;

struct batch {
    batch_item *items;
    size_t n, pending;
    void *deferred;
    embed_worker *worker;
};

static void batch_free(batch *b) {
    for (size_t i = 0; i < b->n; i++) {
        free(b->items[i].job.emb);
        embed_windows_free(&b->items[i].w);
        json_decref(b->items[i].result);
    }
    free(b->items);
    free(b);
}

static json_t *item_error(int status, const char *code, const char *msg) {
    api_response r = {0};
    api_response_error(&r, status, code, "%s", msg);
    json_t *j = embed_batch_item_error(&r);
    api_response_free(&r);
    return j;
}

/* The whole answer from the items' entries; b is freed. */
static void batch_answer(batch *b, api_response *res) {
    json_t *arr = json_array();
    size_t ok = 0, failed = 0;
    for (size_t i = 0; arr && i < b->n; i++) {
        json_t *r = b->items[i].result;
        b->items[i].result = NULL;
        if (!r) r = item_error(500, "internal", "the record got no answer");
        if (json_object_get(r, "error"))
            failed++;
        else
            ok++;
        if (json_array_append_new(arr, r)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    api_response_json(res, 200, arr ? embed_batch_answer(arr, ok, failed) : NULL);
    batch_free(b);
}

/* Loop thread, once the worker has embedded every window of one record. */
static void on_item_done(embed_job *job) {
    batch_item *it = (batch_item *)job;
    batch *b = it->b;
    if (job->code)
        it->result = item_error(500, "inference_failed", job->msg);
    else
        it->result = embed_result_json(job->emb, it->w.n_windows, embed_worker_dim(b->worker),
                                       &it->out, it->checkpoint, &it->w);
    if (--b->pending == 0) {
        api_response res = {0};
        void *deferred = b->deferred; /* batch_answer frees b */
        batch_answer(b, &res);
        http_finish_deferred(deferred, &res);
    }
}

/* Parse and window record i; on failure its entry is the error. 0 when it is ready to queue. */
static int item_prepare(batch *b, size_t i, const routes_request *rq, const char *text,
                        size_t len) {
    batch_item *it = &b->items[i];
    api_response er = {0};
    embed_http_input in = {text,
                           len,
                           "application/json",
                           NULL,
                           routes_query(rq, "pooling"),
                           routes_query(rq, "checkpoint"),
                           NULL,
                           routes_query(rq, "normalize"),
                           routes_query(rq, "encoding")};
    embed_request req;
    if (embed_parse_request(&in, &req, &er)) {
        it->result = embed_batch_item_error(&er);
        api_response_free(&er);
        return -1;
    }
    it->out = req.out;
    /* Records run on the default checkpoint, named in each answer as /v1/embed names it; another
     * checkpoint is refused rather than silently replaced by the default. */
    if (strcmp(req.checkpoint, "default") != 0) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "/v1/embed/batch embeds with the default checkpoint; use /v1/embed for "
                 "\"%.60s\"",
                 req.checkpoint);
        embed_request_free(&req);
        it->result = item_error(422, "checkpoint_unsupported", msg);
        return -1;
    }
    snprintf(it->checkpoint, sizeof it->checkpoint, "%.63s", embed_worker_default(b->worker)->name);
    embed_limits lim = {embed_worker_max_windows(b->worker)};
    ecg_err err = {0};
    ecg_code rc = embed_windows_make(&it->w, &req.rec, embed_worker_window(b->worker),
                                     embed_worker_zscore(b->worker), &lim, &err);
    embed_request_free(&req);
    if (rc) {
        if (rc == ECG_ENOMEM)
            it->result = item_error(500, "out_of_memory", err.msg);
        else if (strncmp(err.msg, "record too long", 15) == 0)
            it->result = item_error(413, "record_too_long", err.msg);
        else
            it->result = item_error(422, "unusable_record", err.msg);
        return -1;
    }
    size_t dim = (size_t)embed_worker_dim(b->worker);
    it->job.emb = malloc((it->w.n_windows ? it->w.n_windows : 1) * dim * sizeof(float));
    if (!it->job.emb) {
        it->result = item_error(500, "out_of_memory", "out of memory");
        return -1;
    }
    it->job.x = it->w.x;
    it->job.n_windows = it->w.n_windows;
    it->job.done = on_item_done;
    it->job.user = b->worker;
    return 0;
}

void route_embed_batch_post(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    embed_worker *w = route_embed_worker(ctx, res);
    if (!w) return;
    const routes_transfer_cfg *tc = routes_transfer_config();
    long long max = tc && tc->embed_batch_max_records > 0 ? tc->embed_batch_max_records
                                                          : EMBED_BATCH_DEFAULT_MAX;
    embed_batch_range *ranges = NULL;
    size_t n = 0;
    if (embed_batch_split(rq->body, rq->body_len, rq->content_type, (size_t)max, &ranges, &n, res))
        return;
    batch *b = calloc(1, sizeof *b);
    if (b) b->items = calloc(n, sizeof *b->items);
    if (!b || !b->items || !rq->defer_fn) {
        if (b) free(b->items);
        free(b);
        free(ranges);
        api_response_error(res, 500, "out_of_memory", "cannot queue the batch");
        return;
    }
    b->n = n;
    b->worker = w;
    int ready_any = 0;
    for (size_t i = 0; i < n; i++) {
        b->items[i].b = b;
        if (item_prepare(b, i, rq, rq->body + ranges[i].offset, ranges[i].len) == 0) ready_any = 1;
    }
    free(ranges);
    /* Count first: a job can only complete after this handler returns (loop thread), but the
     * pending count must cover every queued record before any completion is seen. */
    size_t queued = 0, refused = 0;
    for (size_t i = 0; ready_any && i < n; i++) {
        batch_item *it = &b->items[i];
        if (it->result) continue;
        int st = embed_worker_submit(w, &it->job);
        if (st == 0) {
            queued++;
        } else if (st == 429) {
            refused++;
            it->result = item_error(429, "queue_full",
                                    "the embedding queue is full; retry this record shortly");
        } else {
            it->result = item_error(503, "shutting_down", "the service is shutting down");
        }
    }
    if (queued == 0) {
        if (refused > 0 && refused == n) {
            batch_free(b);
            api_response_error(res, 429, "queue_full",
                               "the embedding queue is full (%d requests); retry shortly",
                               embed_worker_queue_max(w));
            return;
        }
        batch_answer(b, res); /* nothing to wait for: every record failed */
        return;
    }
    b->pending = queued;
    b->deferred = rq->defer_fn(rq->http_req);
}

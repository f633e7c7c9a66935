/* routes_transfer.c — the transfer, probes and classify handlers (see routes_transfer.h). The loop
 * thread parses and queues; model work (transfer_run, encoder loads, embedding) runs on the worker.
 */
#include "server/routes_transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_common.h"
#include "api/transfer_request.h"
#include "core/model/checkpoint.h"
#include "core/transfer/classify.h"
#include "core/transfer/transfer.h"
#include "server/checkpoints.h"
#include "server/datasets.h"
#include "server/probes.h"
#include "server/transfer_service.h"
#include "server/transfer_worker.h"

static routes_transfer_cfg g_cfg;
static int g_configured;

void routes_transfer_configure(const routes_transfer_cfg *cfg) {
    g_cfg = *cfg;
    g_configured = 1;
}

const routes_transfer_cfg *routes_transfer_config(void) {
    return g_configured ? &g_cfg : NULL;
}

static const routes_transfer_cfg *cfg_of(const routes_ctx *ctx, api_response *res) {
    const routes_transfer_cfg *t = routes_transfer_config();
    if (!t || !t->worker || !ctx->db) {
        api_response_error(res, 503, "not_ready", "the transfer worker is not running");
        return NULL;
    }
    return t;
}

/* Queue it and suspend the request; on refusal res holds the answer and it is freed. */
static void submit(const routes_transfer_cfg *t, const routes_request *rq, tw_item *it,
                   const char *what, api_response *res) {
    if (!rq->defer_fn) {
        api_response_error(res, 500, "internal", "cannot defer the request");
        it->free(it);
        return;
    }
    int st = transfer_worker_submit(t->worker, it);
    if (st == 429) {
        api_response_error(res, 429, "queue_full",
                           "%s requests are queued or running (at most %d); retry shortly, or use "
                           "a transfer job (POST /v1/jobs)",
                           what, transfer_worker_queue_max(t->worker));
        it->free(it);
        return;
    }
    if (st) {
        api_response_error(res, 503, "shutting_down", "the service is shutting down");
        it->free(it);
        return;
    }
    /* The answer is delivered on this thread, so it cannot overtake the deferral. */
    it->deferred = rq->defer_fn(rq->http_req);
}

/* ---- POST /v1/transfer ---- */

typedef struct {
    tw_item item; /* first */
    transfer_post_request req;
    db *db;
    const char *data_dir;
    long long max_series;
    int threads;
} transfer_call;

static void transfer_call_free(tw_item *it) {
    transfer_call *c = (transfer_call *)it;
    transfer_post_request_free(&c->req);
    free(c);
}

static void transfer_run_item(tw_item *it, transfer_worker *w, const atomic_int *cancel,
                              api_response *res) {
    (void)w;
    transfer_call *c = (transfer_call *)it;
    ecg_err err = {0};
    dataset_info ds;
    int f = datasets_lookup(c->db, c->data_dir, c->req.task, &ds, &err);
    if (f < 0) {
        api_response_error(res, 500, "storage_error", "%s", err.msg);
        return;
    }
    if (f == 0) {
        api_response_error(res, 404, "dataset_not_found", "task dataset \"%s\" does not exist",
                           c->req.task);
        return;
    }
    if (ds.kind == DATASET_TASK && ds.n_records > c->max_series) {
        api_response_error(res, 413, "task_too_large",
                           "task dataset \"%s\" has %lld train + test series; POST /v1/transfer "
                           "runs at most %lld (transfer_max_series): queue a transfer job instead "
                           "(POST /v1/jobs with kind \"transfer\")",
                           ds.name, ds.n_records, c->max_series);
        return;
    }
    transfer_service_request sr = {c->req.checkpoint, ds.name, c->req.mapping, c->req.seed,
                                   c->req.save_probe, 0,       c->threads};
    json_t *report = NULL;
    ecg_code rc = transfer_service_run(c->db, c->data_dir, &sr, cancel, &report, &err);
    if (rc == ECG_OK) {
        api_response_json(res, 200, report);
    } else if (atomic_load(cancel)) {
        api_response_error(res, 503, "shutting_down", "the service is shutting down");
    } else if (rc == ECG_ENOTFOUND) {
        int ck = strncmp(err.msg, "checkpoint", 10) == 0;
        api_response_error(res, 404, ck ? "checkpoint_not_found" : "dataset_not_found", "%s",
                           err.msg);
    } else if (rc == ECG_EINVAL) {
        api_response_error(res, 422, "invalid_transfer", "%s", err.msg);
    } else if (rc == ECG_ENOMEM) {
        api_response_error(res, 500, "out_of_memory", "%s", err.msg);
    } else {
        api_response_error(res, 500, "transfer_failed", "%s", err.msg);
    }
}

void routes_transfer_post(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    const routes_transfer_cfg *t = cfg_of(ctx, res);
    if (!t) return;
    transfer_call *c = calloc(1, sizeof *c);
    if (!c) {
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return;
    }
    if (transfer_parse_post(rq->body, rq->body_len, rq->content_type, &c->req, res)) {
        free(c);
        return;
    }
    c->item.run = transfer_run_item;
    c->item.free = transfer_call_free;
    c->db = ctx->db;
    c->data_dir = ctx->data_dir;
    c->max_series = t->max_series;
    c->threads = t->threads;
    submit(t, rq, &c->item, "transfer", res);
}

/* ---- GET /v1/probes, GET /v1/probes/{id} ---- */

static long long parse_int(const char *s, long long lo, long long hi, int *bad) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) *bad = 1;
    return v;
}

void routes_probes_list(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    const char *sl = routes_query(rq, "limit"), *sc = routes_query(rq, "cursor");
    int bad = 0;
    long long limit = sl ? parse_int(sl, 1, 200, &bad) : 50;
    if (bad) {
        api_response_error(res, 422, "invalid_value", "limit must be an integer in [1, 200]");
        return;
    }
    long long cursor = sc ? parse_int(sc, 1, 1ll << 62, &bad) : 0;
    if (bad) {
        api_response_error(res, 422, "invalid_value", "cursor must be a positive integer");
        return;
    }
    probe_row *rows = NULL;
    size_t n = 0;
    ecg_err err = {0};
    if (probes_list(ctx->db, cursor, limit, &rows, &n, &err)) {
        api_response_error(res, 500, "storage_error", "%s", err.msg);
        return;
    }
    size_t shown = n > (size_t)limit ? (size_t)limit : n;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < shown; i++)
        arr = api_json_append(arr, probes_row_json(&rows[i]));
    long long next = n > shown ? rows[shown - 1].id : 0;
    for (size_t i = 0; i < n; i++)
        probes_row_free(&rows[i]);
    free(rows);
    api_answer_page(res, "probes", arr, next);
}

void routes_probes_get(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    int bad = 0;
    long long id = parse_int(rq->params[0], 1, 1ll << 62, &bad);
    if (bad) {
        api_response_error(res, 404, "probe_not_found", "no probe %.40s", rq->params[0]);
        return;
    }
    probe_row r;
    ecg_err err = {0};
    int f = probes_get(ctx->db, id, &r, &err);
    if (f < 0) {
        api_response_error(res, 500, "storage_error", "%s", err.msg);
        return;
    }
    if (f == 0) {
        api_response_error(res, 404, "probe_not_found", "no probe %lld", id);
        return;
    }
    api_response_json(res, 200, probes_row_json(&r));
    probes_row_free(&r);
}

/* ---- POST /v1/classify ---- */

typedef struct {
    tw_item item; /* first */
    char *body;
    size_t body_len;
    db *db;
    const char *data_dir;
    classify_limits lim;
} classify_call;

static void classify_call_free(tw_item *it) {
    classify_call *c = (classify_call *)it;
    free(c->body);
    free(c);
}

static void free_encoder(void *e) {
    encoder_free(e);
}

/* The checkpoint's encoder, kept on the worker between requests (keyed by file and hash). */
static encoder *classify_encoder(transfer_worker *w, const checkpoint_info *ck, ecg_err *err) {
    char key[1400];
    snprintf(key, sizeof key, "%s#%s", ck->path, ck->sha256);
    encoder *e = transfer_worker_cache(w, key);
    if (e) return e;
    if (checkpoint_load_encoder(ck->path, TRANSFER_BATCH, ENC_INFERENCE_ONLY, &e, err)) return NULL;
    encoder_set_frozen(e, 1);
    transfer_worker_cache_set(w, key, e, free_encoder);
    return e;
}

static json_t *predictions_json(const int *pred, const float *prob, int n, int K,
                                const json_t *names) {
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++) {
        json_t *p = json_array();
        for (int k = 0; p && k < K; k++)
            if (json_array_append_new(p, json_real(prob[(size_t)i * (size_t)K + (size_t)k]))) {
                json_decref(p);
                p = NULL;
            }
        json_t *name = json_array_get(names, (size_t)pred[i]);
        json_t *o = p ? json_pack("{s:O, s:i, s:o}", "class", name ? name : json_null(), "index",
                                  pred[i], "probabilities", p)
                      : NULL;
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static void classify_run_item(tw_item *it, transfer_worker *w, const atomic_int *cancel,
                              api_response *res) {
    (void)cancel;
    classify_call *c = (classify_call *)it;
    task_split s;
    long long pid = 0;
    if (classify_parse_request(c->body, c->body_len, "application/json", &c->lim, &pid, &s, res))
        return;
    probe_row row;
    memset(&row, 0, sizeof row);
    probe_model m;
    memset(&m, 0, sizeof m);
    float *emb = NULL, *prob = NULL;
    int *pred = NULL;
    ecg_err err = {0};
    int f = probes_get(c->db, pid, &row, &err);
    if (f <= 0) {
        if (f < 0)
            api_response_error(res, 500, "storage_error", "%s", err.msg);
        else
            api_response_error(res, 404, "probe_not_found", "no probe %lld", pid);
        task_split_free(&s);
        return;
    }
    const json_t *spec = row.spec;
    int n_dims = (int)json_integer_value(json_object_get(spec, "n_dims"));
    json_t *names = json_object_get(spec, "class_names");
    map_opts map;
    if (n_dims > 0 && s.n_dims != n_dims) {
        api_response_error(res, 422, "wrong_channels",
                           "probe %lld was fitted on %d-channel series; these have %d", pid, n_dims,
                           s.n_dims);
        goto done;
    }
    if (transfer_mapping_parse(json_object_get(spec, "mapping"), s.n_dims, &map, &err)) {
        api_response_error(res, 422, "invalid_mapping", "probe %lld: %s", pid, err.msg);
        goto done;
    }
    checkpoint_info ck;
    char ref[32];
    snprintf(ref, sizeof ref, "%lld", row.checkpoint_id);
    f = checkpoints_lookup(c->db, c->data_dir, ref, &ck, &err);
    if (f <= 0) {
        if (f < 0)
            api_response_error(res, 500, "storage_error", "%s", err.msg);
        else
            api_response_error(res, 404, "checkpoint_not_found",
                               "the checkpoint of probe %lld (id %lld) no longer exists", pid,
                               row.checkpoint_id);
        goto done;
    }
    char path[1300];
    snprintf(path, sizeof path, "%s/%s", c->data_dir, row.path);
    encoder *e = NULL;
    if (!row.path[0] || probe_load(&m, path, &err) || !(e = classify_encoder(w, &ck, &err))) {
        api_response_error(res, 500, "probe_unusable", "probe %lld: %s", pid,
                           row.path[0] ? err.msg : "no weights file");
        goto done;
    }
    int dim = encoder_get_config(e)->d_model, K = m.n_classes;
    if (m.dim != dim) {
        api_response_error(res, 500, "probe_unusable",
                           "probe %lld takes %d features; its checkpoint embeds %d", pid, m.dim,
                           dim);
        goto done;
    }
    emb = malloc((size_t)s.n_series * (size_t)dim * sizeof *emb);
    prob = malloc((size_t)s.n_series * (size_t)K * sizeof *prob);
    pred = malloc((size_t)s.n_series * sizeof *pred);
    if (!emb || !prob || !pred) {
        api_response_error(res, 500, "out_of_memory", "out of memory classifying");
        goto done;
    }
    ecg_code rc = transfer_embed_split(e, &map, &s, emb, NULL, &err);
    if (!rc) rc = probe_predict(&m, emb, s.n_series, pred, prob, &err);
    if (rc) {
        api_response_error(res, rc == ECG_EINVAL ? 422 : 500,
                           rc == ECG_EINVAL ? "unusable_series" : "inference_failed", "%s",
                           err.msg);
        goto done;
    }
    json_t *preds = predictions_json(pred, prob, s.n_series, K, names);
    api_response_json(res, 200,
                      preds ? json_pack("{s:I, s:I, s:s, s:o, s:O}", "probe", (json_int_t)pid,
                                        "checkpoint_id", (json_int_t)ck.id, "checkpoint", ck.name,
                                        "predictions", preds, "class_names", names)
                            : NULL);
done:
    free(emb);
    free(prob);
    free(pred);
    probe_free(&m);
    probes_row_free(&row);
    task_split_free(&s);
}

void routes_classify_post(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    const routes_transfer_cfg *t = cfg_of(ctx, res);
    if (!t) return;
    if (api_is_json_content_type(rq->content_type)) {
        api_response_error(res, 415, "unsupported_media_type",
                           "POST /v1/classify takes a JSON body (Content-Type: application/json)");
        return;
    }
    classify_call *c = calloc(1, sizeof *c);
    if (c) c->body = malloc(rq->body_len + 1);
    if (!c || !c->body) {
        free(c);
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return;
    }
    memcpy(c->body, rq->body, rq->body_len);
    c->body[rq->body_len] = '\0';
    c->body_len = rq->body_len;
    c->item.run = classify_run_item;
    c->item.free = classify_call_free;
    c->db = ctx->db;
    c->data_dir = ctx->data_dir;
    c->lim.max_series = (size_t)t->classify_max_series;
    c->lim.max_length = (size_t)t->classify_max_length;
    submit(t, rq, &c->item, "transfer and classify", res);
}

/* routes.c — the route table (see routes.h). Each entry names its handler, the scope a key needs,
 * and its OpenAPI summary and schemas, so the served document is built from the table itself.
 * Handlers only gather server state and call api/; resources add their rows with their issues. */
#include "server/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/health.h"
#include "api/openapi.h"
#include "server/datadir.h"
#include "server/embed_worker.h"
#include "server/metrics.h"
#include "server/route_embed.h"
#include "server/route_embed_batch.h"
#include "server/routes_datasets.h"
#include "server/routes_checkpoints.h"
#include "server/routes_jobs.h"
#include "server/routes_keys.h"
#include "server/routes_studies.h"
#include "server/routes_transfer.h"

typedef struct {
    routes_doc doc;
    route_fn fn;
    int upload; /* bodies up to max_upload_bytes instead of max_body_bytes (routes_is_upload) */
} route;

double routes_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *routes_query(const routes_request *rq, const char *name) {
    return rq->query_fn ? rq->query_fn(rq->conn, name) : NULL;
}

const char *routes_header(const routes_request *rq, const char *name) {
    return rq->header_fn ? rq->header_fn(rq->conn, name) : NULL;
}

long long routes_path_id(const routes_request *rq, const char *what, api_response *res) {
    const char *s = rq->params[0];
    char *end;
    errno = 0;
    long long id = s ? strtoll(s, &end, 10) : 0;
    if (!s || errno || *end || id <= 0 || s[0] == '+' || s[0] == ' ') {
        api_response_error(res, 404, "not_found", "no %s %.32s", what, s ? s : "");
        return 0;
    }
    return id;
}

static health_state health_gather(const routes_ctx *ctx, char *why, size_t why_size) {
    health_state s = {0};
    s.version = ctx->version;
    s.uptime_s = routes_now_s() - ctx->started_s;
    s.data_dir = ctx->data_dir;
    s.data_dir_ok = datadir_check(ctx->data_dir, why, why_size);
    s.data_dir_error = s.data_dir_ok ? NULL : why;
    s.db_ready = db_is_ready(ctx->db);
    s.db_error = ctx->db ? "migrations have not run" : ctx->db_error;
    s.schema_version = db_schema_version(ctx->db);
    if (ctx->embed) {
        s.model_path = embed_worker_model_path(ctx->embed);
        s.model_state = embed_worker_ready(ctx->embed, &s.model_error);
    }
    return s;
}

static void route_healthz(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    (void)rq;
    health_state s = {0};
    s.version = ctx->version;
    s.uptime_s = routes_now_s() - ctx->started_s;
    health_get_healthz(&s, res);
}

static void route_readyz(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    (void)rq;
    char why[256];
    health_state s = health_gather(ctx, why, sizeof why);
    health_get_readyz(&s, res);
}

static void route_metrics(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    (void)ctx;
    (void)rq;
    size_t len = 0;
    char *text = metrics_render(&len);
    if (!text) {
        api_response_error(res, 500, "out_of_memory", "out of memory rendering the metrics");
        return;
    }
    res->status = 200;
    res->body = text;
    res->body_len = len;
    res->content_type = METRICS_CONTENT_TYPE;
}

static void route_openapi(const routes_ctx *ctx, const routes_request *rq, api_response *res);
static int path_match(const char *pattern, const char *path, routes_request *rq);

/* Rows leave `upload` out (0) unless they take file uploads. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
/* clang-format off */
static const route ROUTES[] = {
    {{"GET", "/healthz", "Liveness: the process serves HTTP", AUTH_SCOPE_NONE, NULL, "Health", 200},
     route_healthz},
    {{"GET", "/readyz", "Readiness: 503 until the data directory and database are ready",
      AUTH_SCOPE_NONE, NULL, "Ready", 200}, route_readyz},
    {{"GET", "/metrics", "Prometheus text exposition (a read key when metrics_require_key is set)",
      AUTH_SCOPE_NONE, NULL, NULL, 200}, route_metrics},
    {{"GET", "/v1/openapi.json", "This document", AUTH_SCOPE_READ, NULL, "OpenApiDocument", 200},
     route_openapi},
    {{"POST", "/v1/keys", "Create an API key; the key is in this answer only", AUTH_SCOPE_ADMIN,
      "KeyCreate", "KeyCreated", 201}, routes_keys_create},
    {{"GET", "/v1/keys", "List API keys (never the keys themselves)", AUTH_SCOPE_ADMIN, NULL,
      "KeyList", 200}, routes_keys_list},
    {{"DELETE", "/v1/keys/{id}", "Revoke an API key", AUTH_SCOPE_ADMIN, NULL, "Key", 200},
     routes_keys_revoke},
    {{"POST", "/v1/embed", "Embed one ECG (JSON signal or an uploaded file) with the default model",
      AUTH_SCOPE_EMBED, "EmbedRequest", "Embedding", 200}, route_embed_post},
    /* Datasets (server/routes_datasets.c) */
    {{"POST", "/v1/datasets", "Create a dataset (kind ecg: records; kind task: train/test splits)",
      AUTH_SCOPE_TRAIN, "DatasetCreate", "Dataset", 201}, routes_datasets_create},
    {{"GET", "/v1/datasets", "List datasets by id (query: kind, limit, cursor)", AUTH_SCOPE_READ,
      NULL, "DatasetList", 200}, routes_datasets_list},
    {{"GET", "/v1/datasets/{id}", "A dataset (id or name) with its stats: records, hours, "
      "sampling rates, lead coverage, formats; or a task's splits and classes", AUTH_SCOPE_READ,
      NULL, "Dataset", 200}, routes_datasets_get},
    {{"DELETE", "/v1/datasets/{id}", "Delete a dataset, its rows and files (409 while a queued "
      "or running job names it)", AUTH_SCOPE_TRAIN, NULL, "DatasetDeleted", 200},
     routes_datasets_delete},
    {{"POST", "/v1/datasets/{id}/records", "Append one ECG record to an ECG dataset: multipart "
      "(WFDB .hea + .dat parts, or one EDF, CSV, .npy file), a raw file body (Content-Type or "
      "?format=, ?fs= for npy), the JSON form of POST /v1/embed, or a CODE-15% HDF5 file (every "
      "exam in it)", AUTH_SCOPE_TRAIN,
      "EmbedRequest", "DatasetRecord", 201}, routes_datasets_add_record, 1},
    {{"PUT", "/v1/datasets/{id}/splits/{split}", "Store a task dataset's train or test split "
      "(raw body or multipart; ?format=ts|arff|ucr, else the file name's extension, else "
      "sniffed), validated by parsing", AUTH_SCOPE_TRAIN, NULL, "DatasetSplit", 200},
     routes_datasets_put_split, 1},
    {{"POST", "/v1/jobs", "Queue a job (kind pretrain, finetune, transfer, import or study; "
      "params as JobCreate documents)",
      AUTH_SCOPE_TRAIN, "JobCreate", "Job", 201}, routes_jobs_create},
    {{"GET", "/v1/jobs", "List jobs, newest first (query: state, kind, limit, cursor)",
      AUTH_SCOPE_READ, NULL, "JobList", 200}, routes_jobs_list},
    {{"GET", "/v1/jobs/{id}", "A job: state, parameters, progress, result or error",
      AUTH_SCOPE_READ, NULL, "Job", 200}, routes_jobs_get},
    {{"GET", "/v1/jobs/{id}/events", "Server-Sent Events of a job's progress and state changes "
      "(text/event-stream; query: after=EVENT_ID); ends when the job is finished",
      AUTH_SCOPE_READ, NULL, NULL, 200}, routes_jobs_events},
    {{"POST", "/v1/jobs/{id}/cancel", "Cancel a job (a running one saves its state, then stops)",
      AUTH_SCOPE_TRAIN, NULL, "Job", 200}, routes_jobs_cancel},
    {{"POST", "/v1/jobs/{id}/retry", "Queue a failed or cancelled job again (same parameters)",
      AUTH_SCOPE_TRAIN, NULL, "Job", 200}, routes_jobs_retry},
    /* Checkpoints (server/routes_checkpoints.c) */
    {{"GET", "/v1/checkpoints", "List checkpoints, newest first (query: objective, limit, cursor)",
      AUTH_SCOPE_READ, NULL, "CheckpointList", 200}, routes_checkpoints_list},
    {{"GET", "/v1/checkpoints/{id}", "A checkpoint (id or name): model config, objective, "
      "dataset and subset size, step, validation loss, job, sha256, size, default or not",
      AUTH_SCOPE_READ, NULL, "Checkpoint", 200}, routes_checkpoints_get},
    {{"GET", "/v1/checkpoints/{id}/file", "Download the safetensors file "
      "(application/octet-stream; ETag and If-None-Match, a single byte Range gives 206)",
      AUTH_SCOPE_READ, NULL, NULL, 200}, routes_checkpoints_file},
    {{"POST", "/v1/checkpoints", "Upload a safetensors encoder checkpoint (raw "
      "application/octet-stream body or a multipart file part; ?name=), validated by loading it",
      AUTH_SCOPE_TRAIN, NULL, "Checkpoint", 201}, routes_checkpoints_upload, 1},
    {{"POST", "/v1/checkpoints/{id}/default", "Make a checkpoint the default for /v1/embed (the "
      "answer comes once the embed worker uses it)", AUTH_SCOPE_ADMIN, NULL, "Checkpoint", 200},
     routes_checkpoints_default},
    {{"DELETE", "/v1/checkpoints/{id}", "Delete a checkpoint's row and file (409 for the "
      "default)", AUTH_SCOPE_ADMIN, NULL, "CheckpointDeleted", 200}, routes_checkpoints_delete},
    /* Studies (server/routes_studies.c): a study is a study job plus its row */
    {{"POST", "/v1/studies", "Queue a scaling study (a study job): ECG dataset, task datasets, "
      "spec (sizes, objectives, model, seeds, epochs, ...)", AUTH_SCOPE_TRAIN, "StudyCreate",
      "Study", 201}, routes_studies_create},
    {{"GET", "/v1/studies", "List studies, newest first (query: limit, cursor)", AUTH_SCOPE_READ,
      NULL, "StudyList", 200}, routes_studies_list},
    {{"GET", "/v1/studies/{id}", "A study: state, spec, progress, result (table and fits) when "
      "done, its files", AUTH_SCOPE_READ, NULL, "Study", 200}, routes_studies_get},
    {{"GET", "/v1/studies/{id}/files/{name}", "A study's output file: table.csv, table.json, "
      "fit.json, scaling.svg, scaling_knn.svg, scaling_finetune.svg, loss.svg or README.md",
      AUTH_SCOPE_READ, NULL, NULL, 200}, routes_studies_file},
    /* Transfer, probes, classify and embed batch (server/routes_transfer.c, route_embed_batch.c) */
    {{"POST", "/v1/transfer", "Zero-shot transfer of a checkpoint to a small task dataset "
      "(synchronous; larger tasks: a transfer job); optionally saves the linear probe",
      AUTH_SCOPE_TRAIN, "TransferRequest", "TransferReport", 200}, routes_transfer_post},
    {{"GET", "/v1/probes", "List saved linear probes, newest first (query: limit, cursor)",
      AUTH_SCOPE_READ, NULL, "ProbeList", 200}, routes_probes_list},
    {{"GET", "/v1/probes/{id}", "A saved probe: checkpoint, task, mapping, classes, test metrics",
      AUTH_SCOPE_READ, NULL, "Probe", 200}, routes_probes_get},
    {{"POST", "/v1/classify", "Classify series with a saved probe (mapped and embedded with the "
      "probe's checkpoint)", AUTH_SCOPE_EMBED, "ClassifyRequest", "Classification", 200},
     routes_classify_post},
    {{"POST", "/v1/embed/batch", "Embed many ECGs (each record a POST /v1/embed JSON body); "
      "per-record errors do not fail the others", AUTH_SCOPE_EMBED, "EmbedBatchRequest",
      "EmbedBatchResult", 200}, route_embed_batch_post},
};
/* clang-format on */
#pragma GCC diagnostic pop
#define N_ROUTES (sizeof ROUTES / sizeof ROUTES[0])

size_t routes_docs(routes_doc *out, size_t cap) {
    for (size_t i = 0; i < N_ROUTES && i < cap; i++) out[i] = ROUTES[i].doc;
    return N_ROUTES;
}

int routes_is_upload(const char *method, const char *path) {
    routes_request rq;
    for (size_t i = 0; i < N_ROUTES; i++)
        if (ROUTES[i].upload && strcmp(ROUTES[i].doc.method, method) == 0 &&
            path_match(ROUTES[i].doc.path, path, &rq))
            return 1;
    return 0;
}

static void route_openapi(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    (void)rq;
    routes_doc docs[N_ROUTES];
    openapi_route ops[N_ROUTES];
    routes_docs(docs, N_ROUTES);
    for (size_t i = 0; i < N_ROUTES; i++) {
        ops[i] = (openapi_route){docs[i].method,          docs[i].path,
                                 docs[i].summary,         NULL,
                                 docs[i].request_schema,  docs[i].response_schema,
                                 docs[i].status};
        if (docs[i].scope != AUTH_SCOPE_NONE) ops[i].scope = auth_scope_name(docs[i].scope);
    }
    openapi_get_document(ops, N_ROUTES, ctx->version, res);
}

/* Allow values must outlive the answer; there are only as many as paths with several methods. */
static const char *intern_allow(const char *allow) {
    static char seen[16][128];
    static size_t n_seen;
    for (size_t i = 0; i < n_seen; i++)
        if (strcmp(seen[i], allow) == 0) return seen[i];
    if (n_seen == 16) return NULL;
    snprintf(seen[n_seen], sizeof seen[n_seen], "%s", allow);
    return seen[n_seen++];
}

/* Does path match pattern? {name} segments match any non-empty segment and are collected. */
static int path_match(const char *pattern, const char *path, routes_request *rq) {
    size_t np = 0, used = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *se = strchr(s, '/');
            size_t len = se ? (size_t)(se - s) : strlen(s);
            if (!pe || len == 0 || np == ROUTES_MAX_PARAMS || used + len + 1 > sizeof rq->param_buf)
                return 0;
            memcpy(rq->param_buf + used, s, len);
            rq->param_buf[used + len] = '\0';
            rq->params[np++] = rq->param_buf + used;
            used += len + 1;
            p = pe + 1;
            s += len;
            continue;
        }
        if (*p != *s) return 0;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

static void answer_auth(auth_result r, const routes_request *rq, auth_scope need,
                        api_response *res) {
    switch (r) {
    case AUTH_MISSING:
        api_response_error(res, 401, "missing_api_key",
                           "%s needs an API key: send Authorization: Bearer <key>", rq->path);
        break;
    case AUTH_INVALID:
        api_response_error(res, 401, "invalid_api_key",
                           "the API key is not valid (unknown, malformed or revoked)");
        break;
    case AUTH_FORBIDDEN:
        api_response_error(res, 403, "insufficient_scope",
                           "%s %s needs a key with scope %s or higher; this key (id %lld) has %s",
                           rq->method, rq->route, auth_scope_name(need), rq->key.id,
                           auth_scope_name(rq->key.scope));
        break;
    default:
        api_response_error(res, 503, "not_ready",
                           "API keys cannot be checked: the database is not ready");
        break;
    }
}

void routes_dispatch(const routes_ctx *ctx, routes_request *rq, api_response *res) {
    char allow[128] = "";
    rq->route = "unmatched";
    const route *hit = NULL;
    for (size_t i = 0; i < N_ROUTES && !hit; i++) {
        const route *r = &ROUTES[i];
        if (!path_match(r->doc.path, rq->path, rq)) continue;
        rq->route = r->doc.path;
        int get_like = strcmp(r->doc.method, "GET") == 0 && strcmp(rq->method, "HEAD") == 0;
        if (strcmp(r->doc.method, rq->method) == 0 || get_like) {
            hit = r;
            break;
        }
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof allow - n, "%s%s%s", n ? ", " : "", r->doc.method,
                 strcmp(r->doc.method, "GET") == 0 ? ", HEAD" : "");
    }
    if (!hit) {
        if (allow[0]) {
            api_response_error(res, 405, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
                               rq->method, rq->path, allow);
            /* Allow must outlive this call: the matched patterns' method lists are few and fixed. */
            res->allow = intern_allow(allow);
            return;
        }
        rq->route = "unmatched";
        api_response_error(res, 404, "not_found", "no resource at %s", rq->path);
        return;
    }
    auth_scope need = hit->doc.scope;
    if (hit->fn == route_metrics && ctx->metrics_need_key) need = AUTH_SCOPE_READ;
    if (need != AUTH_SCOPE_NONE) {
        if (!db_is_ready(ctx->db)) {
            api_response_error(res, 503, "not_ready", "the database is not ready: %s",
                               ctx->db ? "migrations have not run" : ctx->db_error);
            return;
        }
        auth_result ar = auth_check(ctx->db, rq->authorization, need, &rq->key);
        if (ar != AUTH_OK) {
            answer_auth(ar, rq, need, res);
            return;
        }
    }
    hit->fn(ctx, rq, res);
}

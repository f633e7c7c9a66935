/* routes_datasets.c — the /v1/datasets endpoints (see routes_datasets.h). Handlers resolve the
 * dataset on the loop thread (a short read), then hand file work to the thread pool. */
#include "server/routes_datasets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/datasets_json.h"
#include "api/embed.h"
#include "api/multipart.h"
#include "server/datasets_impl.h"
#include "server/http.h"

static uv_loop_t *work_loop;

void routes_datasets_configure(uv_loop_t *loop) {
    work_loop = loop;
}

static void storage_error(api_response *res, const ecg_err *err) {
    api_response_error(res, 500, "storage_error", "the dataset store failed: %s", err->msg);
}

/* An answer from datasets_impl's status (0 never comes here). */
static void status_error(api_response *res, int status, const ecg_err *err) {
    const char *code = status == 404   ? "not_found"
                       : status == 409 ? "conflict"
                       : status == 413 ? "payload_too_large"
                       : status == 422 ? "invalid_dataset_input"
                                       : "storage_error";
    api_response_error(res, status, code, "%s", err->msg);
}

/* A failed upload into a dataset (records, HDF5 file, split): 422 is code_422 with "WHAT: reason";
 * every other status as status_error answers it (409 conflict, 404, 413, 500). */
static void upload_error(api_response *res, int status, const ecg_err *err, const char *code_422,
                         const char *what) {
    if (status == 422)
        api_response_error(res, 422, code_422, "%s: %s", what, err->msg);
    else
        status_error(res, status, err);
}

/* The {id} of the path (numeric id or name): 1 with ds filled, else res holds 404/500. */
static int find_dataset(const routes_ctx *ctx, const routes_request *rq, dataset_info *ds,
                        api_response *res) {
    ecg_err err = {0};
    int f = datasets_lookup(ctx->db, ctx->data_dir, rq->params[0], ds, &err);
    if (f < 0) storage_error(res, &err);
    if (f == 0)
        api_response_error(res, 404, "not_found", "no dataset %.80s",
                           rq->params[0] ? rq->params[0] : "");
    return f == 1;
}

/* ---- work off the loop thread ---- */

typedef struct ds_call ds_call;
struct ds_call {
    uv_work_t work;
    void (*fn)(ds_call *c); /* pool thread: fills c->res */
    db *db;
    const char *data_dir;
    dataset_info ds;
    const char *body; /* the request's (alive until the answer is sent) */
    size_t body_len;
    char content_type[256];
    char q_format[16], q_fs[32], split[8];
    datasets_create_request create;
    int have_format, have_fs, have_ctype;
    api_response res;
    void *deferred;
};

static void on_work(uv_work_t *w) {
    ds_call *c = w->data;
    c->fn(c);
}

static void after_work(uv_work_t *w, int status) {
    ds_call *c = w->data;
    if (status == UV_ECANCELED)
        api_response_error(&c->res, 503, "shutting_down", "the service is shutting down");
    http_finish_deferred(c->deferred, &c->res);
    api_response_free(&c->res);
    free(c);
}

/* Run c->fn on the pool and answer from its completion; on the calling thread when there is no
 * loop or the request cannot be deferred. Takes c. */
static void run_call(const routes_request *rq, ds_call *c, api_response *res) {
    c->work.data = c;
    if (work_loop && rq->defer_fn && uv_queue_work(work_loop, &c->work, on_work, after_work) == 0) {
        /* The completion runs on this thread, so it cannot overtake the deferral. */
        c->deferred = rq->defer_fn(rq->http_req);
        return;
    }
    c->fn(c);
    *res = c->res;
    free(c);
}

static ds_call *new_call(const routes_ctx *ctx, const routes_request *rq, const dataset_info *ds,
                         api_response *res) {
    ds_call *c = calloc(1, sizeof *c);
    if (!c) {
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return NULL;
    }
    c->db = ctx->db;
    c->data_dir = ctx->data_dir;
    if (ds) c->ds = *ds;
    c->body = rq->body;
    c->body_len = rq->body_len;
    if (rq->content_type) {
        snprintf(c->content_type, sizeof c->content_type, "%s", rq->content_type);
        c->have_ctype = 1;
    }
    const char *f = routes_query(rq, "format"), *fs = routes_query(rq, "fs");
    if (f) snprintf(c->q_format, sizeof c->q_format, "%s", f), c->have_format = 1;
    if (fs) snprintf(c->q_fs, sizeof c->q_fs, "%s", fs), c->have_fs = 1;
    return c;
}

/* ---- create, list, get ---- */

static void do_create(ds_call *c) {
    ecg_err err = {0};
    long long id = 0;
    int st = datasets_create(c->db, c->data_dir, c->create.name,
                             c->create.kind_task ? DATASET_TASK : DATASET_ECG,
                             c->create.description, &id, &err);
    if (st == 409) {
        api_response_error(&c->res, 409, "name_taken", "%s", err.msg);
        return;
    }
    if (st == 422) {
        api_response_error(&c->res, 422, "invalid_name", "%s", err.msg);
        return;
    }
    if (st) {
        storage_error(&c->res, &err);
        return;
    }
    json_t *j = datasets_get_json(c->db, id, 1, &err);
    if (!j) {
        storage_error(&c->res, &err);
        return;
    }
    api_response_json(&c->res, 201, j);
}

/* The directory and an empty store are made (and fsynced) on the pool. */
void routes_datasets_create(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    datasets_create_request req;
    if (datasets_parse_create(rq->body, rq->body_len, rq->content_type, &req, res)) return;
    ds_call *c = new_call(ctx, rq, NULL, res);
    if (!c) return;
    c->create = req;
    c->fn = do_create;
    run_call(rq, c, res);
}

void routes_datasets_list(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    datasets_list_query q;
    if (datasets_parse_list(routes_query(rq, "kind"), routes_query(rq, "limit"),
                            routes_query(rq, "cursor"), &q, res))
        return;
    ecg_err err = {0};
    json_t *j = datasets_list_json(ctx->db, q.kind, q.cursor, (int)q.limit, &err);
    if (!j) {
        storage_error(res, &err);
        return;
    }
    api_response_json(res, 200, j);
}

static void do_get(ds_call *c) {
    ecg_err err = {0};
    json_t *j = datasets_get_json(c->db, c->ds.id, 1, &err);
    if (!j) {
        if (err.code)
            storage_error(&c->res, &err);
        else
            api_response_error(&c->res, 404, "not_found", "no dataset %s", c->ds.name);
        return;
    }
    api_response_json(&c->res, 200, j);
}

/* The stats aggregate every records row of the dataset: on the pool, not the loop thread. */
void routes_datasets_get(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    dataset_info ds;
    if (!find_dataset(ctx, rq, &ds, res)) return;
    ds_call *c = new_call(ctx, rq, &ds, res);
    if (!c) return;
    c->fn = do_get;
    run_call(rq, c, res);
}

/* ---- delete ---- */

static void do_delete(ds_call *c) {
    ecg_err err = {0};
    long long job = 0;
    int st = datasets_delete(c->db, c->data_dir, c->ds.id, &job, &err);
    if (st == 409) {
        api_response_error(&c->res, 409, "dataset_in_use", "%s; cancel it or wait for it first",
                           err.msg);
        return;
    }
    if (st) {
        status_error(&c->res, st, &err);
        return;
    }
    api_response_json(
        &c->res, 200,
        json_pack("{s:I, s:s, s:b}", "id", (json_int_t)c->ds.id, "name", c->ds.name, "deleted", 1));
}

void routes_datasets_delete(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    dataset_info ds;
    if (!find_dataset(ctx, rq, &ds, res)) return;
    ds_call *c = new_call(ctx, rq, &ds, res);
    if (!c) return;
    c->fn = do_delete;
    run_call(rq, c, res);
}

/* ---- records ---- */

/* The HDF5 file signature (every HDF5 file at offset 0 unless it has a user block). */
static int is_hdf5_bytes(const char *p, size_t n) {
    return n >= 8 && memcmp(p, "\x89HDF\r\n\x1a\n", 8) == 0;
}

static int ends_with_ci(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* An upload of a CODE-15% HDF5 file (?format=hdf5, an HDF5 content type, a part named .h5 /
 * .hdf5, or the signature): 1 with its bytes in *data, 0 when it is not one (the record parser
 * takes it), -1 with c->res filled. The embed parser does not read HDF5: a file holds many
 * exams. */
static int hdf5_upload(ds_call *c, const char **data, size_t *len) {
    const char *ct = c->have_ctype ? c->content_type : "";
    int named = c->have_format && strcmp(c->q_format, "hdf5") == 0;
    if (strncasecmp(ct, "multipart/form-data", 19) == 0) {
        mp_part parts[MULTIPART_MAX_PARTS];
        int n = 0;
        api_response probe = {0};
        if (multipart_parse(c->body, c->body_len, ct, parts, &n, &probe)) {
            api_response_free(&probe);
            return 0; /* the record parser answers with the reason */
        }
        for (int i = 0; i < n; i++) {
            int h5 = ends_with_ci(parts[i].filename, ".h5") ||
                     ends_with_ci(parts[i].filename, ".hdf5") ||
                     is_hdf5_bytes((const char *)parts[i].data, parts[i].len);
            if (h5 || (named && parts[i].filename[0])) {
                *data = (const char *)parts[i].data;
                *len = parts[i].len;
                return 1;
            }
        }
        return 0;
    }
    if (named || strncasecmp(ct, "application/x-hdf5", 18) == 0 ||
        strncasecmp(ct, "application/x-hdf", 17) == 0 || is_hdf5_bytes(c->body, c->body_len)) {
        *data = c->body;
        *len = c->body_len;
        return 1;
    }
    return 0;
}

static void do_add_hdf5(ds_call *c, const char *data, size_t len) {
    ecg_err err = {0};
    datasets_batch b;
    int st = datasets_append_hdf5(c->db, &c->ds, data, len, &b, &err);
    if (st)
        upload_error(&c->res, st, &err, "invalid_file", "the hdf5 upload cannot be used");
    else {
        datasets_batch_view v = {c->ds.id, c->ds.name, "hdf5",    b.first_index,
                                 b.found,  b.imported, b.skipped, b.first_skip};
        api_response_json(&c->res, 201, datasets_batch_json(&v));
    }
}

static void do_add_record(ds_call *c) {
    const char *h5 = NULL;
    size_t h5_len = 0;
    if (hdf5_upload(c, &h5, &h5_len) == 1) {
        do_add_hdf5(c, h5, h5_len);
        return;
    }
    embed_http_input in = {c->body,
                           c->body_len,
                           c->have_ctype ? c->content_type : NULL,
                           c->have_format ? c->q_format : NULL,
                           NULL,
                           NULL,
                           c->have_fs ? c->q_fs : NULL,
                           NULL,
                           NULL};
    embed_request req;
    if (embed_parse_request(&in, &req, &c->res)) return;
    ecg_err err = {0};
    datasets_appended a;
    const char *src = req.rec.record_name[0] ? req.rec.record_name : "upload";
    int st = datasets_append_record(c->db, &c->ds, &req.rec, req.source, src, &a, &err);
    if (st)
        upload_error(&c->res, st, &err, "unusable_record", "the record cannot be stored");
    else {
        datasets_record_view v = {c->ds.id, c->ds.name,  a.idx,       req.source, src,
                                  a.fs,     a.n_samples, a.lead_mask, a.seconds};
        api_response_json(&c->res, 201, datasets_record_json(&v));
    }
    embed_request_free(&req);
}

void routes_datasets_add_record(const routes_ctx *ctx, const routes_request *rq,
                                api_response *res) {
    dataset_info ds;
    if (!find_dataset(ctx, rq, &ds, res)) return;
    if (ds.kind != DATASET_ECG) {
        api_response_error(res, 409, "wrong_kind",
                           "dataset \"%s\" is a task dataset: records go to ECG datasets; upload "
                           "its splits with PUT /v1/datasets/%s/splits/{train,test}",
                           ds.name, ds.name);
        return;
    }
    if (strcmp(ds.state, "ready") != 0) {
        api_response_error(res, 409, "conflict", "dataset \"%s\" is %s", ds.name, ds.state);
        return;
    }
    ds_call *c = new_call(ctx, rq, &ds, res);
    if (!c) return;
    c->fn = do_add_record;
    run_call(rq, c, res);
}

/* ---- splits ---- */

static void do_put_split(ds_call *c) {
    const char *data = c->body, *fmt = c->have_format ? c->q_format : NULL;
    size_t len = c->body_len;
    if (c->have_ctype && strncasecmp(c->content_type, "multipart/form-data", 19) == 0) {
        mp_part parts[MULTIPART_MAX_PARTS];
        int n = 0;
        if (multipart_parse(c->body, c->body_len, c->content_type, parts, &n, &c->res)) return;
        const mp_part *pt = multipart_file_part(parts, n);
        data = (const char *)pt->data;
        len = pt->len;
        if (!fmt && pt->filename[0]) {
            fmt = datasets_split_format_of_name(pt->filename);
            if (!fmt) {
                api_response_error(&c->res, 415, "unsupported_format",
                                   "cannot tell the split format of \"%.100s\": name it .ts, "
                                   ".arff, .tsv or .txt, or add ?format=ts|arff|ucr",
                                   pt->filename);
                return;
            }
        }
    }
    if (len == 0) {
        api_response_error(&c->res, 400, "empty_body", "send the split file as the body");
        return;
    }
    if (!fmt) fmt = datasets_split_sniff(data, len);
    ecg_err err = {0};
    json_t *stats = NULL;
    int st = datasets_put_split(c->db, &c->ds, c->split, fmt, data, len, &stats, &err);
    char what[64];
    snprintf(what, sizeof what, "the %s split cannot be used", c->split);
    if (st)
        upload_error(&c->res, st, &err, "invalid_split", what);
    else
        api_response_json(&c->res, 200,
                          json_pack("{s:I, s:s, s:s, s:o}", "dataset_id", (json_int_t)c->ds.id,
                                    "dataset", c->ds.name, "split", c->split, "stats", stats));
}

void routes_datasets_put_split(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    if (datasets_check_split(rq->params[1], routes_query(rq, "format"), res)) return;
    dataset_info ds;
    if (!find_dataset(ctx, rq, &ds, res)) return;
    if (ds.kind != DATASET_TASK) {
        api_response_error(res, 409, "wrong_kind",
                           "dataset \"%s\" is an ECG dataset: splits belong to task datasets; "
                           "upload records with POST /v1/datasets/%s/records",
                           ds.name, ds.name);
        return;
    }
    ds_call *c = new_call(ctx, rq, &ds, res);
    if (!c) return;
    snprintf(c->split, sizeof c->split, "%s", rq->params[1]);
    c->fn = do_put_split;
    run_call(rq, c, res);
}

/* routes_checkpoints.c — the /v1/checkpoints endpoints (see routes_checkpoints.h). Downloads are
 * sent from the file by MHD (never read into memory here); setting the default loads the model on
 * the embed worker's thread first (a probe job), so the answer comes once embeds use it. */
#include "server/routes_checkpoints.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "api/checkpoints_json.h"
#include "api/multipart.h"
#include "core/model/encoder.h"
#include "server/checkpoints.h"
#include "server/embed_worker.h"
#include "server/http.h"

static int have_db(const routes_ctx *ctx, api_response *res) {
    if (ctx->db && db_is_ready(ctx->db)) return 1;
    api_response_error(res, 503, "not_ready", "the database is not ready");
    return 0;
}

static void storage_error(api_response *res, const ecg_err *err) {
    api_response_error(res, 500, "storage_error", "%s", err->msg);
}

static void not_found(api_response *res, const char *ref) {
    api_response_error(res, 404, "not_found", "no checkpoint \"%.80s\" (an id or a name)", ref);
}

/* The checkpoint ref names ("default", an id or a name) into *info: 1, or 0 with res the answer
 * (503 database not ready, 500 storage error, 404 no such checkpoint). */
static int routes_lookup_checkpoint(const routes_ctx *ctx, const char *ref, checkpoint_info *info,
                                    api_response *res) {
    if (!have_db(ctx, res)) return 0;
    ecg_err err = {0};
    int found = checkpoints_lookup(ctx->db, ctx->data_dir, ref, info, &err);
    if (found < 0) {
        storage_error(res, &err);
        return 0;
    }
    if (!found) {
        not_found(res, ref);
        return 0;
    }
    return 1;
}

/* The view of ref answered with status; 0 when answered that way, -1 when res holds an error. */
static int answer_view_db(db *d, const char *ref, int status, api_response *res) {
    checkpoint_view v;
    ecg_err err = {0};
    int found = checkpoints_get_view(d, ref, &v, &err);
    if (found < 0) {
        storage_error(res, &err);
        return -1;
    }
    if (!found) {
        not_found(res, ref);
        return -1;
    }
    checkpoints_answer_one(&v, status, res);
    checkpoints_views_free(&v, 1);
    return 0;
}

static int answer_view(const routes_ctx *ctx, const char *ref, int status, api_response *res) {
    return answer_view_db(ctx->db, ref, status, res);
}

void routes_checkpoints_list(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    if (!have_db(ctx, res)) return;
    checkpoints_list_query q;
    if (checkpoints_parse_list(routes_query(rq, "objective"), routes_query(rq, "limit"),
                               routes_query(rq, "cursor"), &q, res))
        return;
    checkpoint_view *vs = NULL;
    size_t n = 0;
    ecg_err err = {0};
    if (checkpoints_list_views(ctx->db, &q, &vs, &n, &err)) {
        storage_error(res, &err);
        return;
    }
    size_t shown = n > (size_t)q.limit ? (size_t)q.limit : n;
    checkpoints_answer_list(vs, shown, n > shown ? vs[shown - 1].id : 0, res);
    checkpoints_views_free(vs, n);
    free(vs);
}

void routes_checkpoints_get(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    if (have_db(ctx, res)) answer_view(ctx, rq->params[0], 200, res);
}

/* ---- download ---- */

/* Decimal digits at *p into *v (at most 18 of them); 0, or -1 when there are none or too many. */
static int parse_num(const char **p, long long *v) {
    const char *s = *p;
    long long x = 0;
    int n = 0;
    while (isdigit((unsigned char)*s)) {
        if (++n > 18) return -1;
        x = x * 10 + (*s++ - '0');
    }
    if (!n) return -1;
    *v = x;
    *p = s;
    return 0;
}

/* A Range header against a file of size bytes: 0 none, 1 one satisfiable range [*a, *b] (b
 * clamped to the end), -1 malformed, unsatisfiable or several ranges (not served). */
static int parse_range(const char *h, long long size, long long *a, long long *b) {
    if (!h) return 0;
    while (*h == ' ' || *h == '\t')
        h++;
    if (strncasecmp(h, "bytes=", 6) != 0) return -1;
    const char *p = h + 6;
    while (*p == ' ')
        p++;
    long long first = -1, last = -1;
    if (*p == '-') { /* the last n bytes */
        p++;
        long long n;
        if (parse_num(&p, &n)) return -1;
        while (*p == ' ')
            p++;
        if (*p || n == 0 || size == 0) return -1;
        *a = n >= size ? 0 : size - n;
        *b = size - 1;
        return 1;
    }
    if (parse_num(&p, &first) || *p++ != '-') return -1;
    if (isdigit((unsigned char)*p) && parse_num(&p, &last)) return -1;
    while (*p == ' ')
        p++;
    if (*p) return -1; /* trailing bytes, or a second range after ',' */
    if (last >= 0 && last < first) return -1;
    if (first >= size) return -1;
    *a = first;
    *b = last < 0 || last >= size ? size - 1 : last;
    return 1;
}

/* Does an If-None-Match (or If-Range) list name etag ("\"hex\"")? Weak tags compare equal. */
static int etag_listed(const char *h, const char *etag) {
    size_t el = strlen(etag);
    while (h && *h) {
        while (*h == ' ' || *h == '\t' || *h == ',')
            h++;
        if (*h == '*') return 1;
        if (strncmp(h, "W/", 2) == 0) h += 2;
        size_t n = strcspn(h, ",");
        size_t t = n;
        while (t && (h[t - 1] == ' ' || h[t - 1] == '\t'))
            t--;
        if (t == el && memcmp(h, etag, el) == 0) return 1;
        h += n;
    }
    return 0;
}

void routes_checkpoints_file(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    const char *ref = rq->params[0];
    checkpoint_info info;
    if (!routes_lookup_checkpoint(ctx, ref, &info, res)) return;
    char etag[70];
    snprintf(etag, sizeof etag, "\"%s\"", info.sha256);
    if (etag_listed(routes_header(rq, "If-None-Match"), etag)) {
        res->status = 304;
        res->body = NULL;
        res->body_len = 0;
        res->content_type = "application/octet-stream";
        api_response_header(res, "ETag", "%s", etag);
        api_response_header(res, "Cache-Control", "private, no-cache");
        return;
    }
    int fd = open(info.path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        api_response_error(res, 500, "storage_error", "checkpoint %lld's file cannot be read: %s",
                           info.id, strerror(errno));
        if (fd >= 0) close(fd);
        return;
    }
    long long size = (long long)st.st_size, a = 0, b = size - 1;
    const char *range = routes_header(rq, "Range");
    const char *if_range = routes_header(rq, "If-Range");
    if (range && if_range && !etag_listed(if_range, etag)) range = NULL; /* changed: whole file */
    int r = parse_range(range, size, &a, &b);
    if (r < 0) {
        close(fd);
        api_response_error(
            res, 416, "range_not_satisfiable",
            "Range \"%.60s\" is not one satisfiable byte range of the %lld-byte file "
            "(bytes=FIRST-LAST, FIRST- or -SUFFIX)",
            range, size);
        api_response_header(res, "Content-Range", "bytes */%lld", size);
        return;
    }
    api_response_file(res, r ? 206 : 200, fd, (unsigned long long)a,
                      size ? (unsigned long long)(b - a + 1) : 0, "application/octet-stream");
    api_response_header(res, "ETag", "%s", etag);
    api_response_header(res, "Accept-Ranges", "bytes");
    api_response_header(res, "Cache-Control", "private, no-cache");
    api_response_header(res, "Content-Disposition", "attachment; filename=\"%s.safetensors\"",
                        info.name);
    if (r) api_response_header(res, "Content-Range", "bytes %lld-%lld/%lld", a, b, size);
}

/* ---- upload ---- */

/* A loader's message without the server-side path it starts with (clients see "the upload"). */
static const char *without_path(const char *msg, const char *path) {
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':') return msg + n + (msg[n + 1] == ' ' ? 2 : 1);
    return msg;
}

/* The name an upload gets: ?name=, else its file name's stem when that is a valid name, else
 * "upload-" and the first 12 hex digits of its SHA-256. 0, or -1 with res the 422. */
static int upload_name(const char *q, const char *filename, const uint8_t *data, size_t len,
                       char *out, size_t cap, api_response *res) {
    char why[200];
    if (q) {
        if (!checkpoints_name_ok(q, why, sizeof why)) {
            api_response_error(res, 422, "invalid_name", "name: %s", why);
            return -1;
        }
        /* job-N is what a pretrain job's checkpoint is called when it is recorded */
        const char *d = q + 4;
        if (strncmp(q, "job-", 4) == 0 && *d && strspn(d, "0123456789") == strlen(d)) {
            api_response_error(res, 422, "invalid_name",
                               "name: job-N names the checkpoint of pretrain job N");
            return -1;
        }
        snprintf(out, cap, "%s", q);
        return 0;
    }
    char stem[128];
    snprintf(stem, sizeof stem, "%s", filename);
    char *dot = strrchr(stem, '.');
    if (dot && strcasecmp(dot, ".safetensors") == 0) *dot = '\0';
    size_t sl = strlen(stem);
    if (sl && sl < cap && strncmp(stem, "job-", 4) != 0 &&
        checkpoints_name_ok(stem, why, sizeof why)) {
        memcpy(out, stem, sl + 1);
        return 0;
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(out, cap, "upload-%.12s", hex);
    return 0;
}

static uv_loop_t *work_loop;

void routes_checkpoints_configure(uv_loop_t *loop) {
    work_loop = loop;
}

/* Names of uploads on the pool now (loop thread only): a second upload of one of them is 409
 * before it writes anything, so two never write the same file. */
#define UPLOADS_MAX 16
static char busy[UPLOADS_MAX][CHECKPOINT_NAME_MAX + 1];

static int busy_add(const char *name) {
    int free_slot = -1;
    for (int i = 0; i < UPLOADS_MAX; i++) {
        if (busy[i][0] && strcmp(busy[i], name) == 0) return -1;
        if (!busy[i][0] && free_slot < 0) free_slot = i;
    }
    if (free_slot < 0) return -1;
    snprintf(busy[free_slot], sizeof busy[free_slot], "%s", name);
    return 0;
}

static void busy_remove(const char *name) {
    for (int i = 0; i < UPLOADS_MAX; i++)
        if (strcmp(busy[i], name) == 0) busy[i][0] = '\0';
}

typedef struct {
    uv_work_t work;
    db *db;
    const char *data_dir;
    const uint8_t *data; /* the request's body (alive until the answer is sent) */
    size_t len;
    char name[CHECKPOINT_NAME_MAX + 1];
    api_response res;
    void *deferred;
} upload_call;

/* Pool thread (or the loop thread without a pool): the file written atomically, loaded as the
 * embed worker loads it, registered; c->res the answer. Nothing stays behind on failure. */
static void upload_store(upload_call *c) {
    api_response *res = &c->res;
    ecg_err err = {0};
    char rel[128], path[1400];
    snprintf(rel, sizeof rel, "checkpoints/%s.safetensors", c->name);
    snprintf(path, sizeof path, "%s/%s", c->data_dir, rel);
    if (checkpoints_write_file(c->data_dir, rel, c->data, c->len, &err)) {
        storage_error(res, &err);
        return;
    }
    /* It must load exactly as the embed worker will load it (12 leads in). */
    encoder *e = NULL;
    int zscore = 0;
    ecg_code rc = embed_model_load(path, 1, &e, &zscore, &err);
    encoder_free(e);
    if (rc) {
        unlink(path);
        if (rc == ECG_ENOMEM)
            api_response_error(res, 500, "out_of_memory", "%s", err.msg);
        else
            api_response_error(res, 422, "invalid_checkpoint",
                               "not a usable safetensors encoder checkpoint: %s",
                               without_path(err.msg, path));
        return;
    }
    long long id = 0;
    rc = checkpoints_register(c->db, c->data_dir, rel, c->name, NULL, 0, 0, 0, NAN, 0, &id, &err);
    if (rc) {
        unlink(path);
        if (rc == ECG_EINVAL && strstr(err.msg, "exists"))
            api_response_error(res, 409, "name_taken", "%s", err.msg);
        else if (rc == ECG_EIO || rc == ECG_ENOMEM)
            storage_error(res, &err);
        else
            api_response_error(res, 422, "invalid_checkpoint", "%s", err.msg);
        return;
    }
    char ref[32];
    snprintf(ref, sizeof ref, "%lld", id);
    answer_view_db(c->db, ref, 201, res);
}

static void upload_on_work(uv_work_t *w) {
    upload_store(w->data);
}

static void upload_after_work(uv_work_t *w, int status) {
    upload_call *c = w->data;
    if (status == UV_ECANCELED)
        api_response_error(&c->res, 503, "shutting_down", "the service is shutting down");
    busy_remove(c->name);
    http_finish_deferred(c->deferred, &c->res);
    api_response_free(&c->res);
    free(c);
}

void routes_checkpoints_upload(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    if (!have_db(ctx, res)) return;
    const char *ct = rq->content_type ? rq->content_type : "";
    const uint8_t *data = (const uint8_t *)rq->body;
    size_t len = rq->body_len;
    const char *filename = "";
    mp_part parts[MULTIPART_MAX_PARTS]; /* filename points into it */
    if (strncasecmp(ct, "multipart/form-data", 19) == 0) {
        int n = 0;
        if (multipart_parse(rq->body, rq->body_len, ct, parts, &n, res)) return;
        const mp_part *pt = multipart_file_part(parts, n);
        data = pt->data;
        len = pt->len;
        filename = pt->filename;
    } else if (ct[0] && strncasecmp(ct, "application/octet-stream", 24) != 0) {
        api_response_error(res, 415, "unsupported_media_type",
                           "send the safetensors file as application/octet-stream or as a "
                           "multipart/form-data file part, not \"%.60s\"",
                           ct);
        return;
    }
    if (len == 0) {
        api_response_error(res, 400, "empty_body", "send a safetensors checkpoint file");
        return;
    }
    char name[CHECKPOINT_NAME_MAX + 1];
    if (upload_name(routes_query(rq, "name"), filename, data, len, name, sizeof name, res)) return;
    checkpoint_info info;
    ecg_err err = {0};
    int taken = checkpoints_lookup(ctx->db, ctx->data_dir, name, &info, &err);
    if (taken < 0) {
        storage_error(res, &err);
        return;
    }
    if (taken) {
        api_response_error(res, 409, "name_taken", "a checkpoint named \"%s\" exists (id %lld)",
                           name, info.id);
        return;
    }
    upload_call *c = calloc(1, sizeof *c);
    if (!c) {
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return;
    }
    if (busy_add(name)) {
        free(c);
        api_response_error(res, 409, "name_taken", "a checkpoint named \"%s\" is being uploaded",
                           name);
        return;
    }
    c->db = ctx->db;
    c->data_dir = ctx->data_dir;
    c->data = data;
    c->len = len;
    memcpy(c->name, name, sizeof c->name);
    c->work.data = c;
    /* File work (write, fsync, load to validate, hash) on libuv's pool, not the loop thread. */
    if (work_loop && rq->defer_fn &&
        uv_queue_work(work_loop, &c->work, upload_on_work, upload_after_work) == 0) {
        /* The completion runs on this thread, so it cannot overtake the deferral. */
        c->deferred = rq->defer_fn(rq->http_req);
        return;
    }
    upload_store(c);
    busy_remove(c->name);
    *res = c->res;
    free(c);
}

/* ---- default ---- */

typedef struct {
    embed_job job; /* first: the worker hands this pointer back */
    const routes_ctx *ctx;
    long long id;
    embed_model model;
    void *deferred;
} default_call;

/* Loop thread: the row becomes the default, then the worker's default model. */
static void make_default(const routes_ctx *ctx, long long id, const embed_model *m,
                         api_response *res) {
    ecg_err err = {0};
    ecg_code rc = checkpoints_set_default(ctx->db, id, &err);
    if (rc == ECG_ENOTFOUND) {
        api_response_error(res, 404, "not_found", "no checkpoint %lld (deleted meanwhile?)", id);
        return;
    }
    if (rc) {
        storage_error(res, &err);
        return;
    }
    if (ctx->embed) embed_worker_set_default(ctx->embed, m);
    char ref[32];
    snprintf(ref, sizeof ref, "%lld", id);
    answer_view(ctx, ref, 200, res);
}

static void on_default_probed(embed_job *job) {
    default_call *c = (default_call *)job;
    api_response res = {0};
    if (job->code) {
        api_response_error(&res, 422, "checkpoint_unusable",
                           "checkpoint \"%s\" cannot be loaded for embedding: %s", c->model.name,
                           job->msg);
    } else {
        c->model.dim = job->dim;
        c->model.win = job->win;
        c->model.zscore = job->zscore;
        make_default(c->ctx, c->id, &c->model, &res);
    }
    http_finish_deferred(c->deferred, &res);
    free(c);
}

void routes_checkpoints_default(const routes_ctx *ctx, const routes_request *rq,
                                api_response *res) {
    const char *ref = rq->params[0];
    checkpoint_info info;
    if (!routes_lookup_checkpoint(ctx, ref, &info, res)) return;
    embed_worker *w = ctx->embed;
    const char *why = "the embedding worker is not running";
    int ready = w ? embed_worker_ready(w, &why) : 0;
    if (info.is_default && ready == 1) {
        answer_view(ctx, ref, 200, res);
        return;
    }
    /* A default that failed to load (ready -1) is replaced the same way: the probe loads the
     * new one and the switch makes the worker ready. */
    if (ready == 0) {
        api_response_error(res, 503, "not_ready", "the embedding model is not ready: %s", why);
        return;
    }
    embed_model m;
    memset(&m, 0, sizeof m);
    snprintf(m.key, sizeof m.key, "%s", info.sha256);
    snprintf(m.path, sizeof m.path, "%s", info.path);
    snprintf(m.name, sizeof m.name, "%s", info.name);
    const embed_model *def = embed_worker_default(w);
    if ((ready == 1 && strcmp(def->key, m.key) == 0) || embed_worker_cached(w, &m)) {
        if (ready == 1 && strcmp(def->key, m.key) == 0)
            m.dim = def->dim, m.win = def->win, m.zscore = def->zscore;
        make_default(ctx, info.id, &m, res);
        return;
    }
    /* Load it on the worker's thread first; the answer comes once it is the default. */
    default_call *c = calloc(1, sizeof *c);
    if (!c || !rq->defer_fn) {
        free(c);
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return;
    }
    c->ctx = ctx;
    c->id = info.id;
    c->model = m;
    snprintf(c->job.model_key, sizeof c->job.model_key, "%s", m.key);
    snprintf(c->job.model_path, sizeof c->job.model_path, "%s", m.path);
    c->job.probe = 1;
    c->job.done = on_default_probed;
    int st = embed_worker_submit(w, &c->job);
    if (st) {
        free(c);
        if (st == 429)
            api_response_error(res, 429, "queue_full",
                               "the embedding queue is full; retry shortly");
        else
            api_response_error(res, 503, "shutting_down", "the service is shutting down");
        return;
    }
    c->deferred = rq->defer_fn(rq->http_req);
}

/* ---- delete ---- */

void routes_checkpoints_delete(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    const char *ref = rq->params[0];
    checkpoint_info info;
    if (!routes_lookup_checkpoint(ctx, ref, &info, res)) return;
    ecg_err err = {0};
    ecg_code rc = checkpoints_delete(ctx->db, ctx->data_dir, info.id, &err);
    if (rc == ECG_ENOTFOUND) {
        not_found(res, ref);
        return;
    }
    if (rc == ECG_EINVAL) {
        api_response_error(res, 409, "is_default", "%s", err.msg);
        return;
    }
    if (rc) {
        storage_error(res, &err);
        return;
    }
    api_response_json(
        res, 200,
        json_pack("{s:I, s:s, s:b}", "id", (json_int_t)info.id, "name", info.name, "deleted", 1));
}

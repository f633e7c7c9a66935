/* embed.c — /v1/embed requests into records, records into encoder windows, embeddings into JSON
 * (see embed.h). Every client mistake becomes a 4xx with a message naming what was wrong. */
#include "api/embed.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/multipart.h"
#include "core/data/edf.h"
#include "core/data/resample.h"
#include "core/data/store.h"
#include "core/data/text_signal.h"
#include "core/data/wfdb.h"
#include "core/ssl/objective.h"

/* Samples beyond this many millivolts are not an ECG (a unit mistake or garbage): 422. */
#define EMBED_MAX_ABS_MV 1e5
#define EMBED_MAX_LEADS 64
#define EMBED_MAX_FS 100000.0
#define EMBED_MAX_PARTS 16

void embed_request_free(embed_request *req) {
    record_free(&req->rec);
    memset(req, 0, sizeof *req);
}

static int fail(api_response *res, int status, const char *code, const char *msg) {
    api_response_error(res, status, code, "%s", msg);
    return -1;
}

/* ---- options ---- */

static int parse_pooling(const char *s, embed_pooling *out, api_response *res) {
    if (strcmp(s, "mean") == 0)
        *out = EMBED_POOL_MEAN;
    else if (strcmp(s, "windows") == 0)
        *out = EMBED_POOL_WINDOWS;
    else {
        api_response_error(res, 422, "invalid_pooling",
                           "pooling must be \"mean\" or \"windows\", got \"%.40s\"", s);
        return -1;
    }
    return 0;
}

static int parse_checkpoint(const char *s, embed_request *req, api_response *res) {
    if (embed_set_checkpoint(req, s)) {
        api_response_error(res, 404, "checkpoint_not_found",
                           "no checkpoint \"%.60s\" (see GET /v1/checkpoints)", s);
        return -1;
    }
    return 0;
}

static int parse_fs(const char *s, double *fs, api_response *res) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v <= 0 || v > EMBED_MAX_FS) {
        api_response_error(res, 422, "invalid_fs", "fs must be a number in (0, %g], got \"%.40s\"",
                           EMBED_MAX_FS, s);
        return -1;
    }
    *fs = v;
    return 0;
}

/* ---- file uploads ---- */

static const char *ext_of(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : "";
}

/* The format a file name or content type names, or NULL. */
static const char *format_of_name(const char *name) {
    const char *e = ext_of(name);
    if (!strcasecmp(e, "hea") || !strcasecmp(e, "dat")) return "wfdb";
    if (!strcasecmp(e, "csv")) return "csv";
    if (!strcasecmp(e, "npy")) return "npy";
    if (!strcasecmp(e, "edf") || !strcasecmp(e, "bdf")) return "edf";
    if (!strcasecmp(e, "json")) return "json";
    return NULL;
}

static const char *format_of_ctype(const char *ct, size_t len) {
    while (len && (*ct == ' ' || *ct == '\t'))
        ct++, len--;
    static const struct {
        const char *ct, *fmt;
    } map[] = {{"application/json", "json"},
               {"text/csv", "csv"},
               {"application/x-npy", "npy"},
               {"application/edf", "edf"},
               {"application/x-edf", "edf"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t l = strlen(map[i].ct);
        if (len >= l && strncasecmp(ct, map[i].ct, l) == 0 &&
            (len == l || ct[l] == ';' || ct[l] == ' '))
            return map[i].fmt;
    }
    return NULL;
}

static int reader_fail(api_response *res, const char *fmt, const ecg_err *err) {
    if (err->code == ECG_ENOMEM)
        api_response_error(res, 500, "out_of_memory", "%s", err->msg);
    else if (err->code == ECG_EINVAL && strstr(err->msg, "max"))
        api_response_error(res, 413, "record_too_long", "%s", err->msg);
    else
        api_response_error(res, 422, "invalid_file", "the %s upload cannot be read: %s", fmt,
                           err->msg);
    return -1;
}

/* Upload size limits for the readers: the body limit already bounds the bytes. */
#define EMBED_MAX_READER_SAMPLES ((size_t)1 << 26)

static int read_one(const char *fmt, const char *name, const uint8_t *data, size_t len, double fs,
                    embed_request *req, api_response *res) {
    ecg_err err = {0};
    ecg_code rc;
    if (!strcmp(fmt, "csv")) {
        text_signal_opts o = {0};
        o.fs = fs;
        o.max_samples = EMBED_MAX_READER_SAMPLES;
        rc = csv_parse_buffer(&req->rec, (const char *)data, len, name, &o, &err);
    } else if (!strcmp(fmt, "npy")) {
        if (!(fs > 0))
            return fail(res, 422, "missing_fs",
                        "a .npy upload needs the sampling rate: add ?fs=HZ to the URL");
        text_signal_opts o = {0};
        o.fs = fs;
        o.max_samples = EMBED_MAX_READER_SAMPLES;
        rc = npy_parse_buffer(&req->rec, data, len, name, &o, &err);
    } else if (!strcmp(fmt, "edf")) {
        edf_options o = {0};
        o.max_samples = EMBED_MAX_READER_SAMPLES;
        rc = edf_read_record_mem(&req->rec, name, data, len, &o, &err);
    } else {
        return fail(res, 415, "unsupported_format", "unsupported format");
    }
    if (rc) return reader_fail(res, fmt, &err);
    snprintf(req->source, sizeof req->source, "%s", fmt);
    return 0;
}

static int read_wfdb(const mp_part *parts, int n, embed_request *req, api_response *res) {
    wfdb_blob blobs[EMBED_MAX_PARTS];
    int nb = 0;
    char record[128] = "";
    for (int i = 0; i < n; i++) {
        if (!parts[i].filename[0]) continue;
        const char *e = ext_of(parts[i].filename);
        if (!strcasecmp(e, "hea")) {
            if (record[0]) return fail(res, 400, "invalid_multipart", "more than one .hea part");
            size_t l = (size_t)(e - 1 - parts[i].filename);
            snprintf(record, sizeof record, "%.*s", (int)l, parts[i].filename);
        }
        blobs[nb++] = (wfdb_blob){parts[i].filename, parts[i].data, parts[i].len};
    }
    if (!record[0])
        return fail(res, 400, "missing_part",
                    "a WFDB upload needs its .hea part (and the .dat parts it names)");
    wfdb_options o = {0};
    o.max_samples = EMBED_MAX_READER_SAMPLES;
    ecg_err err = {0};
    if (wfdb_read_record_mem(&req->rec, record, blobs, nb, &o, &err))
        return reader_fail(res, "wfdb", &err);
    snprintf(req->source, sizeof req->source, "wfdb");
    return 0;
}

static int parse_normalize(const char *s, int *out, api_response *res) {
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    api_response_error(res, 422, "invalid_normalize",
                       "normalize must be true or false, got \"%.40s\"", s);
    return -1;
}

int embed_parse_request(const embed_http_input *in, embed_request *req, api_response *res) {
    memset(req, 0, sizeof *req);
    req->out.pooling = EMBED_POOL_MEAN;
    snprintf(req->checkpoint, sizeof req->checkpoint, "default");
    if (in->q_pooling && parse_pooling(in->q_pooling, &req->out.pooling, res)) return -1;
    if (in->q_normalize && parse_normalize(in->q_normalize, &req->out.normalize, res)) return -1;
    if (in->q_encoding && embed_parse_encoding(in->q_encoding, &req->out.encoding, res)) return -1;
    if (in->q_checkpoint && parse_checkpoint(in->q_checkpoint, req, res)) return -1;
    double fs = 0;
    if (in->q_fs && parse_fs(in->q_fs, &fs, res)) return -1;
    if (in->body_len == 0)
        return fail(res, 400, "empty_body",
                    "send a JSON body {\"signal\", \"fs\", \"leads\", \"units\"} or an ECG file");
    const char *ct = in->content_type ? in->content_type : "";
    const char *fmt = in->q_format;
    if (fmt && strcmp(fmt, "json") && strcmp(fmt, "wfdb") && strcmp(fmt, "csv") &&
        strcmp(fmt, "npy") && strcmp(fmt, "edf")) {
        api_response_error(res, 415, "unsupported_format",
                           "format \"%.20s\" is not supported (json, wfdb, csv, npy, edf)", fmt);
        return -1;
    }
    int rc;
    if (strncasecmp(ct, "multipart/form-data", 19) == 0) {
        mp_part parts[EMBED_MAX_PARTS];
        int n = 0;
        if (multipart_parse(in->body, in->body_len, ct, parts, &n, res)) return -1;
        const char *pf = fmt;
        for (int i = 0; i < n && !pf; i++)
            if (parts[i].filename[0]) pf = format_of_name(parts[i].filename);
        for (int i = 0; i < n && !pf; i++)
            if (parts[i].ctype) pf = format_of_ctype(parts[i].ctype, parts[i].ctype_len);
        if (!pf)
            return fail(res, 415, "unsupported_format",
                        "cannot tell the format of the uploaded parts: name them .hea/.dat, .csv, "
                        ".npy or .edf, or add ?format=");
        if (!strcmp(pf, "wfdb"))
            rc = read_wfdb(parts, n, req, res);
        else if (!strcmp(pf, "json")) {
            rc = embed_parse_json((const char *)parts[0].data, parts[0].len, req, res);
        } else {
            const mp_part *pt = multipart_file_part(parts, n);
            rc = read_one(pf, pt->filename[0] ? pt->filename : "upload", pt->data, pt->len, fs, req,
                          res);
        }
    } else {
        const char *f = fmt ? fmt : format_of_ctype(ct, strlen(ct));
        if (!f && !ct[0] && in->body_len && in->body[0] == '{') f = "json";
        if (!f) {
            api_response_error(res, 415, "unsupported_media_type",
                               "Content-Type \"%.60s\" is not supported: send application/json, "
                               "text/csv, application/x-npy, application/edf, multipart/form-data, "
                               "or name the format with ?format=",
                               ct);
            return -1;
        }
        if (!strcmp(f, "json"))
            rc = embed_parse_json(in->body, in->body_len, req, res);
        else if (!strcmp(f, "wfdb"))
            return fail(res, 415, "unsupported_format",
                        "a WFDB record is two files: upload its .hea and .dat as multipart parts");
        else
            rc = read_one(f, "upload", (const uint8_t *)in->body, in->body_len, fs, req, res);
    }
    if (rc) {
        record_free(&req->rec);
        return -1;
    }
    return 0;
}

ecg_code embed_read_file(ecg_record *r, const char *path, double fs, ecg_err *err) {
    const char *e = ext_of(path);
    if (!strcasecmp(e, "hea") || !strcasecmp(e, "dat") || !*e)
        return wfdb_read_record(r, path, NULL, err);
    text_signal_opts o = {0};
    o.fs = fs;
    if (!strcasecmp(e, "csv")) return csv_read_file(r, path, &o, err);
    if (!strcasecmp(e, "npy")) {
        if (!(fs > 0)) return err_set(err, ECG_EINVAL, "%s: a .npy file needs --fs", path);
        return npy_read_file(r, path, &o, err);
    }
    if (!strcasecmp(e, "edf") || !strcasecmp(e, "bdf")) return edf_read_record(r, path, NULL, err);
    return err_set(err, ECG_EINVAL, "%s: unknown format (.hea, .csv, .npy, .edf)", path);
}

/* ---- windows ---- */

ecg_code embed_windows_make(embed_windows *w, const ecg_record *r, int win, int zscore,
                            const embed_limits *lim, ecg_err *err) {
    memset(w, 0, sizeof *w);
    /* Refuse absurd lengths before resampling allocates for them. */
    if (r->fs > 0 && lim && lim->max_windows) {
        double n240 = (double)r->n_samples * STORE_FS / r->fs;
        if (n240 / win > (double)lim->max_windows + 1)
            return err_set(err, ECG_EINVAL, "record too long: %.0f windows of 2.5 s (limit %zu)",
                           n240 / win, lim->max_windows);
    }
    store_prepared p;
    ecg_code rc = store_prepare(&p, r, err);
    if (rc) return rc;
    size_t nw = resample_window_count(p.n, (size_t)win);
    if (lim && lim->max_windows && nw > lim->max_windows) {
        store_prepared_free(&p);
        return err_set(err, ECG_EINVAL, "record too long: %zu windows of 2.5 s (limit %zu)", nw,
                       lim->max_windows);
    }
    size_t per = (size_t)ECG_N_LEADS * (size_t)win;
    w->x = malloc(nw * per * sizeof *w->x);
    if (!w->x) {
        store_prepared_free(&p);
        return err_set(err, ECG_ENOMEM, "no memory for %zu windows", nw);
    }
    for (size_t i = 0; i < nw; i++)
        resample_window_extract(p.x, ECG_N_LEADS, p.n, i * (size_t)win, (size_t)win,
                                w->x + i * per);
    if (zscore) ssl_zscore_ptbxl(w->x, (int)nw, win);
    w->n_windows = nw;
    w->win = win;
    w->fs_in = r->fs;
    for (int k = 0; k < ECG_N_LEADS; k++) {
        w->mask[k] = (p.lead_mask >> k) & 1;
        w->n_leads += w->mask[k];
    }
    store_prepared_free(&p);
    return ECG_OK;
}

void embed_windows_free(embed_windows *w) {
    free(w->x);
    memset(w, 0, sizeof *w);
}

/* ---- answer ---- */

/* Row r of the answer: the mean over windows or window r, then unit L2 norm when asked. */
static void answer_row(const float *emb, size_t n_windows, int dim, const embed_output *o, size_t r,
                       double *row) {
    if (o->pooling == EMBED_POOL_MEAN) {
        for (int j = 0; j < dim; j++) {
            double s = 0;
            for (size_t i = 0; i < n_windows; i++)
                s += emb[i * (size_t)dim + (size_t)j];
            row[j] = s / (double)n_windows;
        }
    } else {
        for (int j = 0; j < dim; j++)
            row[j] = emb[r * (size_t)dim + (size_t)j];
    }
    if (!o->normalize) return;
    double ss = 0;
    for (int j = 0; j < dim; j++)
        ss += row[j] * row[j];
    if (ss > 0) {
        double inv = 1.0 / sqrt(ss);
        for (int j = 0; j < dim; j++)
            row[j] *= inv;
    }
}

/* rows x dim values as base64 of little-endian float32. */
static json_t *base64_rows(const double *v, size_t n) {
    unsigned char *bytes = malloc(n * 4 + 1);
    size_t b64_len = sodium_base64_encoded_len(n * 4, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64_len);
    json_t *out = NULL;
    if (bytes && b64) {
        for (size_t i = 0; i < n; i++) {
            float f = (float)v[i];
            uint32_t u;
            memcpy(&u, &f, 4);
            for (int k = 0; k < 4; k++)
                bytes[i * 4 + (size_t)k] = (unsigned char)(u >> (8 * k));
        }
        sodium_bin2base64(b64, b64_len, bytes, n * 4, sodium_base64_VARIANT_ORIGINAL);
        out = json_string(b64);
    }
    free(bytes);
    free(b64);
    return out;
}

json_t *embed_result_json(const float *emb, size_t n_windows, int dim, const embed_output *o,
                          const char *checkpoint, const embed_windows *w) {
    size_t rows = o->pooling == EMBED_POOL_MEAN ? 1 : n_windows;
    double *v = malloc(rows * (size_t)dim * sizeof *v);
    json_t *e = NULL, *leads = NULL;
    if (!v) return NULL;
    for (size_t r = 0; r < rows; r++)
        answer_row(emb, n_windows, dim, o, r, v + r * (size_t)dim);
    if (o->encoding == EMBED_ENC_BASE64) {
        e = base64_rows(v, rows * (size_t)dim);
    } else if (o->pooling == EMBED_POOL_MEAN) {
        e = json_array();
        for (int j = 0; e && j < dim; j++)
            if (json_array_append_new(e, json_real(v[j]))) goto oom;
    } else {
        e = json_array();
        for (size_t r = 0; e && r < rows; r++) {
            json_t *row = json_array();
            if (!row || json_array_append_new(e, row)) goto oom;
            for (int j = 0; j < dim; j++)
                if (json_array_append_new(row, json_real(v[r * (size_t)dim + (size_t)j]))) goto oom;
        }
    }
    if (!e) goto oom;
    leads = json_array();
    if (!leads) goto oom;
    for (int k = 0; k < ECG_N_LEADS; k++)
        if (w->mask[k] && json_array_append_new(leads, json_string(ecg_lead_names[k]))) goto oom;
    free(v);
    json_t *j =
        json_pack("{s:o, s:i, s:I, s:s, s:b, s:s, s:s, s:f, s:o}", "embedding", e, "dim", dim,
                  "windows", (json_int_t)n_windows, "pooling",
                  o->pooling == EMBED_POOL_MEAN ? "mean" : "windows", "normalized", o->normalize,
                  "encoding", o->encoding == EMBED_ENC_BASE64 ? "base64" : "float", "checkpoint",
                  checkpoint, "fs_in", w->fs_in, "leads_present", leads);
    if (j && o->encoding == EMBED_ENC_BASE64)
        json_object_set_new(j, "shape", json_pack("[I, i]", (json_int_t)rows, dim));
    return j;
oom:
    free(v);
    json_decref(e);
    json_decref(leads);
    return NULL;
}

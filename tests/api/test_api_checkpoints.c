/* test_api_checkpoints.c — /v1/checkpoints against the real build/ecgfm on 127.0.0.1 with a temp
 * data directory: the bundled default registered at start, list/get/paging, downloads
 * byte-identical to the file (ETag 304, Range 206, 416), validated uploads (raw and multipart;
 * corrupt, truncated and misnamed ones refused with nothing stored), /v1/embed with "checkpoint"
 * equal to `ecgfm embed` of the same file, switching the default while embeds are in flight, delete
 * (409 for the default), auth, a pretrain job's checkpoint in the list, and the default kept across
 * a restart. */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <strings.h>
#include <sys/stat.h>

#define IO_TIMEOUT_S 20
#define AC_IO_TIMEOUT_S IO_TIMEOUT_S /* the client below waits as long */
#include "tests/api/apiclient.h"

#include <jansson.h>
#include <sodium.h>

#include "core/data/record.h"
#include "core/data/wfdb.h"
#include "core/model/checkpoint.h"
#include "core/model/encoder.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define START_TIMEOUT_MS 20000
#define EXIT_TIMEOUT_MS 15000
#define JOB_TIMEOUT_MS 60000
#define TOL 1e-5

static char bin[PATH_MAX], repo[PATH_MAX], model[PATH_MAX + 64];
static char tmpdir[64], data[256], alt_file[300];
static char admin_key[64], train_key[64], read_key[64], embed_key[64];
static pid_t server_pid;
static char server_log[256];
static int port;

static pid_t spawn(const char *log, char *const args[]) {
    return ts_spawn(
        &(ts_spawn_opts){.bin = bin, .log = log, .append = 1, .unset = ts_server_env, .cwd = repo},
        args);
}

/* Start the server; wait for /readyz 200 unless nowait. */
static void start_server2(const char *logname, int nowait) {
    snprintf(server_log, sizeof server_log, "%s/%s", tmpdir, logname);
    port = ts_serve(spawn, server_log, repo, data,
                    (const char *[]){"--jobs-threads", "1", "--embed-threads", "1",
                                     "--max-body-bytes", "4000000", NULL},
                    START_TIMEOUT_MS, &server_pid);
    if (!nowait) ts_wait_ready(port, IO_TIMEOUT_S, START_TIMEOUT_MS, server_log);
}

static void start_server(const char *logname) {
    start_server2(logname, 0);
}

static void stop_server(void) {
    pid_t pid = server_pid;
    server_pid = 0;
    if (pid <= 0) fail_msg("no server to stop"); /* kill(0) would signal this process group */
    ts_stop(pid, SIGTERM, EXIT_TIMEOUT_MS, server_log);
}

/* ---- HTTP ---- */

static ac_answer A; /* the last answer */

static int send_req(const char *method, const char *path, const char *key, const char *ctype,
                    const char *headers, const void *body, size_t len) {
    return ac_send_to(port, method, path, key, ctype, headers, body, len);
}

static void recv_answer(int fd, ac_answer *a) {
    ac_answer_free(a);
    ac_read(fd, a);
}

static void http_full(const char *method, const char *path, const char *key, const char *ctype,
                      const char *headers, const void *body, size_t len) {
    recv_answer(send_req(method, path, key, ctype, headers, body, len), &A);
}

static void http_do(const char *method, const char *path, const char *key) {
    http_full(method, path, key, NULL, NULL, NULL, 0);
}

static json_t *answer_json(void) {
    return ts_answer_json(A.raw, A.body);
}

static void expect_error(int status, const char *code) {
    ts_expect_error(A.status, A.raw, A.body, status, code);
}

/* The value of header name in the last answer's head ("" when absent; static). */
static const char *header(const char *name) {
    static char val[256];
    val[0] = 0;
    size_t nl = strlen(name);
    const char *end = strstr(A.raw, "\r\n\r\n");
    for (const char *p = strstr(A.raw, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
        const char *l = p + 2;
        if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            l += nl + 1;
            while (*l == ' ')
                l++;
            snprintf(val, sizeof val, "%.*s", (int)strcspn(l, "\r"), l);
            break;
        }
    }
    return val;
}

static json_t *get_ok(const char *path, const char *key) {
    http_do("GET", path, key);
    if (A.status != 200) fail_msg("GET %s:\n%s", path, A.raw);
    return answer_json();
}

static long long count_rows(const char *sql_where);

/* ---- files ---- */

static char *slurp(const char *path, size_t *len) {
    char *b = ts_slurp(path, len);
    if (!b) fail_msg("cannot read %s", path);
    return b;
}

static void sha256_hex(const void *p, size_t n, char hex[65]) {
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, p, n);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

/* Files in data/checkpoints (every entry but . and ..). */
static int count_files(void) {
    char dir[300];
    snprintf(dir, sizeof dir, "%s/checkpoints", data);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* A second valid checkpoint: the bundled config with other weights, objective JEPA (so the input
 * is z-scored: a different path through the embedder than the bundled CPC model). */
static void write_alt_checkpoint(void) {
    struct encoder_config cfg;
    ecg_err err = {0};
    if (checkpoint_read_config(model, &cfg, &err)) fail_msg("%s", err.msg);
    encoder *e = NULL;
    if (encoder_create(&e, &cfg, 1, 7, 0, &err)) fail_msg("%s", err.msg);
    const char *kv[] = {"ecgfm.pretrain.objective", "jepa"};
    if (checkpoint_save(alt_file, e, kv, 1, &err)) fail_msg("%s", err.msg);
    encoder_free(e);
}

/* ---- embeddings ---- */

/* The PTB-XL test record as a /v1/embed JSON body, with "checkpoint" when ckpt is set. */
static char *ptbxl_body(const char *ckpt) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/tests/data/ecg/ptbxl/00001_lr.hea", repo);
    json_t *body = ac_wfdb_json(path, 1.0);
    json_object_set_new(body, "units", json_string("mV"));
    if (ckpt) json_object_set_new(body, "checkpoint", json_string(ckpt));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/* POST /v1/embed of the PTB-XL record (query appended to the path, ckpt in the body): 200, and
 * its "checkpoint" is want; the answer (new reference). */
static json_t *embed(const char *query, const char *ckpt, const char *want) {
    char *body = ptbxl_body(ckpt);
    char path[200];
    snprintf(path, sizeof path, "/v1/embed%s", query ? query : "");
    http_full("POST", path, embed_key, "application/json", NULL, body, strlen(body));
    free(body);
    if (A.status != 200) fail_msg("embed %s %s:\n%.600s", path, ckpt ? ckpt : "", A.raw);
    json_t *j = answer_json();
    const char *got = json_string_value(json_object_get(j, "checkpoint"));
    if (!got || strcmp(got, want)) fail_msg("embed answered with %s, want %s", got, want);
    return j;
}

static double max_diff(json_t *a, json_t *b) {
    json_t *x = json_object_get(a, "embedding"), *y = json_object_get(b, "embedding");
    assert_true(json_is_array(x) && json_is_array(y));
    assert_int_equal(json_array_size(x), json_array_size(y));
    assert_true(json_array_size(x) > 0);
    double worst = 0;
    for (size_t i = 0; i < json_array_size(x); i++) {
        double d =
            fabs(json_number_value(json_array_get(x, i)) - json_number_value(json_array_get(y, i)));
        if (d > worst) worst = d;
    }
    return worst;
}

/* `ecgfm embed --checkpoint file` of the PTB-XL record (new reference). */
static json_t *cli_embed(const char *file) {
    char log[256], rec[PATH_MAX + 64];
    snprintf(log, sizeof log, "%s/embed.out", tmpdir);
    snprintf(rec, sizeof rec, "%s/tests/data/ecg/ptbxl/00001_lr.hea", repo);
    char out[300];
    snprintf(out, sizeof out, "%s/embed.json", tmpdir);
    unlink(out);
    pid_t pid = ts_spawn(&(ts_spawn_opts){.bin = bin, .log = out, .err_log = log, .cwd = repo},
                         (char *[]){"embed", "--checkpoint", (char *)file, rec, NULL});
    int st = ts_wait_exit_or_kill(pid, EXIT_TIMEOUT_MS);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("ecgfm embed failed:\n%s", ts_read_text(log));
    json_error_t e;
    json_t *j = json_load_file(out, 0, &e);
    if (!j) fail_msg("ecgfm embed printed no JSON: %s", e.text);
    return j;
}

/* ---- tests ---- */

static void test_start_and_list(void **state) {
    (void)state;
    assert_int_equal(mkdir(data, 0700), 0);
    char log[256], ds[300];
    snprintf(log, sizeof log, "%s/key.log", tmpdir);
    ts_make_key(spawn, log, data, "admin", admin_key, sizeof admin_key, EXIT_TIMEOUT_MS);
    ts_make_key(spawn, log, data, "train", train_key, sizeof train_key, EXIT_TIMEOUT_MS);
    ts_make_key(spawn, log, data, "read", read_key, sizeof read_key, EXIT_TIMEOUT_MS);
    ts_make_key(spawn, log, data, "embed", embed_key, sizeof embed_key, EXIT_TIMEOUT_MS);
    write_alt_checkpoint();
    /* a tiny ECG dataset for the pretrain job at the end (adopted when the server starts) */
    snprintf(log, sizeof log, "%s/synth.log", tmpdir);
    snprintf(ds, sizeof ds, "%s/datasets", data);
    assert_int_equal(mkdir(ds, 0700), 0);
    snprintf(ds, sizeof ds, "%s/datasets/tiny", data);
    if (ts_run_cmd(spawn, log,
                   (char *[]){"synth", "--out", ds, "--n", "60", "--seconds", "5", NULL},
                   EXIT_TIMEOUT_MS))
        fail_msg("synth failed:\n%s", ts_read_text(log));
    start_server("serve1.log");

    /* The configured model became the bundled default: a copy under the data directory. */
    json_t *j = get_ok("/v1/checkpoints", read_key);
    json_t *list = json_object_get(j, "checkpoints");
    assert_int_equal(json_array_size(list), 1);
    json_t *c = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(c, "name")), "bundled-small");
    assert_true(json_is_true(json_object_get(c, "is_default")));
    assert_string_equal(json_string_value(json_object_get(c, "objective")), "cpc");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "model"), "d_model")),
                     64);
    assert_true(json_is_null(json_object_get(j, "next_cursor")));
    size_t mlen;
    char *m = slurp(model, &mlen);
    char hex[65];
    sha256_hex(m, mlen, hex);
    free(m);
    assert_string_equal(json_string_value(json_object_get(c, "sha256")), hex);
    assert_int_equal(json_integer_value(json_object_get(c, "size_bytes")), (long long)mlen);
    json_decref(j);

    /* By id and by name, the same row. */
    json_t *a = get_ok("/v1/checkpoints/1", read_key);
    json_t *b = get_ok("/v1/checkpoints/bundled-small", read_key);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);

    /* auth and not found */
    http_do("GET", "/v1/checkpoints", NULL);
    expect_error(401, "missing_api_key");
    http_do("GET", "/v1/checkpoints/1/file", "efm_not-a-key");
    expect_error(401, "invalid_api_key");
    http_do("GET", "/v1/checkpoints/nope", read_key);
    expect_error(404, "not_found");
    http_do("GET", "/v1/checkpoints/999", read_key);
    expect_error(404, "not_found");
    http_do("GET", "/v1/checkpoints/999/file", read_key);
    expect_error(404, "not_found");
    http_do("GET", "/v1/checkpoints?limit=0", read_key);
    expect_error(422, "invalid_value");
    http_do("GET", "/v1/checkpoints?limit=501", read_key);
    expect_error(422, "invalid_value");
    http_do("GET", "/v1/checkpoints?objective=simclr", read_key);
    expect_error(422, "invalid_value");
    http_do("GET", "/v1/checkpoints?cursor=x", read_key);
    expect_error(422, "invalid_value");
    j = get_ok("/v1/checkpoints?objective=jepa", read_key);
    assert_int_equal(json_array_size(json_object_get(j, "checkpoints")), 0);
    json_decref(j);
    http_do("PUT", "/v1/checkpoints/1", admin_key);
    expect_error(405, "method_not_allowed");
}

static void test_download(void **state) {
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/checkpoints/bundled-small.safetensors", data);
    size_t flen;
    char *file = slurp(path, &flen);
    char hex[65], etag[70];
    sha256_hex(file, flen, hex);
    snprintf(etag, sizeof etag, "\"%s\"", hex);

    http_do("GET", "/v1/checkpoints/bundled-small/file", read_key);
    assert_int_equal(A.status, 200);
    assert_int_equal(A.body_len, flen);
    assert_memory_equal(A.body, file, flen);
    assert_string_equal(header("Content-Type"), "application/octet-stream");
    assert_string_equal(header("ETag"), etag);
    assert_string_equal(header("Accept-Ranges"), "bytes");
    assert_non_null(strstr(header("Content-Disposition"), "bundled-small.safetensors"));
    print_message("download: %zu bytes, identical to the file on disk\n", flen);

    /* HEAD: the headers, no body */
    http_do("HEAD", "/v1/checkpoints/1/file", read_key);
    assert_int_equal(A.status, 200);
    assert_int_equal(A.body_len, 0);
    assert_string_equal(header("ETag"), etag);

    /* If-None-Match */
    char h[200];
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", etag);
    http_full("GET", "/v1/checkpoints/1/file", read_key, NULL, h, NULL, 0);
    assert_int_equal(A.status, 304);
    assert_int_equal(A.body_len, 0);
    assert_string_equal(header("ETag"), etag);
    http_full("GET", "/v1/checkpoints/1/file", read_key, NULL, "If-None-Match: \"other\"\r\n", NULL,
              0);
    assert_int_equal(A.status, 200);
    assert_int_equal(A.body_len, flen);

    /* Ranges: first-last, first-, -suffix, last past the end */
    struct {
        const char *range;
        long long a, b;
    } ok[] = {{"bytes=100-199", 100, 199},
              {"bytes=0-0", 0, 0},
              {"bytes=160000-", 160000, (long long)flen - 1},
              {"bytes=-50", (long long)flen - 50, (long long)flen - 1},
              {"bytes=-99999999", 0, (long long)flen - 1},
              {"bytes=1000-99999999", 1000, (long long)flen - 1}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(h, sizeof h, "Range: %s\r\n", ok[i].range);
        http_full("GET", "/v1/checkpoints/1/file", read_key, NULL, h, NULL, 0);
        if (A.status != 206) fail_msg("%s: %.300s", ok[i].range, A.raw);
        size_t n = (size_t)(ok[i].b - ok[i].a + 1);
        assert_int_equal(A.body_len, n);
        assert_memory_equal(A.body, file + ok[i].a, n);
        char want[96];
        snprintf(want, sizeof want, "bytes %lld-%lld/%zu", ok[i].a, ok[i].b, flen);
        assert_string_equal(header("Content-Range"), want);
        assert_string_equal(header("ETag"), etag);
    }
    const char *bad[] = {"bytes=999999-", "bytes=5-2",     "bytes=abc", "items=0-5",
                         "bytes=-0",      "bytes=0-1,4-5", "bytes=",    "bytes=--3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(h, sizeof h, "Range: %s\r\n", bad[i]);
        http_full("GET", "/v1/checkpoints/1/file", read_key, NULL, h, NULL, 0);
        if (A.status != 416) fail_msg("%s: %.300s", bad[i], A.raw);
        expect_error(416, "range_not_satisfiable");
        char want[64];
        snprintf(want, sizeof want, "bytes */%zu", flen);
        assert_string_equal(header("Content-Range"), want);
    }
    /* If-Range with another tag: the whole file */
    http_full("GET", "/v1/checkpoints/1/file", read_key, NULL,
              "Range: bytes=0-9\r\nIf-Range: \"stale\"\r\n", NULL, 0);
    assert_int_equal(A.status, 200);
    assert_int_equal(A.body_len, flen);
    free(file);
}

/* multipart/form-data with one file part. */
static char *multipart(const char *filename, const char *data_, size_t len, size_t *out_len,
                       char *ctype, size_t ctype_cap) {
    const char *bnd = "ckptBoundary7x";
    snprintf(ctype, ctype_cap, "multipart/form-data; boundary=%s", bnd);
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                      "Content-Type: application/octet-stream\r\n\r\n",
                      bnd, filename);
    char tail[64];
    int tn = snprintf(tail, sizeof tail, "\r\n--%s--\r\n", bnd);
    char *b = malloc((size_t)hn + len + (size_t)tn);
    assert_non_null(b);
    memcpy(b, head, (size_t)hn);
    memcpy(b + hn, data_, len);
    memcpy(b + hn + len, tail, (size_t)tn);
    *out_len = (size_t)hn + len + (size_t)tn;
    return b;
}

static long long upload_ok(const char *path, const char *ctype, const char *body, size_t len,
                           const char *want_name) {
    http_full("POST", path, train_key, ctype, NULL, body, len);
    if (A.status != 201) fail_msg("upload %s:\n%.600s", path, A.raw);
    json_t *j = answer_json();
    assert_string_equal(json_string_value(json_object_get(j, "name")), want_name);
    assert_false(json_is_true(json_object_get(j, "is_default")));
    assert_true(json_is_null(json_object_get(j, "objective")));
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

static void test_upload(void **state) {
    (void)state;
    size_t alen, mlen;
    char *alt = slurp(alt_file, &alen);
    char *small = slurp(model, &mlen);
    int files0 = count_files();
    long long rows0 = count_rows("1");

    /* raw body with ?name= */
    long long id = upload_ok("/v1/checkpoints?name=alt-seed7", "application/octet-stream", alt,
                             alen, "alt-seed7");
    char path[300];
    snprintf(path, sizeof path, "%s/checkpoints/alt-seed7.safetensors", data);
    size_t slen;
    char *stored = slurp(path, &slen);
    assert_int_equal(slen, alen);
    assert_memory_equal(stored, alt, alen);
    free(stored);
    char ref[32];
    snprintf(ref, sizeof ref, "/v1/checkpoints/%lld", id);
    json_t *j = get_ok(ref, read_key);
    char hex[65];
    sha256_hex(alt, alen, hex);
    assert_string_equal(json_string_value(json_object_get(j, "sha256")), hex);
    json_decref(j);

    /* multipart, named by its file name */
    char ctype[128];
    size_t blen;
    char *body = multipart("my-small.safetensors", small, mlen, &blen, ctype, sizeof ctype);
    upload_ok("/v1/checkpoints", ctype, body, blen, "my-small");
    free(body);
    assert_int_equal(count_files(), files0 + 2);
    assert_int_equal(count_rows("1"), rows0 + 2);

    /* refused: nothing stored */
    http_full("POST", "/v1/checkpoints?name=my-small", train_key, "application/octet-stream", NULL,
              small, mlen);
    expect_error(409, "name_taken");
    const char *bad_names[] = {
        "..%2Fescape",
        "a%20b",
        "123",
        "default",
        "job-7",
        "-x",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        char p[200];
        snprintf(p, sizeof p, "/v1/checkpoints?name=%s", bad_names[i]);
        http_full("POST", p, train_key, "application/octet-stream", NULL, small, mlen);
        if (A.status != 422) fail_msg("name %s: %.300s", bad_names[i], A.raw);
        expect_error(422, "invalid_name");
    }
    struct {
        const char *what;
        size_t len;
        int garble;
    } bad[] = {{"truncated to half", mlen / 2, 0},
               {"truncated in the header", 20, 0},
               {"8 bytes", 8, 0},
               {"header garbled", mlen, 1},
               {"random bytes", 4096, 2}};
    int n_bad = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *b = malloc(mlen);
        memcpy(b, small, mlen);
        if (bad[i].garble == 1) memset(b + 8, '#', 40);
        if (bad[i].garble == 2)
            for (size_t k = 0; k < bad[i].len; k++)
                b[k] = (char)(k * 7919u >> 3);
        http_full("POST", "/v1/checkpoints?name=broken", train_key, "application/octet-stream",
                  NULL, b, bad[i].len);
        free(b);
        if (A.status != 422) fail_msg("%s: %.400s", bad[i].what, A.raw);
        expect_error(422, "invalid_checkpoint");
        n_bad++;
    }
    /* a checkpoint whose encoder does not take 12 leads */
    {
        struct encoder_config cfg;
        ecg_err err = {0};
        assert_int_equal(checkpoint_read_config(model, &cfg, &err), ECG_OK);
        cfg.in_channels = 1;
        encoder *e = NULL;
        if (encoder_create(&e, &cfg, 1, 3, 0, &err)) fail_msg("%s", err.msg);
        char one[300];
        snprintf(one, sizeof one, "%s/one-lead.safetensors", tmpdir);
        assert_int_equal(checkpoint_save(one, e, NULL, 0, &err), ECG_OK);
        encoder_free(e);
        size_t ol;
        char *ob = slurp(one, &ol);
        http_full("POST", "/v1/checkpoints", train_key, "application/octet-stream", NULL, ob, ol);
        free(ob);
        expect_error(422, "invalid_checkpoint");
        n_bad++;
    }
    print_message("%d corrupt, truncated or unusable uploads refused with 422\n", n_bad);
    http_full("POST", "/v1/checkpoints", train_key, "application/json", NULL, "{}", 2);
    expect_error(415, "unsupported_media_type");
    http_full("POST", "/v1/checkpoints", train_key, "application/octet-stream", NULL, NULL, 0);
    expect_error(400, "empty_body");
    http_full("POST", "/v1/checkpoints", read_key, "application/octet-stream", NULL, small, mlen);
    expect_error(403, "insufficient_scope");
    http_full("POST", "/v1/checkpoints", embed_key, "application/octet-stream", NULL, small, mlen);
    expect_error(403, "insufficient_scope");
    assert_int_equal(count_files(), files0 + 2); /* nothing of the refused ones stayed */
    assert_int_equal(count_rows("1"), rows0 + 2);
    assert_int_equal(count_rows("name = 'broken'"), 0);

    /* paging, newest first */
    j = get_ok("/v1/checkpoints?limit=2", read_key);
    json_t *list = json_object_get(j, "checkpoints");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "my-small");
    long long cur = json_integer_value(json_object_get(j, "next_cursor"));
    assert_true(cur > 0);
    json_decref(j);
    char p[96];
    snprintf(p, sizeof p, "/v1/checkpoints?limit=2&cursor=%lld", cur);
    j = get_ok(p, read_key);
    list = json_object_get(j, "checkpoints");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "bundled-small");
    assert_true(json_is_null(json_object_get(j, "next_cursor")));
    json_decref(j);
    free(alt);
    free(small);
}

static void test_embed_with_checkpoint(void **state) {
    (void)state;
    json_t *def = embed(NULL, NULL, "bundled-small");
    json_t *alt = embed(NULL, "alt-seed7", "alt-seed7");
    json_t *alt_q = embed("?checkpoint=2", NULL, "alt-seed7"); /* by id, as a query parameter */
    json_t *copy = embed(NULL, "my-small", "my-small"); /* the default's bytes under a new name */
    double d_alt = max_diff(alt, alt_q), d_copy = max_diff(def, copy), d_other = max_diff(def, alt);
    print_message("alt by name vs id %.3g, copy vs default %.3g, alt vs default %.3g\n", d_alt,
                  d_copy, d_other);
    assert_true(d_alt <= TOL);
    assert_true(d_copy <= TOL);
    assert_true(d_other > 1e-3); /* another model really ran */
    /* the same as `ecgfm embed --checkpoint` of the uploaded file */
    json_t *cli = cli_embed(alt_file);
    double d_cli = max_diff(alt, cli);
    print_message("alt-seed7 over HTTP vs ecgfm embed: %.3g\n", d_cli);
    assert_true(d_cli <= TOL);
    json_decref(cli);
    json_decref(def);
    json_decref(alt_q);
    json_decref(copy);
    json_decref(alt);

    char *body = ptbxl_body("nope");
    http_full("POST", "/v1/embed", embed_key, "application/json", NULL, body, strlen(body));
    free(body);
    expect_error(404, "checkpoint_not_found");
    body = ptbxl_body(NULL);
    http_full("POST", "/v1/embed?checkpoint=4242", embed_key, "application/json", NULL, body,
              strlen(body));
    expect_error(404, "checkpoint_not_found");
    http_full("POST", "/v1/embed?checkpoint=..%2F..%2Fetc", embed_key, "application/json", NULL,
              body, strlen(body));
    expect_error(404, "checkpoint_not_found");
    free(body);

    /* the worker holds the default and alt-seed7 (my-small is the default's bytes: no load) */
    http_do("GET", "/metrics", NULL);
    assert_int_equal(A.status, 200);
    assert_non_null(strstr(A.body, "\necgfm_embed_models_loaded 2\n"));
    assert_non_null(strstr(A.body, "\necgfm_embed_model_loads_total 2\n"));
}

/* Embeds sent before the switch (answered by whichever default was current when each arrived). */
#define IN_FLIGHT 6

static void test_default_switch(void **state) {
    (void)state;
    json_t *explicit_alt = embed(NULL, "alt-seed7", "alt-seed7");
    http_do("POST", "/v1/checkpoints/alt-seed7/default", train_key);
    expect_error(403, "insufficient_scope");
    http_do("POST", "/v1/checkpoints/nope/default", admin_key);
    expect_error(404, "not_found");

    /* Switch while requests are queued: none is dropped or fails. */
    char *body = ptbxl_body(NULL);
    int fds[IN_FLIGHT];
    for (int i = 0; i < IN_FLIGHT; i++)
        fds[i] =
            send_req("POST", "/v1/embed", embed_key, "application/json", NULL, body, strlen(body));
    http_do("POST", "/v1/checkpoints/alt-seed7/default", admin_key);
    if (A.status != 200) fail_msg("set default:\n%s", A.raw);
    json_t *j = answer_json();
    assert_true(json_is_true(json_object_get(j, "is_default")));
    assert_string_equal(json_string_value(json_object_get(j, "name")), "alt-seed7");
    json_decref(j);
    int n_old = 0, n_new = 0;
    for (int i = 0; i < IN_FLIGHT; i++) {
        ac_answer a = {0};
        recv_answer(fds[i], &a);
        if (a.status != 200) fail_msg("in-flight embed %d:\n%.400s", i, a.raw);
        json_t *e = ts_answer_json(a.raw, a.body);
        const char *ck = json_string_value(json_object_get(e, "checkpoint"));
        n_old += !strcmp(ck, "bundled-small");
        n_new += !strcmp(ck, "alt-seed7");
        json_decref(e);
        free(a.raw);
    }
    free(body);
    print_message("in flight across the switch: %d on the old default, %d on the new\n", n_old,
                  n_new);
    assert_int_equal(n_old + n_new, IN_FLIGHT);

    /* Now the default: same embedding as asking for it by name. */
    json_t *now = embed(NULL, NULL, "alt-seed7");
    assert_true(max_diff(now, explicit_alt) <= TOL);
    json_decref(now);
    json_decref(explicit_alt);
    assert_int_equal(count_rows("is_default = 1"), 1);
    j = get_ok("/v1/checkpoints/default", read_key);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "alt-seed7");
    json_decref(j);
    j = get_ok("/v1/checkpoints/bundled-small", read_key);
    assert_false(json_is_true(json_object_get(j, "is_default")));
    json_decref(j);

    /* The default cannot be deleted; others can, row and file together. */
    http_do("DELETE", "/v1/checkpoints/alt-seed7", admin_key);
    expect_error(409, "is_default");
    http_do("DELETE", "/v1/checkpoints/my-small", train_key);
    expect_error(403, "insufficient_scope");
    int files0 = count_files();
    http_do("DELETE", "/v1/checkpoints/my-small", admin_key);
    if (A.status != 200) fail_msg("delete:\n%s", A.raw);
    j = answer_json();
    assert_true(json_is_true(json_object_get(j, "deleted")));
    json_decref(j);
    assert_int_equal(count_files(), files0 - 1);
    char path[300];
    snprintf(path, sizeof path, "%s/checkpoints/my-small.safetensors", data);
    assert_int_equal(access(path, F_OK), -1);
    http_do("GET", "/v1/checkpoints/my-small", read_key);
    expect_error(404, "not_found");
    http_do("DELETE", "/v1/checkpoints/my-small", admin_key);
    expect_error(404, "not_found");
    char *b2 = ptbxl_body("my-small");
    http_full("POST", "/v1/embed", embed_key, "application/json", NULL, b2, strlen(b2));
    free(b2);
    expect_error(404, "checkpoint_not_found");

    /* Two uploads of one name at once: one is stored, the other is 409, the file is whole. */
    size_t mlen;
    char *small = slurp(model, &mlen);
    int f1 = send_req("POST", "/v1/checkpoints?name=twin", train_key, "application/octet-stream",
                      NULL, small, mlen);
    int f2 = send_req("POST", "/v1/checkpoints?name=twin", train_key, "application/octet-stream",
                      NULL, small, mlen);
    ac_answer a1 = {0}, a2 = {0};
    recv_answer(f1, &a1);
    recv_answer(f2, &a2);
    int s1 = a1.status, s2 = a2.status;
    free(a1.raw);
    free(a2.raw);
    print_message("concurrent uploads of one name: %d and %d\n", s1, s2);
    assert_true((s1 == 201 && s2 == 409) || (s1 == 409 && s2 == 201));
    snprintf(path, sizeof path, "%s/checkpoints/twin.safetensors", data);
    size_t tl;
    char *tw = slurp(path, &tl);
    assert_int_equal(tl, mlen);
    assert_memory_equal(tw, small, mlen);
    free(tw);
    free(small);
    http_do("DELETE", "/v1/checkpoints/twin", admin_key);
    assert_int_equal(A.status, 200);
}

static void test_restart_keeps_default(void **state) {
    (void)state;
    stop_server();
    /* What a crash mid-upload or mid-delete leaves: removed at the next start, nothing else. */
    const char *strays[] = {".tmp-Ab12Cd", "orphan.safetensors", ".deleting-99"};
    int files0 = count_files();
    for (int i = 0; i < 3; i++) {
        char p[400];
        snprintf(p, sizeof p, "%s/checkpoints/%s", data, strays[i]);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        fputs("partial", f);
        fclose(f);
    }
    assert_int_equal(count_files(), files0 + 3);
    start_server("serve2.log");
    assert_int_equal(count_files(), files0);
    json_t *j = embed(NULL, NULL, "alt-seed7"); /* loaded from the default row, not --model */
    json_decref(j);
    assert_non_null(strstr(ts_read_text(server_log), "alt-seed7.safetensors loaded"));
    /* back to the bundled one for the rest */
    http_do("POST", "/v1/checkpoints/bundled-small/default", admin_key);
    if (A.status != 200) fail_msg("set default:\n%s", A.raw);
    j = embed(NULL, NULL, "bundled-small");
    json_decref(j);
}

/* A default whose file no longer loads: /readyz is 503 with the reason, embeds are 503, and
 * making another checkpoint the default brings the worker back without a restart. */
static void test_recover_broken_default(void **state) {
    (void)state;
    http_do("POST", "/v1/checkpoints/alt-seed7/default", admin_key);
    if (A.status != 200) fail_msg("set default:\n%s", A.raw);
    stop_server();
    char path[300];
    snprintf(path, sizeof path, "%s/checkpoints/alt-seed7.safetensors", data);
    assert_int_equal(truncate(path, 100), 0);
    start_server2("serve3.log", 1);
    long long deadline = ts_now_ms() + START_TIMEOUT_MS;
    for (;;) {
        http_do("GET", "/readyz", NULL);
        if (A.status == 503 && !strstr(A.body, "still loading")) break;
        if (A.status == 200 || ts_now_ms() > deadline) fail_msg("readyz:\n%s", A.raw);
        ts_sleep_ms(20);
    }
    assert_non_null(strstr(A.body, "alt-seed7"));
    char *body = ptbxl_body(NULL);
    http_full("POST", "/v1/embed", embed_key, "application/json", NULL, body, strlen(body));
    free(body);
    expect_error(503, "not_ready");
    http_do("POST", "/v1/checkpoints/bundled-small/default", admin_key);
    if (A.status != 200) fail_msg("set default after a failed load:\n%s", A.raw);
    http_do("GET", "/readyz", NULL);
    assert_int_equal(A.status, 200);
    json_t *j = embed(NULL, NULL, "bundled-small");
    json_decref(j);
    /* the broken one, no longer the default, goes */
    http_do("DELETE", "/v1/checkpoints/alt-seed7", admin_key);
    assert_int_equal(A.status, 200);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_pretrain_checkpoint_listed(void **state) {
    (void)state;
    const char *body = "{\"kind\":\"pretrain\",\"params\":{\"dataset\":\"tiny\",\"objective\":"
                       "\"cpc\",\"model\":\"small\",\"batch\":8,\"epochs\":1}}";
    http_full("POST", "/v1/jobs", train_key, "application/json", NULL, body, strlen(body));
    if (A.status != 201) fail_msg("job:\n%s", A.raw);
    json_t *j = answer_json();
    long long job = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    char p[96];
    snprintf(p, sizeof p, "/v1/jobs/%lld", job);
    long long deadline = ts_now_ms() + JOB_TIMEOUT_MS;
    for (;;) {
        j = get_ok(p, read_key);
        const char *st = json_string_value(json_object_get(j, "state"));
        if (!strcmp(st, "succeeded")) break;
        if (!strcmp(st, "failed") || ts_now_ms() > deadline) fail_msg("job:\n%s", A.body);
        json_decref(j);
        ts_sleep_ms(200);
    }
    json_decref(j);
    j = get_ok("/v1/checkpoints?objective=cpc", read_key);
    json_t *list = json_object_get(j, "checkpoints"), *c = NULL;
    for (size_t i = 0; i < json_array_size(list); i++)
        if (json_integer_value(json_object_get(json_array_get(list, i), "job_id")) == job)
            c = json_array_get(list, i);
    if (!c) fail_msg("job %lld's checkpoint is not listed:\n%s", job, A.body);
    char want[32];
    snprintf(want, sizeof want, "job-%lld", job);
    assert_string_equal(json_string_value(json_object_get(c, "name")), want);
    assert_true(json_integer_value(json_object_get(c, "step")) > 0);
    assert_true(json_integer_value(json_object_get(c, "subset_size")) > 0);
    assert_true(json_is_object(json_object_get(c, "model")));
    assert_string_equal(json_string_value(json_object_get(c, "objective")), "cpc");
    json_t *ds = json_object_get(c, "dataset");
    assert_string_equal(json_string_value(json_object_get(ds, "name")), "tiny");
    assert_true(json_integer_value(json_object_get(ds, "id")) > 0); /* adopted at start */
    long long cid = json_integer_value(json_object_get(c, "id"));
    json_decref(j);
    /* its file downloads byte-identical, and it embeds */
    char path[300];
    snprintf(path, sizeof path, "%s/jobs/%lld/checkpoint.safetensors", data, job);
    size_t flen;
    char *file = slurp(path, &flen);
    snprintf(p, sizeof p, "/v1/checkpoints/%lld/file", cid);
    http_do("GET", p, read_key);
    assert_int_equal(A.status, 200);
    assert_int_equal(A.body_len, flen);
    assert_memory_equal(A.body, file, flen);
    free(file);
    j = embed(NULL, want, want);
    json_decref(j);
}

static void test_stop(void **state) {
    (void)state;
    stop_server();
    /* no leftovers beside the files rows name */
    char dir[300];
    snprintf(dir, sizeof dir, "%s/checkpoints", data);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            fail_msg("leftover %s", de->d_name);
    closedir(d);
}

/* ---- SQLite, read-only, for the both-or-neither checks ---- */

#include <sqlite3.h>

static long long count_rows(const char *where) {
    char dbp[300], sql[256];
    snprintf(dbp, sizeof dbp, "%s/ecgfm.sqlite3", data);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM checkpoints WHERE %s", where);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(dbp, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static int teardown(void **state) {
    ts_kill_children(state);
    return 0;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0) return 1;
    if (ts_find_bin(bin, sizeof bin, "test_api_checkpoints") != 0) return 1;
    char real[PATH_MAX];
    if (!realpath(bin, real)) return 1;
    for (int up = 0; up < 2; up++)
        *strrchr(real, '/') = '\0';
    snprintf(repo, sizeof repo, "%s", real);
    snprintf(model, sizeof model, "%s/models/small/checkpoint.safetensors", repo);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ecgfm-test-ckpt-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    snprintf(data, sizeof data, "%s/data", tmpdir);
    snprintf(alt_file, sizeof alt_file, "%s/alt.safetensors", tmpdir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_and_list),
        cmocka_unit_test(test_download),
        cmocka_unit_test(test_upload),
        cmocka_unit_test(test_embed_with_checkpoint),
        cmocka_unit_test(test_default_switch),
        cmocka_unit_test(test_restart_keeps_default),
        cmocka_unit_test(test_recover_broken_default),
        cmocka_unit_test(test_pretrain_checkpoint_listed),
        cmocka_unit_test(test_stop),
    };
    int failed = cmocka_run_group_tests(tests, NULL, teardown);
    free(A.raw);
    if (!failed) ts_rm_tmpdir(tmpdir);
    return failed ? 1 : 0;
}

/* test_embed_api.c — POST /v1/embed on the real build/ecgfm over 127.0.0.1: JSON, WFDB and CSV
 * uploads of real ECGs equal to `ecgfm embed` of the same file, batching across concurrent
 * requests, every bad input answered with its 4xx, a full queue answered 429, the server alive. */
#include <limits.h>
#include <math.h>
#include <sys/stat.h>

#define IO_TIMEOUT_S 10
#define AC_IO_TIMEOUT_S IO_TIMEOUT_S /* the client below waits as long */
#include "tests/api/apiclient.h"

#include <jansson.h>
#include <sodium.h>

#include "api/embed.h"
#include "core/data/record.h"
#include "core/data/wfdb.h"

/* Paths here are short; the warning is about PATH_MAX-sized buffers in theory. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define START_TIMEOUT_MS 20000
#define EXIT_TIMEOUT_MS 10000
#define TOL 1e-5

static char model[PATH_MAX + 64]; /* AC.bin, AC.root (above the binary), AC.tmpdir: apiclient.h */
static char embed_key[128];       /* the Bearer key sent with every request, or "" */

static void tmp_path(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", AC.tmpdir, name);
}

/* A JSON POST with the embed key (if any): the socket, the answer not read yet. */
static int send_post(int port, const char *path, const char *body) {
    return ac_send_to(port, "POST", path, *embed_key ? embed_key : NULL, "application/json", NULL,
                      body, strlen(body));
}

static void request(ac_answer *a, int port, const char *method, const char *path, const char *ctype,
                    const char *body, size_t body_len) {
    ac_read(
        ac_send_to(port, method, path, *embed_key ? embed_key : NULL, ctype, NULL, body, body_len),
        a);
}

static json_t *answer_json(const ac_answer *a) {
    json_error_t e;
    json_t *j = json_loads(a->body, 0, &e);
    if (!j || !json_is_object(j))
        fail_msg("body is not a JSON object (%s):\n%.400s", e.text, a->raw);
    return j;
}

static void assert_error(const ac_answer *a, int status, const char *code) {
    if (a->status != status) fail_msg("want %d %s, got:\n%.600s", status, code, a->raw);
    json_t *j = answer_json(a);
    json_t *e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    const char *got = json_string_value(json_object_get(e, "code"));
    if (!got || strcmp(got, code)) fail_msg("want code %s, got:\n%.600s", code, a->body);
    assert_true(json_string_length(json_object_get(e, "message")) > 0);
    json_decref(j);
}

/* ---- the server ---- */

typedef struct {
    pid_t pid;
    int port;
    char log[PATH_MAX];
} server;

static void start_server(server *s, const char *name, const char *const *extra) {
    char data[PATH_MAX];
    tmp_path(data, sizeof data, "var");
    tmp_path(s->log, sizeof s->log, name);
    char *args[40] = {"serve", "--port",           "0",      "--data-dir", data, "--model",
                      model,   "--max-body-bytes", "4000000"};
    int n = 9;
    for (int i = 0; extra && extra[i]; i++)
        args[n++] = (char *)extra[i];
    args[n] = NULL;
    s->pid = ac_spawn(s->log, NULL, args);
    s->port = ts_wait_listening(s->pid, s->log, START_TIMEOUT_MS);
    ts_wait_ready(s->port, IO_TIMEOUT_S, START_TIMEOUT_MS, s->log);
}

static void stop_server(server *s) {
    ts_stop(s->pid, SIGTERM, EXIT_TIMEOUT_MS, s->log);
}

/* An embed key when the service has API keys (created with the CLI before the server starts). */
static void make_key(void) {
    char data[PATH_MAX];
    tmp_path(data, sizeof data, "var");
    char out[PATH_MAX];
    tmp_path(out, sizeof out, "key.out");
    char *args[] = {"keys", "create", "--scope", "embed", "--data-dir", data, NULL};
    pid_t pid = ac_spawn(out, "/dev/null", args);
    int st = ts_wait_exit(pid, EXIT_TIMEOUT_MS);
    embed_key[0] = 0;
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return; /* no keys in this build */
    char *k = ts_slurp(out, NULL);
    if (!k) return;
    k[strcspn(k, "\r\n")] = 0;
    snprintf(embed_key, sizeof embed_key, "%s", k);
    free(k);
}

/* ---- comparing embeddings ---- */

static void assert_same_embedding(json_t *http, json_t *cli) {
    json_t *a = json_object_get(http, "embedding"), *b = json_object_get(cli, "embedding");
    assert_true(json_is_array(a) && json_is_array(b));
    assert_int_equal(json_array_size(a), json_array_size(b));
    assert_int_equal(json_integer_value(json_object_get(http, "windows")),
                     json_integer_value(json_object_get(cli, "windows")));
    assert_int_equal(json_integer_value(json_object_get(http, "dim")),
                     json_integer_value(json_object_get(cli, "dim")));
    double worst = 0;
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
        if (json_is_array(x)) { /* pooling "windows" */
            assert_int_equal(json_array_size(x), json_array_size(y));
            for (size_t j = 0; j < json_array_size(x); j++, n++) {
                double d = fabs(json_number_value(json_array_get(x, j)) -
                                json_number_value(json_array_get(y, j)));
                if (d > worst) worst = d;
            }
        } else {
            double d = fabs(json_number_value(x) - json_number_value(y));
            if (d > worst) worst = d;
            n++;
        }
    }
    print_message("%zu values, largest |http - cli| = %.3g\n", n, worst);
    assert_true(n > 0);
    assert_true(worst <= TOL);
}

static json_t *cli_embed(const char *file, const char *pooling, const char *fs) {
    char *args[12] = {"embed", "--checkpoint", model};
    int n = 3;
    if (pooling) args[n++] = "--pooling", args[n++] = (char *)pooling;
    if (fs) args[n++] = "--fs", args[n++] = (char *)fs;
    args[n++] = (char *)file;
    args[n] = NULL;
    char *out = ac_run_ok(args, EXIT_TIMEOUT_MS);
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    if (!j) fail_msg("ecgfm embed printed no JSON (%s): %.300s", e.text, out);
    free(out);
    return j;
}

static server srv; /* shared by the tests after test_start */

/* POST body to path on srv: the answer must be 200 (else the test fails naming what, with the
 * answer); its JSON. */
static json_t *embed_ok(const char *what, const char *path, const char *ctype, const char *body,
                        size_t len) {
    ac_answer a;
    request(&a, srv.port, "POST", path, ctype, body, len);
    if (a.status != 200) fail_msg("%s: %.600s", what, a.raw);
    json_t *j = answer_json(&a);
    ac_answer_free(&a);
    return j;
}

static void test_start(void **state) {
    (void)state;
    make_key();
    const char *extra[] = {"--embed-max-wait-us", "30000", NULL};
    start_server(&srv, "server.log", extra);
}

/* The PTB-XL record as a JSON body (leads by name, fs 100, millivolts). */
static char *ptbxl_json(const char *units_name, double scale) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/tests/data/ecg/ptbxl/00001_lr.hea", AC.root);
    json_t *body = ac_wfdb_json(path, scale);
    json_object_set_new(body, "units", json_string(units_name));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

static void test_json_equals_cli(void **state) {
    (void)state;
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s/tests/data/ecg/ptbxl/00001_lr.hea", AC.root);
    json_t *cli = cli_embed(file, NULL, NULL);
    const char *units[] = {"mV", "uV"};
    double scale[] = {1.0, 1000.0};
    for (int u = 0; u < 2; u++) {
        char *body = ptbxl_json(units[u], scale[u]);
        json_t *j = embed_ok("JSON embed", "/v1/embed", "application/json", body, strlen(body));
        free(body);
        assert_int_equal(json_integer_value(json_object_get(j, "dim")), 64);
        assert_int_equal(json_integer_value(json_object_get(j, "windows")), 4); /* 10 s */
        assert_int_equal(json_array_size(json_object_get(j, "leads_present")), 12);
        /* the answer names the checkpoint used: the bundled default, registered at start */
        assert_string_equal(json_string_value(json_object_get(j, "checkpoint")), "bundled-small");
        assert_true(fabs(json_number_value(json_object_get(j, "fs_in")) - 100) < 1e-9);
        /* uV goes through a float round trip of x1000: same within float precision */
        assert_same_embedding(j, cli);
        json_decref(j);
    }
    json_decref(cli);
}

/* multipart/form-data with the given files (name on disk -> part filename = basename). */
static char *multipart(const char *const *paths, int n, size_t *len, const char *boundary) {
    size_t cap = 64, used = 0;
    for (int i = 0; i < n; i++) {
        size_t l;
        char *d = ts_slurp(paths[i], &l);
        assert_non_null(d);
        free(d);
        cap += l + 512;
    }
    char *b = malloc(cap);
    assert_non_null(b);
    for (int i = 0; i < n; i++) {
        size_t l;
        char *d = ts_slurp(paths[i], &l);
        const char *base = strrchr(paths[i], '/');
        base = base ? base + 1 : paths[i];
        used += (size_t)sprintf(b + used,
                                "--%s\r\nContent-Disposition: form-data; name=\"file%d\"; "
                                "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                                boundary, i, base);
        memcpy(b + used, d, l);
        used += l;
        used += (size_t)sprintf(b + used, "\r\n");
        free(d);
    }
    used += (size_t)sprintf(b + used, "--%s--\r\n", boundary);
    *len = used;
    return b;
}

static void test_wfdb_upload_equals_cli(void **state) {
    (void)state;
    char hea[PATH_MAX], dat[PATH_MAX];
    /* LUDB record 1: 12 leads at 500 Hz, 10 s; per-window embeddings compared. */
    snprintf(hea, sizeof hea, "%s/tests/data/ecg/ludb/1.hea", AC.root);
    snprintf(dat, sizeof dat, "%s/tests/data/ecg/ludb/1.dat", AC.root);
    json_t *cli = cli_embed(hea, "windows", NULL);
    const char *files[] = {hea, dat};
    size_t len;
    char *body = multipart(files, 2, &len, "xYzBoUnDaRy42");
    json_t *j = embed_ok("WFDB upload", "/v1/embed?pooling=windows",
                         "multipart/form-data; boundary=xYzBoUnDaRy42", body, len);
    assert_int_equal(json_integer_value(json_object_get(j, "windows")), 4);
    assert_int_equal(json_array_size(json_object_get(j, "embedding")), 4);
    assert_same_embedding(j, cli);
    json_decref(j);
    json_decref(cli);

    /* The same record truncated: its .dat is half missing -> 422, and a lone .dat -> 400. */
    char *d = ts_slurp(dat, &len);
    char trunc[PATH_MAX];
    tmp_path(trunc, sizeof trunc, "1.dat");
    FILE *f = fopen(trunc, "wb");
    fwrite(d, 1, len / 2, f);
    fclose(f);
    free(d);
    const char *tfiles[] = {hea, trunc};
    free(body);
    body = multipart(tfiles, 2, &len, "bb");
    ac_answer a;
    request(&a, srv.port, "POST", "/v1/embed", "multipart/form-data; boundary=bb", body, len);
    assert_error(&a, 422, "invalid_file");
    ac_answer_free(&a);
    free(body);
    body = multipart(tfiles + 1, 1, &len, "bb");
    request(&a, srv.port, "POST", "/v1/embed", "multipart/form-data; boundary=bb", body, len);
    assert_error(&a, 400, "missing_part");
    ac_answer_free(&a);
    free(body);
}

static void test_csv_upload_equals_cli(void **state) {
    (void)state;
    /* The PTB-XL record written as CSV (time column in seconds, lead names in the header). */
    ecg_record r = {0};
    ecg_err err = {0};
    char path[PATH_MAX], csv[PATH_MAX];
    snprintf(path, sizeof path, "%s/tests/data/ecg/ptbxl/00001_lr.hea", AC.root);
    if (wfdb_read_record(&r, path, NULL, &err)) fail_msg("%s", err.msg);
    tmp_path(csv, sizeof csv, "00001_lr.csv");
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fprintf(f, "time");
    for (int c = 0; c < r.n_channels; c++)
        fprintf(f, ",%s", r.channels[c].name);
    fprintf(f, "\n");
    for (size_t t = 0; t < r.n_samples; t++) {
        fprintf(f, "%.4f", (double)t / r.fs);
        for (int c = 0; c < r.n_channels; c++)
            fprintf(f, ",%.9g", r.signal[(size_t)c * r.n_samples + t]);
        fprintf(f, "\n");
    }
    fclose(f);
    record_free(&r);
    json_t *cli = cli_embed(csv, NULL, NULL);
    size_t len;
    char *body = ts_slurp(csv, &len);
    json_t *j = embed_ok("CSV upload", "/v1/embed", "text/csv", body, len);
    assert_same_embedding(j, cli);
    json_decref(j);
    /* The same as a multipart part named .csv, with the format named in the query. */
    const char *files[] = {csv};
    free(body);
    body = multipart(files, 1, &len, "q");
    j = embed_ok("CSV multipart", "/v1/embed?format=csv", "multipart/form-data; boundary=q", body,
                 len);
    assert_same_embedding(j, cli);
    json_decref(j);
    free(body);
    json_decref(cli);
}

/* The PTB-XL record as a float32 .npy of shape (12, 1000), raw body with ?fs=, against
 * `ecgfm embed --fs 100` of the same file. */
static void test_npy_upload_equals_cli(void **state) {
    (void)state;
    char path[PATH_MAX], npy[PATH_MAX];
    snprintf(path, sizeof path, "%s/tests/data/ecg/ptbxl/00001_lr.hea", AC.root);
    size_t len;
    char *body = ac_wfdb_npy(path, &len);
    tmp_path(npy, sizeof npy, "00001_lr.npy");
    FILE *f = fopen(npy, "wb");
    assert_non_null(f);
    fwrite(body, 1, len, f);
    fclose(f);
    json_t *cli = cli_embed(npy, NULL, "100");
    json_t *j = embed_ok("npy upload", "/v1/embed?fs=100", "application/x-npy", body, len);
    assert_int_equal(json_array_size(json_object_get(j, "leads_present")), 12);
    assert_same_embedding(j, cli);
    json_decref(j);
    free(body);
    json_decref(cli);
}

/* A value from the /metrics text ("name value" line); 0 when absent (a counter never added to
 * has no sample line), -1 when the family itself is missing. */
static double metric(const char *text, const char *name) {
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ') return atof(p + n + 1);
    char type[128];
    snprintf(type, sizeof type, "# TYPE %s ", name);
    return strstr(text, type) ? 0 : -1;
}

/* Output options: normalize gives the float answer divided by its L2 norm; base64 carries the same
 * values as little-endian float32 (row-major [windows][dim] with pooling=windows); bad values 422.
 */
static void test_output_options(void **state) {
    (void)state;
    char *body = ptbxl_json("mV", 1.0);
    size_t blen = strlen(body);
    json_t *plain = embed_ok("plain", "/v1/embed", "application/json", body, blen);
    json_t *unit =
        embed_ok("normalize", "/v1/embed?normalize=true", "application/json", body, blen);
    assert_true(json_is_true(json_object_get(unit, "normalized")));
    json_t *pe = json_object_get(plain, "embedding"), *ue = json_object_get(unit, "embedding");
    double ss = 0, uu = 0;
    for (size_t i = 0; i < json_array_size(pe); i++) {
        double v = json_number_value(json_array_get(pe, i));
        ss += v * v;
        uu += json_number_value(json_array_get(ue, i)) * json_number_value(json_array_get(ue, i));
    }
    assert_true(ss > 0 && fabs(uu - 1.0) < 1e-9);
    for (size_t i = 0; i < json_array_size(pe); i++)
        assert_true(fabs(json_number_value(json_array_get(ue, i)) -
                         json_number_value(json_array_get(pe, i)) / sqrt(ss)) < 1e-9);

    json_t *win = embed_ok("windows", "/v1/embed?pooling=windows", "application/json", body, blen);
    json_t *b64 = embed_ok("base64", "/v1/embed?pooling=windows&encoding=base64",
                           "application/json", body, blen);
    assert_string_equal(json_string_value(json_object_get(b64, "encoding")), "base64");
    json_t *shape = json_object_get(b64, "shape");
    size_t rows = (size_t)json_integer_value(json_array_get(shape, 0));
    size_t dim = (size_t)json_integer_value(json_array_get(shape, 1));
    assert_int_equal(rows, 4);
    assert_int_equal(dim, 64);
    const char *text = json_string_value(json_object_get(b64, "embedding"));
    assert_non_null(text);
    unsigned char *bytes = malloc(rows * dim * 4);
    size_t got = 0;
    assert_int_equal(sodium_base642bin(bytes, rows * dim * 4, text, strlen(text), NULL, &got, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(got, rows * dim * 4);
    json_t *we = json_object_get(win, "embedding");
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < dim; j++) {
            const unsigned char *p = bytes + (r * dim + j) * 4;
            uint32_t u =
                (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            float f;
            memcpy(&f, &u, 4);
            double want = json_number_value(json_array_get(json_array_get(we, r), j));
            assert_true(f == (float)want);
        }
    free(bytes);

    /* the same options in the JSON body */
    json_t *jb = json_loads(body, 0, NULL);
    json_object_set_new(jb, "normalize", json_true());
    json_object_set_new(jb, "encoding", json_string("float"));
    char *body2 = json_dumps(jb, JSON_COMPACT);
    json_t *unit2 =
        embed_ok("normalize in body", "/v1/embed", "application/json", body2, strlen(body2));
    assert_true(json_equal(json_object_get(unit2, "embedding"), ue));
    ac_answer a;
    request(&a, srv.port, "POST", "/v1/embed?encoding=hex", "application/json", body, blen);
    assert_error(&a, 422, "invalid_encoding");
    ac_answer_free(&a);
    request(&a, srv.port, "POST", "/v1/embed?normalize=yes", "application/json", body, blen);
    assert_error(&a, 422, "invalid_normalize");
    ac_answer_free(&a);
    json_object_set_new(jb, "normalize", json_string("true"));
    free(body2);
    body2 = json_dumps(jb, JSON_COMPACT);
    request(&a, srv.port, "POST", "/v1/embed", "application/json", body2, strlen(body2));
    assert_error(&a, 400, "wrong_type");
    ac_answer_free(&a);
    free(body2);
    json_decref(jb);
    json_decref(unit2);
    json_decref(win);
    json_decref(b64);
    json_decref(unit);
    json_decref(plain);
    free(body);
}

static void test_batching(void **state) {
    (void)state;
    ac_answer a;
    request(&a, srv.port, "GET", "/metrics", NULL, NULL, 0);
    assert_int_equal(a.status, 200);
    double batches0 = metric(a.body, "ecgfm_embed_batches_total");
    double multi0 = metric(a.body, "ecgfm_embed_multi_request_batches_total");
    ac_answer_free(&a);
    assert_true(batches0 >= 0 && multi0 >= 0);
    /* 16 one-window requests at once; the worker waits 30 ms for company. */
    const char *body = "{\"signal\": [[0.1, 0.2, 0.3, 0.2, 0.1, 0.0, -0.1, 0.0]], \"fs\": 240, "
                       "\"leads\": [\"II\"]}";
    enum { N = 16 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = send_post(srv.port, "/v1/embed", body);
    json_t *first = NULL;
    for (int i = 0; i < N; i++) {
        ac_read(fds[i], &a);
        if (a.status != 200) fail_msg("concurrent request %d: %.400s", i, a.raw);
        json_t *j = answer_json(&a);
        if (!first)
            first = j;
        else {
            assert_same_embedding(j, first); /* batch position does not change the answer */
            json_decref(j);
        }
        ac_answer_free(&a);
    }
    json_decref(first);
    request(&a, srv.port, "GET", "/metrics", NULL, NULL, 0);
    double batches = metric(a.body, "ecgfm_embed_batches_total") - batches0;
    double multi = metric(a.body, "ecgfm_embed_multi_request_batches_total") - multi0;
    double maxb = metric(a.body, "ecgfm_embed_batch_windows_max");
    ac_answer_free(&a);
    print_message("%d requests ran in %.0f forwards (%.0f with several requests, largest %.0f)\n",
                  N, batches, multi, maxb);
    assert_true(batches >= 1 && batches < N);
    assert_true(multi >= 1);
    assert_true(maxb >= 2);
}

typedef struct {
    const char *what, *ctype, *path, *body;
    int status;
    const char *code;
} bad_case;

static void test_bad_inputs(void **state) {
    (void)state;
    static const bad_case cases[] = {
        {"not JSON", "application/json", "/v1/embed", "{\"signal\": [[1,2,", 400, "invalid_json"},
        {"top level array", "application/json", "/v1/embed", "[1,2]", 400, "invalid_json"},
        {"NaN literal", "application/json", "/v1/embed",
         "{\"signal\": [[NaN]], \"fs\": 500, \"leads\": [\"I\"]}", 400, "invalid_json"},
        {"number overflow", "application/json", "/v1/embed",
         "{\"signal\": [[1e999]], \"fs\": 500, \"leads\": [\"I\"]}", 400, "invalid_json"},
        {"missing signal", "application/json", "/v1/embed", "{\"fs\": 500}", 400, "missing_field"},
        {"missing fs", "application/json", "/v1/embed", "{\"signal\": [[1,2]], \"leads\": [\"I\"]}",
         400, "missing_field"},
        {"missing leads", "application/json", "/v1/embed", "{\"signal\": [[1,2]], \"fs\": 500}",
         400, "missing_field"},
        {"unknown field", "application/json", "/v1/embed",
         "{\"signal\": [[1,2]], \"fs\": 500, \"leads\": [\"I\"], \"sigmal\": 1}", 400,
         "unknown_field"},
        {"fs a string", "application/json", "/v1/embed",
         "{\"signal\": [[1,2]], \"fs\": \"500\", \"leads\": [\"I\"]}", 400, "wrong_type"},
        {"fs negative", "application/json", "/v1/embed",
         "{\"signal\": [[1,2]], \"fs\": -5, \"leads\": [\"I\"]}", 422, "invalid_fs"},
        {"ragged", "application/json", "/v1/embed",
         "{\"signal\": [[1,2,3],[1,2]], \"fs\": 500, \"leads\": [\"I\",\"II\"]}", 400,
         "ragged_signal"},
        {"sample a string", "application/json", "/v1/embed",
         "{\"signal\": [[1,\"x\"]], \"fs\": 500, \"leads\": [\"I\"]}", 400, "wrong_type"},
        {"huge sample", "application/json", "/v1/embed",
         "{\"signal\": [[1,1e300]], \"fs\": 500, \"leads\": [\"I\"]}", 422, "sample_out_of_range"},
        {"unknown lead", "application/json", "/v1/embed",
         "{\"signal\": [[1,2]], \"fs\": 500, \"leads\": [\"V7\"]}", 422, "unknown_lead"},
        {"duplicate lead", "application/json", "/v1/embed",
         "{\"signal\": [[1,2],[1,2]], \"fs\": 500, \"leads\": [\"I\",\"I\"]}", 422,
         "duplicate_lead"},
        {"leads count", "application/json", "/v1/embed",
         "{\"signal\": [[1,2]], \"fs\": 500, \"leads\": [\"I\",\"II\"]}", 422, "leads_mismatch"},
        {"empty leads", "application/json", "/v1/embed",
         "{\"signal\": [[]], \"fs\": 500, \"leads\": [\"I\"]}", 422, "empty_signal"},
        {"bad units", "application/json", "/v1/embed",
         "{\"signal\": [[1,2]], \"fs\": 500, \"leads\": [\"I\"], \"units\": \"V\"}", 422,
         "invalid_units"},
        {"bad pooling", "application/json", "/v1/embed?pooling=max",
         "{\"signal\": [[1,2]], \"fs\": 500, \"leads\": [\"I\"]}", 422, "invalid_pooling"},
        {"unknown checkpoint", "application/json", "/v1/embed?checkpoint=nope",
         "{\"signal\": [[1,2]], \"fs\": 500, \"leads\": [\"I\"]}", 404, "checkpoint_not_found"},
        {"empty body", "application/json", "/v1/embed", "", 400, "empty_body"},
        {"image", "image/png", "/v1/embed", "\x89PNG....", 415, "unsupported_media_type"},
        {"unknown format", "application/octet-stream", "/v1/embed?format=xml", "<a/>", 415,
         "unsupported_format"},
        {"raw wfdb", "application/octet-stream", "/v1/embed?format=wfdb", "100 2 360", 415,
         "unsupported_format"},
        {"npy without fs", "application/x-npy", "/v1/embed", "\x93NUMPY", 422, "missing_fs"},
        {"corrupt npy", "application/x-npy", "/v1/embed?fs=500", "\x93NUMPY\x01\x00garbage", 422,
         "invalid_file"},
        {"corrupt csv", "text/csv", "/v1/embed?fs=500", "I,II\n1,2\n3\n", 422, "invalid_file"},
        {"corrupt edf", "application/edf", "/v1/embed", "0       garbage", 422, "invalid_file"},
        {"no standard lead", "text/csv", "/v1/embed?fs=500", "foo,bar\n1,2\n3,4\n", 422,
         "unusable_record"},
        {"multipart no boundary", "multipart/form-data", "/v1/embed", "--x\r\n", 400,
         "invalid_multipart"},
        {"multipart truncated", "multipart/form-data; boundary=x", "/v1/embed",
         "--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.csv\"\r\n\r\nI\n1\n", 400,
         "invalid_multipart"},
        {"path traversal name", "multipart/form-data; boundary=x", "/v1/embed",
         "--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"../../etc/passwd\"\r\n\r\n"
         "root:x:0:0\r\n--x--\r\n",
         415, "unsupported_format"},
        {"wrong method", NULL, "/v1/embed", "", 405, "method_not_allowed"},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        const bad_case *c = &cases[i];
        ac_answer a;
        request(&a, srv.port, c->status == 405 ? "GET" : "POST", c->path, c->ctype, c->body,
                strlen(c->body));
        if (a.status != c->status) fail_msg("%s: want %d, got:\n%.600s", c->what, c->status, a.raw);
        assert_error(&a, c->status, c->code);
        ac_answer_free(&a);
    }
    /* A body past --max-body-bytes: 413 with the limit. */
    size_t big = 4000001;
    char *b = malloc(big);
    memset(b, ' ', big);
    ac_answer a;
    request(&a, srv.port, "POST", "/v1/embed", "application/json", b, big);
    assert_error(&a, 413, "payload_too_large");
    ac_answer_free(&a);
    free(b);
    print_message("%zu bad inputs answered with their 4xx, plus an oversized body\n", n);
    /* Still alive and still embedding. */
    request(&a, srv.port, "GET", "/healthz", NULL, NULL, 0);
    assert_int_equal(a.status, 200);
    ac_answer_free(&a);
    const char *ok = "{\"signal\": [[0.1, 0.2]], \"fs\": 240, \"leads\": [\"I\"]}";
    request(&a, srv.port, "POST", "/v1/embed", "application/json", ok, strlen(ok));
    assert_int_equal(a.status, 200);
    ac_answer_free(&a);
}

static void test_stop(void **state) {
    (void)state;
    stop_server(&srv);
}

/* A record past embed_max_windows gets 413. A queue of one request whose batch waits 2 s: a second
 * request meanwhile gets 429; SIGTERM then drains the first, which still gets its answer. */
static void test_queue_full_and_drain(void **state) {
    (void)state;
    server s;
    const char *extra[] = {"--embed-queue-max",
                           "1",
                           "--embed-max-wait-us",
                           "2000000",
                           "--embed-max-windows",
                           "2",
                           NULL};
    start_server(&s, "server-q.log", extra);
    /* 1800 samples at 240 Hz are 3 windows: past the limit of 2, 413 naming it. */
    char *big = malloc(1800 * 8 + 100);
    size_t bl = (size_t)sprintf(big, "{\"fs\": 240, \"leads\": [\"II\"], \"signal\": [[0");
    for (int i = 1; i < 1800; i++)
        bl += (size_t)sprintf(big + bl, ",0.%d", i % 10);
    bl += (size_t)sprintf(big + bl, "]]}");
    ac_answer a;
    request(&a, s.port, "POST", "/v1/embed", "application/json", big, bl);
    assert_error(&a, 413, "record_too_long");
    assert_non_null(strstr(a.body, "limit 2"));
    ac_answer_free(&a);
    free(big);
    const char *body = "{\"signal\": [[0.1, 0.2, 0.3]], \"fs\": 240, \"leads\": [\"II\"]}";
    int fd1 = send_post(s.port, "/v1/embed", body);
    ts_sleep_ms(300);
    request(&a, s.port, "POST", "/v1/embed", "application/json", body, strlen(body));
    assert_error(&a, 429, "queue_full");
    ac_answer_free(&a);
    assert_int_equal(kill(s.pid, SIGTERM), 0);
    ac_read(fd1, &a);
    if (a.status != 200) fail_msg("drained request: %.400s", a.raw);
    ac_answer_free(&a);
    int st = ts_wait_exit(s.pid, EXIT_TIMEOUT_MS);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("server did not exit 0 after SIGTERM (status %d):\n%s", st, ts_slurp(s.log, NULL));
}

/* The JSON reader directly: numbers read to strtod's bits, escapes, and malformed documents. */
static void test_json_reader(void **state) {
    (void)state;
    srand(7);
    char body[256];
    const char *fmts[] = {"%.4f", "%.9g", "%.17g", "%.3e", "%g", "%.0f"};
    for (int i = 0; i < 30000; i++) {
        double x = (rand() / (double)RAND_MAX - 0.5) *
                   pow(10, rand() % 12 - 7); /* within the 1e5 mV limit */
        char num[64];
        snprintf(num, sizeof num, fmts[i % 6], x);
        snprintf(body, sizeof body, "{\"signal\":[[%s]],\"fs\":100,\"leads\":[\"I\"]}", num);
        embed_request rq;
        memset(&rq, 0, sizeof rq);
        api_response res = {0};
        if (embed_parse_json(body, strlen(body), &rq, &res)) fail_msg("%s: %s", num, res.body);
        float want = (float)strtod(num, NULL);
        if (memcmp(&want, rq.rec.signal, sizeof want))
            fail_msg("%s read as %.9g, strtod says %.9g", num, rq.rec.signal[0], want);
        embed_request_free(&rq);
    }
    static const struct {
        const char *body;
        int status;
    } cases[] = {
        {" \n{ \"leads\" : [ \"\\u0049\" , \"V\\u0031\" ] ,\"fs\":5e2, "
         "\"signal\":[[1,null],[2E-1,-0.0]] } ",
         0},
        {"{\"signal\":[[1]],\"fs\":100,\"leads\":[\"I\"]} x", 400},
        {"{\"signal\":[[1]],\"fs\":100,\"fs\":100,\"leads\":[\"I\"]}", 400},
        {"{\"signal\":[[01]],\"fs\":100,\"leads\":[\"I\"]}", 400},
        {"{\"signal\":[[1.]],\"fs\":100,\"leads\":[\"I\"]}", 400},
        {"{\"signal\":[[+1]],\"fs\":100,\"leads\":[\"I\"]}", 400},
        {"{\"signal\":[[1,]],\"fs\":100,\"leads\":[\"I\"]}", 400},
        {"{\"signal\":[[1]],\"fs\":100,\"leads\":[\"\\ud800\"]}", 400},
        {"{\"signal\":[[1]],\"fs\":100,\"leads\":[\"I\"]", 400},
        {"{\"signal\":[[[1]]],\"fs\":100,\"leads\":[\"I\"]}", 400},
        {"{\"signal\":[[1e-400]],\"fs\":100,\"leads\":[\"I\"]}", 0},
        {"", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        embed_request rq;
        memset(&rq, 0, sizeof rq);
        api_response res = {0};
        int rc = embed_parse_json(cases[i].body, strlen(cases[i].body), &rq, &res);
        if (cases[i].status == 0 && rc) fail_msg("case %zu refused: %s", i, res.body);
        if (cases[i].status && (!rc || res.status != cases[i].status))
            fail_msg("case %zu: want %d, got %d %s", i, cases[i].status, res.status,
                     res.body ? res.body : "");
        if (i == 0) {
            assert_int_equal(rq.rec.n_channels, 2);
            assert_int_equal(rq.rec.channels[0].lead, 0); /* I */
            assert_int_equal(rq.rec.channels[1].lead, 6); /* V1 */
            assert_true(rq.rec.fs == 500);
            assert_true(isnan(rq.rec.signal[1]));
            assert_true(rq.rec.signal[2] == 0.2f);
        }
        api_response_free(&res);
        embed_request_free(&rq);
    }
}

static int find_paths(void) {
    if (ts_find_bin(AC.bin, sizeof AC.bin, "test_embed_api") != 0) return -1;
    /* The repository root: the directory above the binary's (build/ecgfm, build-san/ecgfm). */
    char bdir[PATH_MAX];
    if (!realpath(AC.bin, bdir)) {
        fprintf(stderr, "test_embed_api: no ecgfm at %s\n", AC.bin);
        return -1;
    }
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(bdir, '/');
        if (!slash) return -1;
        *slash = 0;
    }
    snprintf(AC.root, sizeof AC.root, "%s", bdir);
    snprintf(model, sizeof model, "%s/models/small/checkpoint.safetensors", AC.root);
    if (access(AC.bin, X_OK) != 0 || access(model, R_OK) != 0) {
        fprintf(stderr, "test_embed_api: need %s and %s\n", AC.bin, model);
        return -1;
    }
    return 0;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    if (find_paths() != 0) return 1;
    snprintf(AC.tmpdir, sizeof AC.tmpdir, "/tmp/ecgfm-test-embed-XXXXXX");
    if (!mkdtemp(AC.tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_reader),
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_json_equals_cli),
        cmocka_unit_test(test_wfdb_upload_equals_cli),
        cmocka_unit_test(test_csv_upload_equals_cli),
        cmocka_unit_test(test_npy_upload_equals_cli),
        cmocka_unit_test(test_output_options),
        cmocka_unit_test(test_batching),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test_teardown(test_stop, ts_kill_children),
        cmocka_unit_test_teardown(test_queue_full_and_drain, ts_kill_children),
    };
    int failed = cmocka_run_group_tests(tests, NULL, ts_kill_children);
    ts_rm_tmpdir(AC.tmpdir);
    return failed;
}

/* test_api_auth.c — API keys, metrics and the OpenAPI document: the real build/ecgfm on 127.0.0.1
 * (no key 401, wrong scope 403, the key endpoints and their 4xx, /metrics in the exposition
 * format, metrics behind a key by config, `ecgfm migrate` idempotent, a newer or damaged schema
 * refused by migrate and serve), and in-process: the document matches the route table both ways,
 * /readyz and /v1 answer 503 until migrations ran. */
#include <limits.h>
#include <math.h>
#include <sys/stat.h>

#include "tests/api/testserver.h"

#include <glob.h>

#include <jansson.h>
#include <sqlite3.h>

#include "api/openapi.h"
#include "server/routes.h"

#define START_TIMEOUT_MS 10000
#define EXIT_TIMEOUT_MS 5000
#define IO_TIMEOUT_S 5

static char bin[PATH_MAX];
static char tmpdir[64];
static pid_t server_pid;

/* Start bin with args (NULL-terminated), output to log, no inherited ECGFM_* settings. */
static pid_t spawn(const char *log, char *const args[]) {
    return ts_spawn(&(ts_spawn_opts){.bin = bin, .log = log, .unset = ts_server_env}, args);
}

static void path_in_tmp(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", tmpdir, name);
}

/* `ecgfm keys create --scope S --data-dir DIR`: the key, first line of the output. */
static void make_key(const char *data, const char *scope, char key[64]) {
    char log[256];
    path_in_tmp(log, sizeof log, "key.log");
    ts_make_key(spawn, log, data, scope, key, 64, EXIT_TIMEOUT_MS);
    if (strncmp(key, "efm_", 4) != 0) fail_msg("no key on the first line:\n%s", ts_read_text(log));
}

static int start_server(const char *data, const char *log, const char *extra_flag) {
    char *args[] = {"serve",
                    "--port",
                    "0",
                    "--data-dir",
                    (char *)data,
                    (char *)extra_flag,
                    extra_flag ? "1" : NULL,
                    NULL};
    server_pid = spawn(log, args);
    return ts_wait_listening(server_pid, log, START_TIMEOUT_MS);
}

static void stop_server(const char *log) {
    if (server_pid <= 0) return;
    pid_t pid = server_pid;
    server_pid = 0;
    ts_stop(pid, SIGTERM, EXIT_TIMEOUT_MS, log);
}

/* One request with optional key, content type and body; Connection: close. */
static void http_do(ts_answer *a, int port, const char *method, const char *path, const char *key,
                    const char *ctype, const char *body) {
    ts_http(a, port, IO_TIMEOUT_S, method, path, key, ctype, body, body ? strlen(body) : 0);
}

static int setup(void **state) {
    (void)state;
    strcpy(tmpdir, "/tmp/ecgfm-test-api-auth-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    server_pid = 0;
    return ts_teardown_tmp(tmpdir);
}

/* Every sample line of a Prometheus text exposition: name{labels} value, after a TYPE line for
 * its family; returns the value of the first sample whose line starts with prefix (NAN if none). */
static double check_exposition(const char *text, const char *prefix) {
    double found = NAN;
    char family[128] = "";
    int samples = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        if (!end) fail_msg("exposition does not end with a newline");
        size_t len = (size_t)(end - line);
        char buf[1024];
        assert_true(len < sizeof buf);
        memcpy(buf, line, len);
        buf[len] = '\0';
        if (strncmp(buf, "# TYPE ", 7) == 0) {
            char kind[32];
            assert_int_equal(sscanf(buf + 7, "%127s %31s", family, kind), 2);
            assert_true(strcmp(kind, "counter") == 0 || strcmp(kind, "gauge") == 0 ||
                        strcmp(kind, "histogram") == 0);
        } else if (strncmp(buf, "# HELP ", 7) == 0) {
        } else {
            assert_true(family[0]);
            if (strncmp(buf, family, strlen(family)) != 0)
                fail_msg("sample outside family: %s", buf);
            const char *p = buf + strspn(buf, "abcdefghijklmnopqrstuvwxyz_0123456789:");
            if (*p == '{') {
                /* name="value" pairs, values with \\ \" \n escapes */
                p++;
                while (*p != '}') {
                    p += strspn(p, "abcdefghijklmnopqrstuvwxyz_0123456789");
                    if (p[0] != '=' || p[1] != '"') fail_msg("bad label in: %s", buf);
                    p += 2;
                    while (*p && *p != '"')
                        p += (*p == '\\') ? 2 : 1;
                    if (*p != '"') fail_msg("unterminated label in: %s", buf);
                    p++;
                    if (*p == ',') p++;
                }
                p++;
            }
            if (*p != ' ') fail_msg("no value in: %s", buf);
            char *vend;
            double v = strtod(p + 1, &vend);
            if (*vend) fail_msg("bad value in: %s", buf);
            if (isnan(found) && strncmp(buf, prefix, strlen(prefix)) == 0) found = v;
            samples++;
        }
        line = end + 1;
    }
    assert_true(samples > 0);
    return found;
}

static void test_keys_and_scopes(void **state) {
    (void)state;
    char data[256], log[256], mlog[256];
    path_in_tmp(data, sizeof data, "data");
    path_in_tmp(log, sizeof log, "serve.log");
    path_in_tmp(mlog, sizeof mlog, "migrate.log");
    /* migrate alone, twice: the second run applies nothing. */
    assert_int_equal(
        ts_run_cmd(spawn, mlog, (char *[]){"migrate", "--data-dir", data, NULL}, EXIT_TIMEOUT_MS),
        0);
    /* Every file in migrations/ is applied on a fresh database; the schema is the highest. */
    glob_t g;
    assert_int_equal(glob("migrations/[0-9][0-9][0-9][0-9]_*.sql", 0, NULL, &g), 0);
    int newest = atoi(strrchr(g.gl_pathv[g.gl_pathc - 1], '/') + 1);
    char want[96];
    snprintf(want, sizeof want, "schema %d, %zu migration%s applied now", newest, g.gl_pathc,
             g.gl_pathc == 1 ? "" : "s");
    globfree(&g);
    assert_non_null(strstr(ts_read_text(mlog), want));
    assert_int_equal(
        ts_run_cmd(spawn, mlog, (char *[]){"migrate", "--data-dir", data, NULL}, EXIT_TIMEOUT_MS),
        0);
    assert_non_null(strstr(ts_read_text(mlog), "0 migrations applied now"));

    char admin[64], reader[64];
    make_key(data, "admin", admin);
    make_key(data, "read", reader);
    assert_int_equal(
        ts_run_cmd(spawn, mlog,
                   (char *[]){"keys", "create", "--scope", "write", "--data-dir", data, NULL},
                   EXIT_TIMEOUT_MS),
        2);
    int port = start_server(data, log, NULL);
    ts_answer *a = malloc(sizeof *a);
    assert_non_null(a);

    /* Open routes. */
    http_do(a, port, "GET", "/healthz", NULL, NULL, NULL);
    assert_int_equal(a->status, 200);
    /* Ready as far as the database goes (a default model may still be loading). */
    http_do(a, port, "GET", "/readyz", NULL, NULL, NULL);
    char want_schema[48];
    snprintf(want_schema, sizeof want_schema, "\"schema_version\":%d", newest);
    if (a->status == 200)
        assert_non_null(strstr(a->body, want_schema));
    else
        assert_null(strstr(a->body, "database"));

    /* No key, a bad key, a revoked-looking key, the wrong scope. */
    http_do(a, port, "GET", "/v1/keys", NULL, NULL, NULL);
    ts_expect(a, 401, "missing_api_key");
    assert_non_null(strstr(a->raw, "WWW-Authenticate: Bearer"));
    http_do(a, port, "GET", "/v1/openapi.json", NULL, NULL, NULL);
    ts_expect(a, 401, "missing_api_key");
    http_do(a, port, "GET", "/v1/keys", "efm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL,
            NULL);
    ts_expect(a, 401, "invalid_api_key");
    http_do(a, port, "GET", "/v1/keys", "not-a-key", NULL, NULL);
    ts_expect(a, 401, "invalid_api_key");
    http_do(a, port, "GET", "/v1/keys", reader, NULL, NULL);
    ts_expect(a, 403, "insufficient_scope");
    http_do(a, port, "POST", "/v1/keys", reader, "application/json", "{\"scope\":\"read\"}");
    ts_expect(a, 403, "insufficient_scope");
    http_do(a, port, "GET", "/v1/openapi.json", reader, NULL, NULL);
    assert_int_equal(a->status, 200);

    /* The key endpoints. */
    http_do(a, port, "POST", "/v1/keys", admin, "application/json",
            "{\"scope\":\"embed\",\"name\":\"ward 3\"}");
    if (a->status != 201) fail_msg("%s", a->raw);
    json_t *j = ts_json(a);
    char made[64];
    snprintf(made, sizeof made, "%s", json_string_value(json_object_get(j, "key")));
    long long made_id = json_integer_value(json_object_get(j, "id"));
    assert_string_equal(json_string_value(json_object_get(j, "scope")), "embed");
    assert_string_equal(json_string_value(json_object_get(j, "name")), "ward 3");
    json_decref(j);
    http_do(a, port, "GET", "/v1/openapi.json", made, NULL, NULL);
    assert_int_equal(a->status, 200);
    http_do(a, port, "GET", "/v1/keys", made, NULL, NULL);
    ts_expect(a, 403, "insufficient_scope");
    http_do(a, port, "GET", "/v1/keys", admin, NULL, NULL);
    assert_int_equal(a->status, 200);
    j = ts_json(a);
    json_t *keys = json_object_get(j, "keys");
    assert_int_equal(json_array_size(keys), 3);
    for (size_t i = 0; i < json_array_size(keys); i++)
        assert_null(json_object_get(json_array_get(keys, i), "key")); /* never listed */
    json_decref(j);
    assert_null(strstr(a->body, made + 12)); /* not even inside another field */

    /* Bad bodies: each its own status. */
    http_do(a, port, "POST", "/v1/keys", admin, NULL, "{\"scope\":\"read\"}");
    ts_expect(a, 415, "unsupported_media_type");
    http_do(a, port, "POST", "/v1/keys", admin, "text/plain", "{\"scope\":\"read\"}");
    ts_expect(a, 415, "unsupported_media_type");
    http_do(a, port, "POST", "/v1/keys", admin, "application/json", "{\"scope\":");
    ts_expect(a, 400, "invalid_json");
    http_do(a, port, "POST", "/v1/keys", admin, "application/json", "[1,2]");
    ts_expect(a, 400, "invalid_json");
    http_do(a, port, "POST", "/v1/keys", admin, "application/json", "{}");
    ts_expect(a, 422, "missing_field");
    http_do(a, port, "POST", "/v1/keys", admin, "application/json", "{\"scope\":\"root\"}");
    ts_expect(a, 422, "invalid_scope");
    http_do(a, port, "POST", "/v1/keys", admin, "application/json", "{\"scope\":7}");
    ts_expect(a, 422, "invalid_scope");
    http_do(a, port, "POST", "/v1/keys", admin, "application/json",
            "{\"scope\":\"read\",\"scopes\":1}");
    ts_expect(a, 422, "unknown_field");
    http_do(a, port, "POST", "/v1/keys", admin, "application/json",
            "{\"scope\":\"read\",\"name\":\"a\\nb\"}");
    ts_expect(a, 422, "invalid_name");
    http_do(a, port, "PUT", "/v1/keys", admin, NULL, NULL);
    ts_expect(a, 405, "method_not_allowed");
    assert_non_null(strstr(a->raw, "Allow: POST, GET, HEAD"));

    /* Revocation. */
    char path[64];
    snprintf(path, sizeof path, "/v1/keys/%lld", made_id);
    http_do(a, port, "DELETE", path, admin, NULL, NULL);
    if (a->status != 200) fail_msg("%s", a->raw);
    http_do(a, port, "GET", "/v1/openapi.json", made, NULL, NULL);
    ts_expect(a, 401, "invalid_api_key");
    http_do(a, port, "DELETE", path, admin, NULL, NULL);
    ts_expect(a, 409, "already_revoked");
    http_do(a, port, "DELETE", "/v1/keys/99999", admin, NULL, NULL);
    ts_expect(a, 404, "not_found");
    http_do(a, port, "DELETE", "/v1/keys/abc", admin, NULL, NULL);
    ts_expect(a, 404, "not_found");
    http_do(a, port, "DELETE", "/v1/keys/1", NULL, NULL, NULL);
    ts_expect(a, 401, "missing_api_key");

    /* Metrics: open, in the exposition format, counting what happened above. */
    http_do(a, port, "GET", "/metrics", NULL, NULL, NULL);
    assert_int_equal(a->status, 200);
    assert_non_null(strstr(a->raw, "Content-Type: text/plain; version=0.0.4"));
    double n401 = check_exposition(
        a->body, "ecgfm_http_requests_total{route=\"/v1/keys\",method=\"GET\",status=\"401\"}");
    assert_true(n401 >= 3);
    double inf =
        check_exposition(a->body, "ecgfm_http_request_duration_seconds_bucket{route=\"/v1/keys\","
                                  "method=\"POST\",status=\"422\",le=\"+Inf\"}");
    double cnt = check_exposition(a->body, "ecgfm_http_request_duration_seconds_count{route=\"/v1/"
                                           "keys\",method=\"POST\",status=\"422\"}");
    assert_true(inf == cnt && cnt >= 5);
    /* Unknown paths share one label rather than one series each. */
    http_do(a, port, "GET", "/no/such/thing", NULL, NULL, NULL);
    ts_expect(a, 404, "not_found");
    http_do(a, port, "GET", "/metrics", NULL, NULL, NULL);
    assert_null(strstr(a->body, "/no/such/thing"));
    assert_true(check_exposition(a->body, "ecgfm_http_requests_total{route=\"unmatched\"") >= 1);
    stop_server(log);

    /* Metrics behind a key by config. */
    path_in_tmp(log, sizeof log, "serve2.log"); /* a fresh log: the old one names the old port */
    port = start_server(data, log, "--metrics-require-key");
    http_do(a, port, "GET", "/metrics", NULL, NULL, NULL);
    ts_expect(a, 401, "missing_api_key");
    http_do(a, port, "GET", "/metrics", reader, NULL, NULL);
    assert_int_equal(a->status, 200);
    http_do(a, port, "GET", "/healthz", NULL, NULL, NULL);
    assert_int_equal(a->status, 200);
    stop_server(log);
    free(a);
}

static void test_schema_refused(void **state) {
    (void)state;
    char data[256], log[256], file[300];
    path_in_tmp(data, sizeof data, "data");
    path_in_tmp(log, sizeof log, "cmd.log");
    assert_int_equal(
        ts_run_cmd(spawn, log, (char *[]){"migrate", "--data-dir", data, NULL}, EXIT_TIMEOUT_MS),
        0);
    /* A newer ecgfm's migration in the table: both migrate and serve refuse, saying why. */
    snprintf(file, sizeof file, "%s/ecgfm.sqlite3", data);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(file, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "INSERT INTO schema_migrations VALUES (2, '0002_future.sql', "
                                  "'00', 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(
        ts_run_cmd(spawn, log, (char *[]){"migrate", "--data-dir", data, NULL}, EXIT_TIMEOUT_MS),
        1);
    assert_non_null(strstr(ts_read_text(log), "0002_future.sql"));
    assert_non_null(strstr(ts_read_text(log), "newer ecgfm"));
    assert_int_equal(ts_run_cmd(spawn, log,
                                (char *[]){"serve", "--port", "0", "--data-dir", data, NULL},
                                EXIT_TIMEOUT_MS),
                     1);
    assert_non_null(strstr(ts_read_text(log), "newer ecgfm"));
    assert_null(strstr(ts_read_text(log), "listening on"));
    assert_int_equal(ts_run_cmd(spawn, log, (char *[]){"keys", "list", "--data-dir", data, NULL},
                                EXIT_TIMEOUT_MS),
                     1);

    /* A damaged database file. */
    char bad[256];
    path_in_tmp(bad, sizeof bad, "bad");
    assert_int_equal(mkdir(bad, 0700), 0);
    snprintf(file, sizeof file, "%s/ecgfm.sqlite3", bad);
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    for (int i = 0; i < 4096; i++)
        fputc("corrupt!"[i % 8], f);
    fclose(f);
    assert_int_equal(
        ts_run_cmd(spawn, log, (char *[]){"migrate", "--data-dir", bad, NULL}, EXIT_TIMEOUT_MS), 1);
    assert_non_null(strstr(ts_read_text(log), "not a database"));
    assert_int_equal(ts_run_cmd(spawn, log,
                                (char *[]){"serve", "--port", "0", "--data-dir", bad, NULL},
                                EXIT_TIMEOUT_MS),
                     1);
    assert_non_null(strstr(ts_read_text(log), "not a database"));
}

/* In-process: the served document and the route table describe the same operations. */
static void test_openapi_matches_routes(void **state) {
    (void)state;
    routes_doc docs[128];
    size_t n = routes_docs(docs, 128);
    assert_true(n > 0 && n <= 128);
    openapi_route ops[128];
    for (size_t i = 0; i < n; i++) {
        ops[i] = (openapi_route){docs[i].method, docs[i].path,           docs[i].summary,
                                 NULL,           docs[i].request_schema, docs[i].response_schema,
                                 docs[i].status};
        if (docs[i].scope != AUTH_SCOPE_NONE) ops[i].scope = auth_scope_name(docs[i].scope);
        /* Every route is documented: a summary, and only schemas that exist. */
        assert_true(docs[i].summary && strlen(docs[i].summary) > 0);
        if (docs[i].request_schema) assert_true(openapi_has_schema(docs[i].request_schema));
        if (docs[i].response_schema) assert_true(openapi_has_schema(docs[i].response_schema));
        /* Every /v1 route needs a key. */
        if (strncmp(docs[i].path, "/v1/", 4) == 0)
            assert_int_not_equal(docs[i].scope, AUTH_SCOPE_NONE);
    }
    char why[256] = "";
    json_t *doc = openapi_document(ops, n, "test", why, sizeof why);
    if (!doc) fail_msg("%s", why);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
    json_t *paths = json_object_get(doc, "paths");
    /* Each route is in the document... */
    for (size_t i = 0; i < n; i++) {
        char m[16];
        size_t k = 0;
        for (; docs[i].method[k] && k < sizeof m - 1; k++)
            m[k] = (char)(docs[i].method[k] | 0x20);
        m[k] = '\0';
        json_t *op = json_object_get(json_object_get(paths, docs[i].path), m);
        if (!op) fail_msg("%s %s is not in the document", docs[i].method, docs[i].path);
        json_t *sec = json_object_get(op, "security");
        assert_int_equal(json_array_size(sec) > 0, docs[i].scope != AUTH_SCOPE_NONE);
    }
    /* ...and each documented operation is a route. */
    size_t n_ops = 0;
    const char *p;
    json_t *item;
    json_object_foreach(paths, p, item) {
        const char *m;
        json_t *op;
        json_object_foreach(item, m, op) {
            int found = 0;
            for (size_t i = 0; i < n && !found; i++)
                found = strcmp(docs[i].path, p) == 0 && strcasecmp(docs[i].method, m) == 0;
            if (!found) fail_msg("documented %s %s is not a route", m, p);
            n_ops++;
        }
    }
    assert_int_equal(n_ops, n);
    /* A reference to a missing schema is an error, not a silent gap. */
    openapi_route broken = ops[0];
    broken.response_schema = "NoSuchSchema";
    json_t *none = openapi_document(&broken, 1, "test", why, sizeof why);
    assert_null(none);
    assert_non_null(strstr(why, "NoSuchSchema"));
    json_decref(doc);
}

static void dispatch(const routes_ctx *ctx, const char *method, const char *path, const char *auth,
                     api_response *res) {
    routes_request rq = {.method = method, .path = path, .body = "", .authorization = auth};
    routes_dispatch(ctx, &rq, res);
}

/* In-process: /readyz and every /v1 route answer 503 until the migrations ran. */
static void test_not_ready_until_migrated(void **state) {
    (void)state;
    char file[300];
    snprintf(file, sizeof file, "%s/%s", tmpdir, DB_FILE_NAME);
    db *d = NULL;
    ecg_err err = {0};
    assert_int_equal(db_open(&d, file, 1, &err), ECG_OK);
    routes_ctx ctx = {0};
    ctx.version = "t";
    ctx.data_dir = tmpdir;
    ctx.started_s = routes_now_s();
    ctx.db = d;
    api_response res = {0};
    dispatch(&ctx, "GET", "/readyz", NULL, &res);
    assert_int_equal(res.status, 503);
    assert_non_null(strstr(res.body, "migrations have not run"));
    api_response_free(&res);
    dispatch(&ctx, "GET", "/v1/keys", "Bearer efm_x", &res);
    assert_int_equal(res.status, 503);
    api_response_free(&res);
    dispatch(&ctx, "GET", "/healthz", NULL, &res); /* liveness does not wait */
    assert_int_equal(res.status, 200);
    api_response_free(&res);
    assert_int_equal(db_migrate(d, DB_MIGRATIONS, DB_N_MIGRATIONS, NULL, &err), ECG_OK);
    dispatch(&ctx, "GET", "/readyz", NULL, &res);
    assert_int_equal(res.status, 200);
    api_response_free(&res);
    dispatch(&ctx, "GET", "/v1/keys", NULL, &res);
    assert_int_equal(res.status, 401);
    api_response_free(&res);
    db_close(d);
    /* No database at all (the data directory was unusable at start): not ready either. */
    ctx.db = NULL;
    ctx.db_error = "the data directory is not usable";
    dispatch(&ctx, "GET", "/readyz", NULL, &res);
    assert_int_equal(res.status, 503);
    api_response_free(&res);
}

int main(int argc, char **argv) {
    (void)argc;
    /* build/tests/test_api_auth -> build/ecgfm (or build-san/...) */
    if (ts_paths_from_argv0(argv[0], bin, sizeof bin, NULL, 0)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keys_and_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openapi_matches_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_ready_until_migrated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

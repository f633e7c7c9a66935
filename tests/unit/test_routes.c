/* test_routes.c — the answers without sockets: /healthz and /readyz bodies, the SPEC's error shape,
 * and the route table's 404 / 405 / HEAD behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/health.h"
#include "api/response.h"
#include "server/routes.h"

/* Parse res->body, check it is an object, return it (caller decrefs). */
static json_t *body_json(const api_response *res) {
    assert_non_null(res->body);
    assert_int_equal(strlen(res->body), res->body_len);
    json_error_t e;
    json_t *j = json_loads(res->body, 0, &e);
    if (!j) fail_msg("bad JSON (%s): %s", e.text, res->body);
    assert_true(json_is_object(j));
    return j;
}

/* Check the SPEC's error shape: exactly {"error": {"code", "message", "type"}}, all strings. */
static void assert_error_shape(const api_response *res, int status, const char *code) {
    assert_int_equal(res->status, status);
    json_t *j = body_json(res);
    assert_int_equal(json_object_size(j), 1);
    json_t *e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_int_equal(json_object_size(e), 3);
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_true(json_is_string(json_object_get(e, "message")));
    assert_true(strlen(json_string_value(json_object_get(e, "message"))) > 0);
    assert_string_equal(json_string_value(json_object_get(e, "type")), api_error_type(status));
    json_decref(j);
}

static void test_healthz(void **state) {
    (void)state;
    health_state s = {.version = "9.9.9", .uptime_s = 12.7};
    api_response res = {0};
    health_get_healthz(&s, &res);
    assert_int_equal(res.status, 200);
    json_t *j = body_json(&res);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(j, "version")), "9.9.9");
    assert_int_equal(json_integer_value(json_object_get(j, "uptime_s")), 12);
    json_decref(j);
    api_response_free(&res);
    assert_null(res.body);
}

static void test_readyz(void **state) {
    (void)state;
    health_state s = {.version = "1", .data_dir = "/d", .data_dir_ok = 1, .db_ready = 1};
    api_response res = {0};
    health_get_readyz(&s, &res);
    assert_int_equal(res.status, 200);
    json_t *j = body_json(&res);
    assert_true(json_is_true(json_object_get(j, "ready")));
    json_t *dd = json_object_get(json_object_get(j, "checks"), "data_dir");
    assert_true(json_is_true(json_object_get(dd, "ok")));
    assert_string_equal(json_string_value(json_object_get(dd, "path")), "/d");
    json_decref(j);
    api_response_free(&res);

    s.data_dir_ok = 0;
    s.data_dir_error = "not a directory";
    health_get_readyz(&s, &res);
    assert_error_shape(&res, 503, "not_ready");
    assert_non_null(strstr(res.body, "not a directory"));
    assert_non_null(strstr(res.body, "/d"));
    api_response_free(&res);

    /* A usable directory but no migrated database is not ready either. */
    s.data_dir_ok = 1;
    s.db_ready = 0;
    s.db_error = "migrations have not run";
    health_get_readyz(&s, &res);
    assert_error_shape(&res, 503, "not_ready");
    assert_non_null(strstr(res.body, "migrations have not run"));
    api_response_free(&res);
}

static void routes_dispatch_s(const routes_ctx *ctx, const char *method, const char *path,
                              api_response *res) {
    routes_request rq = {.method = method, .path = path, .body = ""};
    routes_dispatch(ctx, &rq, res);
}

static void test_error_types(void **state) {
    (void)state;
    assert_string_equal(api_error_type(400), "invalid_request_error");
    assert_string_equal(api_error_type(401), "authentication_error");
    assert_string_equal(api_error_type(404), "not_found_error");
    assert_string_equal(api_error_type(409), "conflict_error");
    assert_string_equal(api_error_type(413), "invalid_request_error");
    assert_string_equal(api_error_type(429), "rate_limit_error");
    assert_string_equal(api_error_type(500), "server_error");
    assert_string_equal(api_error_type(503), "unavailable_error");
    /* Client text is not trusted to be UTF-8: the message is sanitised, never a 500. */
    api_response res = {0};
    api_response_error(&res, 404, "not_found", "no resource at %s", "/\xff\xfe\x01x");
    assert_error_shape(&res, 404, "not_found");
    api_response_free(&res);
}

static void test_routes(void **state) {
    (void)state;
    char dir[] = "/tmp/ecgfm-test-routes-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char dbdir[] = "/tmp/ecgfm-test-routes-db-XXXXXX";
    assert_non_null(mkdtemp(dbdir));
    db *d = NULL;
    ecg_err err = {0};
    assert_int_equal(db_open_dir(&d, dbdir, 1, NULL, &err), ECG_OK);
    routes_ctx ctx = {"1.2.3", dir, routes_now_s(), d, NULL, 0, NULL, NULL, NULL};
    api_response res = {0};

    routes_dispatch_s(&ctx, "GET", "/healthz", &res);
    assert_int_equal(res.status, 200);
    assert_non_null(strstr(res.body, "\"1.2.3\""));
    api_response_free(&res);

    routes_dispatch_s(&ctx, "HEAD", "/healthz", &res);
    assert_int_equal(res.status, 200);
    api_response_free(&res);

    routes_dispatch_s(&ctx, "GET", "/readyz", &res);
    assert_int_equal(res.status, 200);
    api_response_free(&res);

    routes_dispatch_s(&ctx, "GET", "/nope", &res);
    assert_error_shape(&res, 404, "not_found");
    assert_null(res.allow);
    api_response_free(&res);

    routes_dispatch_s(&ctx, "GET", "/healthz/", &res); /* exact paths only */
    assert_int_equal(res.status, 404);
    api_response_free(&res);

    routes_dispatch_s(&ctx, "DELETE", "/readyz", &res);
    assert_error_shape(&res, 405, "method_not_allowed");
    assert_string_equal(res.allow, "GET, HEAD");
    api_response_free(&res);

    /* Readiness follows the directory: gone -> 503, back -> 200. */
    assert_int_equal(rmdir(dir), 0);
    routes_dispatch_s(&ctx, "GET", "/readyz", &res);
    assert_error_shape(&res, 503, "not_ready");
    api_response_free(&res);
    assert_int_equal(mkdir(dir, 0700), 0);
    routes_dispatch_s(&ctx, "GET", "/readyz", &res);
    assert_int_equal(res.status, 200);
    api_response_free(&res);
    rmdir(dir);
    db_close(d);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dbdir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_readyz),
        cmocka_unit_test(test_error_types),
        cmocka_unit_test(test_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

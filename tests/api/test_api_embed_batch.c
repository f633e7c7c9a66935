/* test_api_embed_batch.c — POST /v1/embed/batch against the real build/ecgfm on 127.0.0.1: three
 * real ECGs in one batch equal (within 1e-6) to three single POST /v1/embed calls, a bad record
 * answered in its own entry beside the good ones, and 400/401/403/413/415/422 for the request. */
#include <math.h>

#include "tests/api/apiclient.h"

#include <jansson.h>

#include "core/data/record.h"
#include "core/data/wfdb.h"

#define TOL 1e-6

static char embed_key[128], read_key[128];

static void test_start(void **state) {
    (void)state;
    ac_init("embed-batch");
    ac_make_key("embed", embed_key);
    ac_make_key("read", read_key);
    const char *extra[] = {"--embed-batch-max-records",
                           "4",
                           "--max-body-bytes",
                           "8000000",
                           "--embed-max-wait-us",
                           "20000",
                           NULL};
    ac_start_server(extra);
}

/* A WFDB record of tests/data as a POST /v1/embed JSON object (leads by name, millivolts). */
static json_t *record_json(const char *rel, const char *pooling) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/tests/data/ecg/%s", AC.root, rel);
    json_t *j = ac_wfdb_json(path, 1.0);
    if (pooling) json_object_set_new(j, "pooling", json_string(pooling));
    return j;
}

static double max_diff(json_t *a, json_t *b) {
    if (json_is_array(a)) {
        if (!json_is_array(b) || json_array_size(a) != json_array_size(b)) return INFINITY;
        double worst = 0;
        for (size_t i = 0; i < json_array_size(a); i++) {
            double d = max_diff(json_array_get(a, i), json_array_get(b, i));
            if (d > worst) worst = d;
        }
        return worst;
    }
    return fabs(json_number_value(a) - json_number_value(b));
}

static void test_batch_equals_single(void **state) {
    (void)state;
    const char *files[3] = {"ptbxl/00001_lr.hea", "ludb/1.hea", "ptbxl/00001_lr.hea"};
    const char *pooling[3] = {NULL, NULL, "windows"};
    json_t *recs = json_array(), *singles[3];
    for (int i = 0; i < 3; i++) {
        json_t *r = record_json(files[i], pooling[i]);
        char *one = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(9));
        singles[i] = ac_json("POST", "/v1/embed", embed_key, one, 200);
        free(one);
        json_array_append_new(recs, r);
    }
    /* A fourth record that cannot be embedded: an unknown lead name. */
    json_array_append_new(recs, json_pack("{s:[[f,f,f]], s:f, s:[s]}", "signal", 0.1, 0.2, 0.3,
                                          "fs", 500.0, "leads", "XX"));
    json_t *body = json_pack("{s:o}", "records", recs);
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(body);
    json_t *b = ac_json("POST", "/v1/embed/batch", embed_key, text, 200);
    free(text);
    assert_int_equal(json_integer_value(json_object_get(b, "n_ok")), 3);
    assert_int_equal(json_integer_value(json_object_get(b, "n_failed")), 1);
    json_t *results = json_object_get(b, "results");
    assert_int_equal(json_array_size(results), 4);
    for (int i = 0; i < 3; i++) {
        json_t *r = json_array_get(results, (size_t)i);
        assert_null(json_object_get(r, "error"));
        const char *keys[3] = {"dim", "windows", "checkpoint"};
        for (int k = 0; k < 3; k++)
            assert_true(
                json_equal(json_object_get(r, keys[k]), json_object_get(singles[i], keys[k])));
        double d =
            max_diff(json_object_get(r, "embedding"), json_object_get(singles[i], "embedding"));
        print_message("record %d (%s%s): %lld windows, largest |batch - single| = %.3g\n", i,
                      files[i], pooling[i] ? ", windows" : "",
                      (long long)json_integer_value(json_object_get(r, "windows")), d);
        assert_true(d <= TOL);
        json_decref(singles[i]);
    }
    json_t *e = json_object_get(json_array_get(results, 3), "error");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "unknown_lead");
    json_decref(b);
}

/* Every record bad: still 200, every entry an error. */
static void test_all_failed(void **state) {
    (void)state;
    json_t *b = ac_json("POST", "/v1/embed/batch", embed_key,
                        "{\"records\":[{\"fs\":500},{\"signal\":[[1,2]],\"fs\":-1,"
                        "\"leads\":[\"II\"]},7]}",
                        200);
    assert_int_equal(json_integer_value(json_object_get(b, "n_ok")), 0);
    assert_int_equal(json_integer_value(json_object_get(b, "n_failed")), 3);
    const char *codes[3] = {"missing_field", "invalid_fs", "invalid_json"};
    for (int i = 0; i < 3; i++) {
        json_t *e =
            json_object_get(json_array_get(json_object_get(b, "results"), (size_t)i), "error");
        assert_string_equal(json_string_value(json_object_get(e, "code")), codes[i]);
    }
    json_decref(b);
}

static void test_errors(void **state) {
    (void)state;
    const char *one = "{\"records\":[{\"signal\":[[0.1,0.2,0.3]],\"fs\":500,\"leads\":[\"II\"]}]}";
    int n = 0;
    ac_expect("POST", "/v1/embed/batch", NULL, "application/json", one, 401, "missing_api_key");
    n++;
    ac_expect("POST", "/v1/embed/batch", read_key, "application/json", one, 403,
              "insufficient_scope");
    n++;
    ac_expect("POST", "/v1/embed/batch", embed_key, "text/csv", one, 415, "unsupported_media_type");
    n++;
    ac_expect("POST", "/v1/embed/batch", embed_key, "application/json", "{\"records\":[", 400,
              "invalid_json");
    n++;
    ac_expect("POST", "/v1/embed/batch", embed_key, "application/json", "[]", 400, "invalid_json");
    n++;
    ac_expect("POST", "/v1/embed/batch", embed_key, "application/json", "{}", 400, "missing_field");
    n++;
    ac_expect("POST", "/v1/embed/batch", embed_key, "application/json", "{\"records\":{}}", 400,
              "wrong_type");
    n++;
    ac_expect("POST", "/v1/embed/batch", embed_key, "application/json", "{\"records\":[]}", 422,
              "no_records");
    n++;
    ac_expect("POST", "/v1/embed/batch", embed_key, "application/json",
              "{\"records\":[],\"extra\":1}", 422, "unknown_field");
    n++;
    /* embed_batch_max_records is 4 here */
    ac_expect("POST", "/v1/embed/batch", embed_key, "application/json",
              "{\"records\":[{},{},{},{},{}]}", 413, "too_many_records");
    n++;
    print_message("%d error answers checked\n", n);
    /* still serving */
    json_t *b = ac_json("POST", "/v1/embed/batch", embed_key, one, 200);
    assert_int_equal(json_integer_value(json_object_get(b, "n_ok")), 1);
    json_decref(b);
}

static void test_stop(void **state) {
    (void)state;
    ac_stop_server();
    ac_cleanup();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_batch_equals_single),
        cmocka_unit_test(test_all_failed),
        cmocka_unit_test(test_errors),
        cmocka_unit_test_teardown(test_stop, ts_kill_children),
    };
    return cmocka_run_group_tests(tests, NULL, ts_kill_children);
}

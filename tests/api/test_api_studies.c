/* test_api_studies.c — /v1/studies against the real build/ecgfm: a tiny study (sizes 0, 32, 64,
 * one seed, one epoch, GunPoint uploaded as a task dataset) to succeeded with its table and fits,
 * its files downloaded with their content types (others 404, no traversal), paging, the study row
 * following its job; a longer study cancelled, retried, killed with -9 mid-run and resumed by the
 * restarted server; 401/403/404/415/422 at submit. */
#include "tests/api/testjobs.h"

static int setup(void **state) {
    (void)state;
    return tj_setup("test-api-studies");
}

#define SPEC(epochs)                                                                               \
    "\"spec\":{\"sizes\":[0,32,64],\"objectives\":[\"cpc\"],\"model\":\"small\",\"seeds\":[0],"    \
    "\"epochs\":" #epochs ",\"batch\":8,\"val_records\":16,\"bootstrap\":50}"

static void bad(const char *body, int status, const char *code, const char *mention) {
    tj_do("POST", "/v1/studies", tj_train, body);
    tj_expect(status, code);
    if (mention && !strstr(TA.body, mention)) fail_msg("want \"%s\" named:\n%s", mention, TA.raw);
}

/* GET a study's file: status, and the Content-Type header when 200. */
static void get_file(long long id, const char *name, int status, const char *ctype) {
    char path[160];
    snprintf(path, sizeof path, "/v1/studies/%lld/files/%s", id, name);
    tj_do("GET", path, tj_read, NULL);
    if (TA.status != status) fail_msg("GET %s: want %d:\n%.2000s", path, status, TA.raw);
    if (ctype) {
        char want[128];
        snprintf(want, sizeof want, "Content-Type: %s\r\n", ctype);
        if (!strstr(TA.raw, want)) fail_msg("GET %s: want %s:\n%.1000s", path, want, TA.raw);
    }
}

static long long post_study(const char *body) {
    tj_do("POST", "/v1/studies", tj_train, body);
    if (TA.status != 201) fail_msg("study not created:\n%s", TA.raw);
    json_t *s = tj_json();
    long long id = json_integer_value(json_object_get(s, "id"));
    assert_true(id > 0);
    assert_true(json_integer_value(json_object_get(s, "job_id")) > 0);
    json_decref(s);
    return id;
}

static void test_studies(void **state) {
    (void)state;
    tj_synth("ecg", "96");
    tj_key("train", tj_train);
    tj_key("read", tj_read);
    tj_start("serve1.log", NULL);
    tj_gunpoint("gunpoint");

    /* ---- submit errors ---- */
    const char *ok = "{\"name\":\"tiny\",\"dataset\":\"ecg\",\"tasks\":[\"gunpoint\"]," SPEC(1) "}";
    tj_do("POST", "/v1/studies", NULL, ok);
    tj_expect(401, "missing_api_key");
    tj_do("POST", "/v1/studies", tj_read, ok);
    tj_expect(403, "insufficient_scope");
    tj_http("POST", "/v1/studies", tj_train, "text/plain", ok, strlen(ok));
    tj_expect(415, "unsupported_media_type");
    bad("{\"dataset\":\"nope\",\"tasks\":[\"gunpoint\"]," SPEC(1) "}", 404, "dataset_not_found",
        "nope");
    bad("{\"dataset\":\"ecg\",\"tasks\":[\"gunpoint\",\"ghost\"]," SPEC(1) "}", 404,
        "dataset_not_found", "ghost");
    bad("{\"dataset\":\"gunpoint\",\"tasks\":[\"gunpoint\"]," SPEC(1) "}", 422, "invalid_dataset",
        "not ECG");
    bad("{\"dataset\":\"ecg\",\"tasks\":[\"ecg\"]," SPEC(1) "}", 422, "invalid_dataset",
        "not a task");
    bad("{\"dataset\":\"ecg\",\"tasks\":[\"gunpoint\",\"gunpoint\"]," SPEC(1) "}", 422,
        "invalid_value", "twice");
    bad("{\"dataset\":\"ecg\",\"tasks\":[]," SPEC(1) "}", 422, "invalid_value", "params.tasks");
    bad("{\"dataset\":\"ecg\",\"tasks\":[\"gunpoint\"],\"spec\":{\"sizes\":[0,64,32],"
        "\"objectives\":[\"cpc\"],\"model\":\"small\",\"seeds\":[0]}}",
        422, "invalid_value", "increasing");
    bad("{\"dataset\":\"ecg\",\"tasks\":[\"gunpoint\"],\"spec\":{\"sizes\":[0,32],"
        "\"objectives\":[\"simclr\"],\"seeds\":[0]}}",
        422, "invalid_value", "objectives[0]");
    bad("{\"dataset\":\"ecg\",\"tasks\":[\"gunpoint\"],\"spec\":{\"sizes\":[0,32],"
        "\"objectives\":[\"cpc\"],\"model\":\"huge\",\"seeds\":[0]}}",
        422, "unknown_model", "huge");
    bad("{\"dataset\":\"ecg\",\"tasks\":[\"gunpoint\"],\"spec\":{\"sizes\":[0,32],"
        "\"objectives\":[\"cpc\"],\"seeds\":[0],\"dataset\":\"/etc\"}}",
        422, "unknown_field", "params.spec.dataset");
    bad("{\"dataset\":\"ecg\",\"tasks\":[\"gunpoint\"],\"spec\":{\"sizes\":[0,32],"
        "\"objectives\":[\"cpc\"],\"seeds\":[0],\"epochs\":0}}",
        422, "invalid_value", "epochs");
    bad("{\"name\":\"../x\",\"dataset\":\"ecg\",\"tasks\":[\"gunpoint\"]," SPEC(1) "}", 422,
        "invalid_value", "name");
    bad("{\"dataset\":\"ecg\",\"tasks\":[\"gunpoint\"]," SPEC(1) ",\"priority\":1}", 422,
        "unknown_field", "priority");
    tj_do("GET", "/v1/studies/999", tj_read, NULL);
    tj_expect(404, "not_found");
    tj_do("GET", "/v1/studies/abc", tj_read, NULL);
    tj_expect(404, "not_found");
    tj_do("GET", "/v1/studies?limit=0", tj_read, NULL);
    tj_expect(422, "invalid_value");

    /* ---- a tiny study to the end ---- */
    long long a = post_study(ok);
    json_t *s = tj_wait("/v1/studies/%lld", a, "succeeded");
    json_t *res = json_object_get(s, "result");
    json_t *rows = json_object_get(json_object_get(res, "table"), "rows");
    assert_int_equal(json_array_size(rows), 3); /* 3 sizes x 1 objective x 1 task */
    assert_non_null(json_object_get(json_object_get(res, "fit"), "curves"));
    assert_true(json_array_size(json_object_get(s, "files")) >= 7);
    assert_string_equal(json_string_value(json_object_get(s, "name")), "tiny");
    long long ja = json_integer_value(json_object_get(s, "job_id"));
    json_decref(s);
    json_t *j = tj_get("/v1/jobs/%lld", ja);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "study");
    assert_string_equal(tj_state(j), "succeeded");
    json_decref(j);

    /* its files, with their content types; nothing else */
    get_file(a, "table.csv", 200, "text/csv; charset=utf-8");
    if (strncmp(TA.body, "n,objective,task,", 17)) fail_msg("table.csv:\n%s", TA.body);
    int lines = 0;
    for (const char *p = TA.body; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 4);
    get_file(a, "scaling.svg", 200, "image/svg+xml");
    assert_non_null(strstr(TA.body, "<svg"));
    get_file(a, "loss.svg", 200, "image/svg+xml");
    get_file(a, "table.json", 200, "application/json");
    get_file(a, "fit.json", 200, "application/json");
    get_file(a, "README.md", 200, "text/markdown; charset=utf-8");
    get_file(a, "scaling_finetune.svg", 404, NULL); /* no fine-tuning in this spec */
    get_file(a, "study.json", 404, NULL);           /* on disk, but not a served file */
    get_file(a, "..%2Fstudy.json", 404, NULL);
    get_file(a, "%2e%2e", 404, NULL);
    get_file(999, "table.csv", 404, NULL);

    /* ---- a study through POST /v1/jobs has its row too; paging ---- */
    /* Long enough to be cancelled and killed mid-run: 20 epochs (6 under the sanitizers, about
     * 5 times slower). */
    char body[1024];
    snprintf(body, sizeof body,
             "{\"dataset\":\"ecg\",\"tasks\":[\"gunpoint\"],\"spec\":{\"sizes\":[0,32,64],"
             "\"objectives\":[\"cpc\"],\"model\":\"small\",\"seeds\":[0],\"epochs\":%d,"
             "\"batch\":8,\"val_records\":16,\"bootstrap\":50}}",
             getenv("ECGFM_SANITIZE") ? 6 : 20);
    long long jb = tj_create("study", body);
    tj_do("GET", "/v1/studies?limit=1", tj_read, NULL);
    assert_int_equal(TA.status, 200);
    json_t *page = tj_json();
    json_t *first = json_array_get(json_object_get(page, "studies"), 0);
    long long b = json_integer_value(json_object_get(first, "id"));
    assert_int_equal(json_integer_value(json_object_get(first, "job_id")), jb);
    assert_int_equal(json_integer_value(json_object_get(page, "next_cursor")), b);
    assert_null(json_object_get(first, "result")); /* lists leave results out */
    json_decref(page);
    char path[128];
    snprintf(path, sizeof path, "/v1/studies?limit=1&cursor=%lld", b);
    tj_do("GET", path, tj_read, NULL);
    assert_non_null(strstr(TA.body, "\"name\":\"tiny\""));
    assert_non_null(strstr(TA.body, "\"next_cursor\":null"));

    /* ---- cancel it while it pretrains, retry, kill -9 mid-run, resume after restart ---- */
    long long deadline = ts_now_ms() + TJ_JOB_TIMEOUT_MS;
    for (;;) {
        j = tj_get("/v1/jobs/%lld", jb);
        const char *msg =
            json_string_value(json_object_get(json_object_get(j, "progress"), "message"));
        int go = msg && !strncmp(msg, "pretrain", 8);
        json_decref(j);
        if (go) break;
        if (ts_now_ms() > deadline) fail_msg("study %lld never started pretraining", b);
        ts_sleep_ms(50);
    }
    snprintf(path, sizeof path, "/v1/jobs/%lld/cancel", jb);
    tj_do("POST", path, tj_train, NULL);
    assert_int_equal(TA.status, 200);
    s = tj_wait("/v1/studies/%lld", b, "cancelled");
    json_decref(s);
    j = tj_get("/v1/jobs/%lld", jb);
    assert_string_equal(tj_state(j), "cancelled");
    json_decref(j);
    snprintf(path, sizeof path, "/v1/jobs/%lld/retry", jb);
    tj_do("POST", path, tj_train, NULL);
    assert_int_equal(TA.status, 200);
    s = tj_wait("/v1/studies/%lld", b, "running");
    json_decref(s);
    ts_sleep_ms(300);
    assert_int_equal(kill(tj_pid, SIGKILL), 0);
    waitpid(tj_pid, NULL, 0);
    ts_forget_child(tj_pid);
    tj_start("serve2.log", NULL);
    s = tj_wait("/v1/studies/%lld", b, "succeeded");
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(json_object_get(s, "result"), "table"), "rows")),
                     3);
    json_decref(s);
    j = tj_get("/v1/jobs/%lld", jb);
    assert_int_equal(json_integer_value(json_object_get(j, "attempt")), 3);
    json_decref(j);
    assert_non_null(strstr(ts_read_text(tj_log), "interrupted job re-queued"));
    get_file(b, "scaling.svg", 200, "image/svg+xml");
    /* the first study is untouched by all that */
    get_file(a, "table.csv", 200, "text/csv; charset=utf-8");
    tj_stop();
}

int main(int argc, char **argv) {
    (void)argc;
    if (tj_paths(argv[0])) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_studies, setup, tj_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

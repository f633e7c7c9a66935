/* test_api_job_kinds.c — the transfer, finetune and import job kinds against the real build/ecgfm:
 * GunPoint uploaded as a task dataset, a synthetic ECG dataset, a PTB-XL record under an import
 * root; each kind to succeeded with its result, a transfer job's SSE stream to the end, cancel and
 * retry, 404/422/403 at submit, and import refused (403) by a server without import roots. */
#include "tests/api/testjobs.h"

#include <sqlite3.h>

static int setup(void **state) {
    (void)state;
    return tj_setup("test-api-job-kinds");
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static json_t *result_of(json_t *job) {
    json_t *r = json_object_get(job, "result");
    if (!json_is_object(r)) fail_msg("no result:\n%s", json_dumps(job, 0));
    return r;
}

/* POST /v1/jobs with a body: the error status and code. */
static void bad(const char *body, int status, const char *code, const char *mention) {
    tj_do("POST", "/v1/jobs", tj_train, body);
    tj_expect(status, code);
    if (mention && !strstr(TA.body, mention)) fail_msg("want \"%s\" named:\n%s", mention, TA.raw);
}

static void test_kinds(void **state) {
    (void)state;
    tj_synth("tiny", "64");
    char roots[300], rec[300], cmd[PATH_MAX * 2 + 64];
    snprintf(roots, sizeof roots, "%s/import", tj_tmp);
    snprintf(rec, sizeof rec, "%s/import/ptbxl", tj_tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s/tests/data/ecg/ptbxl/00001_lr.* %s", rec,
             tj_repo, rec);
    assert_int_equal(system(cmd), 0);
    tj_key("train", tj_train);
    tj_key("read", tj_read);
    tj_start("serve1.log", roots);
    tj_gunpoint("gunpoint");
    tj_do("POST", "/v1/datasets", tj_train, "{\"name\":\"ward\",\"kind\":\"ecg\"}");
    assert_int_equal(TA.status, 201);

    /* ---- validation at submit: 404 unknown references, 422 wrong kinds and values ---- */
    bad("{\"kind\":\"transfer\",\"params\":{\"task\":\"nope\"}}", 404, "dataset_not_found", "nope");
    bad("{\"kind\":\"transfer\",\"params\":{\"task\":\"gunpoint\",\"checkpoint\":\"nope\"}}", 404,
        "checkpoint_not_found", "nope");
    bad("{\"kind\":\"transfer\",\"params\":{\"task\":\"tiny\"}}", 422, "invalid_dataset",
        "not a task");
    bad("{\"kind\":\"transfer\",\"params\":{\"task\":\"gunpoint\",\"mapping\":{\"channels\":"
        "\"left\"}}}",
        422, "invalid_value", "mapping");
    bad("{\"kind\":\"transfer\",\"params\":{\"task\":\"gunpoint\",\"probe\":true}}", 422,
        "unknown_field", "params.probe");
    bad("{\"kind\":\"transfer\",\"params\":{}}", 422, "missing_field", "params.task");
    bad("{\"kind\":\"finetune\",\"params\":{\"task\":\"gunpoint\",\"mode\":\"deep\"}}", 422,
        "invalid_value", "params.mode");
    bad("{\"kind\":\"finetune\",\"params\":{\"task\":\"gunpoint\",\"epochs\":0}}", 422,
        "invalid_value", "params.epochs");
    bad("{\"kind\":\"finetune\",\"params\":{\"task\":\"gunpoint\",\"val_fraction\":2}}", 422,
        "invalid_value", "params.val_fraction");
    bad("{\"kind\":\"finetune\",\"params\":{\"task\":\"gunpoint\",\"random\":1}}", 422,
        "invalid_value", "params.random");
    bad("{\"kind\":\"finetune\",\"params\":{\"task\":\"ghost\"}}", 404, "dataset_not_found", NULL);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"kind\":\"import\",\"params\":{\"dataset\":\"ward\",\"format\":\"wfdb\",\"path\":"
             "\"%s/../..\"}}",
             roots);
    bad(body, 403, "path_not_allowed", "outside");
    snprintf(body, sizeof body,
             "{\"kind\":\"import\",\"params\":{\"dataset\":\"ward\",\"format\":\"wfdb\",\"path\":"
             "\"%s/missing\"}}",
             roots);
    bad(body, 422, "invalid_path", NULL);
    bad("{\"kind\":\"import\",\"params\":{\"dataset\":\"ward\",\"format\":\"wfdb\",\"path\":"
        "\"relative/dir\"}}",
        422, "invalid_path", "absolute");
    snprintf(body, sizeof body,
             "{\"kind\":\"import\",\"params\":{\"dataset\":\"ward\",\"format\":\"csv\",\"path\":"
             "\"%s\"}}",
             rec);
    bad(body, 422, "invalid_value", "params.format");
    snprintf(body, sizeof body,
             "{\"kind\":\"import\",\"params\":{\"dataset\":\"gunpoint\",\"format\":\"wfdb\","
             "\"path\":\"%s\"}}",
             rec);
    bad(body, 422, "invalid_dataset", "not ECG");
    tj_do("POST", "/v1/jobs", tj_read,
          "{\"kind\":\"transfer\",\"params\":{\"task\":\"gunpoint\"}}");
    tj_expect(403, "insufficient_scope");

    /* ---- transfer: its SSE stream to the end, the report as the result ---- */
    long long t = tj_create("transfer", "{\"task\":\"gunpoint\",\"save_probe\":true}");
    int closed = 0;
    const char *ev = tj_sse(t, TJ_JOB_TIMEOUT_MS, &closed);
    if (!closed) fail_msg("the stream did not end:\n%s", ev);
    const char *q = strstr(ev, "data: {\"state\":\"queued\"}");
    const char *r = strstr(ev, "data: {\"state\":\"running\"");
    const char *p = strstr(ev, "event: progress");
    const char *s = strstr(ev, "data: {\"state\":\"succeeded\"");
    if (!q || !r || !p || !s || !(q < r && r < p && p < s))
        fail_msg("events out of order or missing:\n%s", ev);
    json_t *j = tj_get("/v1/jobs/%lld", t);
    assert_string_equal(tj_state(j), "succeeded");
    json_t *res = result_of(j);
    assert_string_equal(json_string_value(json_object_get(res, "task")), "GunPoint");
    assert_int_equal(json_integer_value(json_object_get(res, "n_test")), 150);
    assert_true(json_array_size(json_object_get(json_object_get(res, "checkpoint"), "scores")) >=
                3);
    assert_non_null(json_object_get(res, "raw_1nn"));
    assert_true(json_integer_value(json_object_get(res, "probe_id")) > 0);
    json_decref(j);
    /* references by id are stored by name ("default" as the checkpoint it was) */
    tj_do("GET", "/v1/datasets/gunpoint", tj_read, NULL);
    j = tj_json();
    snprintf(body, sizeof body, "{\"task\":%lld,\"seed\":3}",
             (long long)json_integer_value(json_object_get(j, "id")));
    json_decref(j);
    long long t2 = tj_create("transfer", body);
    j = tj_wait("/v1/jobs/%lld", t2, "succeeded");
    json_t *pj = json_object_get(j, "params");
    assert_string_equal(json_string_value(json_object_get(pj, "task")), "gunpoint");
    assert_string_equal(json_string_value(json_object_get(pj, "checkpoint")), "bundled-small");
    json_decref(j);

    /* ---- finetune: a fine-tuned encoder kept as a checkpoint; and the from-scratch baseline ----
     */
    long long f = tj_create("finetune", "{\"task\":\"gunpoint\",\"epochs\":2,\"patience\":2,"
                                        "\"batch\":16,\"mapping\":{\"length\":\"resample\"}}");
    j = tj_wait("/v1/jobs/%lld", f, "succeeded");
    res = result_of(j);
    assert_string_equal(json_string_value(json_object_get(res, "mode")), "finetune");
    assert_int_equal(json_integer_value(json_object_get(res, "epochs_run")), 2);
    double acc = json_number_value(json_object_get(json_object_get(res, "test"), "accuracy"));
    assert_true(acc > 0 && acc <= 1);
    long long ck = json_integer_value(json_object_get(res, "finetuned_checkpoint_id"));
    assert_true(ck > 0);
    json_decref(j);
    /* its row names the file the job wrote */
    char path[512];
    snprintf(path, sizeof path, "%s/ecgfm.sqlite3", tj_data);
    sqlite3 *h;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT name, path, job_id FROM checkpoints WHERE id = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, ck);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char want[64];
    snprintf(want, sizeof want, "finetune-job-%lld", f);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
    snprintf(want, sizeof want, "jobs/%lld/finetuned.safetensors", f);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), want);
    assert_int_equal(sqlite3_column_int64(st, 2), f);
    sqlite3_finalize(st);
    sqlite3_close(h);
    snprintf(path, sizeof path, "%s/jobs/%lld/finetuned.safetensors", tj_data, f);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    /* and it is a checkpoint like any other: listed, downloadable */
    snprintf(path, sizeof path, "/v1/checkpoints/%lld", ck);
    tj_do("GET", path, tj_read, NULL);
    if (TA.status != 200 || !strstr(TA.body, "finetune-job-"))
        fail_msg("GET %s:\n%s", path, TA.raw);
    snprintf(path, sizeof path, "/v1/checkpoints/%lld/file", ck);
    tj_do("GET", path, tj_read, NULL);
    assert_int_equal(TA.status, 200);
    /* linear mode on a random init: no checkpoint is kept */
    long long fr = tj_create("finetune", "{\"task\":\"gunpoint\",\"mode\":\"linear\",\"random\":"
                                         "true,\"epochs\":2}");
    j = tj_wait("/v1/jobs/%lld", fr, "succeeded");
    res = result_of(j);
    assert_string_equal(json_string_value(json_object_get(res, "encoder")), "random_init");
    assert_true(json_is_null(json_object_get(res, "finetuned_checkpoint_id")));
    json_decref(j);

    /* ---- import: done/total progress, the summary as the result, the records indexed ---- */
    snprintf(body, sizeof body, "{\"dataset\":\"ward\",\"format\":\"wfdb\",\"path\":\"%s\"}", rec);
    long long im = tj_create("import", body);
    j = tj_wait("/v1/jobs/%lld", im, "succeeded");
    res = result_of(j);
    assert_int_equal(json_integer_value(json_object_get(res, "imported")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "progress"), "total")),
                     1);
    json_decref(j);
    tj_do("GET", "/v1/datasets/ward", tj_read, NULL);
    assert_int_equal(TA.status, 200);
    assert_non_null(strstr(TA.body, "\"n_records\":1"));

    /* ---- cancel and retry: a transfer queued behind a finetune is cancelled, then retried ---- */
    long long busy =
        tj_create("finetune", "{\"task\":\"gunpoint\",\"epochs\":3,\"mode\":\"frozen\"}");
    long long c = tj_create("transfer", "{\"task\":\"gunpoint\",\"seed\":1}");
    /* a dataset a queued or running job names cannot be deleted */
    tj_do("DELETE", "/v1/datasets/gunpoint", tj_train, NULL);
    tj_expect(409, "dataset_in_use");
    snprintf(path, sizeof path, "/v1/jobs/%lld/cancel", c);
    tj_do("POST", path, tj_train, NULL);
    assert_int_equal(TA.status, 200);
    j = tj_wait("/v1/jobs/%lld", c, "cancelled");
    json_decref(j);
    tj_do("POST", path, tj_train, NULL);
    tj_expect(409, "job_finished");
    snprintf(path, sizeof path, "/v1/jobs/%lld/retry", c);
    tj_do("POST", path, tj_train, NULL);
    assert_int_equal(TA.status, 200);
    j = tj_wait("/v1/jobs/%lld", c, "succeeded");
    assert_int_equal(json_integer_value(json_object_get(j, "attempt")), 1);
    json_decref(j);
    j = tj_wait("/v1/jobs/%lld", busy, "succeeded");
    json_decref(j);
    /* list by kind */
    tj_do("GET", "/v1/jobs?kind=finetune", tj_read, NULL);
    assert_int_equal(TA.status, 200);
    assert_int_equal(count(TA.body, "\"kind\":\"finetune\""), 3);
    tj_stop();

    /* ---- a server without import roots refuses import jobs ---- */
    tj_start("serve2.log", NULL);
    snprintf(body, sizeof body,
             "{\"kind\":\"import\",\"params\":{\"dataset\":\"ward\",\"format\":\"wfdb\",\"path\":"
             "\"%s\"}}",
             rec);
    bad(body, 403, "import_disabled", "import_roots");
    tj_stop();
}

int main(int argc, char **argv) {
    (void)argc;
    if (tj_paths(argv[0])) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kinds, setup, tj_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

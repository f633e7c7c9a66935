/* test_api_transfer.c — POST /v1/transfer, GET /v1/probes[/{id}] and POST /v1/classify against the
 * real build/ecgfm on 127.0.0.1: GunPoint uploaded as a task dataset, the synchronous transfer's
 * accuracies equal to `ecgfm transfer --json` of the same files, the saved probe reproducing its
 * test accuracy and confusion through /v1/classify, probe paging, and 401/403/404/413/415/422/429.
 */
#include <math.h>
#include <strings.h>

#include "tests/api/apiclient.h"

#include <jansson.h>

static char train_key[128], read_key[128], embed_key[128];
static char gp_train[PATH_MAX], gp_test[PATH_MAX];
static json_t *report;     /* the first transfer's answer */
static long long probe_id; /* its saved probe */

/* POST /v1/datasets {"name", "kind": "task"} and PUT both splits (raw .ts bodies). */
static void upload_task(const char *name, const char *train, const char *test) {
    char body[256], path[256];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"kind\":\"task\"}", name);
    json_t *j = ac_json("POST", "/v1/datasets", train_key, body, 201);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    assert_true(id > 0);
    const char *files[2] = {train, test}, *splits[2] = {"train", "test"};
    for (int s = 0; s < 2; s++) {
        size_t len;
        char *text = ts_slurp(files[s], &len);
        assert_non_null(text);
        snprintf(path, sizeof path, "/v1/datasets/%lld/splits/%s?format=ts", id, splits[s]);
        ac_answer a;
        ac_request(&a, "PUT", path, train_key, "text/plain", text, len);
        free(text);
        if (a.status != 200 && a.status != 201) fail_msg("PUT %s:\n%.600s", path, a.raw);
        ac_answer_free(&a);
    }
}

static void test_start(void **state) {
    (void)state;
    ac_init("transfer");
    snprintf(gp_train, sizeof gp_train, "%s/tests/data/ucr_uea/GunPoint/GunPoint_TRAIN.ts",
             AC.root);
    snprintf(gp_test, sizeof gp_test, "%s/tests/data/ucr_uea/GunPoint/GunPoint_TEST.ts", AC.root);
    ac_make_key("train", train_key);
    ac_make_key("read", read_key);
    ac_make_key("embed", embed_key);
    /* GunPoint is 50 + 150 series: exactly the limit; "big" (150 + 150) is beyond it. */
    const char *extra[] = {"--transfer-max-series",
                           "200",
                           "--transfer-queue-max",
                           "1",
                           "--classify-max-series",
                           "150",
                           "--classify-max-length",
                           "1000",
                           "--max-body-bytes",
                           "4000000",
                           NULL};
    ac_start_server(extra);
    upload_task("gunpoint", gp_train, gp_test);
    upload_task("big", gp_test, gp_test);
}

/* The accuracy of classifier `name` in a report's encoder result ("checkpoint", "random_init"). */
static double score_of(json_t *r, const char *enc, const char *name, const char *field) {
    json_t *scores = json_object_get(json_object_get(r, enc), "scores");
    size_t i;
    json_t *s;
    json_array_foreach(scores, i, s) {
        if (!strcmp(json_string_value(json_object_get(s, "classifier")), name))
            return json_number_value(json_object_get(s, field));
    }
    fail_msg("no %s score for %s", name, enc);
    return NAN;
}

static void test_transfer_equals_cli(void **state) {
    (void)state;
    report = ac_json("POST", "/v1/transfer", train_key,
                     "{\"checkpoint\":\"default\",\"task\":\"gunpoint\",\"save_probe\":true}", 200);
    char model[PATH_MAX + 64];
    snprintf(model, sizeof model, "%s/models/small/checkpoint.safetensors", AC.root);
    char *out = ac_run_ok((char *[]){"transfer", "--checkpoint", model, "--train", gp_train,
                                     "--test", gp_test, "--json", NULL},
                          AC_EXIT_TIMEOUT_MS);
    json_error_t e;
    json_t *cli = json_loads(out, 0, &e);
    if (!cli) fail_msg("ecgfm transfer printed no JSON (%s): %.300s", e.text, out);
    free(out);
    assert_int_equal(json_integer_value(json_object_get(report, "n_train")), 50);
    assert_int_equal(json_integer_value(json_object_get(report, "n_test")), 150);
    assert_string_equal(json_string_value(json_object_get(report, "task_dataset")), "gunpoint");
    assert_true(json_integer_value(json_object_get(report, "checkpoint_id")) > 0);
    assert_true(json_integer_value(json_object_get(report, "task_dataset_id")) > 0);
    assert_true(json_equal(json_object_get(report, "mapping"), json_object_get(cli, "mapping")));
    const char *encs[2] = {"checkpoint", "random_init"};
    const char *names[3] = {"nearest_centroid", "knn_cosine", "logreg"};
    const char *fields[3] = {"accuracy", "balanced_accuracy", "macro_f1"};
    int n = 0;
    for (int k = 0; k < 2; k++)
        for (int c = 0; c < 3; c++)
            for (int f = 0; f < 3; f++, n++) {
                double a = score_of(report, encs[k], names[c], fields[f]);
                double b = score_of(cli, encs[k], names[c], fields[f]);
                if (fabs(a - b) > 1e-9)
                    fail_msg("%s %s %s: service %.9f, CLI %.9f", encs[k], names[c], fields[f], a,
                             b);
            }
    double raw_s =
               json_number_value(json_object_get(json_object_get(report, "raw_1nn"), "accuracy")),
           raw_c = json_number_value(json_object_get(json_object_get(cli, "raw_1nn"), "accuracy"));
    assert_true(fabs(raw_s - raw_c) < 1e-9);
    print_message("transfer: %d scores and raw 1-NN (%.4f) equal to the CLI; checkpoint logreg "
                  "%.4f, random-init logreg %.4f\n",
                  n, raw_s, score_of(report, "checkpoint", "logreg", "accuracy"),
                  score_of(report, "random_init", "logreg", "accuracy"));
    json_decref(cli);
    probe_id = json_integer_value(json_object_get(report, "probe_id"));
    assert_true(probe_id > 0);
}

/* A .ts test split as a classify body (univariate [[...]], or [[[...]]] with channels), and its
 * labels (class names) in order. */
static char *classify_body(const char *file, long long probe, json_t **labels) {
    size_t len;
    char *text = ts_slurp(file, &len);
    assert_non_null(text);
    json_t *series = json_array();
    *labels = json_array();
    int data = 0;
    char *save_line = NULL;
    for (char *line = strtok_r(text, "\n", &save_line); line;
         line = strtok_r(NULL, "\n", &save_line)) {
        if (!data) {
            if (!strncasecmp(line, "@data", 5)) data = 1;
            continue;
        }
        char *colon = strrchr(line, ':');
        if (!colon) continue;
        *colon = 0;
        json_array_append_new(*labels, json_string(colon + 1));
        json_t *chans = json_array();
        char *save_dim = NULL;
        for (char *dim = strtok_r(line, ":", &save_dim); dim;
             dim = strtok_r(NULL, ":", &save_dim)) {
            json_t *c = json_array();
            char *save = NULL;
            for (char *v = strtok_r(dim, ",", &save); v; v = strtok_r(NULL, ",", &save))
                json_array_append_new(c, json_real(strtod(v, NULL)));
            json_array_append_new(chans, c);
        }
        if (json_array_size(chans) == 1) {
            json_array_append(series, json_array_get(chans, 0));
            json_decref(chans);
        } else {
            json_array_append_new(series, chans);
        }
    }
    free(text);
    json_t *body = json_pack("{s:I, s:o}", "probe", (json_int_t)probe, "series", series);
    char *out = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(body);
    return out;
}

/* Classify file's series with probe: the fraction right, and the confusion (rows true class in
 * the probe's class order) into conf [K][K]. */
static double classify_accuracy(const char *file, long long probe, json_t *names, int *conf) {
    json_t *labels;
    char *body = classify_body(file, probe, &labels);
    json_t *c = ac_json("POST", "/v1/classify", embed_key, body, 200);
    free(body);
    json_t *preds = json_object_get(c, "predictions");
    size_t n = json_array_size(labels), K = json_array_size(names);
    assert_int_equal(json_array_size(preds), n);
    int right = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *q = json_array_get(preds, i);
        const char *cls = json_string_value(json_object_get(q, "class"));
        int k = (int)json_integer_value(json_object_get(q, "index"));
        assert_string_equal(cls, json_string_value(json_array_get(names, (size_t)k)));
        json_t *pr = json_object_get(q, "probabilities");
        assert_int_equal(json_array_size(pr), K);
        double sum = 0;
        for (size_t m = 0; m < K; m++)
            sum += json_number_value(json_array_get(pr, m));
        assert_true(fabs(sum - 1) < 1e-5);
        const char *truth = json_string_value(json_array_get(labels, i));
        size_t t = 0;
        while (t < K && strcmp(truth, json_string_value(json_array_get(names, t))))
            t++;
        assert_true(t < K);
        conf[t * K + (size_t)k]++;
        right += !strcmp(cls, truth);
    }
    json_decref(c);
    json_decref(labels);
    return (double)right / (double)n;
}

/* The stored probe's metrics reproduced by classifying file's series through /v1/classify. */
static void check_probe_reproduced(long long id, const char *file) {
    char path[64];
    snprintf(path, sizeof path, "/v1/probes/%lld", id);
    json_t *p = ac_json("GET", path, read_key, NULL, 200);
    json_t *metrics = json_object_get(p, "metrics"), *names = json_object_get(p, "class_names");
    size_t K = json_array_size(names);
    int *conf = calloc(K * K, sizeof *conf);
    assert_non_null(conf);
    double acc = classify_accuracy(file, id, names, conf);
    double probe_acc = json_number_value(json_object_get(metrics, "accuracy"));
    print_message("probe %lld: classify of the test split %.4f; the probe's stored test accuracy "
                  "%.4f (%zu classes)\n",
                  id, acc, probe_acc, K);
    assert_true(fabs(acc - probe_acc) < 1e-12);
    json_t *cm = json_object_get(metrics, "confusion");
    for (size_t t = 0; t < K; t++)
        for (size_t k = 0; k < K; k++)
            assert_int_equal(conf[t * K + k],
                             json_integer_value(json_array_get(json_array_get(cm, t), k)));
    free(conf);
    json_decref(p);
}

static void test_classify_reproduces_probe(void **state) {
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/v1/probes/%lld", probe_id);
    json_t *p = ac_json("GET", path, read_key, NULL, 200);
    double probe_acc =
        json_number_value(json_object_get(json_object_get(p, "metrics"), "accuracy"));
    assert_true(fabs(probe_acc - score_of(report, "checkpoint", "logreg", "accuracy")) < 1e-12);
    assert_string_equal(json_string_value(json_object_get(p, "method")), "linear");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(p, "mapping"), "channels")), "all");
    json_decref(p);
    check_probe_reproduced(probe_id, gp_test);
}

/* A multichannel task (BasicMotions, 6 channels): mapped with "multi" by default, and classify
 * takes n x channels x length series. */
static void test_multichannel(void **state) {
    (void)state;
    char tr[PATH_MAX], te[PATH_MAX];
    snprintf(tr, sizeof tr, "%s/tests/data/ucr_uea/BasicMotions/BasicMotions_TRAIN.ts", AC.root);
    snprintf(te, sizeof te, "%s/tests/data/ucr_uea/BasicMotions/BasicMotions_TEST.ts", AC.root);
    upload_task("basicmotions", tr, te);
    json_t *r = ac_json("POST", "/v1/transfer", train_key,
                        "{\"task\":\"basicmotions\",\"save_probe\":true}", 200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r, "mapping"), "channels")), "multi");
    assert_int_equal(json_integer_value(json_object_get(r, "n_dims")), 6);
    long long id = json_integer_value(json_object_get(r, "probe_id"));
    print_message("BasicMotions: checkpoint logreg %.4f\n",
                  score_of(r, "checkpoint", "logreg", "accuracy"));
    json_decref(r);
    check_probe_reproduced(id, te);
    /* univariate series for a 6-channel probe are refused */
    char body[128];
    snprintf(body, sizeof body, "{\"probe\":%lld,\"series\":[[1,2,3]]}", id);
    ac_expect("POST", "/v1/classify", embed_key, "application/json", body, 422, "wrong_channels");
}

static void test_probes_paging(void **state) {
    (void)state;
    json_t *r2 = ac_json("POST", "/v1/transfer", train_key,
                         "{\"task\":\"gunpoint\",\"seed\":3,\"save_probe\":true,"
                         "\"mapping\":{\"length\":\"slide\",\"slide_rate\":4}}",
                         200);
    long long p2 = json_integer_value(json_object_get(r2, "probe_id"));
    assert_true(p2 > probe_id);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r2, "mapping"), "length")), "slide");
    json_decref(r2);
    json_t *page = ac_json("GET", "/v1/probes?limit=1", read_key, NULL, 200);
    json_t *items = json_object_get(page, "probes");
    assert_int_equal(json_array_size(items), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "id")), p2);
    long long cursor = json_integer_value(json_object_get(page, "next_cursor"));
    assert_int_equal(cursor, p2);
    json_decref(page);
    char path[64];
    snprintf(path, sizeof path, "/v1/probes?limit=1&cursor=%lld", cursor);
    page = ac_json("GET", path, read_key, NULL, 200);
    items = json_object_get(page, "probes");
    assert_int_equal(json_array_size(items), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "id")), probe_id);
    assert_true(json_is_null(json_object_get(page, "next_cursor")));
    json_decref(page);
    /* The slide probe classifies through its own stored mapping. */
    check_probe_reproduced(p2, gp_test);
}

static int n_errors;

/* ac_expect, counted. */
static void expect(const char *method, const char *path, const char *key, const char *ctype,
                   const char *body, int status, const char *code) {
    ac_expect(method, path, key, ctype, body, status, code);
    n_errors++;
}

static void test_errors(void **state) {
    (void)state;
    const char *ok = "{\"task\":\"gunpoint\"}";
    /* 401, 403 */
    expect("POST", "/v1/transfer", NULL, "application/json", ok, 401, "missing_api_key");
    expect("POST", "/v1/transfer", read_key, "application/json", ok, 403, "insufficient_scope");
    expect("POST", "/v1/transfer", embed_key, "application/json", ok, 403, "insufficient_scope");
    expect("GET", "/v1/probes", NULL, NULL, NULL, 401, "missing_api_key");
    expect("POST", "/v1/classify", read_key, "application/json", "{}", 403, "insufficient_scope");
    /* 404 */
    expect("POST", "/v1/transfer", train_key, "application/json", "{\"task\":\"nope\"}", 404,
           "dataset_not_found");
    expect("POST", "/v1/transfer", train_key, "application/json",
           "{\"task\":\"gunpoint\",\"checkpoint\":\"nope\"}", 404, "checkpoint_not_found");
    expect("GET", "/v1/probes/999999", read_key, NULL, NULL, 404, "probe_not_found");
    expect("GET", "/v1/probes/abc", read_key, NULL, NULL, 404, "probe_not_found");
    expect("POST", "/v1/classify", embed_key, "application/json",
           "{\"probe\":999999,\"series\":[[1,2,3]]}", 404, "probe_not_found");
    /* 413: the task is beyond transfer_max_series; classify limits */
    expect("POST", "/v1/transfer", train_key, "application/json", "{\"task\":\"big\"}", 413,
           "task_too_large");
    char body[8192];
    int w = snprintf(body, sizeof body, "{\"probe\":%lld,\"series\":[", probe_id);
    for (int i = 0; i < 151; i++)
        w += snprintf(body + w, sizeof body - (size_t)w, "%s[1,2,3]", i ? "," : "");
    snprintf(body + w, sizeof body - (size_t)w, "]}");
    expect("POST", "/v1/classify", embed_key, "application/json", body, 413, "too_many_series");
    w = snprintf(body, sizeof body, "{\"probe\":%lld,\"series\":[[", probe_id);
    for (int i = 0; i < 1001; i++)
        w += snprintf(body + w, sizeof body - (size_t)w, "%s1", i ? "," : "");
    snprintf(body + w, sizeof body - (size_t)w, "]]}");
    expect("POST", "/v1/classify", embed_key, "application/json", body, 413, "series_too_long");
    /* 415, 400, 422 */
    expect("POST", "/v1/transfer", train_key, "text/plain", ok, 415, "unsupported_media_type");
    expect("POST", "/v1/classify", embed_key, "text/plain", "{}", 415, "unsupported_media_type");
    expect("POST", "/v1/transfer", train_key, "application/json", "{\"task\":", 400,
           "invalid_json");
    expect("POST", "/v1/transfer", train_key, "application/json", "{}", 400, "missing_field");
    expect("POST", "/v1/transfer", train_key, "application/json",
           "{\"task\":\"gunpoint\",\"save_probe\":1}", 400, "wrong_type");
    expect("POST", "/v1/transfer", train_key, "application/json",
           "{\"task\":\"gunpoint\",\"bogus\":1}", 422, "unknown_field");
    expect("POST", "/v1/transfer", train_key, "application/json",
           "{\"task\":\"gunpoint\",\"mapping\":{\"channels\":\"sideways\"}}", 422,
           "invalid_mapping");
    expect("POST", "/v1/transfer", train_key, "application/json",
           "{\"task\":\"gunpoint\",\"mapping\":{\"slide_rate\":-1}}", 422, "invalid_mapping");
    expect("POST", "/v1/transfer", train_key, "application/json",
           "{\"task\":\"gunpoint\",\"mapping\":{\"channels\":\"multi\",\"warp\":2}}", 422,
           "invalid_mapping");
    expect("POST", "/v1/transfer", train_key, "application/json",
           "{\"task\":\"gunpoint\",\"seed\":-1}", 422, "invalid_value");
    snprintf(body, sizeof body, "{\"probe\":%lld,\"series\":[]}", probe_id);
    expect("POST", "/v1/classify", embed_key, "application/json", body, 400, "wrong_type");
    snprintf(body, sizeof body, "{\"probe\":%lld,\"series\":[[]]}", probe_id);
    expect("POST", "/v1/classify", embed_key, "application/json", body, 422, "empty_series");
    snprintf(body, sizeof body, "{\"probe\":%lld,\"series\":[[1,\"x\"]]}", probe_id);
    expect("POST", "/v1/classify", embed_key, "application/json", body, 400, "wrong_type");
    snprintf(body, sizeof body, "{\"probe\":%lld,\"series\":[[[1,2],[3]]]}", probe_id);
    expect("POST", "/v1/classify", embed_key, "application/json", body, 422, "ragged_series");
    /* GunPoint's probe is univariate: two-channel series are refused */
    snprintf(body, sizeof body, "{\"probe\":%lld,\"series\":[[[1,2,3],[3,4,5]]]}", probe_id);
    expect("POST", "/v1/classify", embed_key, "application/json", body, 422, "wrong_channels");
    expect("POST", "/v1/classify", embed_key, "application/json",
           "{\"probe\":\"x\",\"series\":[[1]]}", 422, "invalid_value");
    expect("GET", "/v1/probes?limit=0", read_key, NULL, NULL, 422, "invalid_value");
    expect("GET", "/v1/probes?cursor=x", read_key, NULL, NULL, 422, "invalid_value");
    print_message("%d error answers checked\n", n_errors);
}

/* After a refusal: the worker's counters in /metrics. */
static void check_metrics_after_429(void) {
    ac_answer a;
    ac_request(&a, "GET", "/metrics", NULL, NULL, NULL, 0);
    assert_int_equal(a.status, 200);
    const char *line = strstr(a.body, "\necgfm_transfer_rejected_total ");
    if (!line) fail_msg("no ecgfm_transfer_rejected_total in /metrics");
    assert_true(atof(line + strlen("\necgfm_transfer_rejected_total ")) >= 1);
    assert_non_null(strstr(a.body, "ecgfm_transfer_queue_depth"));
    ac_answer_free(&a);
}

/* One transfer runs; with transfer_queue_max 1 a second request meanwhile is refused (429). */
static void test_busy_429(void **state) {
    (void)state;
    const char *body = "{\"task\":\"gunpoint\"}";
    int fd = ac_send("POST", "/v1/transfer", train_key, "application/json", body, strlen(body));
    long long deadline = ts_now_ms() + 5000;
    int got429 = 0;
    while (!got429 && ts_now_ms() < deadline) {
        ac_answer a;
        ac_request(&a, "POST", "/v1/transfer", train_key, "application/json", body, strlen(body));
        if (a.status == 429) {
            ts_expect_error(a.status, a.raw, a.body, 429, "queue_full");
            got429 = 1;
        } else if (a.status != 200) {
            fail_msg("want 429 or 200:\n%.400s", a.raw);
        }
        ac_answer_free(&a);
    }
    assert_true(got429);
    ac_answer a;
    ac_read(fd, &a);
    if (a.status != 200) fail_msg("the running transfer: %.400s", a.raw);
    ac_answer_free(&a);
    /* The health of the rest of the service while it ran: /healthz answered. */
    ac_answer h;
    ac_request(&h, "GET", "/healthz", NULL, NULL, NULL, 0);
    assert_int_equal(h.status, 200);
    ac_answer_free(&h);
    check_metrics_after_429();
}

/* The routes are in the OpenAPI document; the worker's counters are in /metrics. */
static void test_openapi_metrics(void **state) {
    (void)state;
    json_t *doc = ac_json("GET", "/v1/openapi.json", read_key, NULL, 200);
    json_t *paths = json_object_get(doc, "paths");
    const char *want[5] = {"/v1/transfer", "/v1/probes", "/v1/probes/{id}", "/v1/classify",
                           "/v1/embed/batch"};
    for (int i = 0; i < 5; i++)
        if (!json_object_get(paths, want[i]))
            fail_msg("%s is not in the OpenAPI document", want[i]);
    json_decref(doc);
}

/* SIGTERM while a transfer runs: the request is answered (its report, or 503 when it was
 * stopped before saving its probe), and the server exits 0. */
static void test_sigterm_during_transfer(void **state) {
    (void)state;
    const char *body = "{\"task\":\"gunpoint\",\"save_probe\":true}";
    int fd = ac_send("POST", "/v1/transfer", train_key, "application/json", body, strlen(body));
    ts_sleep_ms(300);
    pid_t pid = AC.pid;
    AC.pid = 0;
    assert_int_equal(kill(pid, SIGTERM), 0);
    ac_answer a;
    ac_read(fd, &a);
    print_message("the transfer running at SIGTERM was answered %d\n", a.status);
    if (a.status == 503)
        ts_expect_error(a.status, a.raw, a.body, 503, "shutting_down");
    else if (a.status != 200)
        fail_msg("want 200 or 503:\n%.400s", a.raw);
    ac_answer_free(&a);
    int st = ts_wait_exit_or_kill(pid, AC_EXIT_TIMEOUT_MS);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("server did not exit 0 after SIGTERM (status %d):\n%s", st, ts_read_text(AC.log));
}

/* A restart removes probe files no row points at (and temp files of interrupted writes), keeps
 * the others, and the saved probes still classify. */
static void test_restart_sweeps_orphans(void **state) {
    (void)state;
    char orphan[PATH_MAX + 32], temp[PATH_MAX + 32], kept[PATH_MAX + 32];
    snprintf(orphan, sizeof orphan, "%s/probes/999999.probe", AC.data);
    snprintf(temp, sizeof temp, "%s/probes/%lld.probe.tmp.AbCdEf", AC.data, probe_id);
    snprintf(kept, sizeof kept, "%s/probes/%lld.probe", AC.data, probe_id);
    FILE *f = fopen(orphan, "w");
    assert_non_null(f);
    fclose(f);
    f = fopen(temp, "w");
    assert_non_null(f);
    fclose(f);
    const char *extra[] = {"--transfer-max-series", "200", NULL};
    ac_start_server(extra);
    assert_true(access(orphan, F_OK) != 0);
    assert_true(access(temp, F_OK) != 0);
    assert_true(access(kept, F_OK) == 0);
    check_probe_reproduced(probe_id, gp_test);
}

static void test_stop(void **state) {
    (void)state;
    ac_stop_server();
    json_decref(report);
    report = NULL;
    ac_cleanup();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_transfer_equals_cli),
        cmocka_unit_test(test_classify_reproduces_probe),
        cmocka_unit_test(test_probes_paging),
        cmocka_unit_test(test_multichannel),
        cmocka_unit_test(test_openapi_metrics),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_busy_429),
        cmocka_unit_test(test_sigterm_during_transfer),
        cmocka_unit_test(test_restart_sweeps_orphans),
        cmocka_unit_test_teardown(test_stop, ts_kill_children),
    };
    return cmocka_run_group_tests(tests, NULL, ts_kill_children);
}

/* test_api_jobs.c — the job endpoints against the real build/ecgfm on 127.0.0.1 with a temp data
 * directory and a tiny synthetic dataset (`ecgfm synth`): a small pretrain job streamed over SSE to
 * completion, its checkpoint recorded; cancel and retry; list filters and paging; 401/403/404/
 * 409/415/422; kill -9 while a job runs and the restarted server resumes it; SIGTERM saves a
 * running job for the next start; PRAGMA integrity_check afterwards. */
#include <limits.h>
#include <sys/stat.h>

#include "tests/api/testserver.h"

#include <jansson.h>
#include <sqlite3.h>

#define START_TIMEOUT_MS 15000
#define EXIT_TIMEOUT_MS 15000
#define JOB_TIMEOUT_MS 30000
#define IO_TIMEOUT_S 10

static char bin[PATH_MAX], repo[PATH_MAX];
static char tmpdir[64], data[256];
static pid_t server_pid;
static char server_log[256];
static int port;
static char train_key[64], read_key[64];

/* Start bin with args, appending its output to log, no inherited ECGFM_* settings. */
static pid_t spawn(const char *log, char *const args[]) {
    return ts_spawn(&(ts_spawn_opts){.bin = bin, .log = log, .append = 1, .unset = ts_server_env},
                    args);
}

static void start_server(const char *logname) {
    snprintf(server_log, sizeof server_log, "%s/%s", tmpdir, logname);
    port = ts_serve(spawn, server_log, repo, data,
                    (const char *[]){"--jobs-threads", "1", "--jobs-max-running", "1",
                                     "--jobs-heartbeat-s", "1", "--embed-threads", "1", NULL},
                    START_TIMEOUT_MS, &server_pid);
}

static void stop_server(void) {
    pid_t pid = server_pid;
    server_pid = 0;
    ts_stop(pid, SIGTERM, EXIT_TIMEOUT_MS, server_log);
}

static ts_answer A; /* the last answer */

static void http_do(const char *method, const char *path, const char *key, const char *ctype,
                    const char *body) {
    ts_http(&A, port, IO_TIMEOUT_S, method, path, key, ctype, body, body ? strlen(body) : 0);
}

/* POST /v1/jobs with a train key; returns the new id (201 required). */
static long long create_job(const char *params) {
    char body[2048];
    snprintf(body, sizeof body, "{\"kind\":\"pretrain\",\"params\":%s}", params);
    http_do("POST", "/v1/jobs", train_key, "application/json", body);
    if (A.status != 201) fail_msg("job not created:\n%s", A.raw);
    json_t *j = ts_json(&A);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    assert_true(id > 0);
    return id;
}

/* GET /v1/jobs/{id} (new reference). */
static json_t *get_job(long long id) {
    char path[64];
    snprintf(path, sizeof path, "/v1/jobs/%lld", id);
    http_do("GET", path, read_key, NULL, NULL);
    if (A.status != 200) fail_msg("GET %s:\n%s", path, A.raw);
    return ts_json(&A);
}

static const char *jstate(json_t *j) {
    return json_string_value(json_object_get(j, "state"));
}

static long long jstep(json_t *j) {
    return json_integer_value(json_object_get(json_object_get(j, "progress"), "step"));
}

/* Poll until the job is in state (and, for running, past min_step); returns the job. */
static json_t *wait_job(long long id, const char *state, long long min_step) {
    long long deadline = ts_now_ms() + JOB_TIMEOUT_MS;
    for (;;) {
        json_t *j = get_job(id);
        if (!strcmp(jstate(j), state) && jstep(j) >= min_step) return j;
        if (ts_now_ms() > deadline)
            fail_msg("job %lld never got to %s step %lld:\n%s", id, state, min_step, A.body);
        json_decref(j);
        ts_sleep_ms(100);
    }
}

/* Open an SSE stream (the request sent, nothing read yet). */
static int sse_open(long long id, const char *query) {
    char path[96];
    snprintf(path, sizeof path, "/v1/jobs/%lld/events%s", id, query ? query : "");
    return ts_sse_open(port, IO_TIMEOUT_S, path, read_key);
}

/* Read an open stream for at most ms, then close it; *closed says whether the server ended it. */
static char *sse_collect(int fd, int ms, int *closed) {
    static char buf[1 << 18];
    return ts_sse_collect(fd, ms, closed, buf, sizeof buf);
}

static char *sse_read(long long id, const char *query, int ms, int *closed) {
    return sse_collect(sse_open(id, query), ms, closed);
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void check_file_size(const char *rel, long long size) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", data, rel);
    struct stat sb;
    if (stat(path, &sb) != 0) fail_msg("%s is missing", path);
    assert_int_equal((long long)sb.st_size, size);
}

static int setup(void **state) {
    (void)state;
    strcpy(tmpdir, "/tmp/ecgfm-test-api-jobs-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(data, sizeof data, "%s/data", tmpdir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    server_pid = 0;
    return ts_teardown_tmp(tmpdir);
}

/* 120 records of 5 s, batch 8: 13 steps an epoch (12 held out), a fraction of a second each. */
#define SMALL "\"dataset\":\"tiny\",\"objective\":\"cpc\",\"model\":\"small\",\"batch\":8"

static void test_jobs(void **state) {
    (void)state;
    char log[256], ds[300];
    snprintf(log, sizeof log, "%s/cmd.log", tmpdir);
    assert_int_equal(mkdir(data, 0700), 0);
    snprintf(ds, sizeof ds, "%s/datasets", data);
    assert_int_equal(mkdir(ds, 0700), 0);
    snprintf(ds, sizeof ds, "%s/datasets/tiny", data);
    if (ts_run_cmd(spawn, log,
                   (char *[]){"synth", "--out", ds, "--n", "120", "--seconds", "5", NULL},
                   EXIT_TIMEOUT_MS))
        fail_msg("synth failed:\n%s", ts_read_text(log));
    ts_make_key(spawn, log, data, "train", train_key, sizeof train_key, EXIT_TIMEOUT_MS);
    ts_make_key(spawn, log, data, "read", read_key, sizeof read_key, EXIT_TIMEOUT_MS);
    char embed_key[64];
    ts_make_key(spawn, log, data, "embed", embed_key, sizeof embed_key, EXIT_TIMEOUT_MS);
    start_server("serve1.log");

    /* ---- auth ---- */
    const char *ok_body = "{\"kind\":\"pretrain\",\"params\":{" SMALL ",\"epochs\":2}}";
    http_do("POST", "/v1/jobs", NULL, "application/json", ok_body);
    ts_expect(&A, 401, "missing_api_key");
    http_do("POST", "/v1/jobs", read_key, "application/json", ok_body);
    ts_expect(&A, 403, "insufficient_scope");
    http_do("POST", "/v1/jobs", embed_key, "application/json", ok_body);
    ts_expect(&A, 403, "insufficient_scope");
    http_do("GET", "/v1/jobs", NULL, NULL, NULL);
    ts_expect(&A, 401, "missing_api_key");
    http_do("GET", "/v1/jobs", read_key, NULL, NULL);
    assert_int_equal(A.status, 200);
    assert_non_null(strstr(A.body, "\"jobs\":[]"));

    /* ---- bad requests, each with its status and the offending key named ---- */
    http_do("POST", "/v1/jobs", train_key, NULL, ok_body);
    ts_expect(&A, 415, "unsupported_media_type");
    http_do("POST", "/v1/jobs", train_key, "application/json", "{\"kind\":");
    ts_expect(&A, 400, "invalid_json");
    http_do("POST", "/v1/jobs", train_key, "application/json", "[]");
    ts_expect(&A, 400, "invalid_json");
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"pretrain\",\"params\":{" SMALL "},\"priority\":1}");
    ts_expect(&A, 422, "unknown_field");
    assert_non_null(strstr(A.body, "priority"));
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"pretrain\",\"params\":{" SMALL ",\"epochz\":2}}");
    ts_expect(&A, 422, "unknown_field");
    assert_non_null(strstr(A.body, "params.epochz"));
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"finetune\",\"params\":{}}");
    ts_expect(&A, 422, "missing_field"); /* the other kinds: tests/api/test_api_job_kinds.c */
    assert_non_null(strstr(A.body, "params.task"));
    http_do("POST", "/v1/jobs", train_key, "application/json", "{\"kind\":\"bake\",\"params\":{}}");
    ts_expect(&A, 422, "invalid_kind");
    http_do("POST", "/v1/jobs", train_key, "application/json", "{\"params\":{}}");
    ts_expect(&A, 422, "missing_field");
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"pretrain\",\"params\":{\"objective\":\"cpc\"}}");
    ts_expect(&A, 422, "missing_field");
    assert_non_null(strstr(A.body, "params.dataset"));
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"pretrain\",\"params\":{\"dataset\":\"tiny\",\"objective\":\"simclr\"}}");
    ts_expect(&A, 422, "invalid_value");
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"pretrain\",\"params\":{" SMALL ",\"threads\":2}}");
    ts_expect(&A, 422, "invalid_value"); /* over the budget of 1 */
    assert_non_null(strstr(A.body, "params.threads"));
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"pretrain\",\"params\":{" SMALL ",\"epochs\":\"2\"}}");
    ts_expect(&A, 422, "invalid_value");
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"pretrain\",\"params\":{" SMALL ",\"lr\":-1}}");
    ts_expect(&A, 422, "invalid_value");
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"pretrain\",\"params\":{\"dataset\":\"tiny\",\"objective\":\"cpc\","
            "\"model\":\"no_such_model\"}}");
    ts_expect(&A, 422, "unknown_model");
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"pretrain\",\"params\":{\"dataset\":\"tiny\",\"objective\":\"cpc\","
            "\"model\":{\"d_model\":\"big\"}}}");
    ts_expect(&A, 422, "invalid_value");
    assert_non_null(strstr(A.body, "d_model"));
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"pretrain\",\"params\":{\"dataset\":\"../tiny\",\"objective\":\"cpc\"}}");
    ts_expect(&A, 422, "invalid_value");
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"pretrain\",\"params\":{\"dataset\":\"nope\",\"objective\":\"cpc\"}}");
    ts_expect(&A, 404, "dataset_not_found");
    http_do("GET", "/v1/jobs/999", read_key, NULL, NULL);
    ts_expect(&A, 404, "not_found");
    http_do("GET", "/v1/jobs/abc", read_key, NULL, NULL);
    ts_expect(&A, 404, "not_found");
    http_do("POST", "/v1/jobs/999/cancel", train_key, NULL, NULL);
    ts_expect(&A, 404, "not_found");
    http_do("POST", "/v1/jobs/999/retry", train_key, NULL, NULL);
    ts_expect(&A, 404, "not_found");
    http_do("GET", "/v1/jobs/999/events", read_key, NULL, NULL);
    ts_expect(&A, 404, "not_found");
    http_do("GET", "/v1/jobs?state=done", read_key, NULL, NULL);
    ts_expect(&A, 422, "invalid_value");
    http_do("GET", "/v1/jobs?limit=0", read_key, NULL, NULL);
    ts_expect(&A, 422, "invalid_value");
    http_do("GET", "/v1/jobs?cursor=x", read_key, NULL, NULL);
    ts_expect(&A, 422, "invalid_value");
    http_do("DELETE", "/v1/jobs/1", train_key, NULL, NULL);
    ts_expect(&A, 405, "method_not_allowed");

    /* ---- a small job, its SSE stream to the end ---- */
    long long a = create_job("{" SMALL ",\"epochs\":3}");
    int closed = 0;
    const char *ev = sse_read(a, NULL, JOB_TIMEOUT_MS, &closed);
    if (!closed) fail_msg("the stream did not end:\n%s", ev);
    assert_non_null(strstr(ev, "Content-Type: text/event-stream"));
    const char *q = strstr(ev, "data: {\"state\":\"queued\"}");
    const char *r = strstr(ev, "data: {\"state\":\"running\"");
    const char *p = strstr(ev, "event: progress");
    const char *s = strstr(ev, "data: {\"state\":\"succeeded\"");
    if (!q || !r || !p || !s || !(q < r && r < p && p < s))
        fail_msg("events out of order or missing:\n%s", ev);
    assert_true(count(ev, "event: progress") >= 3); /* validations at 0, 13, 26, 39 at least */
    assert_non_null(strstr(ev, "\"val_loss\":"));
    assert_non_null(strstr(ev, "\"windows_per_s\":"));
    assert_non_null(strstr(ev, "\"eta_s\":"));
    json_t *ja = get_job(a);
    assert_string_equal(jstate(ja), "succeeded");
    assert_int_equal(jstep(ja), 39);
    json_t *res = json_object_get(ja, "result");
    json_t *ck = json_object_get(res, "checkpoint");
    assert_true(json_integer_value(json_object_get(ck, "id")) > 0);
    check_file_size(json_string_value(json_object_get(ck, "path")),
                    json_integer_value(json_object_get(ck, "size_bytes")));
    assert_int_equal(strlen(json_string_value(json_object_get(ck, "sha256"))), 64);
    assert_int_equal(json_integer_value(json_object_get(res, "step")), 39);
    assert_int_equal(json_integer_value(json_object_get(ja, "attempt")), 1);
    json_decref(ja);
    /* A stream opened after the end replays the events and ends; after= skips the seen ones. */
    ev = sse_read(a, "?after=2", 5000, &closed);
    assert_true(closed);
    assert_null(strstr(ev, "\"state\":\"queued\""));
    assert_null(strstr(ev, "\"state\":\"running\""));
    assert_non_null(strstr(ev, "\"state\":\"succeeded\""));
    {
        /* An EventSource reconnecting says where it was with Last-Event-ID. */
        int fd = ts_connect(port, IO_TIMEOUT_S);
        if (fd < 0) fail_msg("cannot connect to port %d: %s", port, strerror(errno));
        const char *req = "GET /v1/jobs/1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Connection: close\r\nLast-Event-ID: 1\r\nAuthorization: Bearer ";
        char full[512];
        int n = snprintf(full, sizeof full, "%s%s\r\n\r\n", req, read_key);
        assert_int_equal(send(fd, full, (size_t)n, MSG_NOSIGNAL), n);
        ev = sse_collect(fd, 5000, &closed);
        assert_true(closed);
        assert_null(strstr(ev, "\"state\":\"queued\""));
        assert_non_null(strstr(ev, "\"state\":\"running\""));
    }
    http_do("GET", "/v1/jobs/1/events?after=-1", read_key, NULL, NULL);
    ts_expect(&A, 422, "invalid_value");
    http_do("POST", "/v1/jobs/1/retry", train_key, NULL, NULL);
    ts_expect(&A, 409, "invalid_state");
    http_do("POST", "/v1/jobs/1/cancel", train_key, NULL, NULL);
    ts_expect(&A, 409, "job_finished");

    /* ---- cancel a running job; a queued one behind it streams heartbeats, then cancels ---- */
    long long b = create_job("{" SMALL ",\"epochs\":200}");
    long long c = create_job("{" SMALL ",\"epochs\":1}");
    json_decref(wait_job(b, "running", 3));
    ev = sse_read(c, NULL, 2500, &closed);
    assert_false(closed);
    assert_non_null(strstr(ev, ": heartbeat"));
    assert_null(strstr(ev, "\"state\":\"running\""));
    http_do("POST", "/v1/jobs/3/cancel", train_key, NULL, NULL);
    assert_int_equal(A.status, 200);
    assert_non_null(strstr(A.body, "\"state\":\"cancelled\""));
    http_do("POST", "/v1/jobs/2/cancel", train_key, NULL, NULL);
    assert_int_equal(A.status, 200);
    assert_non_null(strstr(A.body, "\"cancel_requested\":true"));
    json_t *jb = wait_job(b, "cancelled", 0);
    long long b_step = jstep(jb);
    assert_true(b_step >= 3 && b_step < 2600);
    json_decref(jb);
    http_do("POST", "/v1/jobs/2/cancel", train_key, NULL, NULL);
    ts_expect(&A, 409, "job_finished");
    /* Retry: same parameters, a new attempt, resumed from the saved state. */
    http_do("POST", "/v1/jobs/2/retry", train_key, NULL, NULL);
    assert_int_equal(A.status, 200);
    jb = wait_job(b, "running", b_step + 1);
    assert_int_equal(json_integer_value(json_object_get(jb, "attempt")), 2);
    json_decref(jb);
    http_do("POST", "/v1/jobs/2/retry", train_key, NULL, NULL);
    ts_expect(&A, 409, "invalid_state");
    http_do("POST", "/v1/jobs/2/cancel", train_key, NULL, NULL);
    assert_int_equal(A.status, 200);
    json_decref(wait_job(b, "cancelled", 0));

    /* ---- list: filters and paging (newest first) ---- */
    http_do("GET", "/v1/jobs?limit=2", read_key, NULL, NULL);
    assert_int_equal(A.status, 200);
    json_t *l = ts_json(&A);
    assert_int_equal(json_array_size(json_object_get(l, "jobs")), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(json_object_get(l, "jobs"), 0), "id")),
        3);
    long long cursor = json_integer_value(json_object_get(l, "next_cursor"));
    assert_int_equal(cursor, 2);
    json_decref(l);
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs?limit=2&cursor=%lld", cursor);
    http_do("GET", path, read_key, NULL, NULL);
    l = ts_json(&A);
    assert_int_equal(json_array_size(json_object_get(l, "jobs")), 1);
    assert_true(json_is_null(json_object_get(l, "next_cursor")));
    json_decref(l);
    http_do("GET", "/v1/jobs?state=cancelled", read_key, NULL, NULL);
    l = ts_json(&A);
    assert_int_equal(json_array_size(json_object_get(l, "jobs")), 2);
    json_decref(l);
    http_do("GET", "/v1/jobs?state=succeeded&kind=pretrain", read_key, NULL, NULL);
    l = ts_json(&A);
    assert_int_equal(json_array_size(json_object_get(l, "jobs")), 1);
    json_decref(l);
    http_do("GET", "/v1/jobs?kind=import", read_key, NULL, NULL);
    l = ts_json(&A);
    assert_int_equal(json_array_size(json_object_get(l, "jobs")), 0);
    json_decref(l);
    http_do("GET", "/metrics", NULL, NULL, NULL);
    assert_non_null(strstr(A.body, "ecgfm_jobs{state=\"cancelled\"} 2"));
    assert_non_null(strstr(A.body, "ecgfm_jobs{state=\"succeeded\"} 1"));
    assert_non_null(strstr(A.body, "ecgfm_training_windows_per_second"));

    /* ---- a job that fails (more training records asked for than there are) and its retry ---- */
    long long f = create_job("{" SMALL ",\"epochs\":1,\"subset\":1000}");
    json_t *jf = wait_job(f, "failed", 0);
    const char *why = json_string_value(json_object_get(jf, "error"));
    if (!why || !strstr(why, "subset 1000 is larger")) fail_msg("error: %s", A.body);
    json_decref(jf);
    snprintf(path, sizeof path, "/v1/jobs/%lld/retry", f);
    http_do("POST", path, train_key, NULL, NULL);
    assert_int_equal(A.status, 200);
    jf = wait_job(f, "failed", 0);
    assert_int_equal(json_integer_value(json_object_get(jf, "attempt")), 2);
    json_decref(jf);

    /* ---- kill -9 while a job runs: the restarted server resumes it to the end ---- */
    long long d = create_job("{" SMALL ",\"epochs\":6,\"checkpoint_every\":5}");
    json_decref(wait_job(d, "running", 12)); /* a state saved at step 10 at least */
    kill(server_pid, SIGKILL);
    waitpid(server_pid, NULL, 0);
    server_pid = 0;
    start_server("serve2.log");
    json_t *jd = wait_job(d, "succeeded", 78);
    assert_int_equal(json_integer_value(json_object_get(jd, "attempt")), 2);
    long long resumed =
        json_integer_value(json_object_get(json_object_get(jd, "result"), "resumed_from_step"));
    assert_true(resumed >= 10 && resumed < 78);
    ck = json_object_get(json_object_get(jd, "result"), "checkpoint");
    check_file_size(json_string_value(json_object_get(ck, "path")),
                    json_integer_value(json_object_get(ck, "size_bytes")));
    json_decref(jd);
    ev = sse_read(d, NULL, 5000, &closed);
    assert_true(closed);
    assert_non_null(strstr(ev, "resumes from its last saved state"));

    /* ---- SIGTERM while a job runs: its state is saved and it is queued for the next start ---- */
    long long e = create_job("{" SMALL ",\"epochs\":200}");
    json_decref(wait_job(e, "running", 2));
    int sfd = sse_open(e, NULL);
    ts_sleep_ms(300);
    stop_server();
    ev = sse_collect(sfd, 5000, &closed);
    assert_true(closed); /* the stream ends with the service, after the job's last event */
    assert_non_null(strstr(ev, "the service stopped; the job resumes"));
    snprintf(log, sizeof log, "%s/serve2.log", tmpdir);
    assert_non_null(strstr(ts_read_text(log), "asking 1 running job to save its state"));

    /* ---- the database afterwards ---- */
    char file[300];
    snprintf(file, sizeof file, "%s/ecgfm.sqlite3", data);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(file, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(
        sqlite3_prepare_v2(h, "SELECT state, attempt FROM jobs WHERE id = ?1", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(st, 1, e);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "queued");
    sqlite3_finalize(st);
    /* One checkpoint row per succeeded job, each pointing at its job. */
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT count(*) FROM checkpoints c JOIN jobs j ON "
                                        "c.job_id = j.id WHERE j.state = 'succeeded'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT count(*) FROM job_events WHERE job_id = ?1 AND "
                                        "data LIKE '%the service stopped; the job resumes%'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, e);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(h);
}

int main(int argc, char **argv) {
    (void)argc;
    /* build/tests/test_api_jobs -> build/ecgfm (or build-san/...), and the repository above */
    if (ts_paths_from_argv0(argv[0], bin, sizeof bin, repo, sizeof repo)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jobs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

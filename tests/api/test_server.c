/* test_server.c — the real build/ecgfm binary over HTTP on 127.0.0.1: command-line exit codes, the
 * endpoints, body/connection/idle limits, readiness, a port clash, and clean exit on SIGTERM/SIGINT
 * within 5 s. */
#include <limits.h>
#include <sys/stat.h>

#include "tests/api/testserver.h"

#include <jansson.h>

#include "server/version.h"

#define START_TIMEOUT_MS 10000 /* sanitizer builds start slower */
#define EXIT_TIMEOUT_MS 5000
#define IO_TIMEOUT_S 5

static char bin[PATH_MAX];
static char tmpdir[] = "/tmp/ecgfm-test-server-XXXXXX";

/* Start bin with args (NULL-terminated), stdout+stderr to log, no inherited ECGFM_* settings except
 * those in env ("NAME=VALUE" strings, NULL-terminated, may be NULL). Children still running when a
 * test fails are killed by the teardown (ts_ts_kill_children). */
static pid_t spawn(const char *log, char *const args[], char *const env[]) {
    return ts_spawn(&(ts_spawn_opts){.bin = bin, .log = log, .unset = ts_server_env, .env = env},
                    args);
}

static void path_in_tmp(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", tmpdir, name);
}

/* spawn with no added environment (a ts_spawn_fn, for ts_run_cmd). */
static pid_t spawn_cmd(const char *log, char *const args[]) {
    return spawn(log, args, NULL);
}

/* Send raw bytes to 127.0.0.1:port, read the answer until the server closes; returns the length
 * read, -1 when the connection failed. */
static int http_raw(int port, const char *req, size_t req_len, char *resp, size_t cap) {
    int fd = ts_connect(port, IO_TIMEOUT_S);
    if (fd < 0) return -1;
    ts_send_all(fd, req, req_len); /* the server may answer and close before reading everything */
    size_t len = ts_recv_all(fd, resp, cap);
    close(fd);
    return (int)len;
}

typedef struct {
    int status;
    char raw[1 << 16];
    const char *body;
} http_answer;

static void http_send(http_answer *a, int port, const char *method, const char *path,
                      const char *headers) {
    static char req[128 * 1024];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", method,
                     path, headers ? headers : "");
    assert_true(n > 0 && n < (int)sizeof req);
    memset(a, 0, sizeof *a);
    int len = http_raw(port, req, (size_t)n, a->raw, sizeof a->raw);
    if (len <= 0) fail_msg("%s %s: no answer", method, path);
    a->status = ts_parse_answer(a->raw, &a->body);
    if (a->status < 0) fail_msg("bad status line: %.80s", a->raw);
}

static json_t *answer_json(const http_answer *a) {
    json_error_t e;
    json_t *j = json_loads(a->body, 0, &e);
    if (!j || !json_is_object(j)) fail_msg("body is not a JSON object (%s):\n%s", e.text, a->raw);
    if (!strstr(a->raw, "Content-Type: application/json")) fail_msg("not JSON:\n%s", a->raw);
    return j;
}

/* {"error": {"code": code, "message": non-empty, "type": string}} */
static void assert_error_answer(const http_answer *a, int status, const char *code) {
    if (a->status != status) fail_msg("want %d, got:\n%s", status, a->raw);
    json_t *j = answer_json(a);
    json_t *e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_true(json_string_length(json_object_get(e, "message")) > 0);
    assert_true(json_string_length(json_object_get(e, "type")) > 0);
    json_decref(j);
}

static void wait_healthy(int port) {
    long long deadline = ts_now_ms() + START_TIMEOUT_MS;
    char resp[4096];
    const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    while (ts_now_ms() < deadline) {
        if (http_raw(port, req, sizeof req - 1, resp, sizeof resp) > 0 &&
            strncmp(resp, "HTTP/1.1 200", 12) == 0)
            return;
        ts_sleep_ms(20);
    }
    fail_msg("/healthz never answered 200 on port %d", port);
}

/* Signal pid and require exit status 0 within EXIT_TIMEOUT_MS. */
static void stop_server(pid_t pid, int sig, const char *log) {
    long long ms = ts_stop(pid, sig, EXIT_TIMEOUT_MS, log);
    print_message("stopped %lld ms after signal %d\n", ms, sig);
}

static void test_cli(void **state) {
    (void)state;
    char log[512];
    path_in_tmp(log, sizeof log, "cli.log");
    assert_int_equal(ts_run_cmd(spawn_cmd, log, (char *[]){"version", NULL}, EXIT_TIMEOUT_MS), 0);
    char want[64];
    snprintf(want, sizeof want, "ecgfm %s\n", ECGFM_VERSION);
    assert_string_equal(ts_read_text(log), want);
    assert_int_equal(ts_run_cmd(spawn_cmd, log, (char *[]){"help", NULL}, EXIT_TIMEOUT_MS), 0);
    assert_non_null(strstr(ts_read_text(log), "--data-dir"));
    assert_non_null(strstr(ts_read_text(log), "ECGFM_PORT"));
    assert_int_equal(
        ts_run_cmd(spawn_cmd, log, (char *[]){"serve", "--help", NULL}, EXIT_TIMEOUT_MS), 0);
    assert_int_equal(ts_run_cmd(spawn_cmd, log, (char *[]){NULL}, EXIT_TIMEOUT_MS), 2);
    assert_int_equal(ts_run_cmd(spawn_cmd, log, (char *[]){"frobnicate", NULL}, EXIT_TIMEOUT_MS),
                     2);
    assert_non_null(strstr(ts_read_text(log), "unknown command \"frobnicate\""));
    assert_int_equal(
        ts_run_cmd(spawn_cmd, log, (char *[]){"version", "--extra", NULL}, EXIT_TIMEOUT_MS), 2);
    assert_int_equal(
        ts_run_cmd(spawn_cmd, log, (char *[]){"serve", "--prot", "1", NULL}, EXIT_TIMEOUT_MS), 2);
    assert_non_null(strstr(ts_read_text(log), "unknown option \"--prot\""));
    assert_int_equal(
        ts_run_cmd(spawn_cmd, log, (char *[]){"serve", "--port", "70000", NULL}, EXIT_TIMEOUT_MS),
        2);
    assert_int_equal(ts_run_cmd(spawn_cmd, log,
                                (char *[]){"serve", "--config", "/nonexistent.json", NULL},
                                EXIT_TIMEOUT_MS),
                     2);
}

static void test_endpoints_and_sigterm(void **state) {
    (void)state;
    char log[512], data[512];
    path_in_tmp(log, sizeof log, "serve.log");
    path_in_tmp(data, sizeof data, "data/nested"); /* created by serve */
    pid_t pid = spawn(
        log,
        (char *[]){"serve", "--port", "0", "--data-dir", data, "--max-body-bytes", "1000", NULL},
        NULL);
    int port = ts_wait_listening(pid, log, START_TIMEOUT_MS);
    wait_healthy(port);

    const char *banner = ts_read_text(log);
    assert_non_null(strstr(banner, "authentication: /v1 needs Authorization: Bearer <key>"));
    struct stat st;
    assert_int_equal(stat(data, &st), 0);
    assert_true(S_ISDIR(st.st_mode));

    static http_answer a;
    http_send(&a, port, "GET", "/healthz", NULL);
    assert_int_equal(a.status, 200);
    json_t *j = answer_json(&a);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(j, "version")), ECGFM_VERSION);
    json_decref(j);

    /* The default model loads on the embed worker's thread: /readyz is 503 until it is in. */
    long long ready_by = ts_now_ms() + START_TIMEOUT_MS;
    do {
        http_send(&a, port, "GET", "/readyz", NULL);
        if (a.status == 200) break;
        ts_sleep_ms(20);
    } while (ts_now_ms() < ready_by);
    assert_int_equal(a.status, 200);
    j = answer_json(&a);
    assert_true(json_is_true(json_object_get(j, "ready")));
    json_decref(j);

    http_send(&a, port, "GET", "/v1/no-such-resource", NULL);
    assert_error_answer(&a, 404, "not_found");
    http_send(&a, port, "GET", "/healthz?verbose=1", NULL); /* query strings do not change routes */
    assert_int_equal(a.status, 200);

    http_send(&a, port, "POST", "/healthz", "Content-Length: 2\r\n\r\n{}");
    assert_error_answer(&a, 405, "method_not_allowed");
    assert_non_null(strstr(a.raw, "Allow: GET, HEAD"));

    http_send(&a, port, "HEAD", "/readyz", NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "");

    /* Limits: announced oversize body, oversize chunked body, oversize request line. */
    http_send(&a, port, "POST", "/healthz", "Content-Length: 5000\r\n");
    assert_error_answer(&a, 413, "payload_too_large");
    {
        static char req[8192];
        int n = snprintf(req, sizeof req,
                         "POST /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n%x\r\n",
                         3000);
        memset(req + n, 'a', 3000);
        n += 3000;
        n += snprintf(req + n, sizeof req - (size_t)n, "\r\n0\r\n\r\n");
        int len = http_raw(port, req, (size_t)n, a.raw, sizeof a.raw);
        assert_true(len > 0);
        assert_int_equal(strncmp(a.raw, "HTTP/1.1 413", 12), 0);
    }
    {
        static char path[100 * 1024];
        path[0] = '/';
        memset(path + 1, 'x', sizeof path - 2);
        path[sizeof path - 1] = '\0';
        http_send(&a, port, "GET", path, NULL);
        if (a.status != 414 && a.status != 431) fail_msg("long URL: %.200s", a.raw);
    }
    /* Garbage and a client that hangs up mid-request cost a connection, not the server. */
    {
        const char junk[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n";
        http_raw(port, junk, sizeof junk - 1, a.raw, sizeof a.raw);
        int fd = ts_connect(port, IO_TIMEOUT_S);
        assert_true(fd >= 0);
        const char half[] = "GET /heal";
        assert_int_equal(send(fd, half, sizeof half - 1, MSG_NOSIGNAL), (ssize_t)sizeof half - 1);
        close(fd);
    }
    http_send(&a, port, "GET", "/healthz", NULL);
    assert_int_equal(a.status, 200);

    /* Two requests on one keep-alive connection. */
    {
        const char two[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        assert_true(http_raw(port, two, sizeof two - 1, a.raw, sizeof a.raw) > 0);
        const char *second = strstr(a.raw + 1, "HTTP/1.1 200");
        assert_int_equal(strncmp(a.raw, "HTTP/1.1 200", 12), 0);
        assert_non_null(second);
        assert_non_null(strstr(second, "\"ready\":true"));
    }

    stop_server(pid, SIGTERM, log);
    assert_non_null(strstr(ts_read_text(log), "SIGTERM received"));
    /* The port is released: nothing answers any more. */
    char resp[64];
    assert_int_equal(http_raw(port, "GET / HTTP/1.1\r\n\r\n", 18, resp, sizeof resp), -1);
}

static void test_not_ready_and_sigint(void **state) {
    (void)state;
    char log[512], file[512], envdir[600];
    path_in_tmp(log, sizeof log, "notready.log");
    path_in_tmp(file, sizeof file, "a-file");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    /* The data directory comes from the environment this time; it is a file, so never ready. */
    snprintf(envdir, sizeof envdir, "ECGFM_DATA_DIR=%s", file);
    pid_t pid = spawn(log, (char *[]){"serve", "--port", "0", NULL}, (char *[]){envdir, NULL});
    int port = ts_wait_listening(pid, log, START_TIMEOUT_MS);
    wait_healthy(port);
    static http_answer a;
    http_send(&a, port, "GET", "/readyz", NULL);
    assert_error_answer(&a, 503, "not_ready");
    assert_non_null(strstr(a.body, "not a directory"));
    http_send(&a, port, "GET", "/healthz", NULL); /* alive even when not ready */
    assert_int_equal(a.status, 200);
    stop_server(pid, SIGINT, log);
}

static void test_port_in_use(void **state) {
    (void)state;
    char log1[512], log2[512];
    path_in_tmp(log1, sizeof log1, "first.log");
    path_in_tmp(log2, sizeof log2, "second.log");
    pid_t first = spawn(log1, (char *[]){"serve", "--port", "0", "--data-dir", tmpdir, NULL}, NULL);
    int port = ts_wait_listening(first, log1, START_TIMEOUT_MS);
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    /* The port also arrives through ECGFM_PORT here, and the flag must win over it. */
    char envport[32] = "ECGFM_PORT=1";
    pid_t second = spawn(log2, (char *[]){"serve", "--port", portstr, "--data-dir", tmpdir, NULL},
                         (char *[]){envport, NULL});
    int st = ts_wait_exit(second, EXIT_TIMEOUT_MS);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 1)
        fail_msg("second server on a taken port: status %d\n%s", st, ts_read_text(log2));
    assert_non_null(strstr(ts_read_text(log2), "Address already in use"));
    wait_healthy(port); /* the first one is unharmed */
    stop_server(first, SIGTERM, log1);
}

static int connect_local(int port) {
    int fd = ts_connect(port, IO_TIMEOUT_S);
    assert_true(fd >= 0);
    return fd;
}

/* Milliseconds until the server closes fd (recv returns 0 or a reset), or -1 if it stays open for
 * IO_TIMEOUT_S. */
static long long ms_until_closed(int fd) {
    long long t0 = ts_now_ms();
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return ts_now_ms() - t0;
    return -1;
}

static void test_connection_limits(void **state) {
    (void)state;
    char log[512];
    path_in_tmp(log, sizeof log, "limits.log");
    pid_t pid = spawn(log,
                      (char *[]){"serve", "--port", "0", "--data-dir", tmpdir, "--max-connections",
                                 "2", "--connection-timeout-s", "2", NULL},
                      NULL);
    int port = ts_wait_listening(pid, log, START_TIMEOUT_MS);
    wait_healthy(port);

    /* An idle connection is closed after the timeout (2 s; MHD counts in whole seconds). */
    int idle = connect_local(port);
    long long ms = ms_until_closed(idle);
    close(idle);
    if (ms < 1500 || ms > 4000) fail_msg("idle connection closed after %lld ms, want ~2000", ms);

    /* Two held connections fill the limit: a third waits in the backlog, unanswered, until one
     * of them goes; then it is served. */
    int a = connect_local(port), b = connect_local(port);
    ts_sleep_ms(100); /* let the server accept both */
    int c = connect_local(port);
    const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(send(c, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)sizeof req - 1);
    struct timeval shortwait = {0, 300 * 1000};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &shortwait, sizeof shortwait);
    char buf[512];
    ssize_t n = recv(c, buf, sizeof buf - 1, 0);
    if (n >= 0) fail_msg("third connection answered while the limit was reached (%zd bytes)", n);
    close(a);
    long long t0 = ts_now_ms();
    struct timeval wait = {IO_TIMEOUT_S, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    n = recv(c, buf, sizeof buf - 1, 0);
    assert_true(n > 12);
    buf[n] = '\0';
    assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
    if (ts_now_ms() - t0 > 1000)
        fail_msg("queued connection served only after %lld ms", ts_now_ms() - t0);
    close(b);
    close(c);
    stop_server(pid, SIGTERM, log);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    if (ts_find_bin(bin, sizeof bin, "test_server") != 0) return 1;
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_cli, ts_kill_children),
        cmocka_unit_test_teardown(test_endpoints_and_sigterm, ts_kill_children),
        cmocka_unit_test_teardown(test_not_ready_and_sigint, ts_kill_children),
        cmocka_unit_test_teardown(test_port_in_use, ts_kill_children),
        cmocka_unit_test_teardown(test_connection_limits, ts_kill_children),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ts_rm_tmpdir(tmpdir);
    return failed;
}

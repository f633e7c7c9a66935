/* testserver.h — what the tests that drive the real build/ecgfm share: spawning it and its commands
 * with a clean environment (ts_spawn, ts_run_cmd, ts_make_key, ts_serve), waiting for "listening
 * on" and /readyz, stopping, temp dirs, and the one HTTP/1.1 client over 127.0.0.1
 * (ts_send_request; ts_http keeps an answer in a fixed buffer, apiclient.h's ac_read a malloc'd
 * one) and SSE reads.
 */
#ifndef ECGFM_TESTSERVER_H
#define ECGFM_TESTSERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

static inline long long ts_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The monotonic clock in seconds (for timings a test prints). */
static inline double ts_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void ts_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The first 64 KiB of a text file, in a static buffer ("" when it cannot be read). */
static inline char *ts_read_text(const char *path) {
    static char buf[1 << 16];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The whole file (malloc'd, NUL-terminated), NULL when it cannot be opened; *len its size. */
static inline char *ts_slurp(const char *path, size_t *len) {
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    size_t got = fread(b, 1, (size_t)n, f);
    fclose(f);
    assert_int_equal(got, (size_t)n);
    b[got] = 0;
    if (len) *len = got;
    return b;
}

/* The ecgfm to test into bin: $ECGFM_BIN, else ../ecgfm beside this test's directory
 * (build/tests/test_x -> build/ecgfm, so a sanitizer tree tests its own binary); -1 with a message
 * naming test when there is no executable there. */
static inline int ts_find_bin(char *bin, size_t cap, const char *test) {
    const char *env = getenv("ECGFM_BIN");
    if (env && *env) {
        snprintf(bin, cap, "%s", env);
    } else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) return -1;
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (!slash) return -1;
        *slash = '\0';
        if (snprintf(bin, cap, "%s/../ecgfm", self) >= (int)cap) return -1;
    }
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "%s: no executable ecgfm at %s (build it, or set ECGFM_BIN)\n", test, bin);
        return -1;
    }
    return 0;
}

/* The ecgfm beside a test binary and the repository above it, from its argv[0]
 * (build/tests/test_x -> build/ecgfm and build/../..; build-san alike); repo may be NULL.
 * Also ignores SIGPIPE (a server may close before a request is all sent). -1 when they do not fit.
 */
static inline int ts_paths_from_argv0(const char *argv0, char *bin, size_t bin_cap, char *repo,
                                      size_t repo_cap) {
    char self[PATH_MAX];
    if (!realpath(argv0, self)) return -1;
    char *slash = strrchr(self, '/');
    if (!slash) return -1;
    *slash = '\0';
    if (snprintf(bin, bin_cap, "%s/../ecgfm", self) >= (int)bin_cap) return -1;
    if (repo && snprintf(repo, repo_cap, "%s/../..", self) >= (int)repo_cap) return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* ---- children: those still running when a test fails are killed by ts_kill_children ---- */

#define TS_MAX_CHILDREN 8
__attribute__((unused)) static pid_t ts_children[TS_MAX_CHILDREN];

static inline void ts_forget_child(pid_t pid) {
    for (int i = 0; i < TS_MAX_CHILDREN; i++)
        if (ts_children[i] == pid) ts_children[i] = 0;
}

/* A cmocka setup/teardown: SIGKILL and reap every child still recorded. */
static inline int ts_kill_children(void **state) {
    (void)state;
    for (int i = 0; i < TS_MAX_CHILDREN; i++)
        if (ts_children[i] > 0) {
            kill(ts_children[i], SIGKILL);
            waitpid(ts_children[i], NULL, 0);
            ts_children[i] = 0;
        }
    return 0;
}

/* rm -rf of a test's temp directory (only a /tmp/ecgfm... path: its contents are ours); 0, or -1
 * (with a message) when it is not removed. */
static inline int ts_rm_tmpdir(const char *dir) {
    char cmd[PATH_MAX + 32];
    if (!dir[0] || strncmp(dir, "/tmp/ecgfm", 10) != 0) return -1;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
        return -1;
    }
    return 0;
}

/* A cmocka teardown's work for a test with its own temp directory: every child still running
 * killed, then ts_rm_tmpdir. */
static inline int ts_teardown_tmp(const char *dir) {
    ts_kill_children(NULL);
    return ts_rm_tmpdir(dir);
}

typedef struct {
    const char *bin;          /* the executable */
    const char *log;          /* stdout, and stderr unless err_log */
    const char *err_log;      /* NULL: stderr to log too */
    int append;               /* open the logs O_APPEND instead of truncating them */
    const char *cwd;          /* the child's working directory; NULL: this one */
    const char *const *unset; /* NULL-terminated names removed from the child's environment */
    char *const *env;         /* NULL-terminated "NAME=VALUE" strings added to it */
} ts_spawn_opts;

/* Start o->bin with args (NULL-terminated, up to 38); the child is recorded for ts_kill_children.
 */
static inline pid_t ts_spawn(const ts_spawn_opts *o, char *const args[]) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int flags = O_WRONLY | O_CREAT | (o->append ? O_APPEND : O_TRUNC);
        int fd = open(o->log, flags, 0600);
        int fe = o->err_log ? open(o->err_log, flags, 0600) : fd;
        if (fd < 0 || fe < 0 || dup2(fd, 1) < 0 || dup2(fe, 2) < 0) _exit(126);
        if (o->cwd && chdir(o->cwd) != 0) _exit(125);
        for (int i = 0; o->unset && o->unset[i]; i++)
            unsetenv(o->unset[i]);
        for (int i = 0; o->env && o->env[i]; i++)
            putenv(o->env[i]);
        char *argv[40] = {(char *)o->bin};
        for (int i = 0; args[i] && i < 38; i++)
            argv[i + 1] = args[i];
        execv(o->bin, argv);
        _exit(127);
    }
    for (int i = 0; i < TS_MAX_CHILDREN; i++)
        if (ts_children[i] == 0) {
            ts_children[i] = pid;
            break;
        }
    return pid;
}

/* Every setting build/ecgfm takes from the environment: a child started with .unset =
 * ts_server_env inherits none of them from whoever runs the test. */
__attribute__((unused)) static const char *const ts_server_env[] = {"ECGFM_CONFIG",
                                                                    "ECGFM_CONFIGS_DIR",
                                                                    "ECGFM_DATA_DIR",
                                                                    "ECGFM_HOST",
                                                                    "ECGFM_PORT",
                                                                    "ECGFM_MODEL",
                                                                    "ECGFM_IMPORT_ROOTS",
                                                                    "ECGFM_MAX_BODY_BYTES",
                                                                    "ECGFM_MAX_UPLOAD_BYTES",
                                                                    "ECGFM_MAX_CONNECTIONS",
                                                                    "ECGFM_CONNECTION_TIMEOUT_S",
                                                                    "ECGFM_CONNECTION_MEMORY_BYTES",
                                                                    "ECGFM_LISTEN_BACKLOG",
                                                                    "ECGFM_METRICS_REQUIRE_KEY",
                                                                    "ECGFM_EMBED_THREADS",
                                                                    "ECGFM_EMBED_MAX_BATCH",
                                                                    "ECGFM_EMBED_MAX_WAIT_US",
                                                                    "ECGFM_EMBED_MAX_WINDOWS",
                                                                    "ECGFM_EMBED_QUEUE_MAX",
                                                                    "ECGFM_EMBED_BATCH_MAX_RECORDS",
                                                                    "ECGFM_CLASSIFY_MAX_LENGTH",
                                                                    "ECGFM_CLASSIFY_MAX_SERIES",
                                                                    "ECGFM_TRANSFER_MAX_SERIES",
                                                                    "ECGFM_TRANSFER_QUEUE_MAX",
                                                                    "ECGFM_TRANSFER_THREADS",
                                                                    "ECGFM_JOBS_THREADS",
                                                                    "ECGFM_JOBS_MAX_RUNNING",
                                                                    "ECGFM_JOBS_MAX_STREAMS",
                                                                    "ECGFM_JOBS_HEARTBEAT_S",
                                                                    NULL};

/* How a test starts ecgfm with args, its output to log (a wrapper around ts_spawn). */
typedef pid_t (*ts_spawn_fn)(const char *log, char *const args[]);

/* Wait up to ms for pid to exit; returns its wait status, or -1 on timeout (pid left running). */
static inline int ts_wait_exit(pid_t pid, int ms) {
    long long deadline = ts_now_ms() + ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            ts_forget_child(pid);
            return st;
        }
        assert_int_equal(r, 0);
        if (ts_now_ms() > deadline) return -1;
        ts_sleep_ms(10);
    }
}

/* ts_wait_exit, but a pid still running after ms is killed (SIGKILL) and reaped; still -1. */
static inline int ts_wait_exit_or_kill(pid_t pid, int ms) {
    int st = ts_wait_exit(pid, ms);
    if (st == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ts_forget_child(pid);
    }
    return st;
}

/* Run a command with spawn to its end (log removed first); its exit status. Fails the test, with
 * the log, when it does not exit normally within ms. */
static inline int ts_run_cmd(ts_spawn_fn spawn, const char *log, char *const args[], int ms) {
    unlink(log);
    int st = ts_wait_exit_or_kill(spawn(log, args), ms);
    if (st == -1 || !WIFEXITED(st))
        fail_msg("%s did not exit normally:\n%s", args[0], ts_read_text(log));
    return WEXITSTATUS(st);
}

/* `ecgfm keys create --scope scope --data-dir data` run with spawn (output to log): the key, the
 * first line it prints, in key (cap bytes). Fails the test when it does not exit 0. */
static inline void ts_make_key(ts_spawn_fn spawn, const char *log, const char *data,
                               const char *scope, char *key, size_t cap, int ms) {
    if (ts_run_cmd(spawn, log,
                   (char *[]){"keys", "create", "--scope", (char *)scope, "--data-dir",
                              (char *)data, NULL},
                   ms))
        fail_msg("keys create failed:\n%s", ts_read_text(log));
    const char *text = ts_read_text(log);
    snprintf(key, cap, "%.*s", (int)strcspn(text, "\n"), text);
}

/* Wait up to ms for the whole "listening on http://127.0.0.1:PORT" line in log; returns PORT.
 * Fails the test, with the log, when pid exits first or the line does not come. */
static inline int ts_wait_listening(pid_t pid, const char *log, int ms) {
    long long deadline = ts_now_ms() + ms;
    while (ts_now_ms() < deadline) {
        const char *text = ts_read_text(log);
        const char *p = strstr(text, "listening on http://127.0.0.1:");
        int port;
        if (p && strchr(p, '\n') && sscanf(p, "listening on http://127.0.0.1:%d", &port) == 1)
            return port;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            ts_forget_child(pid);
            fail_msg("server exited (status %d) before listening:\n%s", st, ts_read_text(log));
        }
        ts_sleep_ms(20);
    }
    fail_msg("server did not report listening within %d ms:\n%s", ms, ts_read_text(log));
    return -1;
}

/* `ecgfm serve --port 0 --data-dir data --configs-dir REPO/configs --model REPO/models/small/...`
 * and the extra flags (NULL-terminated, up to 29) started with spawn, its output to log (removed
 * first, so a restart does not read the last run's line); *pid the server; returns its port once
 * it says it is listening (within ms). */
static inline int ts_serve(ts_spawn_fn spawn, const char *log, const char *repo, const char *data,
                           const char *const *extra, int ms, pid_t *pid) {
    char configs[PATH_MAX + 16], model[PATH_MAX + 64];
    snprintf(configs, sizeof configs, "%s/configs", repo);
    snprintf(model, sizeof model, "%s/models/small/checkpoint.safetensors", repo);
    char *args[40] = {"serve",         "--port", "0",       "--data-dir", (char *)data,
                      "--configs-dir", configs,  "--model", model};
    int n = 9;
    for (int i = 0; extra && extra[i] && n < 38; i++)
        args[n++] = (char *)extra[i];
    args[n] = NULL;
    unlink(log);
    *pid = spawn(log, args);
    return ts_wait_listening(*pid, log, ms);
}

/* Send sig to pid and require exit status 0 within ms (a server still running is then killed);
 * returns how many ms it took. */
static inline long long ts_stop(pid_t pid, int sig, int ms, const char *log) {
    assert_int_equal(kill(pid, sig), 0);
    long long t0 = ts_now_ms();
    int st = ts_wait_exit_or_kill(pid, ms);
    if (st == -1)
        fail_msg("server still running %d ms after signal %d:\n%s", ms, sig, ts_read_text(log));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("server did not exit 0 after signal %d (status %d):\n%s", sig, st,
                 ts_read_text(log));
    return ts_now_ms() - t0;
}

/* ---- HTTP over 127.0.0.1 ---- */

/* A TCP connection to 127.0.0.1:port with send/receive timeouts of io_s seconds; -1 if refused. */
static inline int ts_connect(int port, int io_s) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct timeval tv = {io_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Send all len bytes, stopping early if the peer stops taking them (a server may answer and close
 * before reading everything); returns the bytes sent. */
static inline size_t ts_send_all(int fd, const void *buf, size_t len) {
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, (const char *)buf + off, len - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += (size_t)n;
    }
    return off;
}

/* Read until the peer closes, an error or timeout, or buf (cap bytes) is full; NUL-terminated;
 * returns the length read. */
static inline size_t ts_recv_all(int fd, char *buf, size_t cap) {
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

/* Read until the peer closes (or an error or timeout) into a growing buffer, then close fd; the
 * answer (malloc'd, NUL-terminated), *len its length. */
static inline char *ts_recv_alloc(int fd, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k <= 0) break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    close(fd);
    if (len) *len = n;
    return buf;
}

/* A request head with Connection: close, an optional Bearer key and content type, extra header
 * lines (each ending in CRLF, or NULL) and Content-Length body_len; returns its length (the test
 * fails if it does not fit in cap). */
static inline int ts_request_head_x(char *out, size_t cap, const char *method, const char *path,
                                    const char *key, const char *ctype, const char *headers,
                                    size_t body_len) {
    char auth[160] = "", ct[160] = "";
    if (key) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", key);
    if (ctype) snprintf(ct, sizeof ct, "Content-Type: %s\r\n", ctype);
    int n = snprintf(out, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s"
                     "Content-Length: %zu\r\n\r\n",
                     method, path, auth, ct, headers ? headers : "", body_len);
    assert_true(n > 0 && (size_t)n < cap);
    return n;
}

/* ts_request_head_x without extra headers. */
static inline int ts_request_head(char *out, size_t cap, const char *method, const char *path,
                                  const char *key, const char *ctype, size_t body_len) {
    return ts_request_head_x(out, cap, method, path, key, ctype, NULL, body_len);
}

/* One request on a new connection to port (Connection: close, send/receive timeouts of io_s): the
 * head (with extra header lines, or NULL), then len bytes of body (a server may answer early, 413,
 * before taking them all); returns the socket, the answer not read yet. Fails the test when it
 * cannot connect. The one place the tests write a request. */
static inline int ts_send_request(int port, int io_s, const char *method, const char *path,
                                  const char *key, const char *ctype, const char *headers,
                                  const void *body, size_t len) {
    int fd = ts_connect(port, io_s);
    if (fd < 0)
        fail_msg("%s %s: cannot connect to port %d: %s", method, path, port, strerror(errno));
    char head[2048];
    int n = ts_request_head_x(head, sizeof head, method, path, key, ctype, headers, len);
    assert_int_equal(ts_send_all(fd, head, (size_t)n), (size_t)n);
    if (len) ts_send_all(fd, body, len);
    return fd;
}

/* The status of an answer's "HTTP/1.1 NNN" line (-1 without one) and where its body starts. */
static inline int ts_parse_answer(const char *raw, const char **body) {
    int status;
    if (sscanf(raw, "HTTP/1.1 %d", &status) != 1) status = -1;
    const char *b = strstr(raw, "\r\n\r\n");
    *body = b ? b + 4 : "";
    return status;
}

/* An answer's body as JSON (a new reference); fails the test, with the answer, when it is not. */
static inline json_t *ts_answer_json(const char *raw, const char *body) {
    json_error_t e;
    json_t *j = json_loads(body, 0, &e);
    if (!j) fail_msg("not JSON (%s):\n%s", e.text, raw);
    return j;
}

/* The answer (status got, raw text, body) is status with {"error": {"code": code, ...}}. */
static inline void ts_expect_error(int got, const char *raw, const char *body, int status,
                                   const char *code) {
    if (got != status) fail_msg("want %d %s, got:\n%s", status, code, raw);
    json_t *j = ts_answer_json(raw, body);
    const char *c = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    if (!c || strcmp(c, code) != 0) fail_msg("want code %s:\n%s", code, raw);
    json_decref(j);
}

/* Poll GET /readyz on port every 20 ms until it answers 200 (the default model is loaded on a
 * worker thread after the server listens); fails the test, with log, after ms or when the port
 * refuses connections. */
static inline void ts_wait_ready(int port, int io_s, int ms, const char *log) {
    long long deadline = ts_now_ms() + ms;
    for (;;) {
        int fd = ts_connect(port, io_s);
        if (fd < 0) fail_msg("cannot connect to port %d:\n%s", port, ts_read_text(log));
        char req[256], buf[2048];
        int n = ts_request_head(req, sizeof req, "GET", "/readyz", NULL, NULL, 0);
        ts_send_all(fd, req, (size_t)n);
        ts_recv_all(fd, buf, sizeof buf);
        close(fd);
        if (strncmp(buf, "HTTP/1.1 200", 12) == 0) return;
        if (ts_now_ms() > deadline) fail_msg("/readyz never 200:\n%s", ts_read_text(log));
        ts_sleep_ms(20);
    }
}

/* ---- a request and its whole answer (up to 512 KiB) in a caller's buffer ---- */

typedef struct {
    int status;
    char raw[1 << 19];
    const char *body;
} ts_answer;

/* One request on a new connection to port (Connection: close, send/receive timeouts of io_s):
 * the head, then len bytes of body (a server may answer 413 before taking them all); the answer
 * into a. Fails the test when it cannot connect or gets no HTTP answer. */
static inline void ts_http(ts_answer *a, int port, int io_s, const char *method, const char *path,
                           const char *key, const char *ctype, const void *body, size_t len) {
    int fd = ts_send_request(port, io_s, method, path, key, ctype, NULL, body, len);
    ts_recv_all(fd, a->raw, sizeof a->raw);
    close(fd);
    a->status = ts_parse_answer(a->raw, &a->body);
    if (a->status < 0) fail_msg("%s %s: no answer", method, path);
}

/* The answer's body as JSON (a new reference); fails the test when it is not. */
static inline json_t *ts_json(const ts_answer *a) {
    return ts_answer_json(a->raw, a->body);
}

/* The answer is status with {"error": {"code": code, ...}}. */
static inline void ts_expect(const ts_answer *a, int status, const char *code) {
    ts_expect_error(a->status, a->raw, a->body, status, code);
}

/* ---- server-sent events ---- */

/* A connection to port whose reads wait at most 200 ms each (the caller bounds the whole read);
 * fails the test when it cannot connect. */
static inline int ts_sse_connect(int port, int io_s) {
    int fd = ts_connect(port, io_s);
    if (fd < 0) fail_msg("cannot connect to port %d: %s", port, strerror(errno));
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* GET path with key on a new ts_sse_connect connection: the socket, nothing read yet. */
static inline int ts_sse_open(int port, int io_s, const char *path, const char *key) {
    int fd = ts_sse_connect(port, io_s);
    char req[1024];
    int n = ts_request_head(req, sizeof req, "GET", path, key, NULL, 0);
    assert_int_equal(ts_send_all(fd, req, (size_t)n), (size_t)n);
    return fd;
}

/* Read an open stream for at most ms, then close it; the text (NUL-terminated) in buf (cap
 * bytes); *closed says whether the server ended it. */
static inline char *ts_sse_collect(int fd, int ms, int *closed, char *buf, size_t cap) {
    size_t len = 0;
    long long deadline = ts_now_ms() + ms;
    *closed = 0;
    while (ts_now_ms() < deadline && len + 1 < cap) {
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r == 0) {
            *closed = 1;
            break;
        }
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
            break;
        }
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

#endif

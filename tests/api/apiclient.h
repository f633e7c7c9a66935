/* apiclient.h — on top of testserver.h: answers kept whole in malloc'd buffers (ac_send_to,
 * ac_read; test_api_checkpoints, test_embed_api), WFDB records as /v1/embed JSON or .npy bodies,
 * and for test_api_transfer and test_api_embed_batch a temp data directory, keys of each scope and
 * one server started with extra flags and waited for until ready (the AC environment). */
#ifndef ECGFM_APICLIENT_H
#define ECGFM_APICLIENT_H

#include <limits.h>

#include "core/data/record.h"
#include "core/data/wfdb.h"
#include "tests/api/testserver.h"

/* Paths here are short; the warning is about PATH_MAX-sized buffers in theory. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define AC_START_TIMEOUT_MS 20000
#define AC_EXIT_TIMEOUT_MS 60000
#ifndef AC_IO_TIMEOUT_S /* a test may set its own before including this */
#define AC_IO_TIMEOUT_S 120
#endif

typedef struct {
    char bin[PATH_MAX], root[PATH_MAX];
    char tmpdir[64], data[PATH_MAX + 8], log[PATH_MAX + 16];
    pid_t pid;
    int port;
} ac_env;

__attribute__((unused)) static ac_env AC;

/* The repository root (the test's working directory or $ECGFM_ROOT), ecgfm, and a temp dir. */
static inline void ac_init(const char *test) {
    if (ts_find_bin(AC.bin, sizeof AC.bin, test)) fail_msg("no ecgfm binary");
    const char *r = getenv("ECGFM_ROOT");
    if (r && *r)
        snprintf(AC.root, sizeof AC.root, "%s", r);
    else if (!getcwd(AC.root, sizeof AC.root))
        fail_msg("getcwd failed");
    snprintf(AC.tmpdir, sizeof AC.tmpdir, "/tmp/ecgfm-%s-XXXXXX", test);
    if (!mkdtemp(AC.tmpdir)) fail_msg("mkdtemp: %s", strerror(errno));
    snprintf(AC.data, sizeof AC.data, "%s/var", AC.tmpdir);
}

static inline pid_t ac_spawn(const char *out, const char *err, char *const args[]) {
    static const char *const unset[] = {"ECGFM_CONFIG",   "ECGFM_HOST",  "ECGFM_PORT",
                                        "ECGFM_DATA_DIR", "ECGFM_MODEL", NULL};
    return ts_spawn(
        &(ts_spawn_opts){.bin = AC.bin, .log = out, .err_log = err, .cwd = AC.root, .unset = unset},
        args);
}

/* Run ecgfm with args; stdout (malloc'd); the test fails unless it exits 0 within ms. */
static inline char *ac_run_ok(char *const args[], int ms) {
    char out[PATH_MAX], err[PATH_MAX];
    snprintf(out, sizeof out, "%s/cmd.out", AC.tmpdir);
    snprintf(err, sizeof err, "%s/cmd.err", AC.tmpdir);
    int st = ts_wait_exit_or_kill(ac_spawn(out, err, args), ms);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("ecgfm %s failed (status %d):\n%s", args[0], st, ts_read_text(err));
    return ts_slurp(out, NULL);
}

/* A new key of scope (the first line `ecgfm keys create` prints). */
static inline void ac_make_key(const char *scope, char key[128]) {
    char *out = ac_run_ok(
        (char *[]){"keys", "create", "--scope", (char *)scope, "--data-dir", AC.data, NULL},
        AC_START_TIMEOUT_MS);
    snprintf(key, 128, "%.*s", (int)strcspn(out, "\r\n"), out);
    free(out);
    assert_true(strlen(key) > 10);
}

typedef struct {
    int status;
    char *raw; /* malloc'd, NUL-terminated */
    size_t raw_len;
    const char *body;
    size_t body_len;
} ac_answer;

static inline void ac_answer_free(ac_answer *a) {
    free(a->raw);
    memset(a, 0, sizeof *a);
}

/* Send a request with extra header lines (each ending in CRLF, or NULL) on a new connection to
 * port; returns the socket (read the answer with ac_read). */
static inline int ac_send_to(int port, const char *method, const char *path, const char *key,
                             const char *ctype, const char *headers, const void *body, size_t len) {
    return ts_send_request(port, AC_IO_TIMEOUT_S, method, path, key, ctype, headers, body, len);
}

/* ac_send_to the server ac_start_server started. */
static inline int ac_send(const char *method, const char *path, const char *key, const char *ctype,
                          const char *body, size_t len) {
    return ac_send_to(AC.port, method, path, key, ctype, NULL, body, len);
}

/* The whole answer on fd (then closed) into a (whatever a held is dropped, not freed); status -1
 * when there is no status line (the server closed or timed out: for tests that expect that). */
static inline void ac_read_any(int fd, ac_answer *a) {
    size_t len;
    char *buf = ts_recv_alloc(fd, &len);
    memset(a, 0, sizeof *a);
    a->raw = buf;
    a->raw_len = len;
    a->status = ts_parse_answer(buf, &a->body);
    const char *sep = strstr(buf, "\r\n\r\n"); /* a->body is "" without one, not in buf */
    a->body_len = sep ? len - (size_t)(sep + 4 - buf) : 0;
}

/* ac_read_any, but an answer without a status line fails the test. */
static inline void ac_read(int fd, ac_answer *a) {
    ac_read_any(fd, a);
    if (a->status < 0) fail_msg("no HTTP answer: %.200s", a->raw);
}

static inline void ac_request(ac_answer *a, const char *method, const char *path, const char *key,
                              const char *ctype, const char *body, size_t len) {
    ac_read(ac_send(method, path, key, ctype, body, len), a);
}

/* A JSON POST/PUT/GET whose answer must have status want; its JSON (new reference). */
static inline json_t *ac_json(const char *method, const char *path, const char *key,
                              const char *body, int want) {
    ac_answer a;
    ac_request(&a, method, path, key, body ? "application/json" : NULL, body,
               body ? strlen(body) : 0);
    if (a.status != want) fail_msg("%s %s: want %d, got:\n%.800s", method, path, want, a.raw);
    json_t *j = ts_answer_json(a.raw, a.body);
    ac_answer_free(&a);
    return j;
}

/* The request must be answered status with error code. */
static inline void ac_expect(const char *method, const char *path, const char *key,
                             const char *ctype, const char *body, int status, const char *code) {
    ac_answer a;
    ac_request(&a, method, path, key, ctype, body, body ? strlen(body) : 0);
    ts_expect_error(a.status, a.raw, a.body, status, code);
    ac_answer_free(&a);
}

static inline pid_t ac_spawn_log(const char *log, char *const args[]) {
    return ac_spawn(log, NULL, args);
}

/* serve on a free loopback port with the bundled model and extra flags; waits for /readyz. */
static inline void ac_start_server(const char *const *extra) {
    const char *flags[30] = {"--embed-threads", "1", "--jobs-threads", "1"};
    int n = 4;
    for (int i = 0; extra && extra[i] && n < 29; i++)
        flags[n++] = extra[i];
    flags[n] = NULL;
    snprintf(AC.log, sizeof AC.log, "%s/server.log", AC.tmpdir);
    AC.port = ts_serve(ac_spawn_log, AC.log, AC.root, AC.data, flags, AC_START_TIMEOUT_MS, &AC.pid);
    ts_wait_ready(AC.port, AC_IO_TIMEOUT_S, AC_START_TIMEOUT_MS, AC.log);
}

static inline void ac_stop_server(void) {
    pid_t pid = AC.pid;
    AC.pid = 0;
    if (pid > 0) ts_stop(pid, SIGTERM, AC_EXIT_TIMEOUT_MS, AC.log);
}

/* rm -r of the temp directory (its contents are ours). */
static inline void ac_cleanup(void) {
    ts_rm_tmpdir(AC.tmpdir);
}

/* The WFDB record at path (a .hea) as the start of a /v1/embed body: {"signal": one array of
 * samples a lead, each times scale, "fs", "leads": their names} (a new reference); fails the test
 * when it cannot be read. */
static inline json_t *ac_wfdb_json(const char *path, double scale) {
    ecg_record r = {0};
    ecg_err err = {0};
    if (wfdb_read_record(&r, path, NULL, &err)) fail_msg("%s: %s", path, err.msg);
    json_t *sig = json_array(), *leads = json_array();
    for (int c = 0; c < r.n_channels; c++) {
        json_t *row = json_array();
        for (size_t t = 0; t < r.n_samples; t++)
            json_array_append_new(row, json_real(r.signal[(size_t)c * r.n_samples + t] * scale));
        json_array_append_new(sig, row);
        json_array_append_new(leads, json_string(r.channels[c].name));
    }
    json_t *j = json_pack("{s:o, s:f, s:o}", "signal", sig, "fs", r.fs, "leads", leads);
    record_free(&r);
    return j;
}

/* The WFDB record at path (a .hea) as a .npy file image: little-endian float32, shape (leads,
 * samples), header padded to 64 bytes (malloc'd, *len bytes); fails the test when it cannot be
 * read. */
static inline char *ac_wfdb_npy(const char *path, size_t *len) {
    ecg_record r = {0};
    ecg_err err = {0};
    if (wfdb_read_record(&r, path, NULL, &err)) fail_msg("%s: %s", path, err.msg);
    char hdr[128];
    int hl =
        snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %zu), }",
                 r.n_channels, r.n_samples);
    int total = 10 + hl + 1, pad = (64 - total % 64) % 64;
    unsigned short hlen = (unsigned short)(hl + pad + 1); /* little-endian on x86 */
    size_t n = (size_t)r.n_channels * r.n_samples * sizeof(float);
    char *b = malloc(10 + (size_t)hlen + n);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    memcpy(b + 8, &hlen, 2);
    memcpy(b + 10, hdr, (size_t)hl);
    memset(b + 10 + hl, ' ', (size_t)pad);
    b[10 + hl + pad] = '\n';
    memcpy(b + 10 + hlen, r.signal, n);
    *len = 10 + hlen + n;
    record_free(&r);
    return b;
}

#endif

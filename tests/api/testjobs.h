/* testjobs.h — what test_api_job_kinds and test_api_studies share: a temp data directory with a
 * synthetic ECG dataset and GunPoint uploaded as a task dataset, the server started on it, HTTP
 * calls with keys, jobs polled to a state, SSE streams read. One server per test binary. */
#ifndef ECGFM_TESTJOBS_H
#define ECGFM_TESTJOBS_H

#include <limits.h>
#include <sys/stat.h>

#include "tests/api/testserver.h"

#define TJ_START_TIMEOUT_MS 15000
#define TJ_EXIT_TIMEOUT_MS 15000
/* Jobs are slower under the sanitizers (ECGFM_SANITIZE=1, as `make sanitize` sets). */
#define TJ_JOB_TIMEOUT_MS (getenv("ECGFM_SANITIZE") ? 240000 : 60000)
#define TJ_IO_TIMEOUT_S 20

static char tj_bin[PATH_MAX], tj_repo[PATH_MAX];
static char tj_tmp[64], tj_data[256], tj_log[256];
static pid_t tj_pid;
static int tj_port;
static char tj_train[64], tj_read[64];

/* bin and the repository from argv[0] (build/tests/test_x -> build/ecgfm, ../..). */
static inline int tj_paths(const char *argv0) {
    return ts_paths_from_argv0(argv0, tj_bin, sizeof tj_bin, tj_repo, sizeof tj_repo);
}

static inline pid_t tj_spawn(const char *log, char *const args[]) {
    return ts_spawn(
        &(ts_spawn_opts){.bin = tj_bin, .log = log, .append = 1, .unset = ts_server_env}, args);
}

/* Run an ecgfm command to its end; its exit status. */
static inline int tj_run(char *const args[]) {
    char log[300];
    snprintf(log, sizeof log, "%s/cmd.log", tj_tmp);
    if (ts_run_cmd(tj_spawn, log, args, TJ_EXIT_TIMEOUT_MS))
        fail_msg("%s failed:\n%s", args[0], ts_read_text(log));
    return 0;
}

static inline void tj_key(const char *scope, char key[64]) {
    char log[300];
    snprintf(log, sizeof log, "%s/key.log", tj_tmp);
    ts_make_key(tj_spawn, log, tj_data, scope, key, 64, TJ_EXIT_TIMEOUT_MS);
}

/* The temp dir, data dir, a synthetic ECG dataset datasets/NAME of n records, train and read keys.
 */
static inline int tj_setup(const char *name_prefix) {
    snprintf(tj_tmp, sizeof tj_tmp, "/tmp/ecgfm-%s-XXXXXX", name_prefix);
    if (!mkdtemp(tj_tmp)) return -1;
    snprintf(tj_data, sizeof tj_data, "%s/data", tj_tmp);
    return 0;
}

static inline int tj_teardown(void **state) {
    (void)state;
    tj_pid = 0;
    return ts_teardown_tmp(tj_tmp);
}

static inline void tj_synth(const char *name, const char *n) {
    char ds[400];
    snprintf(ds, sizeof ds, "%s/datasets", tj_data);
    mkdir(tj_data, 0700);
    mkdir(ds, 0700);
    snprintf(ds, sizeof ds, "%s/datasets/%s", tj_data, name);
    tj_run((char *[]){"synth", "--out", ds, "--n", (char *)n, "--seconds", "5", NULL});
}

/* serve on port 0 with one job at a time, one thread each; import_roots when not NULL. */
static inline void tj_start(const char *logname, const char *import_roots) {
    snprintf(tj_log, sizeof tj_log, "%s/%s", tj_tmp, logname);
    const char *flags[] = {"--jobs-threads",
                           "1",
                           "--jobs-max-running",
                           "1",
                           "--jobs-heartbeat-s",
                           "1",
                           "--embed-threads",
                           "1",
                           "--import-roots",
                           import_roots,
                           NULL};
    if (!import_roots) flags[8] = NULL;
    tj_port = ts_serve(tj_spawn, tj_log, tj_repo, tj_data, flags, TJ_START_TIMEOUT_MS, &tj_pid);
}

static inline void tj_stop(void) {
    pid_t pid = tj_pid;
    tj_pid = 0;
    ts_stop(pid, SIGTERM, TJ_EXIT_TIMEOUT_MS, tj_log);
}

static ts_answer TA; /* the last answer */

static inline void tj_http(const char *method, const char *path, const char *key, const char *ctype,
                           const char *body, size_t blen) {
    ts_http(&TA, tj_port, TJ_IO_TIMEOUT_S, method, path, key, ctype, body, blen);
}

/* A JSON request (or none); the answer in TA. */
static inline void tj_do(const char *method, const char *path, const char *key, const char *json) {
    tj_http(method, path, key, json ? "application/json" : NULL, json, json ? strlen(json) : 0);
}

static inline json_t *tj_json(void) {
    return ts_json(&TA);
}

static inline void tj_expect(int status, const char *code) {
    ts_expect(&TA, status, code);
}

/* The task dataset `name` with GunPoint's splits uploaded through /v1/datasets. */
static inline void tj_gunpoint(const char *name) {
    char body[128], path[128], file[PATH_MAX + 64];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"kind\":\"task\"}", name);
    tj_do("POST", "/v1/datasets", tj_train, body);
    if (TA.status != 201) fail_msg("task dataset not created:\n%s", TA.raw);
    const char *splits[2][2] = {{"train", "TRAIN"}, {"test", "TEST"}};
    for (int i = 0; i < 2; i++) {
        snprintf(file, sizeof file, "%s/tests/data/ucr_uea/GunPoint/GunPoint_%s.ts", tj_repo,
                 splits[i][1]);
        size_t len;
        char *text = ts_slurp(file, &len);
        assert_non_null(text);
        snprintf(path, sizeof path, "/v1/datasets/%s/splits/%s?format=ts", name, splits[i][0]);
        tj_http("PUT", path, tj_train, "application/octet-stream", text, len);
        free(text);
        if (TA.status != 200) fail_msg("split %s not stored:\n%s", splits[i][0], TA.raw);
    }
}

/* POST /v1/jobs {"kind", "params"}: 201 required; the job id. */
static inline long long tj_create(const char *kind, const char *params) {
    char body[4096];
    snprintf(body, sizeof body, "{\"kind\":\"%s\",\"params\":%s}", kind, params);
    tj_do("POST", "/v1/jobs", tj_train, body);
    if (TA.status != 201) fail_msg("%s job not created:\n%s", kind, TA.raw);
    json_t *j = tj_json();
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    assert_true(id > 0);
    return id;
}

/* GET path (a job or a study) with the read key (new reference). */
static inline json_t *tj_get(const char *fmt, long long id) {
    char path[96];
    snprintf(path, sizeof path, fmt, id);
    tj_do("GET", path, tj_read, NULL);
    if (TA.status != 200) fail_msg("GET %s:\n%s", path, TA.raw);
    return tj_json();
}

static inline const char *tj_state(json_t *j) {
    return json_string_value(json_object_get(j, "state"));
}

/* Poll GET fmt(id) until its state is state (a terminal state other than it fails the test). */
static inline json_t *tj_wait(const char *fmt, long long id, const char *state) {
    long long deadline = ts_now_ms() + TJ_JOB_TIMEOUT_MS;
    for (;;) {
        json_t *j = tj_get(fmt, id);
        const char *s = tj_state(j);
        if (!strcmp(s, state)) return j;
        if (strcmp(s, "queued") && strcmp(s, "running"))
            fail_msg("%lld is %s, not %s:\n%s", id, s, state, TA.body);
        if (ts_now_ms() > deadline) fail_msg("%lld never got to %s:\n%s", id, state, TA.body);
        json_decref(j);
        ts_sleep_ms(100);
    }
}

/* The SSE stream of a job read until the server ends it (or ms); *closed says which. */
static inline char *tj_sse(long long id, int ms, int *closed) {
    static char buf[1 << 18];
    char path[96];
    snprintf(path, sizeof path, "/v1/jobs/%lld/events", id);
    return ts_sse_collect(ts_sse_open(tj_port, TJ_IO_TIMEOUT_S, path, tj_read), ms, closed, buf,
                          sizeof buf);
}

#endif

/* bench_embed_http.c — load on POST /v1/embed over loopback at 1, 8 and 32 keep-alive connections
 * for a bounded time, against the core's own batch-32 throughput measured in the same run; then the
 * same while a small pretraining job runs. The load comes from wrk (bench/embed_post.lua) when it
 * is installed, else from the C load generator here (ECGFM_BENCH_LOADGEN=wrk|c|both to choose). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base/rng.h"
#include "core/base/threads.h"
#include "core/data/record.h"
#include "core/data/wfdb.h"
#include "core/model/checkpoint.h"
#include "core/model/encoder.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define MAX_CONN 32

static char bin[PATH_MAX], root[PATH_MAX], model[PATH_MAX + 64],
    tmpdir[] = "/tmp/ecgfm-bench-XXXXXX";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int die(const char *msg) {
    fprintf(stderr, "bench_embed_http: %s\n", msg);
    return 1;
}

/* ---- the core's batch throughput ---- */

static double core_windows_per_s(double seconds) {
    encoder *e = NULL;
    ecg_err err = {0};
    if (checkpoint_load_encoder(model, 32, ENC_INFERENCE_ONLY, &e, &err)) {
        fprintf(stderr, "bench_embed_http: %s\n", err.msg);
        return -1;
    }
    encoder_set_frozen(e, 1);
    size_t n = (size_t)32 * ECG_N_LEADS * 600;
    float *x = malloc(n * sizeof *x);
    rng_state r;
    rng_seed(&r, 1);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.3f * rng_normal(&r);
    encoder_forward(e, x, 32, ENC_EVAL, &err); /* kernels, caches */
    int iters = 0;
    double t0 = now_s(), t;
    do {
        encoder_forward(e, x, 32, ENC_EVAL, &err);
        iters++;
        t = now_s();
    } while (t - t0 < seconds);
    free(x);
    encoder_free(e);
    return 32.0 * iters / (t - t0);
}

/* ---- the server ---- */

static pid_t spawn(const char *log, char *const args[]) {
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
        if (chdir(root) != 0) _exit(125);
        char *argv[24] = {bin};
        for (int i = 0; args[i] && i < 22; i++)
            argv[i + 1] = args[i];
        execv(bin, argv);
        _exit(127);
    }
    return pid;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int connect_local(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One blocking request on fd (keep-alive); returns the status, -1 on a broken connection. */
static int roundtrip(int fd, const char *req, size_t req_len, char *buf, size_t cap) {
    for (size_t off = 0; off < req_len;) {
        ssize_t k = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
        if (k <= 0) return -1;
        off += (size_t)k;
    }
    size_t len = 0;
    long clen = -1;
    char *hdr_end = NULL;
    for (;;) {
        ssize_t k = recv(fd, buf + len, cap - 1 - len, 0);
        if (k <= 0) return -1;
        len += (size_t)k;
        buf[len] = 0;
        if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n"))) {
            char *cl = strcasestr(buf, "Content-Length:");
            clen = cl ? strtol(cl + 15, NULL, 10) : 0;
        }
        if (hdr_end && len >= (size_t)(hdr_end + 4 - buf) + (size_t)clen) break;
        if (len + 1 >= cap) return -1;
    }
    int status = 0;
    sscanf(buf, "HTTP/1.1 %d", &status);
    return status;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    int fd;
    double sent;
    size_t off;
    char buf[1 << 16];
    size_t len;
} conn_state;

/* c connections, each one request in flight, for `seconds`; fills latencies (s) and counts. */
static int load(int port, int c, const char *req, size_t req_len, double seconds, double **lat,
                size_t *n_lat, size_t *n_err) {
    conn_state *cs = calloc((size_t)c, sizeof *cs);
    struct pollfd pf[MAX_CONN];
    size_t cap = 1 << 16;
    *lat = malloc(cap * sizeof **lat);
    *n_lat = *n_err = 0;
    for (int i = 0; i < c; i++) {
        cs[i].fd = connect_local(port);
        if (cs[i].fd < 0) return -1;
        fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
    }
    double t0 = now_s(), end = t0 + seconds;
    for (int i = 0; i < c; i++)
        cs[i].sent = 0; /* 0: not yet sent */
    int active = c;
    while (active > 0) {
        double t = now_s();
        for (int i = 0; i < c; i++) {
            conn_state *s = &cs[i];
            if (s->fd >= 0 && s->sent == 0) {
                if (t >= end) { /* done: close this one */
                    close(s->fd);
                    s->fd = -1;
                    active--;
                    continue;
                }
                s->sent = t;
                s->off = 0;
                s->len = 0;
            }
            if (s->fd >= 0 && s->off < req_len) {
                ssize_t k = send(s->fd, req + s->off, req_len - s->off, MSG_NOSIGNAL);
                if (k > 0) s->off += (size_t)k;
            }
            pf[i].fd = s->fd;
            pf[i].events = s->fd < 0 ? 0 : (s->off < req_len ? POLLOUT : POLLIN);
        }
        if (active == 0) break;
        poll(pf, (nfds_t)c, 50);
        for (int i = 0; i < c; i++) {
            conn_state *s = &cs[i];
            if (s->fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t k = recv(s->fd, s->buf + s->len, sizeof s->buf - 1 - s->len, 0);
            if (k <= 0) {
                (*n_err)++;
                close(s->fd);
                s->fd = -1;
                active--;
                continue;
            }
            s->len += (size_t)k;
            s->buf[s->len] = 0;
            char *he = strstr(s->buf, "\r\n\r\n");
            if (!he) continue;
            char *cl = strcasestr(s->buf, "Content-Length:");
            long clen = cl ? strtol(cl + 15, NULL, 10) : 0;
            if (s->len < (size_t)(he + 4 - s->buf) + (size_t)clen) {
                if (s->len + 1 >= sizeof s->buf) { /* larger than expected: count and drop */
                    (*n_err)++;
                    s->len = 0;
                }
                continue;
            }
            int status = 0;
            sscanf(s->buf, "HTTP/1.1 %d", &status);
            if (status != 200) (*n_err)++;
            if (*n_lat == cap) *lat = realloc(*lat, (cap *= 2) * sizeof **lat);
            (*lat)[(*n_lat)++] = now_s() - s->sent;
            s->sent = 0;
        }
    }
    free(cs);
    return 0;
}

static int find_paths(void) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return -1;
    self[n] = 0;
    for (int up = 0; up < 2; up++)
        *strrchr(self, '/') = 0; /* build/bench/x -> build */
    snprintf(bin, sizeof bin, "%s/ecgfm", self);
    *strrchr(self, '/') = 0;
    snprintf(root, sizeof root, "%s", self);
    snprintf(model, sizeof model, "%s/models/small/checkpoint.safetensors", root);
    return access(bin, X_OK) == 0 && access(model, R_OK) == 0 ? 0 : -1;
}

/* ---- wrk ---- */

/* wrk on PATH (ECGFM_WRK overrides): 0 with its path in out, else -1. */
static int find_wrk(char *out, size_t cap) {
    const char *env = getenv("ECGFM_WRK");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return access(out, X_OK);
    }
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, cap, "%s/wrk", d);
        if (access(out, X_OK) == 0) return 0;
    }
    return -1;
}

typedef struct {
    double requests, seconds, p50_s, p99_s, errors;
} load_result;

/* wrk -t1 -cC -dSECS against POST /v1/embed with the body file and key; 0 with res filled. */
static int run_wrk(const char *wrk, int port, int c, double secs, const char *body_path,
                   const char *key, load_result *res) {
    char url[64], conns[16], dur[32], script[PATH_MAX + 32], out[PATH_MAX];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/embed", port);
    snprintf(conns, sizeof conns, "%d", c);
    snprintf(dur, sizeof dur, "%ds", (int)(secs + 0.5));
    snprintf(script, sizeof script, "%s/bench/embed_post.lua", root);
    snprintf(out, sizeof out, "%s/wrk.out", tmpdir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
        setenv("ECGFM_BENCH_BODY", body_path, 1);
        setenv("ECGFM_BENCH_KEY", key, 1);
        execl(wrk, wrk, "-t1", "-c", conns, "-d", dur, "--timeout", "30s", "-s", script, url,
              (char *)NULL);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_embed_http: wrk failed:\n%s\n", slurp(out) ? slurp(out) : "");
        return -1;
    }
    const char *t = slurp(out), *line = t ? strstr(t, "wrk_result ") : NULL;
    double dus, p50, p99, n2, ce, re, we, to;
    if (!line || sscanf(line,
                        "wrk_result requests=%lf duration_us=%lf p50_us=%lf p99_us=%lf non2xx=%lf "
                        "connect=%lf read=%lf write=%lf timeout=%lf",
                        &res->requests, &dus, &p50, &p99, &n2, &ce, &re, &we, &to) != 9) {
        fprintf(stderr, "bench_embed_http: no result line from wrk:\n%s\n", t ? t : "");
        return -1;
    }
    res->seconds = dus * 1e-6;
    res->p50_s = p50 * 1e-6;
    res->p99_s = p99 * 1e-6;
    res->errors = n2 + ce + re + we + to;
    return 0;
}

/* The C load generator's run as a load_result. */
static int run_c(int port, int c, const char *req, size_t req_len, double secs, load_result *res) {
    double *lat;
    size_t n, errs;
    double t0 = now_s();
    if (load(port, c, req, req_len, secs, &lat, &n, &errs)) return -1;
    res->seconds = now_s() - t0;
    qsort(lat, n, sizeof *lat, cmp_double);
    res->requests = (double)n;
    res->errors = (double)errs;
    res->p50_s = n ? lat[n / 2] : 0;
    res->p99_s = n ? lat[(size_t)(0.99 * (double)(n - 1))] : 0;
    free(lat);
    return 0;
}

/* ---- a pretraining job over HTTP ---- */

/* One request on a new connection; the status (-1 when none), the answer in buf. */
static int http_call(int port, const char *method, const char *path, const char *key,
                     const char *body, char *buf, size_t cap) {
    char req[4096];
    size_t bl = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                     "%sContent-Length: %zu\r\n\r\n%s",
                     method, path, key, body ? "Content-Type: application/json\r\n" : "", bl,
                     body ? body : "");
    int fd = connect_local(port);
    if (fd < 0 || n <= 0 || (size_t)n >= sizeof req) {
        if (fd >= 0) close(fd);
        return -1;
    }
    int st = roundtrip(fd, req, (size_t)n, buf, cap);
    close(fd);
    return st;
}

/* The job's "state" in buf (an answer of GET /v1/jobs/ID) copied to out. */
static void job_state(const char *buf, char *out, size_t cap) {
    const char *p = strstr(buf, "\"state\":\"");
    out[0] = 0;
    if (p) snprintf(out, cap, "%.*s", (int)strcspn(p + 9, "\""), p + 9);
}

/* Submit a pretrain job on the "bench" dataset (1 thread) and wait until it has made progress;
 * its id, or -1. */
static long long start_training(int port, const char *key) {
    static char buf[1 << 16];
    const char *body =
        "{\"kind\": \"pretrain\", \"params\": {\"dataset\": \"bench\", \"objective\": "
        "\"cpc\", \"model\": \"small\", \"batch\": 16, \"epochs\": 1000, "
        "\"threads\": 1}}";
    if (http_call(port, "POST", "/v1/jobs", key, body, buf, sizeof buf) != 201) {
        fprintf(stderr, "bench_embed_http: POST /v1/jobs: %s\n", buf);
        return -1;
    }
    const char *idp = strstr(buf, "\"id\":");
    long long id = idp ? atoll(idp + 5) : -1;
    char path[64], state[32];
    snprintf(path, sizeof path, "/v1/jobs/%lld", id);
    for (int i = 0; i < 1200; i++) { /* up to 2 minutes: loading the dataset, the first steps */
        http_call(port, "GET", path, key, NULL, buf, sizeof buf);
        job_state(buf, state, sizeof state);
        if (strcmp(state, "running") == 0 && strstr(buf, "\"step\":")) return id;
        if (strcmp(state, "queued") && strcmp(state, "running")) break;
        usleep(100000);
    }
    fprintf(stderr, "bench_embed_http: the pretraining job did not start: %s\n", buf);
    return -1;
}

static void stop_training(int port, const char *key, long long id) {
    static char buf[1 << 16];
    char path[64], state[32];
    snprintf(path, sizeof path, "/v1/jobs/%lld/cancel", id);
    http_call(port, "POST", path, key, NULL, buf, sizeof buf);
    snprintf(path, sizeof path, "/v1/jobs/%lld", id);
    for (int i = 0; i < 300; i++) {
        http_call(port, "GET", path, key, NULL, buf, sizeof buf);
        job_state(buf, state, sizeof state);
        if (strcmp(state, "running") && strcmp(state, "queued")) break;
        usleep(100000);
    }
    printf("training job %lld: %s\n", id, state);
}

/* One load level: requests/s, p50/p99 and windows/s against the core rate around it. */
static void report(const char *name, const char *gen, const load_result *r, double before,
                   double after, int windows_per_req) {
    double rps = r->seconds > 0 ? r->requests / r->seconds : 0, wps = rps * windows_per_req;
    double core = 0.5 * (before + after);
    printf("%s: loadgen=%s requests=%.0f errors=%.0f seconds=%.1f req_per_s=%.1f p50_ms=%.2f "
           "p99_ms=%.2f core_before=%.1f core_after=%.1f\n",
           name, gen, r->requests, r->errors, r->seconds, rps, 1e3 * r->p50_s, 1e3 * r->p99_s,
           before, after);
    /* the peer: the core's own batch-32 throughput, the mean of its runs just before and just
     * after this level (the machine is shared; its load drifts) */
    printf("bench %s ecgfm=%.1f peer=%.1f ratio=%.3f unit=windows/s\n", name, wps, core,
           wps / core);
    fflush(stdout);
}

int main(int argc, char **argv) {
    (void)argc;
    threads_blas_reexec(argv); /* the same OpenBLAS kernels as ecgfm itself */
    signal(SIGPIPE, SIG_IGN);
    if (find_paths()) return die("needs build/ecgfm and models/small/checkpoint.safetensors");
    const char *e = getenv("ECGFM_BENCH_SECONDS");
    double secs = e && atof(e) > 0 ? atof(e) : 10.0;
    if (!mkdtemp(tmpdir)) return die("mkdtemp failed");
    char wrk[PATH_MAX];
    int have_wrk = find_wrk(wrk, sizeof wrk) == 0;
    const char *lg = getenv("ECGFM_BENCH_LOADGEN");
    int use_wrk = have_wrk, use_c = !have_wrk;
    if (lg && strcmp(lg, "both") == 0) use_wrk = have_wrk, use_c = 1;
    if (lg && strcmp(lg, "c") == 0) use_wrk = 0, use_c = 1;
    if (lg && strcmp(lg, "wrk") == 0 && !have_wrk) return die("ECGFM_BENCH_LOADGEN=wrk: no wrk");
    printf("embed load: %s%s%s, %.0f s per level\n", use_wrk ? "wrk " : "", use_wrk ? wrk : "",
           use_c ? (use_wrk ? " and the C generator" : "the C generator") : "", secs);
    if (!have_wrk) printf("embed load: wrk not found (scripts/deps.sh installs it)\n");

    /* The request: the PTB-XL record (12 leads, 10 s at 100 Hz -> 4 windows) as JSON. */
    ecg_record r = {0};
    ecg_err err = {0};
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/tests/data/ecg/ptbxl/00001_lr.hea", root);
    if (wfdb_read_record(&r, path, NULL, &err)) return die(err.msg);
    size_t cap = (size_t)r.n_channels * r.n_samples * 16 + 4096, bl = 0;
    char *body = malloc(cap);
    bl += (size_t)sprintf(body + bl, "{\"fs\": %g, \"leads\": [", r.fs);
    for (int c = 0; c < r.n_channels; c++)
        bl += (size_t)sprintf(body + bl, "%s\"%s\"", c ? "," : "", r.channels[c].name);
    bl += (size_t)sprintf(body + bl, "], \"signal\": [");
    for (int c = 0; c < r.n_channels; c++) {
        bl += (size_t)sprintf(body + bl, "%s[", c ? "," : "");
        for (size_t t = 0; t < r.n_samples; t++)
            bl += (size_t)sprintf(body + bl, "%s%.4f", t ? "," : "",
                                  r.signal[(size_t)c * r.n_samples + t]);
        bl += (size_t)sprintf(body + bl, "]");
    }
    bl += (size_t)sprintf(body + bl, "]}");
    const int windows_per_req = 4;
    record_free(&r);
    char body_path[PATH_MAX];
    snprintf(body_path, sizeof body_path, "%s/body.json", tmpdir);
    FILE *bf = fopen(body_path, "wb");
    if (!bf || fwrite(body, 1, bl, bf) != bl || fclose(bf)) return die("cannot write the body");

    /* One compute thread on both sides (ECGFM_BENCH_THREADS to change): on a shared 2-core machine
     * a second OpenMP thread mostly waits for the first, and the loop thread needs a core too. */
    const char *te = getenv("ECGFM_BENCH_THREADS");
    int threads = te && atoi(te) > 0 ? atoi(te) : 1;
    char threads_s[16];
    snprintf(threads_s, sizeof threads_s, "%d", threads);
    threads_set(threads);
    double core = core_windows_per_s(secs < 3 ? secs : 3);
    if (core <= 0) return die("the core benchmark failed");
    printf("embed core: %d compute thread(s), batch 32\n", threads_get());
    printf("bench embed_core_b32 ecgfm=%.1f peer=- ratio=- unit=windows/s\n", core);

    char data[PATH_MAX], log[PATH_MAX], keylog[PATH_MAX], ds[PATH_MAX + 32], configs[PATH_MAX + 16];
    snprintf(data, sizeof data, "%s/var", tmpdir);
    snprintf(log, sizeof log, "%s/server.log", tmpdir);
    snprintf(keylog, sizeof keylog, "%s/key.out", tmpdir);
    snprintf(configs, sizeof configs, "%s/configs", root);
    int st;
    /* An admin key (embed and train), and the synthetic dataset the training phase uses. */
    pid_t kp =
        spawn(keylog, (char *[]){"keys", "create", "--scope", "admin", "--data-dir", data, NULL});
    waitpid(kp, &st, 0);
    char key[256] = "";
    const char *kt = slurp(keylog);
    if (kt) sscanf(kt, "%255s", key);
    snprintf(ds, sizeof ds, "%s/datasets", data);
    mkdir(ds, 0700);
    snprintf(ds, sizeof ds, "%s/datasets/bench", data);
    char synthlog[PATH_MAX];
    snprintf(synthlog, sizeof synthlog, "%s/synth.log", tmpdir);
    pid_t yp =
        spawn(synthlog, (char *[]){"synth", "--out", ds, "--n", "200", "--seconds", "10", NULL});
    waitpid(yp, &st, 0);
    int have_dataset = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    pid_t sp = spawn(log, (char *[]){"serve", "--port", "0", "--data-dir", data, "--model", model,
                                     "--max-connections", "64", "--embed-threads", threads_s,
                                     "--configs-dir", configs, "--jobs-threads", "1",
                                     "--jobs-max-running", "1", NULL});
    int port = 0;
    for (int i = 0; i < 500 && !port; i++) {
        const char *t = slurp(log);
        const char *p = t ? strstr(t, "listening on http://127.0.0.1:") : NULL;
        if (p) sscanf(p, "listening on http://127.0.0.1:%d", &port);
        usleep(20000);
    }
    if (!port) {
        kill(sp, SIGKILL);
        return die("the server did not start");
    }
    char req_head[512];
    int hl = snprintf(req_head, sizeof req_head,
                      "POST /v1/embed HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      key, bl);
    char *req = malloc((size_t)hl + bl);
    memcpy(req, req_head, (size_t)hl);
    memcpy(req + hl, body, bl);
    size_t req_len = (size_t)hl + bl;
    /* Wait until the model is in: one request answers 200. */
    static char buf[1 << 16];
    int ok = 0;
    for (int i = 0; i < 200 && !ok; i++) {
        int fd = connect_local(port);
        ok = fd >= 0 && roundtrip(fd, req, req_len, buf, sizeof buf) == 200;
        if (fd >= 0) close(fd);
        if (!ok) usleep(50000);
    }
    if (!ok) {
        kill(sp, SIGKILL);
        fprintf(stderr, "%s\n", buf);
        return die("POST /v1/embed never answered 200");
    }

    const int conns[] = {1, 8, 32};
    int rc = 0;
    for (int phase = 0; phase < 2 && !rc; phase++) {
        long long job = -1;
        if (phase == 1) {
            if (!have_dataset) {
                fprintf(stderr, "bench_embed_http: ecgfm synth failed:\n%s\n", slurp(synthlog));
                rc = 1;
                break;
            }
            job = start_training(port, key);
            if (job < 0) {
                rc = 1;
                break;
            }
            printf("training job %lld running (pretrain cpc, model small, 1 thread)\n", job);
        }
        /* The machine is shared: the core is measured right before and right after each level
         * (under the same outside load and, in phase 1, beside the same training), and the ratio
         * compares the level with the mean of the two. */
        double before = phase ? core_windows_per_s(secs < 3 ? secs : 3) : core;
        for (int k = 0; k < 3 && !rc; k++) {
            char name[64];
            snprintf(name, sizeof name, "embed_http_c%d%s", conns[k], phase ? "_training" : "");
            load_result lw = {0}, lc = {0};
            if (use_wrk && run_wrk(wrk, port, conns[k], secs, body_path, key, &lw)) rc = 1;
            if (!rc && use_c && run_c(port, conns[k], req, req_len, secs, &lc)) rc = 1;
            if (rc) break;
            double after = core_windows_per_s(secs < 3 ? secs : 3);
            if (use_wrk) report(name, "wrk", &lw, before, after, windows_per_req);
            if (use_c) {
                char cname[80];
                snprintf(cname, sizeof cname, "%s%s", name, use_wrk ? "_cgen" : "");
                report(cname, "c", &lc, before, after, windows_per_req);
            }
            before = after;
        }
        if (job > 0) stop_training(port, key, job);
    }
    kill(sp, SIGTERM);
    waitpid(sp, &st, 0);
    if (rc) fprintf(stderr, "server log:\n%s\n", slurp(log));
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    free(req);
    free(body);
    return rc;
}

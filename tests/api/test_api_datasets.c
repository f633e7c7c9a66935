/* test_api_datasets.c — the /v1/datasets endpoints against the real build/ecgfm on 127.0.0.1 with
 * a temp data directory and real files from tests/data: create/list/get/delete, record uploads in
 * each format (WFDB multipart, EDF, CSV, npy, JSON) with their stats, a GunPoint task dataset, the
 * error statuses, and (without a server) that failed appends leave the store and rows in step. */
#include <limits.h>
#include <math.h>
#include <sys/stat.h>

#include "tests/api/apiclient.h"

#include <dirent.h>
#include <hdf5.h>
#include <pthread.h>
#include <jansson.h>
#include <sqlite3.h>

#include "core/data/store.h"
#include "core/data/wfdb.h"
#include "server/datasets_impl.h"
#include "server/db.h"

#define START_TIMEOUT_MS 15000
#define EXIT_TIMEOUT_MS 15000
#define IO_TIMEOUT_S 15
#define MAX_UPLOAD (4 << 20) /* the test server's max_upload_bytes (max_body_bytes stays 1 MiB) */

static char bin[PATH_MAX], repo[PATH_MAX];
static char tmpdir[64], data[256];
static pid_t server_pid;
static char server_log[256];
static int port;
static char train_key[64], read_key[64], embed_key[64];

static pid_t spawn(const char *log, char *const args[]) {
    return ts_spawn(&(ts_spawn_opts){.bin = bin, .log = log, .append = 1, .unset = ts_server_env},
                    args);
}

static void start_server(void) {
    char upload[32];
    snprintf(server_log, sizeof server_log, "%s/serve.log", tmpdir);
    snprintf(upload, sizeof upload, "%d", MAX_UPLOAD);
    port = ts_serve(spawn, server_log, repo, data,
                    (const char *[]){"--jobs-threads", "1", "--embed-threads", "1",
                                     "--max-upload-bytes", upload, NULL},
                    START_TIMEOUT_MS, &server_pid);
}

/* ---- HTTP with binary bodies ---- */

static ts_answer A; /* the last answer */

static void http_send(const char *method, const char *path, const char *key, const char *ctype,
                      const void *body, size_t len) {
    ts_http(&A, port, IO_TIMEOUT_S, method, path, key, ctype, body, len);
}

static void http_do(const char *method, const char *path, const char *key, const char *ctype,
                    const char *body) {
    http_send(method, path, key, ctype, body, body ? strlen(body) : 0);
}

/* The answer must be status; its JSON body (new reference). */
static json_t *expect_json(int status, const char *what) {
    if (A.status != status) fail_msg("%s: want %d, got:\n%s", what, status, A.raw);
    return ts_json(&A);
}

static long long jint(json_t *o, const char *path) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = o;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur = json_object_get(cur, tok);
    if (!json_is_number(cur)) fail_msg("%s is not a number in %s", path, json_dumps(o, 0));
    return (long long)json_number_value(cur);
}

static double jnum(json_t *o, const char *a, const char *b) {
    json_t *cur = json_object_get(o, a);
    if (b) cur = json_object_get(cur, b);
    if (!json_is_number(cur)) fail_msg("%s.%s is not a number", a, b ? b : "");
    return json_number_value(cur);
}

/* A multipart body of (name, bytes) files; pad > 0 adds a part without a file name of pad bytes
 * (ignored by the readers). */
typedef struct {
    const char *filename;
    const char *data;
    size_t len;
} part;

static char *multipart(const part *p, int n, size_t pad, size_t *out_len) {
    size_t cap = 4096 + pad;
    for (int i = 0; i < n; i++)
        cap += p[i].len + 256;
    char *b = malloc(cap);
    assert_non_null(b);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        k += (size_t)sprintf(b + k,
                             "--BOUNDARY\r\nContent-Disposition: form-data; name=\"f%d\"; "
                             "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                             i, p[i].filename);
        memcpy(b + k, p[i].data, p[i].len);
        k += p[i].len;
        k += (size_t)sprintf(b + k, "\r\n");
    }
    if (pad) {
        k += (size_t)sprintf(b + k, "--BOUNDARY\r\nContent-Disposition: form-data; "
                                    "name=\"comment\"\r\n\r\n");
        memset(b + k, 'x', pad);
        k += pad;
        k += (size_t)sprintf(b + k, "\r\n");
    }
    k += (size_t)sprintf(b + k, "--BOUNDARY--\r\n");
    *out_len = k;
    return b;
}

#define MP "multipart/form-data; boundary=BOUNDARY"

static char *repo_file(const char *rel, size_t *len) {
    char p[PATH_MAX + 128];
    snprintf(p, sizeof p, "%s/%s", repo, rel);
    char *b = ts_slurp(p, len);
    if (!b) fail_msg("cannot read %s", p);
    return b;
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* Records in a store dir (-1 when it cannot be opened). */
static long long store_records(const char *dir) {
    store_dataset *ds = NULL;
    ecg_err err = {0};
    if (store_open(&ds, dir, 0, &err)) return -1;
    long long n = (long long)store_count(ds);
    store_close(ds);
    return n;
}

static long long sql_count(const char *sql) {
    char p[300];
    snprintf(p, sizeof p, "%s/ecgfm.sqlite3", data);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    long long n = -1;
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* The PTB-XL record's files: a 12-lead, 100 Hz, 10 s WFDB record. */
static char *ptbxl_csv(size_t *len) {
    ecg_record r = {0};
    ecg_err err = {0};
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/tests/data/ecg/ptbxl/00001_lr.hea", repo);
    if (wfdb_read_record(&r, path, NULL, &err)) fail_msg("%s", err.msg);
    /* Leads I, II and V1 only: coverage then differs between records. */
    size_t cap = r.n_samples * 64 + 64;
    char *b = malloc(cap);
    size_t k = (size_t)sprintf(b, "time,I,II,V1\n");
    for (size_t t = 0; t < r.n_samples; t++)
        k += (size_t)sprintf(b + k, "%.4f,%.6g,%.6g,%.6g\n", (double)t / r.fs, r.signal[t],
                             r.signal[r.n_samples + t], r.signal[6 * r.n_samples + t]);
    record_free(&r);
    *len = k;
    return b;
}

static char *ptbxl_npy(size_t *len) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/tests/data/ecg/ptbxl/00001_lr.hea", repo);
    return ac_wfdb_npy(path, len);
}

/* tests/data's EDF test generator with its "ECG" channel relabelled lead II (EDF labels are 16
 * bytes each from byte 256), so the store has a standard lead to keep. */
static char *edf_lead2(size_t *len) {
    char *b = repo_file("tests/data/ecg/edf/test_generator_2.edf", len);
    int ns = atoi(b + 252);
    int found = 0;
    for (int i = 0; i < ns; i++)
        if (strncmp(b + 256 + 16 * i, "ECG ", 4) == 0) {
            memcpy(b + 256 + 16 * i, "II              ", 16);
            found = 1;
        }
    assert_true(found);
    return b;
}

/* A CODE-15%-layout HDF5 file (tracings 3 x 4096 x 12 float32 at 400 Hz, exam_id 11..13) with
 * exam 12 all zero (the importer skips it), read back as bytes. */
static char *code15_h5(size_t *len) {
    char path[300];
    snprintf(path, sizeof path, "%s/exams.hdf5", tmpdir);
    enum { NE = 3, NT = 4096 };
    float *x = calloc((size_t)NE * NT * 12, sizeof *x);
    assert_non_null(x);
    for (int e = 0; e < NE; e++)
        for (int t = 0; e != 1 && t < NT; t++)
            for (int c = 0; c < 12; c++)
                x[((size_t)e * NT + (size_t)t) * 12 + (size_t)c] =
                    (float)(0.5 * sin(0.02 * t * (c + 1) + e));
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    hsize_t dims[3] = {NE, NT, 12}, nd = NE;
    hid_t sp = H5Screate_simple(3, dims, NULL);
    hid_t d =
        H5Dcreate2(f, "tracings", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    int64_t ids[NE] = {11, 12, 13};
    sp = H5Screate_simple(1, &nd, NULL);
    d = H5Dcreate2(f, "exam_id", H5T_NATIVE_INT64, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids) >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
    free(x);
    char *b = ts_slurp(path, len);
    assert_non_null(b);
    return b;
}

/* ---- parallel uploads (each thread its own connection and buffers) ---- */

typedef struct {
    const char *body;
    size_t len;
    int status;
    long long index;
} par_upload;

static void *par_upload_run(void *arg) {
    par_upload *u = arg;
    static __thread char raw[1 << 16];
    int fd = ts_connect(port, IO_TIMEOUT_S);
    if (fd < 0) return NULL;
    char head[1024];
    int n = ts_request_head(head, sizeof head, "POST", "/v1/datasets/par/records", train_key, MP,
                            u->len);
    ts_send_all(fd, head, (size_t)n);
    ts_send_all(fd, u->body, u->len);
    ts_recv_all(fd, raw, sizeof raw);
    close(fd);
    const char *body;
    u->status = ts_parse_answer(raw, &body);
    json_t *j = json_loads(body, 0, NULL);
    u->index = j ? json_integer_value(json_object_get(j, "index")) : -1;
    json_decref(j);
    return NULL;
}

/* ---- the endpoints ---- */

static void test_datasets_http(void **state) {
    (void)state;
    char ds_dir[400], log[300];
    assert_int_equal(mkdir(data, 0700), 0);
    snprintf(ds_dir, sizeof ds_dir, "%s/datasets", data);
    assert_int_equal(mkdir(ds_dir, 0700), 0);
    /* A store made outside the service (as `ecgfm synth --out` does): adopted at start. */
    snprintf(ds_dir, sizeof ds_dir, "%s/datasets/tiny", data);
    snprintf(log, sizeof log, "%s/cmd.log", tmpdir);
    if (ts_run_cmd(spawn, log,
                   (char *[]){"synth", "--out", ds_dir, "--n", "40", "--seconds", "5", NULL},
                   EXIT_TIMEOUT_MS))
        fail_msg("synth failed:\n%s", ts_read_text(log));
    ts_make_key(spawn, log, data, "train", train_key, sizeof train_key, EXIT_TIMEOUT_MS);
    ts_make_key(spawn, log, data, "read", read_key, sizeof read_key, EXIT_TIMEOUT_MS);
    ts_make_key(spawn, log, data, "embed", embed_key, sizeof embed_key, EXIT_TIMEOUT_MS);
    start_server();
    int checks = 0;

    /* ---- adopted ---- */
    http_do("GET", "/v1/datasets/tiny", read_key, NULL, NULL);
    json_t *j = expect_json(200, "adopted dataset");
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "ecg");
    assert_int_equal(jint(j, "n_records"), 40);
    assert_int_equal(jint(j, "stats.records"), 40);
    assert_true(fabs(jnum(j, "stats", "total_seconds") - 200.0) < 1e-6);
    long long tiny_id = jint(j, "id");
    json_decref(j);
    checks++;

    /* ---- auth ---- */
    const char *lab = "{\"name\":\"lab\",\"kind\":\"ecg\",\"description\":\"bench uploads\"}";
    http_do("POST", "/v1/datasets", NULL, "application/json", lab);
    ts_expect(&A, 401, "missing_api_key");
    http_do("POST", "/v1/datasets", read_key, "application/json", lab);
    ts_expect(&A, 403, "insufficient_scope");
    http_do("POST", "/v1/datasets", embed_key, "application/json", lab);
    ts_expect(&A, 403, "insufficient_scope");
    http_do("GET", "/v1/datasets", NULL, NULL, NULL);
    ts_expect(&A, 401, "missing_api_key");
    http_do("GET", "/v1/datasets/tiny", embed_key, NULL, NULL);
    assert_int_equal(A.status, 200); /* embed >= read */
    http_do("DELETE", "/v1/datasets/tiny", read_key, NULL, NULL);
    ts_expect(&A, 403, "insufficient_scope");
    http_do("POST", "/v1/datasets/tiny/records", read_key, "application/json", "{}");
    ts_expect(&A, 403, "insufficient_scope");
    http_do("PUT", "/v1/datasets/tiny/splits/train", NULL, "text/plain", "x");
    ts_expect(&A, 401, "missing_api_key");
    checks += 8;

    /* ---- create ---- */
    http_do("POST", "/v1/datasets", train_key, "application/json", lab);
    j = expect_json(201, "create lab");
    long long lab_id = jint(j, "id");
    assert_string_equal(json_string_value(json_object_get(j, "description")), "bench uploads");
    assert_int_equal(jint(j, "n_records"), 0);
    json_decref(j);
    snprintf(ds_dir, sizeof ds_dir, "%s/datasets/lab/MANIFEST", data);
    assert_true(exists(ds_dir));
    http_do("POST", "/v1/datasets", train_key, "application/json", lab);
    ts_expect(&A, 409, "name_taken");
    static const char *const bad_names[] = {
        "{\"name\":\"../etc\",\"kind\":\"ecg\"}",
        "{\"name\":\"a/b\",\"kind\":\"ecg\"}",
        "{\"name\":\"..\",\"kind\":\"ecg\"}",
        "{\"name\":\".hidden\",\"kind\":\"ecg\"}",
        "{\"name\":\"\",\"kind\":\"ecg\"}",
        "{\"name\":\"12\",\"kind\":\"ecg\"}",
        "{\"name\":\"a b\",\"kind\":\"ecg\"}",
        "{\"name\":\"..%2Fx\",\"kind\":\"task\"}",
        "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
        "\"kind\":\"ecg\"}",
    };
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        http_do("POST", "/v1/datasets", train_key, "application/json", bad_names[i]);
        if (A.status != 422) fail_msg("%s: want 422, got:\n%s", bad_names[i], A.raw);
        checks++;
    }
    http_do("POST", "/v1/datasets", train_key, "application/json",
            "{\"name\":\"x\\u0000y\",\"kind\":\"ecg\"}");
    ts_expect(&A, 400, "invalid_json"); /* a NUL in the name is not even taken as JSON */
    http_do("POST", "/v1/datasets", train_key, "application/json",
            "{\"name\":\"k\",\"kind\":\"images\"}");
    ts_expect(&A, 422, "invalid_kind");
    http_do("POST", "/v1/datasets", train_key, "application/json", "{\"kind\":\"ecg\"}");
    ts_expect(&A, 422, "missing_field");
    http_do("POST", "/v1/datasets", train_key, "application/json",
            "{\"name\":\"k\",\"kind\":\"ecg\",\"extra\":1}");
    assert_int_equal(A.status, 422);
    http_do("POST", "/v1/datasets", train_key, "text/plain", lab);
    assert_int_equal(A.status, 415);
    /* Traversal in the path: never a dataset. */
    http_do("GET", "/v1/datasets/..%2F..%2Fetc", read_key, NULL, NULL);
    ts_expect(&A, 404, "not_found");
    http_do("GET", "/v1/datasets/nope", read_key, NULL, NULL);
    ts_expect(&A, 404, "not_found");
    http_do("GET", "/v1/datasets/999999", read_key, NULL, NULL);
    ts_expect(&A, 404, "not_found");
    checks += 8;
    /* Nothing was created by the refused names. */
    char listing[400];
    snprintf(listing, sizeof listing, "%s/datasets", data);
    int n_dirs = 0;
    DIR *dh = opendir(listing);
    assert_non_null(dh);
    for (struct dirent *e; (e = readdir(dh));)
        if (e->d_name[0] != '.') n_dirs++;
    closedir(dh);
    assert_int_equal(n_dirs, 2); /* tiny, lab */

    /* ---- uploads, one per format ---- */
    size_t hl, dl, len;
    char p1[400], p2[400];
    char *hea = repo_file("tests/data/ecg/ptbxl/00001_lr.hea", &hl);
    char *dat = repo_file("tests/data/ecg/ptbxl/00001_lr.dat", &dl);
    part wfdb[2] = {{"00001_lr.hea", hea, hl}, {"00001_lr.dat", dat, dl}};
    char *body = multipart(wfdb, 2, 0, &len);
    http_send("POST", "/v1/datasets/lab/records", train_key, MP, body, len);
    j = expect_json(201, "WFDB upload");
    assert_int_equal(jint(j, "index"), 0);
    assert_int_equal(jint(j, "n_samples"), 1000);
    assert_int_equal(jint(j, "n_leads"), 12);
    assert_true(fabs(jnum(j, "fs", NULL) - 100.0) < 1e-9);
    assert_true(fabs(jnum(j, "seconds", NULL) - 10.0) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(j, "format")), "wfdb");
    json_decref(j);
    free(body);

    char *edf = edf_lead2(&len);
    http_send("POST", "/v1/datasets/lab/records", train_key, "application/edf", edf, len);
    j = expect_json(201, "EDF upload");
    assert_int_equal(jint(j, "index"), 1);
    assert_int_equal(jint(j, "n_leads"), 1);
    double edf_fs = jnum(j, "fs", NULL), edf_s = jnum(j, "seconds", NULL);
    assert_true(edf_fs > 0 && edf_s > 0);
    json_decref(j);

    char *csv = ptbxl_csv(&len);
    http_send("POST", "/v1/datasets/lab/records", train_key, "text/csv", csv, len);
    j = expect_json(201, "CSV upload");
    assert_int_equal(jint(j, "index"), 2);
    assert_int_equal(jint(j, "n_leads"), 3);
    assert_true(fabs(jnum(j, "fs", NULL) - 100.0) < 1e-6);
    json_decref(j);
    free(csv);

    size_t npy_len;
    char *npy = ptbxl_npy(&npy_len);
    http_send("POST", "/v1/datasets/lab/records?fs=100", train_key, "application/x-npy", npy,
              npy_len);
    j = expect_json(201, "npy upload");
    assert_int_equal(jint(j, "index"), 3);
    assert_int_equal(jint(j, "n_leads"), 12);
    json_decref(j);

    /* The JSON form: 2 leads at 250 Hz for 2 s. */
    {
        size_t cap = 64 * 1024, k = 0;
        char *jb = malloc(cap);
        k += (size_t)sprintf(jb, "{\"fs\":250,\"leads\":[\"I\",\"aVF\"],\"units\":\"uV\","
                                 "\"signal\":[");
        for (int l = 0; l < 2; l++) {
            k += (size_t)sprintf(jb + k, "%s[", l ? "," : "");
            for (int t = 0; t < 500; t++)
                k += (size_t)sprintf(jb + k, "%s%d", t ? "," : "", (t * 7 + l * 13) % 400 - 200);
            k += (size_t)sprintf(jb + k, "]");
        }
        k += (size_t)sprintf(jb + k, "]}");
        http_send("POST", "/v1/datasets/lab/records", train_key, "application/json", jb, k);
        j = expect_json(201, "JSON upload");
        assert_int_equal(jint(j, "index"), 4);
        assert_int_equal(jint(j, "n_samples"), 500);
        assert_true(fabs(jnum(j, "seconds", NULL) - 2.0) < 1e-9);
        json_decref(j);
        free(jb);
    }

    /* Larger than max_body_bytes (1 MiB) but within max_upload_bytes: accepted on this route. */
    body = multipart(wfdb, 2, (size_t)1500 * 1024, &len);
    assert_true(len > (1 << 20) && len < MAX_UPLOAD);
    http_send("POST", "/v1/datasets/lab/records", train_key, MP, body, len);
    j = expect_json(201, "1.5 MiB upload");
    assert_int_equal(jint(j, "index"), 5);
    json_decref(j);
    free(body);
    checks += 6;

    /* ---- stats ---- */
    http_do("GET", "/v1/datasets/lab", read_key, NULL, NULL);
    j = expect_json(200, "lab stats");
    assert_int_equal(jint(j, "n_records"), 6);
    json_t *st = json_object_get(j, "stats");
    assert_int_equal(jint(st, "records"), 6);
    double want_s = 10 + edf_s + 10 + 10 + 2 + 10;
    assert_true(fabs(jnum(st, "total_seconds", NULL) - want_s) < 1e-6);
    assert_true(fabs(jnum(st, "total_hours", NULL) - want_s / 3600) < 1e-9);
    assert_true(fabs(jnum(j, "seconds", NULL) - want_s) < 0.01); /* the 240 Hz store's count */
    json_t *fs = json_object_get(st, "sampling_rates");
    assert_int_equal(json_integer_value(json_object_get(fs, "100")), 4);
    assert_int_equal(json_integer_value(json_object_get(fs, "250")), 1);
    json_t *lc = json_object_get(st, "lead_coverage");
    assert_int_equal(json_integer_value(json_object_get(lc, "I")), 5);   /* all but EDF */
    assert_int_equal(json_integer_value(json_object_get(lc, "II")), 5);  /* all but JSON */
    assert_int_equal(json_integer_value(json_object_get(lc, "V1")), 4);  /* 12-lead + CSV */
    assert_int_equal(json_integer_value(json_object_get(lc, "aVF")), 4); /* 12-lead + JSON */
    assert_int_equal(json_integer_value(json_object_get(lc, "V6")), 3);
    json_t *fm = json_object_get(st, "formats");
    assert_int_equal(json_integer_value(json_object_get(fm, "wfdb")), 2);
    assert_int_equal(json_integer_value(json_object_get(fm, "edf")), 1);
    assert_int_equal(json_integer_value(json_object_get(fm, "csv")), 1);
    assert_int_equal(json_integer_value(json_object_get(fm, "npy")), 1);
    assert_int_equal(json_integer_value(json_object_get(fm, "json")), 1);
    json_decref(j);
    snprintf(ds_dir, sizeof ds_dir, "%s/datasets/lab", data);
    assert_int_equal(store_records(ds_dir), 6);
    checks += 2;
    http_do("GET", "/metrics", NULL, NULL, NULL);
    assert_int_equal(A.status, 200);
    if (!strstr(A.body, "ecgfm_datasets{kind=\"ecg\"} 2") ||
        !strstr(A.body, "ecgfm_dataset_records_uploaded_total{format=\"wfdb\"} 2"))
        fail_msg("dataset metrics missing:\n%s", A.body);

    /* ---- upload errors: each leaves the dataset as it was ---- */
    http_send("POST", "/v1/datasets/lab/records", train_key, "application/x-foo", "abc", 3);
    ts_expect(&A, 415, "unsupported_media_type");
    http_send("POST", "/v1/datasets/lab/records?format=xyz", train_key, NULL, "abc", 3);
    ts_expect(&A, 415, "unsupported_format");
    part odd[1] = {{"record.xyz", "abc", 3}};
    body = multipart(odd, 1, 0, &len);
    http_send("POST", "/v1/datasets/lab/records", train_key, MP, body, len);
    ts_expect(&A, 415, "unsupported_format");
    free(body);
    http_send("POST", "/v1/datasets/lab/records", train_key, "application/edf", edf, 300);
    ts_expect(&A, 422, "invalid_file"); /* truncated EDF */
    part cut[2] = {{"00001_lr.hea", hea, hl}, {"00001_lr.dat", dat, dl / 3}};
    body = multipart(cut, 2, 0, &len);
    http_send("POST", "/v1/datasets/lab/records", train_key, MP, body, len);
    ts_expect(&A, 422, "invalid_file"); /* truncated .dat */
    free(body);
    part only_dat[1] = {{"00001_lr.dat", dat, dl}};
    body = multipart(only_dat, 1, 0, &len);
    http_send("POST", "/v1/datasets/lab/records", train_key, MP, body, len);
    assert_int_equal(A.status, 400); /* a WFDB upload without its header */
    free(body);
    char corrupt_hea[256];
    snprintf(corrupt_hea, sizeof corrupt_hea, "00001_lr 12 100 banana\n");
    part bad_hea[2] = {{"00001_lr.hea", corrupt_hea, strlen(corrupt_hea)},
                       {"00001_lr.dat", dat, dl}};
    body = multipart(bad_hea, 2, 0, &len);
    http_send("POST", "/v1/datasets/lab/records", train_key, MP, body, len);
    ts_expect(&A, 422, "invalid_file");
    free(body);
    http_send("POST", "/v1/datasets/lab/records", train_key, "application/x-npy", npy, npy_len);
    ts_expect(&A, 422, "missing_fs");
    http_send("POST", "/v1/datasets/lab/records?fs=100", train_key, "application/x-npy", npy, 60);
    ts_expect(&A, 422, "invalid_file"); /* truncated npy */
    http_do("POST", "/v1/datasets/lab/records", train_key, "text/csv", "time,foo\n0,1\n0.1,2\n");
    assert_int_equal(A.status, 422); /* no standard lead */
    http_do("POST", "/v1/datasets/lab/records", train_key, "application/json",
            "{\"fs\":250,\"signal\":[[1,2,3]],\"leads\":[\"I\"],\"units\":\"furlongs\"}");
    assert_true(A.status == 422 || A.status == 400);
    http_do("POST", "/v1/datasets/lab/records", train_key, "application/json", "{\"fs\":");
    ts_expect(&A, 400, "invalid_json");
    http_do("POST", "/v1/datasets/nope/records", train_key, "text/csv", "I\n1\n");
    ts_expect(&A, 404, "not_found");
    /* Beyond max_upload_bytes: 413 naming the limit. */
    body = multipart(wfdb, 2, (size_t)MAX_UPLOAD, &len);
    http_send("POST", "/v1/datasets/lab/records", train_key, MP, body, len);
    ts_expect(&A, 413, "payload_too_large");
    char lim[32];
    snprintf(lim, sizeof lim, "%d", MAX_UPLOAD);
    assert_non_null(strstr(A.body, lim));
    free(body);
    /* Other routes keep max_body_bytes. */
    body = malloc((size_t)1200 * 1024);
    memset(body, ' ', (size_t)1200 * 1024);
    http_send("POST", "/v1/datasets", train_key, "application/json", body, (size_t)1200 * 1024);
    ts_expect(&A, 413, "payload_too_large");
    free(body);
    checks += 15;
    http_do("GET", "/v1/datasets/lab", read_key, NULL, NULL);
    j = expect_json(200, "lab after errors");
    assert_int_equal(jint(j, "n_records"), 6);
    json_decref(j);
    assert_int_equal(store_records(ds_dir), 6);
    char q[128];
    snprintf(q, sizeof q, "SELECT COUNT(*) FROM records WHERE dataset_id = %lld", lab_id);
    assert_int_equal(sql_count(q), 6);

    /* ---- an HDF5 file of many exams (CODE-15% layout) ---- */
    http_do("POST", "/v1/datasets", train_key, "application/json",
            "{\"name\":\"code15\",\"kind\":\"ecg\"}");
    assert_int_equal(A.status, 201);
    {
        size_t hlen;
        char *h5 = code15_h5(&hlen);
        http_send("POST", "/v1/datasets/code15/records", train_key, "application/x-hdf5", h5, hlen);
        j = expect_json(201, "HDF5 upload");
        assert_int_equal(jint(j, "first_index"), 0);
        assert_int_equal(jint(j, "found"), 3);
        assert_int_equal(jint(j, "imported"), 2);
        assert_int_equal(jint(j, "skipped"), 1);
        assert_non_null(strstr(json_string_value(json_object_get(j, "first_skip")), "12"));
        json_decref(j);
        part hp[1] = {{"exams_part0.hdf5", h5, hlen}};
        body = multipart(hp, 1, 0, &len);
        http_send("POST", "/v1/datasets/code15/records", train_key, MP, body, len);
        j = expect_json(201, "HDF5 multipart");
        assert_int_equal(jint(j, "first_index"), 2);
        assert_int_equal(jint(j, "imported"), 2);
        json_decref(j);
        free(body);
        memset(h5 + 512, 0x5a, hlen - 512); /* the signature, then garbage */
        http_send("POST", "/v1/datasets/code15/records", train_key, "application/x-hdf5", h5, hlen);
        ts_expect(&A, 422, "invalid_file");
        http_send("POST", "/v1/datasets/code15/records?format=hdf5", train_key, NULL, "HDF", 3);
        ts_expect(&A, 422, "invalid_file");
        free(h5);
        http_do("GET", "/v1/datasets/code15", read_key, NULL, NULL);
        j = expect_json(200, "code15 stats");
        assert_int_equal(jint(j, "n_records"), 4);
        st = json_object_get(j, "stats");
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(st, "sampling_rates"), "400")), 4);
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(st, "formats"), "hdf5")), 4);
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(st, "lead_coverage"), "V6")), 4);
        json_decref(j);
        snprintf(p1, sizeof p1, "%s/datasets/code15", data);
        assert_int_equal(store_records(p1), 4);
        DIR *cd = opendir(p1);
        assert_non_null(cd);
        for (struct dirent *e; (e = readdir(cd));)
            if (strncmp(e->d_name, ".upload-", 8) == 0) fail_msg("temp file left: %s", e->d_name);
        closedir(cd);
        http_do("DELETE", "/v1/datasets/code15", train_key, NULL, NULL);
        assert_int_equal(A.status, 200);
    }
    checks += 5;

    /* ---- uploads to one dataset from 6 connections at once: serialised, none lost ---- */
    http_do("POST", "/v1/datasets", train_key, "application/json",
            "{\"name\":\"par\",\"kind\":\"ecg\"}");
    assert_int_equal(A.status, 201);
    {
        enum { N_PAR = 6 };
        size_t plen;
        char *pbody = multipart(wfdb, 2, 0, &plen);
        pthread_t th[N_PAR];
        par_upload up[N_PAR];
        for (int i = 0; i < N_PAR; i++) {
            up[i] = (par_upload){pbody, plen, 0, -1};
            assert_int_equal(pthread_create(&th[i], NULL, par_upload_run, &up[i]), 0);
        }
        int seen_idx[N_PAR] = {0};
        for (int i = 0; i < N_PAR; i++) {
            pthread_join(th[i], NULL);
            assert_int_equal(up[i].status, 201);
            assert_true(up[i].index >= 0 && up[i].index < N_PAR);
            seen_idx[up[i].index]++;
        }
        for (int i = 0; i < N_PAR; i++)
            assert_int_equal(seen_idx[i], 1);
        free(pbody);
        snprintf(p1, sizeof p1, "%s/datasets/par", data);
        assert_int_equal(store_records(p1), N_PAR);
        http_do("GET", "/v1/datasets/par", read_key, NULL, NULL);
        j = expect_json(200, "par");
        assert_int_equal(jint(j, "n_records"), N_PAR);
        json_decref(j);
        http_do("DELETE", "/v1/datasets/par", train_key, NULL, NULL);
        assert_int_equal(A.status, 200);
        assert_false(exists(p1));
    }
    checks++;

    /* ---- a task dataset: GunPoint ---- */
    http_do("POST", "/v1/datasets", train_key, "application/json",
            "{\"name\":\"gunpoint\",\"kind\":\"task\"}");
    j = expect_json(201, "create task");
    long long gp_id = jint(j, "id");
    json_decref(j);
    http_send("POST", "/v1/datasets/gunpoint/records", train_key, "text/csv", "I\n1\n", 4);
    ts_expect(&A, 409, "wrong_kind");
    http_do("PUT", "/v1/datasets/lab/splits/train", train_key, "text/plain", "1 2 3\n");
    ts_expect(&A, 409, "wrong_kind");
    char *tr = repo_file("tests/data/ucr_uea/GunPoint/GunPoint_TRAIN.ts", &len);
    http_send("PUT", "/v1/datasets/gunpoint/splits/train", train_key, "application/octet-stream",
              tr, len);
    j = expect_json(200, "train split (sniffed .ts)");
    assert_int_equal(jint(j, "stats.n_series"), 50);
    assert_int_equal(jint(j, "stats.n_classes"), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "stats"), "format")),
                        "ts");
    json_decref(j);
    free(tr);
    size_t tel;
    char *te = repo_file("tests/data/ucr_uea/GunPoint/GunPoint_TEST.ts", &tel);
    part tp[1] = {{"GunPoint_TEST.ts", te, tel}};
    body = multipart(tp, 1, 0, &len);
    http_send("PUT", "/v1/datasets/gunpoint/splits/test", train_key, MP, body, len);
    j = expect_json(200, "test split (multipart .ts)");
    assert_int_equal(jint(j, "stats.n_series"), 150);
    json_decref(j);
    free(body);
    /* The train split again as UCR .tsv: replaces train.ts. */
    char *tsv = repo_file("tests/data/ucr_uea/GunPoint/GunPoint_TRAIN.tsv", &len);
    http_send("PUT", "/v1/datasets/gunpoint/splits/train?format=ucr", train_key, "text/plain", tsv,
              len);
    j = expect_json(200, "train split (UCR)");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "stats"), "file")),
                        "train.tsv");
    json_decref(j);
    snprintf(p1, sizeof p1, "%s/datasets/gunpoint/train.tsv", data);
    snprintf(p2, sizeof p2, "%s/datasets/gunpoint/train.ts", data);
    assert_true(exists(p1));
    assert_false(exists(p2));
    http_do("GET", "/v1/datasets/gunpoint", read_key, NULL, NULL);
    j = expect_json(200, "task stats");
    st = json_object_get(j, "stats");
    assert_int_equal(jint(st, "n_train"), 50);
    assert_int_equal(jint(st, "n_test"), 150);
    assert_int_equal(jint(st, "n_classes"), 2);
    assert_int_equal(jint(st, "dims"), 1);
    assert_int_equal(jint(st, "lengths.train.min"), 150);
    assert_int_equal(jint(st, "lengths.test.max"), 150);
    assert_int_equal(jint(j, "n_records"), 200);
    json_decref(j);
    /* Split errors: unknown split, unknown format, unreadable file, classes that do not align. */
    http_send("PUT", "/v1/datasets/gunpoint/splits/validation", train_key, "text/plain", tsv, len);
    ts_expect(&A, 404, "not_found");
    http_send("PUT", "/v1/datasets/gunpoint/splits/test?format=xlsx", train_key, "text/plain", tsv,
              len);
    ts_expect(&A, 415, "unsupported_format");
    part xl[1] = {{"test.xlsx", tsv, len}};
    body = multipart(xl, 1, 0, &len);
    http_send("PUT", "/v1/datasets/gunpoint/splits/test", train_key, MP, body, len);
    ts_expect(&A, 415, "unsupported_format");
    free(body);
    http_do("PUT", "/v1/datasets/gunpoint/splits/test", train_key, "text/plain",
            "@problemName x\n@data\n1,2,foo:1\n");
    ts_expect(&A, 422, "invalid_split");
    http_do("PUT", "/v1/datasets/gunpoint/splits/test?format=ucr", train_key, "text/plain",
            "1\tnot-a-number\n");
    ts_expect(&A, 422, "invalid_split");
    http_send("PUT", "/v1/datasets/gunpoint/splits/test", train_key, "text/plain", te, tel / 2);
    ts_expect(&A, 422, "invalid_split"); /* truncated .ts */
    char *coffee = repo_file("tests/data/ucr_uea/Coffee/Coffee_TRAIN.txt", &len);
    http_send("PUT", "/v1/datasets/gunpoint/splits/test?format=ucr", train_key, "text/plain",
              coffee, len);
    ts_expect(&A, 422, "invalid_split"); /* classes 0/1 against GunPoint's 1/2 */
    free(coffee);
    http_do("PUT", "/v1/datasets/gunpoint/splits/test", train_key, "text/plain", "");
    assert_int_equal(A.status, 400);
    checks += 14;
    http_do("GET", "/v1/datasets/gunpoint", read_key, NULL, NULL);
    j = expect_json(200, "task after errors");
    assert_int_equal(jint(j, "stats.n_test"), 150);
    json_decref(j);
    free(te);
    free(tsv);

    /* ---- list and paging ---- */
    for (int i = 0; i < 5; i++) {
        char b[128];
        snprintf(b, sizeof b, "{\"name\":\"p%d\",\"kind\":\"%s\"}", i, i % 2 ? "task" : "ecg");
        http_do("POST", "/v1/datasets", train_key, "application/json", b);
        assert_int_equal(A.status, 201);
    }
    long long cursor = 0, prev = 0;
    int seen = 0, pages = 0;
    for (;;) {
        char path[128];
        snprintf(path, sizeof path, "/v1/datasets?limit=3&cursor=%lld", cursor);
        http_do("GET", path, read_key, NULL, NULL);
        j = expect_json(200, "list page");
        json_t *arr = json_object_get(j, "datasets");
        assert_true(json_array_size(arr) <= 3);
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v) {
            long long id = json_integer_value(json_object_get(v, "id"));
            assert_true(id > prev);
            prev = id;
            seen++;
        }
        pages++;
        json_t *nc = json_object_get(j, "next_cursor");
        if (json_is_null(nc)) {
            json_decref(j);
            break;
        }
        cursor = json_integer_value(nc);
        json_decref(j);
        assert_true(pages < 10);
    }
    assert_int_equal(seen, 8); /* tiny, lab, gunpoint, p0..p4 */
    assert_int_equal(pages, 3);
    http_do("GET", "/v1/datasets?kind=task&limit=500", read_key, NULL, NULL);
    j = expect_json(200, "kind filter");
    assert_int_equal(json_array_size(json_object_get(j, "datasets")), 3); /* gunpoint, p1, p3 */
    json_decref(j);
    http_do("GET", "/v1/datasets?limit=0", read_key, NULL, NULL);
    ts_expect(&A, 422, "invalid_value");
    http_do("GET", "/v1/datasets?limit=501", read_key, NULL, NULL);
    ts_expect(&A, 422, "invalid_value");
    http_do("GET", "/v1/datasets?kind=images", read_key, NULL, NULL);
    ts_expect(&A, 422, "invalid_value");
    http_do("GET", "/v1/datasets?cursor=-1", read_key, NULL, NULL);
    ts_expect(&A, 422, "invalid_value");
    checks += 6;

    /* ---- delete: 409 while a job names the dataset, then both or neither ---- */
    http_do("POST", "/v1/jobs", train_key, "application/json",
            "{\"kind\":\"pretrain\",\"params\":{\"dataset\":\"tiny\",\"objective\":\"cpc\","
            "\"model\":\"small\",\"batch\":8,\"epochs\":50}}");
    j = expect_json(201, "job on tiny");
    long long job = jint(j, "id");
    json_decref(j);
    char path[128];
    snprintf(path, sizeof path, "/v1/datasets/%lld", tiny_id);
    http_do("DELETE", path, train_key, NULL, NULL);
    ts_expect(&A, 409, "dataset_in_use");
    snprintf(ds_dir, sizeof ds_dir, "%s/datasets/tiny", data);
    assert_int_equal(store_records(ds_dir), 40);
    snprintf(path, sizeof path, "/v1/jobs/%lld/cancel", job);
    http_do("POST", path, train_key, NULL, NULL);
    assert_int_equal(A.status, 200);
    long long t0 = ts_now_ms();
    for (;;) {
        snprintf(path, sizeof path, "/v1/jobs/%lld", job);
        http_do("GET", path, read_key, NULL, NULL);
        j = expect_json(200, "job state");
        int done = strcmp(json_string_value(json_object_get(j, "state")), "cancelled") == 0;
        json_decref(j);
        if (done) break;
        if (ts_now_ms() - t0 > 30000) fail_msg("job %lld not cancelled in 30 s", job);
        ts_sleep_ms(100);
    }
    http_do("DELETE", "/v1/datasets/tiny", train_key, NULL, NULL);
    j = expect_json(200, "delete tiny");
    assert_true(json_is_true(json_object_get(j, "deleted")));
    json_decref(j);
    assert_false(exists(ds_dir));
    http_do("GET", "/v1/datasets/tiny", read_key, NULL, NULL);
    ts_expect(&A, 404, "not_found");
    http_do("DELETE", "/v1/datasets/tiny", train_key, NULL, NULL);
    ts_expect(&A, 404, "not_found");
    snprintf(path, sizeof path, "/v1/datasets/%lld", lab_id);
    http_do("DELETE", path, train_key, NULL, NULL);
    assert_int_equal(A.status, 200);
    snprintf(path, sizeof path, "/v1/datasets/%lld", gp_id);
    http_do("DELETE", path, train_key, NULL, NULL);
    assert_int_equal(A.status, 200);
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "/v1/datasets/p%d", i);
        http_do("DELETE", path, train_key, NULL, NULL);
        assert_int_equal(A.status, 200);
    }
    checks += 5;
    /* No file, trash or row remains. */
    n_dirs = 0;
    dh = opendir(listing);
    for (struct dirent *e; (e = readdir(dh));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            fprintf(stderr, "left over: %s\n", e->d_name);
            n_dirs++;
        }
    closedir(dh);
    assert_int_equal(n_dirs, 0);
    assert_int_equal(sql_count("SELECT COUNT(*) FROM datasets"), 0);
    assert_int_equal(sql_count("SELECT COUNT(*) FROM records"), 0);

    /* ---- still up ---- */
    http_do("GET", "/healthz", NULL, NULL, NULL);
    assert_int_equal(A.status, 200);
    free(hea);
    free(dat);
    free(edf);
    free(npy);
    pid_t pid = server_pid;
    server_pid = 0;
    ts_stop(pid, SIGTERM, EXIT_TIMEOUT_MS, server_log);
    assert_int_equal(sql_count("SELECT COUNT(*) FROM pragma_integrity_check WHERE "
                               "integrity_check != 'ok'"),
                     0);
    fprintf(stderr, "test_datasets_http: %d status checks\n", checks);
}

/* ---- unit level: failed appends leave the store and the rows in step ---- */

static void test_append_failure_consistent(void **state) {
    (void)state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/unit", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    db *d = NULL;
    ecg_err err = {0};
    if (db_open_dir(&d, dir, 2, NULL, &err)) fail_msg("%s", err.msg);
    if (datasets_startup(d, dir, NULL, &err)) fail_msg("%s", err.msg);
    long long id = 0;
    assert_int_equal(datasets_create(d, dir, "u", DATASET_ECG, "", &id, &err), 0);
    assert_int_equal(datasets_create(d, dir, "u", DATASET_ECG, "", &id, &err), 409);
    assert_int_equal(datasets_create(d, dir, "../u", DATASET_ECG, "", &id, &err), 422);
    dataset_info ds;
    assert_int_equal(datasets_lookup(d, dir, "u", &ds, &err), 1);
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    dataset_info ds2;
    assert_int_equal(datasets_lookup(d, dir, ids, &ds2, &err), 1);
    assert_string_equal(ds2.name, "u");
    assert_int_equal(datasets_lookup(d, dir, "../u", &ds2, &err), 0);

    ecg_record r = {0};
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/tests/data/ecg/ptbxl/00001_lr.hea", repo);
    if (wfdb_read_record(&r, path, NULL, &err)) fail_msg("%s", err.msg);
    datasets_appended a;
    assert_int_equal(datasets_append_record(d, &ds, &r, "wfdb", "00001_lr", &a, &err), 0);
    assert_int_equal(a.idx, 0);

    /* counts: store records, records rows, dataset n_records */
    long long rows, nrec;
#define COUNTS()                                                                                   \
    do {                                                                                           \
        db_conn *c = db_reader_get(d);                                                             \
        sqlite3_stmt *s;                                                                           \
        sqlite3_prepare_v2(db_handle(c),                                                           \
                           "SELECT (SELECT COUNT(*) FROM records WHERE dataset_id = ?1), "         \
                           "n_records FROM datasets WHERE id = ?1",                                \
                           -1, &s, NULL);                                                          \
        sqlite3_bind_int64(s, 1, id);                                                              \
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);                                             \
        rows = sqlite3_column_int64(s, 0);                                                         \
        nrec = sqlite3_column_int64(s, 1);                                                         \
        sqlite3_finalize(s);                                                                       \
        db_reader_put(d, c);                                                                       \
    } while (0)
    COUNTS();
    assert_int_equal(rows, 1);
    assert_int_equal(nrec, 1);
    assert_int_equal(store_records(ds.dir), 1);

    /* 1. The row cannot be written (a trigger refuses it): the record is not published. */
    db_conn *w = db_writer_lock(d);
    assert_int_equal(sqlite3_exec(db_handle(w),
                                  "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.records "
                                  "BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    db_writer_unlock(d, w);
    assert_int_equal(datasets_append_record(d, &ds, &r, "wfdb", "x", &a, &err), 500);
    assert_non_null(strstr(err.msg, "injected"));
    COUNTS();
    assert_int_equal(rows, 1);
    assert_int_equal(nrec, 1);
    assert_int_equal(store_records(ds.dir), 1);
    w = db_writer_lock(d);
    assert_int_equal(sqlite3_exec(db_handle(w), "DROP TRIGGER refuse", NULL, NULL, NULL),
                     SQLITE_OK);
    db_writer_unlock(d, w);

    /* 2. Another writer holds the store: 409, nothing written. */
    store_writer *sw = NULL;
    if (store_writer_open(&sw, ds.dir, NULL, &err)) fail_msg("%s", err.msg);
    assert_int_equal(datasets_append_record(d, &ds, &r, "wfdb", "x", &a, &err), 409);
    store_writer_abort(sw);
    COUNTS();
    assert_int_equal(rows, 1);
    assert_int_equal(store_records(ds.dir), 1);

    /* 3. A record with no standard lead: 422, nothing written. */
    ecg_record bad = {0};
    assert_int_equal(record_alloc(&bad, 1, 100, &err), ECG_OK);
    bad.fs = 100;
    snprintf(bad.channels[0].name, sizeof bad.channels[0].name, "foo");
    bad.channels[0].lead = -1;
    assert_int_equal(datasets_append_record(d, &ds, &bad, "csv", "bad", &a, &err), 422);
    record_free(&bad);
    COUNTS();
    assert_int_equal(rows, 1);
    assert_int_equal(store_records(ds.dir), 1);

    /* 4. Appends work again, at the next index. */
    assert_int_equal(datasets_append_record(d, &ds, &r, "wfdb", "again", &a, &err), 0);
    assert_int_equal(a.idx, 1);
    COUNTS();
    assert_int_equal(rows, 2);
    assert_int_equal(nrec, 2);
    assert_int_equal(store_records(ds.dir), 2);

    /* 5. A record published without its row (a crash between the two): start-up indexes it. */
    if (store_writer_open(&sw, ds.dir, NULL, &err)) fail_msg("%s", err.msg);
    if (store_import_record(sw, &r, NULL, "orphan", &err)) fail_msg("%s", err.msg);
    if (store_writer_close(sw, &err)) fail_msg("%s", err.msg);
    assert_int_equal(store_records(ds.dir), 3);
    if (datasets_startup(d, dir, NULL, &err)) fail_msg("%s", err.msg);
    COUNTS();
    assert_int_equal(rows, 3);
    assert_int_equal(nrec, 3);

    /* 6. Delete refused while a queued job names it; then both row and files go. */
    w = db_writer_lock(d);
    assert_int_equal(sqlite3_exec(db_handle(w),
                                  "INSERT INTO jobs (kind, params, created_at, updated_at) VALUES "
                                  "('pretrain', '{\"dataset\":\"u\"}', 0, 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    db_writer_unlock(d, w);
    long long job = 0;
    assert_int_equal(datasets_delete(d, dir, id, &job, &err), 409);
    assert_true(job > 0);
    assert_true(exists(ds.dir));
    assert_int_equal(datasets_lookup(d, dir, "u", &ds2, &err), 1);
    assert_string_equal(ds2.state, "ready");
    w = db_writer_lock(d);
    sqlite3_exec(db_handle(w), "UPDATE jobs SET state = 'succeeded'", NULL, NULL, NULL);
    db_writer_unlock(d, w);
    /* The row cannot be deleted: the files come back and the dataset is ready again. */
    w = db_writer_lock(d);
    assert_int_equal(sqlite3_exec(db_handle(w),
                                  "CREATE TEMP TRIGGER keep BEFORE DELETE ON main.datasets "
                                  "BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    db_writer_unlock(d, w);
    assert_int_equal(datasets_delete(d, dir, id, &job, &err), 500);
    assert_true(exists(ds.dir));
    assert_int_equal(store_records(ds.dir), 3);
    assert_int_equal(datasets_lookup(d, dir, "u", &ds2, &err), 1);
    assert_string_equal(ds2.state, "ready");
    w = db_writer_lock(d);
    assert_int_equal(sqlite3_exec(db_handle(w), "DROP TRIGGER keep", NULL, NULL, NULL), SQLITE_OK);
    db_writer_unlock(d, w);
    assert_int_equal(datasets_delete(d, dir, id, &job, &err), 0);
    assert_false(exists(ds.dir));
    assert_int_equal(datasets_lookup(d, dir, "u", &ds2, &err), 0);

    /* 7. A delete a crash interrupted (state deleting, files still there) finishes at start-up;
     * leftover trash is removed. */
    assert_int_equal(datasets_create(d, dir, "v", DATASET_TASK, "", &id, &err), 0);
    w = db_writer_lock(d);
    sqlite3_exec(db_handle(w), "UPDATE datasets SET state = 'deleting' WHERE name = 'v'", NULL,
                 NULL, NULL);
    db_writer_unlock(d, w);
    /* Writes to a dataset being deleted are refused, and leave no transaction open behind. */
    dataset_info dv;
    assert_int_equal(datasets_lookup(d, dir, "v", &dv, &err), 1);
    json_t *sst = NULL;
    const char *ucr = "1\t0.1\t0.2\t0.3\n2\t0.3\t0.2\t0.1\n";
    assert_int_equal(datasets_put_split(d, &dv, "train", "ucr", ucr, strlen(ucr), &sst, &err), 409);
    assert_null(sst);
    long long id_w = 0;
    assert_int_equal(datasets_create(d, dir, "w", DATASET_ECG, "", &id_w, &err), 0);
    char trash[400];
    snprintf(trash, sizeof trash, "%s/datasets/.trash-99-old", dir);
    assert_int_equal(mkdir(trash, 0700), 0);
    if (datasets_startup(d, dir, NULL, &err)) fail_msg("%s", err.msg);
    assert_int_equal(datasets_lookup(d, dir, "v", &ds2, &err), 0);
    snprintf(path, sizeof path, "%s/datasets/v", dir);
    assert_false(exists(path));
    assert_false(exists(trash));
    record_free(&r);
    db_close(d);
#undef COUNTS
}

/* ---- server-side import: allowed roots and the import itself ---- */

static void test_import(void **state) {
    (void)state;
    char dir[300], root[PATH_MAX + 32], out[PATH_MAX], req[PATH_MAX + 64], link[400];
    snprintf(dir, sizeof dir, "%s/imp", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(root, sizeof root, "%s/tests/data/ecg", repo);
    const char *roots[] = {root};
    ecg_err err = {0};
    snprintf(req, sizeof req, "%s/ptbxl", root);
    assert_int_equal(datasets_resolve_import_path(roots, 1, req, out, sizeof out, &err), ECG_OK);
    assert_int_equal(datasets_resolve_import_path(roots, 0, req, out, sizeof out, &err),
                     ECG_EINVAL); /* no roots: disabled */
    assert_int_equal(datasets_resolve_import_path(roots, 1, "ptbxl", out, sizeof out, &err),
                     ECG_EINVAL); /* relative */
    snprintf(req, sizeof req, "%s/ptbxl/../../ucr_uea", root);
    assert_int_equal(datasets_resolve_import_path(roots, 1, req, out, sizeof out, &err),
                     ECG_EINVAL); /* .. leaves the root */
    snprintf(req, sizeof req, "%s/nope", root);
    assert_int_equal(datasets_resolve_import_path(roots, 1, req, out, sizeof out, &err),
                     ECG_ENOTFOUND);
    snprintf(link, sizeof link, "%s/escape", dir);
    assert_int_equal(symlink("/etc", link), 0);
    const char *roots2[] = {dir};
    assert_int_equal(datasets_resolve_import_path(roots2, 1, link, out, sizeof out, &err),
                     ECG_EINVAL);                 /* a symlink out of the root */
    snprintf(req, sizeof req, "%s-sibling", dir); /* a prefix of the root's name is not inside */
    assert_int_equal(mkdir(req, 0700), 0);
    assert_int_equal(datasets_resolve_import_path(roots2, 1, req, out, sizeof out, &err),
                     ECG_EINVAL);

    db *d = NULL;
    if (db_open_dir(&d, dir, 2, NULL, &err)) fail_msg("%s", err.msg);
    if (datasets_startup(d, dir, NULL, &err)) fail_msg("%s", err.msg);
    long long id = 0;
    assert_int_equal(datasets_create(d, dir, "imported", DATASET_ECG, "", &id, &err), 0);
    snprintf(req, sizeof req, "%s/ptbxl", root);
    assert_int_equal(datasets_resolve_import_path(roots, 1, req, out, sizeof out, &err), ECG_OK);
    atomic_int cancel = 1;
    json_t *sum = NULL;
    assert_int_equal(datasets_import(d, dir, id, "wfdb", out, NULL, NULL, &cancel, &sum, &err),
                     ECG_EINVAL);
    cancel = 0;
    assert_int_equal(datasets_import(d, dir, id, "wfdb", out, NULL, NULL, &cancel, &sum, &err),
                     ECG_OK);
    assert_int_equal(json_integer_value(json_object_get(sum, "imported")), 1);
    json_decref(sum);
    json_t *j = datasets_get_json(d, id, 1, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "ready");
    assert_int_equal(json_integer_value(json_object_get(j, "n_records")), 1);
    json_t *fm = json_object_get(json_object_get(j, "stats"), "formats");
    assert_int_equal(json_integer_value(json_object_get(fm, "wfdb")), 1);
    json_decref(j);
    assert_int_equal(datasets_import(d, dir, id, "zip", out, NULL, NULL, NULL, &sum, &err),
                     ECG_EINVAL);

    /* The core importers stop between batches when asked: nothing read after the flag. */
    char sdir[400];
    snprintf(sdir, sizeof sdir, "%s/stopped", dir);
    store_writer *w = NULL;
    if (store_writer_open(&w, sdir, NULL, &err)) fail_msg("%s", err.msg);
    store_import_opts o = {.stop = &cancel, .batch = 1};
    store_import_summary s;
    cancel = 1;
    assert_int_equal(store_import_wfdb_tree(w, root, &o, &s, &err), ECG_OK);
    assert_int_equal(s.stopped, 1);
    assert_int_equal(s.imported, 0);
    store_import_summary_free(&s);
    assert_int_equal(store_writer_close(w, &err), ECG_OK);
    db_close(d);
}

static int setup(void **state) {
    (void)state;
    if (ts_find_bin(bin, sizeof bin, "test_api_datasets")) return -1;
    if (!getcwd(repo, sizeof repo)) return -1;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ecgfm_dsapi_XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(data, sizeof data, "%s/data", tmpdir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    server_pid = 0;
    return ts_teardown_tmp(tmpdir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datasets_http),
        cmocka_unit_test(test_append_failure_consistent),
        cmocka_unit_test(test_import),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

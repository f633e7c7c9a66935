/* datasets.c — the datasets resource's state (see datasets.h, datasets_impl.h): rows in SQLite,
 * stores and split files under data_dir/datasets/<name>/, kept in step with each other. */
#include "server/datasets.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/json_common.h"
#include "core/data/arff.h"
#include "core/data/edf.h"
#include "core/data/hdf5_tracings.h"
#include "core/data/sktime_ts.h"
#include "core/data/store.h"
#include "core/data/taskfmt.h"
#include "core/data/ucr.h"
#include "server/cli_common.h"
#include "server/datasets_impl.h"
#include "server/metrics.h"

#define TRASH_PREFIX ".trash-"

/* One append, split upload or delete at a time in this process: the store allows one writer per
 * dataset, and these are short. Imports hold the store's own lock instead. */
static pthread_mutex_t ds_mu = PTHREAD_MUTEX_INITIALIZER;

/* Metrics: datasets by kind (a gauge refreshed after each change) and uploaded records. */
static void metrics_refresh(db *d) {
    static const char *const labels[] = {"kind", NULL};
    metrics_family *g = metrics_register(METRICS_GAUGE, "ecgfm_datasets",
                                         "Datasets in the database, by kind", labels, NULL, 0);
    long long n[2];
    ecg_err err = {0};
    if (datasets_count(d, n, &err)) return;
    metrics_gauge_set(g, (const char *const[]){"ecg"}, (double)n[0]);
    metrics_gauge_set(g, (const char *const[]){"task"}, (double)n[1]);
}

static void metrics_uploaded(const char *format) {
    static const char *const labels[] = {"format", NULL};
    metrics_family *c =
        metrics_register(METRICS_COUNTER, "ecgfm_dataset_records_uploaded_total",
                         "Records appended to ECG datasets by upload, by format", labels, NULL, 0);
    metrics_counter_add(c, (const char *const[]){format}, 1);
}

static long long now_s(void) {
    return (long long)time(NULL);
}

const char *datasets_kind_name(dataset_kind k) {
    return k == DATASET_TASK ? "task" : "ecg";
}

int datasets_name_valid(const char *name, char *why, size_t cap) {
    size_t n = name ? strlen(name) : 0;
    const char *w = NULL;
    int digits = 1;
    for (size_t i = 0; i < n && !w; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalnum(c) || c == '_' || c == '.' || c == '-'))
            w = "may only hold letters, digits, '_', '.' and '-'";
        if (!isdigit(c)) digits = 0;
    }
    if (n == 0)
        w = "must not be empty";
    else if (n > DATASETS_NAME_MAX)
        w = "is longer than 64 characters";
    else if (!w && name[0] == '.')
        w = "must not start with '.'";
    else if (!w && digits)
        w = "must not be all digits (those are dataset ids)";
    if (w && why) snprintf(why, cap, "%s", w);
    return w == NULL;
}

static int all_digits(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

/* ---- small file helpers ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* rm -rf path (links are removed, not followed). */
static int rm_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static const char *const SPLIT_EXTS[] = {"ts", "arff", "tsv", "txt"};
#define N_SPLIT_EXTS 4

/* dir/<split>.<ext> of the first extension present, "" when none. */
static void find_split(const char *dir, const char *split, char *out, size_t cap) {
    out[0] = '\0';
    for (int i = 0; i < N_SPLIT_EXTS; i++) {
        char p[1400];
        snprintf(p, sizeof p, "%s/%s.%s", dir, split, SPLIT_EXTS[i]);
        if (is_file(p)) {
            snprintf(out, cap, "%s", p);
            return;
        }
    }
}

/* ---- lookup ---- */

static const char SQL_BY_ID[] =
    "SELECT id, name, kind, state, n_records FROM datasets WHERE id = ?1";
static const char SQL_BY_NAME[] =
    "SELECT id, name, kind, state, n_records FROM datasets WHERE name = ?1";

int datasets_lookup(db *d, const char *data_dir, const char *id_or_name, dataset_info *out,
                    ecg_err *err) {
    memset(out, 0, sizeof *out);
    if (!id_or_name || !*id_or_name) return 0;
    int numeric = all_digits(id_or_name) && strlen(id_or_name) < 19;
    if (!numeric && !datasets_name_valid(id_or_name, NULL, 0)) return 0;
    db_conn *c = db_reader_get(d);
    int found = 0;
    for (int pass = numeric ? 0 : 1; pass < 2 && !found; pass++) {
        sqlite3_stmt *st = db_stmt(c, pass == 0 ? SQL_BY_ID : SQL_BY_NAME, err);
        if (!st) {
            found = -1;
            break;
        }
        if (pass == 0)
            sqlite3_bind_int64(st, 1, strtoll(id_or_name, NULL, 10));
        else
            sqlite3_bind_text(st, 1, id_or_name, -1, SQLITE_TRANSIENT);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            out->id = sqlite3_column_int64(st, 0);
            snprintf(out->name, sizeof out->name, "%s", (const char *)sqlite3_column_text(st, 1));
            const char *k = (const char *)sqlite3_column_text(st, 2);
            out->kind = k && strcmp(k, "task") == 0 ? DATASET_TASK : DATASET_ECG;
            snprintf(out->state, sizeof out->state, "%s", (const char *)sqlite3_column_text(st, 3));
            out->n_records = sqlite3_column_int64(st, 4);
            found = 1;
        } else if (r != SQLITE_DONE) {
            db_fail(c, err, "looking up a dataset");
            found = -1;
        }
        sqlite3_reset(st);
    }
    db_reader_put(d, c);
    if (found == 1) {
        snprintf(out->dir, sizeof out->dir, "%s/datasets/%s", data_dir, out->name);
        if (out->kind == DATASET_TASK) {
            find_split(out->dir, "train", out->train, sizeof out->train);
            find_split(out->dir, "test", out->test, sizeof out->test);
        }
    }
    return found;
}

/* ---- rows from a store ---- */

static const char SQL_REC_INSERT[] =
    "INSERT INTO records (dataset_id, idx, source_name, format, fs, n_samples, n_leads, "
    "lead_mask, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_REC_MAXIDX[] =
    "SELECT COALESCE(MAX(idx) + 1, 0), COUNT(*) FROM records WHERE dataset_id = ?1";
static const char SQL_REC_TRIM[] = "DELETE FROM records WHERE dataset_id = ?1 AND idx >= ?2";
static const char SQL_DS_TOTALS[] =
    "UPDATE datasets SET n_records = (SELECT COUNT(*) FROM records WHERE dataset_id = ?1), "
    "seconds = (SELECT COALESCE(SUM(n_samples / fs), 0) FROM records WHERE dataset_id = ?1) "
    "WHERE id = ?1";

static int popcount12(unsigned m) {
    int n = 0;
    for (int k = 0; k < ECG_N_LEADS; k++)
        n += (m >> k) & 1;
    return n;
}

static ecg_code step_done(db_conn *c, sqlite3_stmt *st, const char *what, ecg_err *err) {
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) return db_fail(c, err, what);
    return ECG_OK;
}

/* Inside a writer transaction: records rows for store records [have, count) of dataset id, from
 * the store's index (the source's rate; its sample count from the 240 Hz count), then rows past
 * the store's end removed and the dataset's totals recomputed. */
static ecg_code sync_rows(db_conn *c, long long id, const char *dir, const char *format,
                          ecg_err *err) {
    store_dataset *ds = NULL;
    ecg_code rc = store_open(&ds, dir, STORE_OPEN_NO_RECORD_CRC, err);
    if (rc) return rc;
    size_t count = store_count(ds);
    sqlite3_stmt *st = db_stmt(c, SQL_REC_MAXIDX, err);
    if (!st) {
        store_close(ds);
        return err->code;
    }
    sqlite3_bind_int64(st, 1, id);
    long long have = 0;
    if (sqlite3_step(st) == SQLITE_ROW) have = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    long long t = now_s();
    for (size_t i = (size_t)have; i < count && !rc; i++) {
        store_record_info info;
        rc = store_info(ds, i, &info, err);
        if (rc) break;
        double fs = info.orig_fs > 0 ? info.orig_fs : STORE_FS;
        unsigned mask = info.lead_mask;
        if (!popcount12(mask)) mask = 1; /* a store record always has a lead; be safe */
        char src[STORE_MAX_SOURCE_ID + 1];
        snprintf(src, sizeof src, "%.*s", (int)info.source_id_len,
                 info.source_id ? info.source_id : "");
        st = db_stmt(c, SQL_REC_INSERT, err);
        if (!st) {
            rc = err->code;
            break;
        }
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (long long)i);
        sqlite3_bind_text(st, 3, src, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, format, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 5, fs);
        sqlite3_bind_int64(st, 6, llround((double)info.n_samples * fs / STORE_FS));
        sqlite3_bind_int(st, 7, popcount12(mask));
        sqlite3_bind_int64(st, 8, mask);
        sqlite3_bind_int64(st, 9, t);
        rc = step_done(c, st, "inserting a records row", err);
    }
    store_close(ds);
    if (rc) return rc;
    st = db_stmt(c, SQL_REC_TRIM, err);
    if (!st) return err->code;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, (long long)count);
    rc = step_done(c, st, "trimming records rows", err);
    if (rc) return rc;
    st = db_stmt(c, SQL_DS_TOTALS, err);
    if (!st) return err->code;
    sqlite3_bind_int64(st, 1, id);
    return step_done(c, st, "updating dataset totals", err);
}

/* ---- task splits ---- */

const char *datasets_split_ext(const char *format) {
    if (!strcmp(format, "ts")) return "ts";
    if (!strcmp(format, "arff")) return "arff";
    return "tsv";
}

const char *datasets_split_format_of_name(const char *name) {
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!dot) return NULL;
    if (!strcasecmp(dot, ".ts")) return "ts";
    if (!strcasecmp(dot, ".arff")) return "arff";
    if (!strcasecmp(dot, ".tsv") || !strcasecmp(dot, ".txt") || !strcasecmp(dot, ".csv"))
        return "ucr";
    return NULL;
}

const char *datasets_split_sniff(const char *buf, size_t len) {
    size_t i = 0;
    while (i < len) {
        while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
            i++;
        if (i < len && (buf[i] == '%' || buf[i] == '#')) { /* comment line */
            while (i < len && buf[i] != '\n')
                i++;
            continue;
        }
        break;
    }
    if (i < len && buf[i] == '@') {
        static const char *const arff_kw[] = {"@relation", "@attribute"};
        for (int k = 0; k < 2; k++) {
            size_t n = strlen(arff_kw[k]);
            if (len - i >= n && strncasecmp(buf + i, arff_kw[k], n) == 0) return "arff";
        }
        return "ts";
    }
    return "ucr";
}

ecg_code datasets_parse_split(task_split *t, const char *format, const char *buf, size_t len,
                              const char *src, ecg_err *err) {
    memset(t, 0, sizeof *t);
    if (!strcmp(format, "ts")) return ts_parse_buffer(t, buf, len, src, NULL, err);
    if (!strcmp(format, "arff")) return arff_parse_buffer(t, buf, len, src, NULL, err);
    return ucr_parse_buffer(t, buf, len, src, NULL, err);
}

static const char *format_of_split_path(const char *path) {
    const char *f = datasets_split_format_of_name(path);
    return f ? f : "ucr";
}

/* The stats of one split: file, format, n_series, n_classes, class_names, class_counts, dims,
 * min_length, max_length. */
static json_t *split_stats(const task_split *t, const char *file, const char *format) {
    size_t lo = 0, hi = 0;
    for (int i = 0; i < t->n_series; i++) {
        if (i == 0 || t->length[i] < lo) lo = t->length[i];
        if (t->length[i] > hi) hi = t->length[i];
    }
    json_t *names = json_array(), *counts = json_object();
    for (int k = 0; k < t->n_classes; k++) {
        int n = 0;
        for (int i = 0; i < t->n_series; i++)
            n += t->label[i] == k;
        json_array_append_new(names, json_string(t->class_names[k]));
        json_object_set_new(counts, t->class_names[k], json_integer(n));
    }
    return json_pack("{s:s, s:s, s:i, s:i, s:o, s:o, s:i, s:I, s:I}", "file", file, "format",
                     format, "n_series", t->n_series, "n_classes", t->n_classes, "class_names",
                     names, "class_counts", counts, "dims", t->n_dims, "min_length", (json_int_t)lo,
                     "max_length", (json_int_t)hi);
}

static const char *base_of(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* meta.splits for a task directory, read from its split files; *n the series in them. */
static ecg_code task_meta_from_files(const char *dir, json_t *splits, long long *n, ecg_err *err) {
    *n = 0;
    char train_p[1400], test_p[1400];
    find_split(dir, "train", train_p, sizeof train_p);
    find_split(dir, "test", test_p, sizeof test_p);
    task_split train = {0}, test = {0};
    ecg_code rc = ECG_OK;
    if (train_p[0]) rc = cli_read_task(train_p, &train, err);
    if (!rc && test_p[0]) rc = cli_read_task(test_p, &test, err);
    if (!rc && train_p[0] && test_p[0]) rc = task_split_align_classes(&test, &train, err);
    if (!rc && train_p[0]) {
        json_object_set_new(splits, "train",
                            split_stats(&train, base_of(train_p), format_of_split_path(train_p)));
        *n += train.n_series;
    }
    if (!rc && test_p[0]) {
        json_object_set_new(splits, "test",
                            split_stats(&test, base_of(test_p), format_of_split_path(test_p)));
        *n += test.n_series;
    }
    task_split_free(&train);
    task_split_free(&test);
    return rc;
}

/* ---- start-up ---- */

static const char SQL_INSERT_DS[] =
    "INSERT INTO datasets (name, kind, state, path, n_records, seconds, meta, created_at) "
    "VALUES (?1, ?2, 'ready', ?3, ?4, 0, ?5, ?6)";
static const char SQL_DELETING[] = "SELECT id, name FROM datasets WHERE state = 'deleting'";
static const char SQL_DELETE_ROW[] = "DELETE FROM datasets WHERE id = ?1";
static const char SQL_ECG_ROWS[] = "SELECT id, name FROM datasets WHERE kind = 'ecg'";
static const char SQL_IMPORTING_READY[] =
    "UPDATE datasets SET state = 'ready' WHERE state = 'importing'";

/* Insert a row for an existing directory (writer transaction open); *id the new row's. */
static ecg_code insert_row(db_conn *c, const char *name, dataset_kind kind, long long n,
                           const char *meta, long long *id, ecg_err *err) {
    sqlite3_stmt *st = db_stmt(c, SQL_INSERT_DS, err);
    if (!st) return err->code;
    char path[DATASETS_NAME_MAX + 16];
    snprintf(path, sizeof path, "datasets/%s", name);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, datasets_kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, n);
    sqlite3_bind_text(st, 5, meta, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, now_s());
    ecg_code rc = step_done(c, st, "inserting a dataset row", err);
    if (!rc && id) *id = sqlite3_last_insert_rowid(db_handle(c));
    return rc;
}

static int row_exists(db_conn *c, const char *name) {
    ecg_err e = {0};
    sqlite3_stmt *st = db_stmt(c, SQL_BY_NAME, &e);
    if (!st) return 1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_ROW;
}

/* Adopt data_dir/datasets/name (writer transaction open). 1 adopted, 0 not a dataset. */
static int adopt_dir(db_conn *c, const char *root, const char *name, ecg_err *err) {
    char dir[1400], p[1500];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    snprintf(p, sizeof p, "%s/%s", dir, STORE_MANIFEST);
    if (is_file(p)) {
        long long id = 0;
        if (insert_row(c, name, DATASET_ECG, 0, "{}", &id, err)) return -1;
        if (sync_rows(c, id, dir, "store", err)) return -1;
        return 1;
    }
    char tr[1600], te[1600];
    find_split(dir, "train", tr, sizeof tr);
    find_split(dir, "test", te, sizeof te);
    if (!tr[0] && !te[0]) return 0;
    json_t *splits = json_object();
    long long n = 0;
    ecg_err perr = {0};
    if (task_meta_from_files(dir, splits, &n, &perr))
        fprintf(stderr,
                "ecgfm: datasets/%s: split files cannot be read (%s); adopted without "
                "stats\n",
                name, perr.msg);
    json_t *meta = json_pack("{s:o}", "splits", splits);
    char *text = json_dumps(meta, JSON_COMPACT);
    json_decref(meta);
    ecg_code rc = text ? insert_row(c, name, DATASET_TASK, n, text, NULL, err)
                       : err_set(err, ECG_ENOMEM, "out of memory");
    free(text);
    return rc ? -1 : 1;
}

ecg_code datasets_startup(db *d, const char *data_dir, int *adopted, ecg_err *err) {
    if (adopted) *adopted = 0;
    char root[1100];
    snprintf(root, sizeof root, "%s/datasets", data_dir);
    if (mkdir(root, 0750) != 0 && errno != EEXIST)
        return err_set(err, ECG_EIO, "cannot create %s: %s", root, strerror(errno));
    pthread_mutex_lock(&ds_mu);
    db_conn *c = db_writer_lock(d);
    ecg_code rc = db_begin(c, err);
    /* 1. Deletes that committed their intent (state "deleting") are finished. */
    typedef struct {
        long long id;
        char name[DATASETS_NAME_MAX + 1];
    } pending;
    pending del[64];
    int n_del = 0;
    sqlite3_stmt *st = rc ? NULL : db_stmt(c, SQL_DELETING, err);
    if (!rc && !st) rc = err->code;
    while (st && n_del < 64 && sqlite3_step(st) == SQLITE_ROW) {
        del[n_del].id = sqlite3_column_int64(st, 0);
        snprintf(del[n_del].name, sizeof del[n_del].name, "%s", sqlite3_column_text(st, 1));
        n_del++;
    }
    if (st) sqlite3_reset(st);
    for (int i = 0; i < n_del && !rc; i++) {
        char dir[1300], trash[1400];
        snprintf(dir, sizeof dir, "%s/%s", root, del[i].name);
        snprintf(trash, sizeof trash, "%s/" TRASH_PREFIX "%lld-%s", root, del[i].id, del[i].name);
        if (is_dir(dir) && rename(dir, trash) != 0)
            rc = err_set(err, ECG_EIO, "cannot move %s aside: %s", dir, strerror(errno));
        st = rc ? NULL : db_stmt(c, SQL_DELETE_ROW, err);
        if (!rc && !st) rc = err->code;
        if (st) {
            sqlite3_bind_int64(st, 1, del[i].id);
            rc = step_done(c, st, "deleting a dataset row", err);
        }
    }
    /* 2. Imports a stop interrupted are over: what they published is indexed below. */
    st = rc ? NULL : db_stmt(c, SQL_IMPORTING_READY, err);
    if (!rc && !st) rc = err->code;
    if (st) rc = step_done(c, st, "resetting importing datasets", err);
    if (!rc)
        rc = db_commit(c, err);
    else
        db_rollback(c);
    /* 3. Leftover trash; 4. directories without a row. */
    DIR *dh = rc ? NULL : opendir(root);
    if (!rc && !dh) rc = err_set(err, ECG_EIO, "cannot read %s: %s", root, strerror(errno));
    struct dirent *e;
    while (dh && !rc && (e = readdir(dh))) {
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", root, e->d_name);
        if (strncmp(e->d_name, TRASH_PREFIX, strlen(TRASH_PREFIX)) == 0) {
            if (rm_tree(p) != 0)
                fprintf(stderr, "ecgfm: cannot remove %s: %s\n", p, strerror(errno));
            continue;
        }
        if (!datasets_name_valid(e->d_name, NULL, 0) || !is_dir(p) || row_exists(c, e->d_name))
            continue;
        rc = db_begin(c, err);
        int a = rc ? -1 : adopt_dir(c, root, e->d_name, err);
        if (a < 0) {
            if (!rc) db_rollback(c);
            fprintf(stderr, "ecgfm: datasets/%s not adopted: %s\n", e->d_name, err->msg);
            rc = ECG_OK; /* one unreadable directory does not stop the service */
            continue;
        }
        rc = db_commit(c, err);
        if (!rc && a > 0 && adopted) (*adopted)++;
    }
    if (dh) closedir(dh);
    /* 5. Each ECG dataset's rows in line with its store. */
    enum { MAX_ECG = 4096 };
    long long *ids = calloc(MAX_ECG, sizeof *ids);
    char(*ecg_names)[DATASETS_NAME_MAX + 1] = calloc(MAX_ECG, sizeof *ecg_names);
    int n_ids = 0;
    st = rc || !ids || !ecg_names ? NULL : db_stmt(c, SQL_ECG_ROWS, err);
    while (st && n_ids < MAX_ECG && sqlite3_step(st) == SQLITE_ROW) {
        ids[n_ids] = sqlite3_column_int64(st, 0);
        snprintf(ecg_names[n_ids], sizeof ecg_names[n_ids], "%s", sqlite3_column_text(st, 1));
        n_ids++;
    }
    if (st) sqlite3_reset(st);
    for (int i = 0; i < n_ids && !rc; i++) {
        char dir[1300];
        snprintf(dir, sizeof dir, "%s/%s", root, ecg_names[i]);
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", dir, STORE_MANIFEST);
        if (!is_file(p)) continue;
        ecg_err e2 = {0};
        if (db_begin(c, &e2)) continue;
        if (sync_rows(c, ids[i], dir, "store", &e2)) {
            db_rollback(c);
            fprintf(stderr, "ecgfm: datasets/%s: records not indexed: %s\n", ecg_names[i], e2.msg);
            continue;
        }
        if (db_commit(c, &e2)) fprintf(stderr, "ecgfm: datasets/%s: %s\n", ecg_names[i], e2.msg);
    }
    free(ecg_names);
    free(ids);
    db_writer_unlock(d, c);
    pthread_mutex_unlock(&ds_mu);
    if (!rc) metrics_refresh(d);
    for (int i = 0; i < n_del && !rc; i++) {
        char trash[1400];
        snprintf(trash, sizeof trash, "%s/" TRASH_PREFIX "%lld-%s", root, del[i].id, del[i].name);
        rm_tree(trash);
    }
    return rc;
}

/* ---- server-side import ---- */

ecg_code datasets_resolve_import_path(const char *const *roots, int n_roots, const char *requested,
                                      char *out, size_t cap, ecg_err *err) {
    if (n_roots <= 0)
        return err_set(err, ECG_EINVAL,
                       "server-side import is disabled (the server has no import_roots)");
    if (!requested || requested[0] != '/')
        return err_set(err, ECG_EINVAL, "the import path must be absolute");
    char real[PATH_MAX];
    if (!realpath(requested, real))
        return err_set(err, errno == ENOENT ? ECG_ENOTFOUND : ECG_EINVAL, "%s: %s", requested,
                       strerror(errno));
    for (int i = 0; i < n_roots; i++) {
        char rr[PATH_MAX];
        if (!roots[i] || !realpath(roots[i], rr)) continue;
        size_t n = strlen(rr);
        while (n > 1 && rr[n - 1] == '/')
            rr[--n] = '\0';
        int inside = strncmp(real, rr, n) == 0 && (real[n] == '\0' || real[n] == '/' || n == 1);
        if (!inside) continue;
        if (strlen(real) >= cap) return err_set(err, ECG_EINVAL, "the import path is too long");
        snprintf(out, cap, "%s", real);
        return ECG_OK;
    }
    return err_set(err, ECG_EINVAL, "%s is outside every allowed import root", requested);
}

static const char SQL_SET_STATE[] = "UPDATE datasets SET state = ?2 WHERE id = ?1";
static const char SQL_ID_INFO[] = "SELECT name, kind, state FROM datasets WHERE id = ?1";

static ecg_code set_state(db *d, long long id, const char *state, const char *only_from,
                          ecg_err *err) {
    db_conn *c = db_writer_lock(d);
    ecg_code rc = db_begin(c, err);
    sqlite3_stmt *st = rc ? NULL : db_stmt(c, SQL_ID_INFO, err);
    if (!rc && !st) rc = err->code;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        int r = sqlite3_step(st);
        if (r != SQLITE_ROW)
            rc = err_set(err, ECG_ENOTFOUND, "no dataset %lld", id);
        else if (only_from && strcmp((const char *)sqlite3_column_text(st, 2), only_from) != 0)
            rc = err_set(err, ECG_EINVAL, "dataset %lld is %s", id,
                         (const char *)sqlite3_column_text(st, 2));
        else if (strcmp((const char *)sqlite3_column_text(st, 1), "ecg") != 0)
            rc = err_set(err, ECG_EINVAL, "dataset %lld is a task dataset, not ECG", id);
        sqlite3_reset(st);
    }
    st = rc ? NULL : db_stmt(c, SQL_SET_STATE, err);
    if (!rc && !st) rc = err->code;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
        rc = step_done(c, st, "setting a dataset's state", err);
    }
    if (!rc)
        rc = db_commit(c, err);
    else
        db_rollback(c);
    db_writer_unlock(d, c);
    return rc;
}

typedef struct {
    datasets_progress_fn fn;
    void *ctx;
} import_progress;

static void on_import_progress(void *ctx, size_t done, size_t total, size_t skipped) {
    import_progress *p = ctx;
    if (p->fn) p->fn(p->ctx, done, total, skipped);
}

ecg_code datasets_import(db *d, const char *data_dir, long long dataset_id, const char *format,
                         const char *abs_path, datasets_progress_fn progress, void *ctx,
                         const atomic_int *cancel, json_t **summary, ecg_err *err) {
    *summary = NULL;
    if (strcmp(format, "wfdb") && strcmp(format, "edf") && strcmp(format, "hdf5"))
        return err_set(err, ECG_EINVAL, "import format must be wfdb, edf or hdf5, not \"%s\"",
                       format);
    char id_s[32];
    snprintf(id_s, sizeof id_s, "%lld", dataset_id);
    dataset_info info;
    int f = datasets_lookup(d, data_dir, id_s, &info, err);
    if (f < 0) return err->code;
    if (f == 0) return err_set(err, ECG_ENOTFOUND, "no dataset %lld", dataset_id);
    if (cancel && atomic_load(cancel))
        return err_set(err, ECG_EINVAL, "the import was cancelled before it started");
    ecg_code rc = set_state(d, dataset_id, "importing", "ready", err);
    if (rc) return rc;
    store_writer *w = NULL;
    rc = store_writer_open(&w, info.dir, NULL, err);
    store_import_summary sum;
    memset(&sum, 0, sizeof sum);
    int ran = 0;
    if (!rc) {
        import_progress ip = {progress, ctx};
        store_import_opts opt = {0};
        opt.progress = on_import_progress;
        opt.progress_ctx = &ip;
        opt.stop = cancel; /* checked between batches of records */
        ran = 1;
        if (!strcmp(format, "wfdb"))
            rc = store_import_wfdb_tree(w, abs_path, &opt, &sum, err);
        else if (!strcmp(format, "edf"))
            rc = store_import_edf_tree(w, abs_path, &opt, &sum, err);
        else
            rc = store_import_hdf5(w, abs_path, NULL, &opt, &sum, err);
        ecg_err cerr = {0};
        if (rc)
            store_writer_abort(w);
        else if (store_writer_close(w, &cerr) && !rc)
            rc = err_set(err, cerr.code, "%s", cerr.msg);
    }
    /* What was published is indexed, whatever happened. */
    pthread_mutex_lock(&ds_mu);
    db_conn *c = db_writer_lock(d);
    ecg_err serr = {0};
    ecg_code src = db_begin(c, &serr);
    if (!src) src = sync_rows(c, dataset_id, info.dir, format, &serr);
    sqlite3_stmt *st = src ? NULL : db_stmt(c, SQL_SET_STATE, &serr);
    if (st) {
        sqlite3_bind_int64(st, 1, dataset_id);
        sqlite3_bind_text(st, 2, "ready", -1, SQLITE_STATIC);
        src = step_done(c, st, "setting a dataset's state", &serr);
    } else if (!src) {
        src = serr.code;
    }
    if (!src)
        src = db_commit(c, &serr);
    else
        db_rollback(c);
    db_writer_unlock(d, c);
    pthread_mutex_unlock(&ds_mu);
    if (src) set_state(d, dataset_id, "ready", NULL, &serr);
    if (!rc && src) rc = err_set(err, serr.code, "indexing the imported records: %s", serr.msg);
    if (ran) {
        json_t *skips = json_array();
        for (size_t i = 0; i < sum.n_skips && i < 1000; i++)
            json_array_append_new(skips, json_pack("{s:s, s:s}", "path", sum.skips[i].path,
                                                   "reason", sum.skips[i].reason));
        *summary = json_pack("{s:I, s:I, s:I, s:o, s:b}", "found", (json_int_t)sum.found,
                             "imported", (json_int_t)sum.imported, "skipped",
                             (json_int_t)sum.skipped, "skips", skips, "cancelled", sum.stopped);
        store_import_summary_free(&sum);
    }
    return rc;
}

/* ---- create ---- */

static const char SQL_INSERT_NEW[] =
    "INSERT INTO datasets (name, kind, state, path, meta, created_at) "
    "VALUES (?1, ?2, 'ready', ?3, ?4, ?5)";

int datasets_create(db *d, const char *data_dir, const char *name, dataset_kind kind,
                    const char *description, long long *id, ecg_err *err) {
    char why[128];
    if (!datasets_name_valid(name, why, sizeof why)) {
        err_set(err, ECG_EINVAL, "dataset name \"%.80s\" %s", name, why);
        return 422;
    }
    json_t *meta = json_object();
    if (description && *description)
        json_object_set_new(meta, "description", json_string(description));
    char *meta_text = json_dumps(meta, JSON_COMPACT);
    json_decref(meta);
    if (!meta_text) {
        err_set(err, ECG_ENOMEM, "out of memory");
        return 500;
    }
    char root[1100], dir[1200], path[DATASETS_NAME_MAX + 16];
    snprintf(root, sizeof root, "%s/datasets", data_dir);
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    snprintf(path, sizeof path, "datasets/%s", name);
    int status = 0;
    pthread_mutex_lock(&ds_mu);
    db_conn *c = db_writer_lock(d);
    ecg_code rc = db_begin(c, err);
    if (!rc && row_exists(c, name)) {
        err_set(err, ECG_EINVAL, "a dataset named \"%s\" exists", name);
        status = 409;
    }
    sqlite3_stmt *st = rc || status ? NULL : db_stmt(c, SQL_INSERT_NEW, err);
    if (!rc && !status && !st) rc = err->code;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, datasets_kind_name(kind), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, meta_text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 5, now_s());
        rc = step_done(c, st, "inserting a dataset row", err);
        if (!rc) *id = sqlite3_last_insert_rowid(db_handle(c));
    }
    int made = 0;
    if (!rc && !status) {
        mkdir(root, 0750);
        if (mkdir(dir, 0750) != 0) {
            if (errno == EEXIST) {
                err_set(err, ECG_EINVAL,
                        "datasets/%s exists on disk without a row (restart the server to adopt "
                        "it, or pick another name)",
                        name);
                status = 409;
            } else {
                rc = err_set(err, ECG_EIO, "cannot create %s: %s", path, strerror(errno));
            }
        } else {
            made = 1;
        }
    }
    if (!rc && !status && kind == DATASET_ECG) {
        store_writer *w = NULL; /* an empty store: MANIFEST with no shards */
        rc = store_writer_open(&w, dir, NULL, err);
        if (!rc) rc = store_writer_close(w, err);
    }
    if (!rc && !status) {
        fsync_dir(root);
        rc = db_commit(c, err);
    } else {
        db_rollback(c);
    }
    if ((rc || status) && made) rm_tree(dir);
    db_writer_unlock(d, c);
    pthread_mutex_unlock(&ds_mu);
    free(meta_text);
    if (status) return status;
    if (!rc) metrics_refresh(d);
    return rc ? 500 : 0;
}

/* ---- reading ---- */

static const char SQL_GET[] = "SELECT id, name, kind, state, path, n_records, seconds, meta, "
                              "created_at FROM datasets WHERE id = ?1";
static const char SQL_LIST_ALL[] =
    "SELECT id, name, kind, state, path, n_records, seconds, meta, created_at FROM datasets "
    "WHERE id > ?1 ORDER BY id LIMIT ?2";
static const char SQL_LIST_KIND[] =
    "SELECT id, name, kind, state, path, n_records, seconds, meta, created_at FROM datasets "
    "WHERE id > ?1 AND kind = ?3 ORDER BY id LIMIT ?2";
static const char SQL_STATS_FS[] = "SELECT fs, COUNT(*) FROM records WHERE dataset_id = ?1 "
                                   "GROUP BY fs ORDER BY fs";
static const char SQL_STATS_FMT[] = "SELECT format, COUNT(*) FROM records WHERE dataset_id = ?1 "
                                    "GROUP BY format ORDER BY format";
static const char SQL_STATS_LEADS[] =
    "SELECT SUM(lead_mask & 1 != 0), SUM(lead_mask & 2 != 0), SUM(lead_mask & 4 != 0), "
    "SUM(lead_mask & 8 != 0), SUM(lead_mask & 16 != 0), SUM(lead_mask & 32 != 0), "
    "SUM(lead_mask & 64 != 0), SUM(lead_mask & 128 != 0), SUM(lead_mask & 256 != 0), "
    "SUM(lead_mask & 512 != 0), SUM(lead_mask & 1024 != 0), SUM(lead_mask & 2048 != 0), "
    "COUNT(*), COALESCE(SUM(n_samples / fs), 0), COALESCE(MIN(n_samples / fs), 0), "
    "COALESCE(MAX(n_samples / fs), 0) FROM records WHERE dataset_id = ?1";

static const char *const LEAD_NAMES[ECG_N_LEADS] = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                                    "V1", "V2", "V3",  "V4",  "V5",  "V6"};

/* The row at st's cursor as JSON. */
static json_t *row_json(sqlite3_stmt *st) {
    const char *meta_text = (const char *)sqlite3_column_text(st, 7);
    json_t *meta = meta_text ? json_loads(meta_text, 0, NULL) : NULL;
    const char *desc = meta ? json_string_value(json_object_get(meta, "description")) : NULL;
    double seconds = sqlite3_column_double(st, 6);
    json_t *j = json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:s?, s:I, s:f, s:f, s:o}", "id",
        (json_int_t)sqlite3_column_int64(st, 0), "name", (const char *)sqlite3_column_text(st, 1),
        "kind", (const char *)sqlite3_column_text(st, 2), "state",
        (const char *)sqlite3_column_text(st, 3), "path", (const char *)sqlite3_column_text(st, 4),
        "description", desc, "n_records", (json_int_t)sqlite3_column_int64(st, 5), "seconds",
        seconds, "hours", seconds / 3600.0, "created_at",
        api_json_timestamp(sqlite3_column_int64(st, 8)));
    if (j && meta && json_object_get(meta, "splits"))
        json_object_set(j, "splits", json_object_get(meta, "splits"));
    json_decref(meta);
    return j;
}

static json_t *ecg_stats(db_conn *c, long long id, ecg_err *err) {
    json_t *fs = json_object(), *fmt = json_object(), *leads = json_object();
    json_t *out =
        json_pack("{s:o, s:o, s:o}", "sampling_rates", fs, "formats", fmt, "lead_coverage", leads);
    if (!out) {
        err_set(err, ECG_ENOMEM, "out of memory");
        return NULL;
    }
    sqlite3_stmt *st = db_stmt(c, SQL_STATS_FS, err);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char key[64];
        snprintf(key, sizeof key, "%g", sqlite3_column_double(st, 0));
        json_object_set_new(fs, key, json_integer(sqlite3_column_int64(st, 1)));
    }
    sqlite3_reset(st);
    st = db_stmt(c, SQL_STATS_FMT, err);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, id);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_object_set_new(fmt, (const char *)sqlite3_column_text(st, 0),
                            json_integer(sqlite3_column_int64(st, 1)));
    sqlite3_reset(st);
    st = db_stmt(c, SQL_STATS_LEADS, err);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        for (int k = 0; k < ECG_N_LEADS; k++)
            json_object_set_new(leads, LEAD_NAMES[k], json_integer(sqlite3_column_int64(st, k)));
        double total = sqlite3_column_double(st, 13);
        json_object_set_new(out, "records", json_integer(sqlite3_column_int64(st, 12)));
        json_object_set_new(out, "total_seconds", json_real(total));
        json_object_set_new(out, "total_hours", json_real(total / 3600.0));
        json_object_set_new(out, "min_seconds", json_real(sqlite3_column_double(st, 14)));
        json_object_set_new(out, "max_seconds", json_real(sqlite3_column_double(st, 15)));
    }
    sqlite3_reset(st);
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* Task stats from meta.splits: n_train, n_test, n_classes, class_names (train's order, then
 * test-only classes), dims, lengths. */
static json_t *task_stats(json_t *splits) {
    json_t *tr = json_object_get(splits, "train"), *te = json_object_get(splits, "test");
    json_t *names = json_array();
    json_t *lengths = json_object();
    json_int_t dims = 0;
    json_t *sp[2] = {tr, te};
    const char *sn[2] = {"train", "test"};
    for (int s = 0; s < 2; s++) {
        if (!sp[s]) continue;
        json_t *cn = json_object_get(sp[s], "class_names");
        size_t i;
        json_t *v;
        json_array_foreach(cn, i, v) {
            int seen = 0;
            size_t k;
            json_t *w;
            json_array_foreach(names, k, w) seen |= json_equal(v, w);
            if (!seen) json_array_append(names, v);
        }
        if (!dims) dims = json_integer_value(json_object_get(sp[s], "dims"));
        json_object_set_new(lengths, sn[s],
                            json_pack("{s:O, s:O}", "min", json_object_get(sp[s], "min_length"),
                                      "max", json_object_get(sp[s], "max_length")));
    }
    return json_pack("{s:I, s:I, s:I, s:o, s:I, s:o}", "n_train",
                     tr ? json_integer_value(json_object_get(tr, "n_series")) : 0, "n_test",
                     te ? json_integer_value(json_object_get(te, "n_series")) : 0, "n_classes",
                     (json_int_t)json_array_size(names), "class_names", names, "dims", dims,
                     "lengths", lengths);
}

json_t *datasets_get_json(db *d, long long id, int with_stats, ecg_err *err) {
    db_conn *c = db_reader_get(d);
    json_t *j = NULL;
    sqlite3_stmt *st = db_stmt(c, SQL_GET, err);
    int kind_task = 0;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            j = row_json(st);
            kind_task = strcmp((const char *)sqlite3_column_text(st, 2), "task") == 0;
        } else if (r != SQLITE_DONE) {
            db_fail(c, err, "reading a dataset");
        }
        sqlite3_reset(st);
    }
    if (j && with_stats) {
        json_t *stats =
            kind_task ? task_stats(json_object_get(j, "splits")) : ecg_stats(c, id, err);
        if (!stats) {
            json_decref(j);
            j = NULL;
        } else {
            json_object_set_new(j, "stats", stats);
        }
    }
    db_reader_put(d, c);
    return j;
}

json_t *datasets_list_json(db *d, const char *kind, long long after, int limit, ecg_err *err) {
    db_conn *c = db_reader_get(d);
    int by_kind = kind && *kind;
    sqlite3_stmt *st = db_stmt(c, by_kind ? SQL_LIST_KIND : SQL_LIST_ALL, err);
    json_t *arr = json_array(), *out = NULL;
    long long last = 0;
    int n = 0, more = 0;
    if (st && arr) {
        sqlite3_bind_int64(st, 1, after);
        sqlite3_bind_int(st, 2, limit + 1);
        if (by_kind) sqlite3_bind_text(st, 3, kind, -1, SQLITE_TRANSIENT);
        int r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            if (n == limit) {
                more = 1;
                break;
            }
            json_array_append_new(arr, row_json(st));
            last = sqlite3_column_int64(st, 0);
            n++;
        }
        if (r != SQLITE_ROW && r != SQLITE_DONE)
            db_fail(c, err, "listing datasets");
        else {
            out = json_pack("{s:O, s:o}", "datasets", arr, "next_cursor",
                            more ? json_integer(last) : json_null());
        }
        sqlite3_reset(st);
    }
    json_decref(arr);
    db_reader_put(d, c);
    return out;
}

ecg_code datasets_count(db *d, long long n[2], ecg_err *err) {
    static const char SQL[] = "SELECT kind, COUNT(*) FROM datasets GROUP BY kind";
    n[0] = n[1] = 0;
    db_conn *c = db_reader_get(d);
    sqlite3_stmt *st = db_stmt(c, SQL, err);
    if (st) {
        while (sqlite3_step(st) == SQLITE_ROW)
            n[strcmp((const char *)sqlite3_column_text(st, 0), "task") == 0] =
                sqlite3_column_int64(st, 1);
        sqlite3_reset(st);
    }
    db_reader_put(d, c);
    return st ? ECG_OK : err->code;
}

/* ---- appending a record ---- */

static const char SQL_ROW_STATE[] = "SELECT kind, state FROM datasets WHERE id = ?1";
static const char SQL_ADD_TOTALS[] =
    "UPDATE datasets SET n_records = n_records + 1, seconds = seconds + ?2 WHERE id = ?1";

/* Inside a writer transaction: 0 when dataset id is an ECG dataset in state ready, else the
 * status with err set. */
static int check_writable(db_conn *c, long long id, dataset_kind want, ecg_err *err) {
    sqlite3_stmt *st = db_stmt(c, SQL_ROW_STATE, err);
    if (!st) return 500;
    sqlite3_bind_int64(st, 1, id);
    int status = 0;
    if (sqlite3_step(st) != SQLITE_ROW) {
        err_set(err, ECG_ENOTFOUND, "no dataset %lld", id);
        status = 404;
    } else if (strcmp((const char *)sqlite3_column_text(st, 0), datasets_kind_name(want)) != 0) {
        err_set(err, ECG_EINVAL, "dataset %lld is a %s dataset, this needs a%s %s dataset", id,
                (const char *)sqlite3_column_text(st, 0), want == DATASET_ECG ? "n" : "",
                datasets_kind_name(want));
        status = 409;
    } else if (strcmp((const char *)sqlite3_column_text(st, 1), "ready") != 0) {
        err_set(err, ECG_EINVAL, "dataset %lld is %s", id,
                (const char *)sqlite3_column_text(st, 1));
        status = 409;
    }
    sqlite3_reset(st);
    return status;
}

int datasets_append_record(db *d, const dataset_info *ds, const ecg_record *rec, const char *format,
                           const char *source_name, datasets_appended *out, ecg_err *err) {
    memset(out, 0, sizeof *out);
    if (ds->kind != DATASET_ECG) {
        err_set(err, ECG_EINVAL,
                "dataset \"%s\" is a task dataset: upload its splits with PUT "
                "/v1/datasets/%s/splits/{train,test}",
                ds->name, ds->name);
        return 409;
    }
    store_prepared p;
    ecg_code rc = store_prepare(&p, rec, err);
    if (rc) return rc == ECG_ENOMEM ? 500 : 422;
    int status = 0;
    pthread_mutex_lock(&ds_mu);
    store_writer *w = NULL;
    rc = store_writer_open(&w, ds->dir, NULL, err);
    if (rc) {
        status = rc == ECG_EIO && strstr(err->msg, "another writer") ? 409 : 500;
        goto out;
    }
    out->idx = (long long)store_writer_count(w);
    const char *src = source_name && *source_name ? source_name : "upload";
    rc = store_writer_add(w, p.x, p.n, p.lead_mask, NULL, rec->fs, src, err);
    if (rc) {
        store_writer_abort(w);
        status = rc == ECG_EINVAL ? 422 : 500;
        goto out;
    }
    out->fs = rec->fs;
    out->n_samples = rec->n_samples;
    out->lead_mask = p.lead_mask;
    out->n_leads = popcount12(p.lead_mask);
    out->seconds = (double)rec->n_samples / rec->fs;
    /* The row first, in a transaction kept open while the store publishes: a publish failure
     * rolls the row back, a row failure discards the unpublished record. */
    db_conn *c = db_writer_lock(d);
    rc = db_begin(c, err);
    if (rc) {
        db_writer_unlock(d, c);
        store_writer_abort(w);
        status = 500;
        goto out;
    }
    status = check_writable(c, ds->id, DATASET_ECG, err);
    sqlite3_stmt *st = status ? NULL : db_stmt(c, SQL_REC_INSERT, err);
    if (!status && !st) status = 500;
    if (st) {
        sqlite3_bind_int64(st, 1, ds->id);
        sqlite3_bind_int64(st, 2, out->idx);
        sqlite3_bind_text(st, 3, src, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, format, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 5, rec->fs);
        sqlite3_bind_int64(st, 6, (long long)rec->n_samples);
        sqlite3_bind_int(st, 7, out->n_leads);
        sqlite3_bind_int64(st, 8, out->lead_mask);
        sqlite3_bind_int64(st, 9, now_s());
        if (step_done(c, st, "inserting the records row", err)) status = 500;
    }
    st = status ? NULL : db_stmt(c, SQL_ADD_TOTALS, err);
    if (!status && !st) status = 500;
    if (st) {
        sqlite3_bind_int64(st, 1, ds->id);
        sqlite3_bind_double(st, 2, (double)p.n / STORE_FS);
        if (step_done(c, st, "updating the dataset's totals", err)) status = 500;
    }
    if (status) {
        db_rollback(c);
        store_writer_abort(w);
    } else if (store_writer_close(w, err)) {
        db_rollback(c); /* the store is as it was at its last publish */
        status = 500;
    } else if (db_commit(c, err)) {
        /* Published but not recorded: the next start-up indexes it (sync_rows). */
        status = 500;
    }
    db_writer_unlock(d, c);
    if (!status) metrics_uploaded(format);
out:
    pthread_mutex_unlock(&ds_mu);
    store_prepared_free(&p);
    return status;
}

/* ---- task splits ---- */

static const char SQL_META[] = "SELECT meta FROM datasets WHERE id = ?1";
static const char SQL_SET_META[] = "UPDATE datasets SET meta = ?2, n_records = ?3 WHERE id = ?1";

/* Write buf to path atomically: path.tmp.XXXXXX, fsync, rename, fsync the directory. */
static ecg_code write_atomic(const char *dir, const char *path, const char *buf, size_t len,
                             ecg_err *err) {
    char tmp[1500];
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return err_set(err, ECG_EIO, "cannot create %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(fd);
            unlink(tmp);
            return err_set(err, ECG_EIO, "writing %s: %s", tmp, strerror(errno));
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return err_set(err, ECG_EIO, "syncing %s: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return err_set(err, ECG_EIO, "renaming %s: %s", tmp, strerror(errno));
    }
    fsync_dir(dir);
    return ECG_OK;
}

int datasets_put_split(db *d, const dataset_info *ds, const char *split, const char *format,
                       const char *buf, size_t len, json_t **stats, ecg_err *err) {
    *stats = NULL;
    if (ds->kind != DATASET_TASK) {
        err_set(err, ECG_EINVAL, "dataset \"%s\" is an ECG dataset: splits belong to task datasets",
                ds->name);
        return 409;
    }
    int is_train = strcmp(split, "train") == 0;
    char src[128];
    snprintf(src, sizeof src, "%s.%s", split, datasets_split_ext(format));
    task_split t = {0}, other = {0};
    if (datasets_parse_split(&t, format, buf, len, src, err))
        return err->code == ECG_ENOMEM ? 500 : 422;
    int status = 0;
    pthread_mutex_lock(&ds_mu);
    /* The other split as stored now, for the class check. */
    char other_p[1400];
    find_split(ds->dir, is_train ? "test" : "train", other_p, sizeof other_p);
    if (other_p[0]) {
        ecg_err oerr = {0};
        if (cli_read_task(other_p, &other, &oerr) == ECG_OK) {
            ecg_code arc = is_train ? task_split_align_classes(&other, &t, err)
                                    : task_split_align_classes(&t, &other, err);
            int tr_classes = is_train ? t.n_classes : other.n_classes;
            int te_classes = is_train ? other.n_classes : t.n_classes;
            if (!arc && te_classes > tr_classes) {
                err_set(err, ECG_EINVAL,
                        "the test split has %d class(es) the train split does not have",
                        te_classes - tr_classes);
                arc = ECG_EINVAL;
            }
            if (!arc && t.n_dims != other.n_dims) {
                err_set(err, ECG_EINVAL, "the %s split has %d dimension(s), the %s split %d", split,
                        t.n_dims, is_train ? "test" : "train", other.n_dims);
                arc = ECG_EINVAL;
            }
            if (arc) status = 422;
        }
    }
    char path[1400];
    snprintf(path, sizeof path, "%s/%s.%s", ds->dir, split, datasets_split_ext(format));
    db_conn *c = NULL;
    json_t *meta = NULL;
    if (!status) {
        c = db_writer_lock(d);
        if (db_begin(c, err)) status = 500;
        if (!status) status = check_writable(c, ds->id, DATASET_TASK, err);
        sqlite3_stmt *st = status ? NULL : db_stmt(c, SQL_META, err);
        if (!status && !st) status = 500;
        if (st) {
            sqlite3_bind_int64(st, 1, ds->id);
            if (sqlite3_step(st) == SQLITE_ROW)
                meta = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
            sqlite3_reset(st);
            if (!meta) meta = json_object();
        }
    }
    if (!status) {
        json_t *splits = json_object_get(meta, "splits");
        if (!splits) {
            splits = json_object();
            json_object_set_new(meta, "splits", splits);
        }
        *stats = split_stats(&t, base_of(path), format);
        json_object_set(splits, split, *stats);
        long long n = 0;
        json_t *o = json_object_get(splits, is_train ? "test" : "train");
        n = t.n_series + (o ? json_integer_value(json_object_get(o, "n_series")) : 0);
        char *text = json_dumps(meta, JSON_COMPACT);
        sqlite3_stmt *st = text ? db_stmt(c, SQL_SET_META, err) : NULL;
        if (!st) status = 500;
        if (st) {
            sqlite3_bind_int64(st, 1, ds->id);
            sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 3, n);
            if (step_done(c, st, "updating the dataset", err)) status = 500;
        }
        free(text);
        /* The file is renamed into place with the row's transaction open: a failed write rolls
         * the row back; a split of another format is removed once the new one is in. */
        if (!status && write_atomic(ds->dir, path, buf, len, err)) status = 500;
        if (!status && db_commit(c, err)) status = 500;
        if (status) db_rollback(c);
        if (!status)
            for (int i = 0; i < N_SPLIT_EXTS; i++) {
                char p2[1400];
                snprintf(p2, sizeof p2, "%s/%s.%s", ds->dir, split, SPLIT_EXTS[i]);
                if (strcmp(p2, path) != 0) unlink(p2);
            }
    }
    if (c) db_writer_unlock(d, c);
    pthread_mutex_unlock(&ds_mu);
    json_decref(meta);
    if (status) {
        json_decref(*stats);
        *stats = NULL;
    }
    task_split_free(&t);
    task_split_free(&other);
    return status;
}

/* ---- delete ---- */

/* A queued or running job whose params name the dataset (by name anywhere, or by id under a key
 * that says dataset). */
static const char SQL_JOB_USES[] =
    "SELECT j.id FROM jobs j WHERE j.state IN ('queued', 'running') AND EXISTS (SELECT 1 FROM "
    "json_tree(j.params) t WHERE (t.type = 'text' AND t.atom = ?1) OR (t.type = 'integer' AND "
    "t.atom = ?2 AND t.key LIKE '%dataset%')) LIMIT 1";

/* Dataset id's state in a transaction of its own on c (the writer, held). */
static ecg_code state_txn(db_conn *c, long long id, const char *state, ecg_err *err) {
    ecg_code rc = db_begin(c, err);
    if (rc) return rc;
    sqlite3_stmt *st = db_stmt(c, SQL_SET_STATE, err);
    if (!st) rc = err->code;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
        rc = step_done(c, st, "setting a dataset's state", err);
    }
    if (!rc) rc = db_commit(c, err);
    if (rc) db_rollback(c);
    return rc;
}

int datasets_delete(db *d, const char *data_dir, long long id, long long *job, ecg_err *err) {
    *job = 0;
    int status = 0;
    char name[DATASETS_NAME_MAX + 1] = "";
    pthread_mutex_lock(&ds_mu);
    db_conn *c = db_writer_lock(d);
    if (db_begin(c, err)) status = 500;
    sqlite3_stmt *st = status ? NULL : db_stmt(c, SQL_GET, err);
    if (!status && !st) status = 500;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(name, sizeof name, "%s", (const char *)sqlite3_column_text(st, 1));
        else
            status = 404, err_set(err, ECG_ENOTFOUND, "no dataset %lld", id);
        sqlite3_reset(st);
    }
    st = status ? NULL : db_stmt(c, SQL_JOB_USES, err);
    if (!status && !st) status = 500;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *job = sqlite3_column_int64(st, 0);
            err_set(err, ECG_EINVAL, "job %lld (queued or running) uses dataset \"%s\"", *job,
                    name);
            status = 409;
        }
        sqlite3_reset(st);
    }
    /* The intent first (a crash after it finishes the delete at the next start), then the
     * directory moved aside, then the row. */
    st = status ? NULL : db_stmt(c, SQL_SET_STATE, err);
    if (!status && !st) status = 500;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, "deleting", -1, SQLITE_STATIC);
        if (step_done(c, st, "marking the dataset deleting", err)) status = 500;
    }
    if (!status && db_commit(c, err)) status = 500;
    if (status) db_rollback(c);
    char root[1100], dir[1200], trash[1300];
    snprintf(root, sizeof root, "%s/datasets", data_dir);
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    snprintf(trash, sizeof trash, "%s/" TRASH_PREFIX "%lld-%s", root, id, name);
    if (!status && is_dir(dir) && rename(dir, trash) != 0) {
        err_set(err, ECG_EIO, "cannot move datasets/%s aside: %s", name, strerror(errno));
        status = 500;
        ecg_err e2 = {0};
        state_txn(c, id, "ready", &e2); /* back to ready: nothing was moved */
    }
    if (!status) {
        fsync_dir(root);
        if (db_begin(c, err)) status = 500;
        st = status ? NULL : db_stmt(c, SQL_DELETE_ROW, err);
        if (!status && !st) status = 500;
        if (st) {
            sqlite3_bind_int64(st, 1, id);
            if (step_done(c, st, "deleting the dataset row", err)) status = 500;
        }
        if (!status && db_commit(c, err)) status = 500;
        if (status) {
            /* The files go back; the row stays "deleting" only if they cannot (the next start
             * then finishes the delete). */
            db_rollback(c);
            ecg_err e2 = {0};
            if (rename(trash, dir) == 0) state_txn(c, id, "ready", &e2);
        }
    }
    db_writer_unlock(d, c);
    pthread_mutex_unlock(&ds_mu);
    if (!status) metrics_refresh(d);
    if (!status && rm_tree(trash) != 0)
        fprintf(stderr, "ecgfm: cannot remove %s: %s (removed at the next start)\n", trash,
                strerror(errno));
    return status;
}

/* datasets.c — the datasets resource's state (see datasets.h, datasets_impl.h): names, lookup,
 * create, delete (both or neither) and the start-up pass that adopts and repairs. */
#include "server/datasets.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/data/store.h"
#include "server/datasets_impl.h"
#include "server/datasets_internal.h"
#include "server/metrics.h"

#define TRASH_PREFIX ".trash-"

pthread_mutex_t datasets_mu = PTHREAD_MUTEX_INITIALIZER;

void datasets_metrics_refresh(db *d) {
    static const char *const labels[] = {"kind", NULL};
    metrics_family *g = metrics_register(METRICS_GAUGE, "ecgfm_datasets",
                                         "Datasets in the database, by kind", labels, NULL, 0);
    long long n[2];
    ecg_err err = {0};
    if (datasets_count(d, n, &err)) return;
    metrics_gauge_set(g, (const char *const[]){"ecg"}, (double)n[0]);
    metrics_gauge_set(g, (const char *const[]){"task"}, (double)n[1]);
}

long long datasets_now_s(void) {
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
int datasets_rm_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int datasets_is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int datasets_is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

void datasets_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

const char *const datasets_split_exts[DATASETS_N_SPLIT_EXTS] = {"ts", "arff", "tsv", "txt"};

/* dir/<split>.<ext> of the first extension present, "" when none. */
void datasets_find_split(const char *dir, const char *split, char *out, size_t cap) {
    out[0] = '\0';
    for (int i = 0; i < DATASETS_N_SPLIT_EXTS; i++) {
        char p[1400];
        snprintf(p, sizeof p, "%s/%s.%s", dir, split, datasets_split_exts[i]);
        if (datasets_is_file(p)) {
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
            datasets_find_split(out->dir, "train", out->train, sizeof out->train);
            datasets_find_split(out->dir, "test", out->test, sizeof out->test);
        }
    }
    return found;
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
    sqlite3_bind_int64(st, 6, datasets_now_s());
    ecg_code rc = datasets_step_done(c, st, "inserting a dataset row", err);
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
    if (datasets_is_file(p)) {
        long long id = 0;
        if (insert_row(c, name, DATASET_ECG, 0, "{}", &id, err)) return -1;
        if (datasets_sync_rows(c, id, dir, "store", err)) return -1;
        return 1;
    }
    char tr[1600], te[1600];
    datasets_find_split(dir, "train", tr, sizeof tr);
    datasets_find_split(dir, "test", te, sizeof te);
    if (!tr[0] && !te[0]) return 0;
    json_t *splits = json_object();
    long long n = 0;
    ecg_err perr = {0};
    if (datasets_task_meta_from_files(dir, splits, &n, &perr))
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

/* Temp files of uploads a crash interrupted (datasets_append_hdf5). */
static void remove_upload_temps(const char *dir) {
    DIR *dh = opendir(dir);
    if (!dh) return;
    struct dirent *e;
    while ((e = readdir(dh))) {
        if (strncmp(e->d_name, DATASETS_UPLOAD_PREFIX, strlen(DATASETS_UPLOAD_PREFIX)) != 0)
            continue;
        char p[1600];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(dh);
}

ecg_code datasets_startup(db *d, const char *data_dir, int *adopted, ecg_err *err) {
    if (adopted) *adopted = 0;
    char root[1100];
    snprintf(root, sizeof root, "%s/datasets", data_dir);
    if (mkdir(root, 0750) != 0 && errno != EEXIST)
        return err_set(err, ECG_EIO, "cannot create %s: %s", root, strerror(errno));
    pthread_mutex_lock(&datasets_mu);
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
        if (datasets_is_dir(dir) && rename(dir, trash) != 0)
            rc = err_set(err, ECG_EIO, "cannot move %s aside: %s", dir, strerror(errno));
        st = rc ? NULL : db_stmt(c, SQL_DELETE_ROW, err);
        if (!rc && !st) rc = err->code;
        if (st) {
            sqlite3_bind_int64(st, 1, del[i].id);
            rc = datasets_step_done(c, st, "deleting a dataset row", err);
        }
    }
    /* 2. Imports a stop interrupted are over: what they published is indexed below. */
    st = rc ? NULL : db_stmt(c, SQL_IMPORTING_READY, err);
    if (!rc && !st) rc = err->code;
    if (st) rc = datasets_step_done(c, st, "resetting importing datasets", err);
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
            if (datasets_rm_tree(p) != 0)
                fprintf(stderr, "ecgfm: cannot remove %s: %s\n", p, strerror(errno));
            continue;
        }
        if (!datasets_name_valid(e->d_name, NULL, 0) || !datasets_is_dir(p) ||
            row_exists(c, e->d_name))
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
        if (!datasets_is_file(p)) continue;
        remove_upload_temps(dir);
        ecg_err e2 = {0};
        if (db_begin(c, &e2)) continue;
        if (datasets_sync_rows(c, ids[i], dir, "store", &e2)) {
            db_rollback(c);
            fprintf(stderr, "ecgfm: datasets/%s: records not indexed: %s\n", ecg_names[i], e2.msg);
            continue;
        }
        if (db_commit(c, &e2)) fprintf(stderr, "ecgfm: datasets/%s: %s\n", ecg_names[i], e2.msg);
    }
    free(ecg_names);
    free(ids);
    db_writer_unlock(d, c);
    pthread_mutex_unlock(&datasets_mu);
    if (!rc) datasets_metrics_refresh(d);
    for (int i = 0; i < n_del && !rc; i++) {
        char trash[1400];
        snprintf(trash, sizeof trash, "%s/" TRASH_PREFIX "%lld-%s", root, del[i].id, del[i].name);
        datasets_rm_tree(trash);
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
    pthread_mutex_lock(&datasets_mu);
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
        sqlite3_bind_int64(st, 5, datasets_now_s());
        rc = datasets_step_done(c, st, "inserting a dataset row", err);
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
        datasets_fsync_dir(root);
        rc = db_commit(c, err);
    } else {
        db_rollback(c);
    }
    if ((rc || status) && made) datasets_rm_tree(dir);
    db_writer_unlock(d, c);
    pthread_mutex_unlock(&datasets_mu);
    free(meta_text);
    if (status) return status;
    if (!rc) datasets_metrics_refresh(d);
    return rc ? 500 : 0;
}

/* ---- delete ---- */

static const char SQL_NAME_OF[] = "SELECT id, name FROM datasets WHERE id = ?1";

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
    sqlite3_stmt *st = db_stmt(c, datasets_sql_set_state, err);
    if (!st) rc = err->code;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
        rc = datasets_step_done(c, st, "setting a dataset's state", err);
    }
    if (!rc) rc = db_commit(c, err);
    if (rc) db_rollback(c);
    return rc;
}

int datasets_delete(db *d, const char *data_dir, long long id, long long *job, ecg_err *err) {
    *job = 0;
    int status = 0;
    char name[DATASETS_NAME_MAX + 1] = "";
    pthread_mutex_lock(&datasets_mu);
    db_conn *c = db_writer_lock(d);
    if (db_begin(c, err)) status = 500;
    sqlite3_stmt *st = status ? NULL : db_stmt(c, SQL_NAME_OF, err);
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
    st = status ? NULL : db_stmt(c, datasets_sql_set_state, err);
    if (!status && !st) status = 500;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, "deleting", -1, SQLITE_STATIC);
        if (datasets_step_done(c, st, "marking the dataset deleting", err)) status = 500;
    }
    if (!status && db_commit(c, err)) status = 500;
    if (status) db_rollback(c);
    char root[1100], dir[1200], trash[1300];
    snprintf(root, sizeof root, "%s/datasets", data_dir);
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    snprintf(trash, sizeof trash, "%s/" TRASH_PREFIX "%lld-%s", root, id, name);
    if (!status && datasets_is_dir(dir) && rename(dir, trash) != 0) {
        err_set(err, ECG_EIO, "cannot move datasets/%s aside: %s", name, strerror(errno));
        status = 500;
        ecg_err e2 = {0};
        state_txn(c, id, "ready", &e2); /* back to ready: nothing was moved */
    }
    if (!status) {
        datasets_fsync_dir(root);
        if (db_begin(c, err)) status = 500;
        st = status ? NULL : db_stmt(c, SQL_DELETE_ROW, err);
        if (!status && !st) status = 500;
        if (st) {
            sqlite3_bind_int64(st, 1, id);
            if (datasets_step_done(c, st, "deleting the dataset row", err)) status = 500;
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
    pthread_mutex_unlock(&datasets_mu);
    if (!status) datasets_metrics_refresh(d);
    if (!status && datasets_rm_tree(trash) != 0)
        fprintf(stderr, "ecgfm: cannot remove %s: %s (removed at the next start)\n", trash,
                strerror(errno));
    return status;
}

/* datasets_splits.c — task datasets' split files: their formats, validation with the readers
 * `ecgfm transfer` uses, class alignment between the splits, atomic replacement, stats. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/datasets_json.h"
#include "core/data/arff.h"
#include "core/data/sktime_ts.h"
#include "core/data/taskfmt.h"
#include "core/data/ucr.h"
#include "core/format/atomic_file.h"
#include "server/cli_common.h"
#include "server/datasets_impl.h"
#include "server/datasets_internal.h"

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

const char *datasets_base_of(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* meta.splits for a task directory, read from its split files; *n the series in them. */
ecg_code datasets_task_meta_from_files(const char *dir, json_t *splits, long long *n,
                                       ecg_err *err) {
    *n = 0;
    char train_p[1400], test_p[1400];
    datasets_find_split(dir, "train", train_p, sizeof train_p);
    datasets_find_split(dir, "test", test_p, sizeof test_p);
    task_split train = {0}, test = {0};
    ecg_code rc = ECG_OK;
    if (train_p[0]) rc = cli_read_task(train_p, &train, err);
    if (!rc && test_p[0]) rc = cli_read_task(test_p, &test, err);
    if (!rc && train_p[0] && test_p[0]) rc = task_split_align_classes(&test, &train, err);
    if (!rc && train_p[0]) {
        json_object_set_new(splits, "train",
                            datasets_split_stats_json(&train, datasets_base_of(train_p),
                                                      format_of_split_path(train_p)));
        *n += train.n_series;
    }
    if (!rc && test_p[0]) {
        json_object_set_new(splits, "test",
                            datasets_split_stats_json(&test, datasets_base_of(test_p),
                                                      format_of_split_path(test_p)));
        *n += test.n_series;
    }
    task_split_free(&train);
    task_split_free(&test);
    return rc;
}

/* ---- task splits ---- */

static const char SQL_META[] = "SELECT meta FROM datasets WHERE id = ?1";
static const char SQL_SET_META[] = "UPDATE datasets SET meta = ?2, n_records = ?3 WHERE id = ?1";

/* buf as path, atomically (core/format/atomic_file: temp beside it, fsync, rename, fsync of the
 * directory). */
static ecg_code write_atomic(const char *path, const char *buf, size_t len, ecg_err *err) {
    atomic_file a;
    ecg_code rc = atomic_open(&a, path, err);
    if (rc) return rc;
    rc = atomic_write(&a, buf, len, err);
    if (rc) {
        atomic_abort(&a);
        return rc;
    }
    return atomic_commit(&a, err);
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
    pthread_mutex_lock(&datasets_mu);
    /* The other split as stored now, for the class check. */
    char other_p[1400];
    datasets_find_split(ds->dir, is_train ? "test" : "train", other_p, sizeof other_p);
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
        if (!status) {
            status = datasets_check_writable(c, ds->id, DATASET_TASK, err);
            if (status) db_rollback(c); /* not ready any more (deleting), or gone */
        }
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
        *stats = datasets_split_stats_json(&t, datasets_base_of(path), format);
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
            if (datasets_step_done(c, st, "updating the dataset", err)) status = 500;
        }
        free(text);
        /* The file is renamed into place with the row's transaction open: a failed write rolls
         * the row back; a split of another format is removed once the new one is in. */
        if (!status && write_atomic(path, buf, len, err)) status = 500;
        if (!status && db_commit(c, err)) status = 500;
        if (status) db_rollback(c);
        if (!status)
            for (int i = 0; i < DATASETS_N_SPLIT_EXTS; i++) {
                char p2[1400];
                snprintf(p2, sizeof p2, "%s/%s.%s", ds->dir, split, datasets_split_exts[i]);
                if (strcmp(p2, path) != 0) unlink(p2);
            }
    }
    if (c) db_writer_unlock(d, c);
    pthread_mutex_unlock(&datasets_mu);
    json_decref(meta);
    if (status) {
        json_decref(*stats);
        *stats = NULL;
    }
    task_split_free(&t);
    task_split_free(&other);
    return status;
}

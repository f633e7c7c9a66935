/* datasets_query.c — datasets read back: one with its stats (from the records rows, or the task's
 * split stats), pages of the list, counts by kind. The JSON shapes are api/datasets_json.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/datasets_json.h"
#include "server/datasets_impl.h"
#include "server/datasets_internal.h"

#define ROW_COLUMNS "id, name, kind, state, path, n_records, seconds, meta, created_at"
static const char SQL_GET[] = "SELECT " ROW_COLUMNS " FROM datasets WHERE id = ?1";
static const char SQL_LIST_ALL[] =
    "SELECT " ROW_COLUMNS " FROM datasets WHERE id > ?1 ORDER BY id LIMIT ?2";
static const char SQL_LIST_KIND[] =
    "SELECT " ROW_COLUMNS " FROM datasets WHERE id > ?1 AND kind = ?3 ORDER BY id LIMIT ?2";
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

/* The row at st's cursor as JSON (meta parsed for the description and a task's splits). */
static json_t *row_json(sqlite3_stmt *st, json_t **meta_out) {
    const char *meta_text = (const char *)sqlite3_column_text(st, 7);
    json_t *meta = meta_text ? json_loads(meta_text, 0, NULL) : NULL;
    datasets_view v = {sqlite3_column_int64(st, 0),
                       (const char *)sqlite3_column_text(st, 1),
                       (const char *)sqlite3_column_text(st, 2),
                       (const char *)sqlite3_column_text(st, 3),
                       (const char *)sqlite3_column_text(st, 4),
                       meta ? json_string_value(json_object_get(meta, "description")) : NULL,
                       sqlite3_column_int64(st, 5),
                       sqlite3_column_double(st, 6),
                       sqlite3_column_int64(st, 8),
                       meta ? json_object_get(meta, "splits") : NULL};
    json_t *j = datasets_view_json(&v);
    if (meta_out)
        *meta_out = meta;
    else
        json_decref(meta);
    return j;
}

/* Grow-as-needed arrays of (value, count) pairs for the stats. */
static int push_count(datasets_count_item **v, size_t *n, size_t *cap, const char *key,
                      long long count) {
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        datasets_count_item *m = realloc(*v, c * sizeof *m);
        if (!m) return -1;
        *v = m;
        *cap = c;
    }
    snprintf((*v)[*n].key, sizeof(*v)[*n].key, "%s", key);
    (*v)[(*n)++].count = count;
    return 0;
}

static json_t *ecg_stats(db_conn *c, long long id, ecg_err *err) {
    datasets_ecg_stats s;
    memset(&s, 0, sizeof s);
    size_t cap_fs = 0, cap_fmt = 0;
    json_t *out = NULL;
    int oom = 0;
    sqlite3_stmt *st = db_stmt(c, SQL_STATS_FS, err);
    if (!st) goto done;
    sqlite3_bind_int64(st, 1, id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char key[64];
        snprintf(key, sizeof key, "%g", sqlite3_column_double(st, 0));
        oom |= push_count(&s.fs, &s.n_fs, &cap_fs, key, sqlite3_column_int64(st, 1));
    }
    sqlite3_reset(st);
    st = db_stmt(c, SQL_STATS_FMT, err);
    if (!st) goto done;
    sqlite3_bind_int64(st, 1, id);
    while (sqlite3_step(st) == SQLITE_ROW)
        oom |= push_count(&s.formats, &s.n_formats, &cap_fmt,
                          (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    sqlite3_reset(st);
    st = db_stmt(c, SQL_STATS_LEADS, err);
    if (!st) goto done;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        for (int k = 0; k < 12; k++)
            s.lead_coverage[k] = sqlite3_column_int64(st, k);
        s.records = sqlite3_column_int64(st, 12);
        s.total_seconds = sqlite3_column_double(st, 13);
        s.min_seconds = sqlite3_column_double(st, 14);
        s.max_seconds = sqlite3_column_double(st, 15);
    }
    sqlite3_reset(st);
    out = oom ? NULL : datasets_ecg_stats_json(&s);
    if (!out) err_set(err, ECG_ENOMEM, "out of memory for a dataset's stats");
done:
    free(s.fs);
    free(s.formats);
    return out;
}

json_t *datasets_get_json(db *d, long long id, int with_stats, ecg_err *err) {
    db_conn *c = db_reader_get(d);
    json_t *j = NULL, *meta = NULL;
    sqlite3_stmt *st = db_stmt(c, SQL_GET, err);
    int kind_task = 0;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            j = row_json(st, &meta);
            kind_task = strcmp((const char *)sqlite3_column_text(st, 2), "task") == 0;
        } else if (r != SQLITE_DONE) {
            db_fail(c, err, "reading a dataset");
        }
        sqlite3_reset(st);
    }
    if (j && with_stats) {
        json_t *stats =
            kind_task ? datasets_task_stats_json(meta ? json_object_get(meta, "splits") : NULL)
                      : ecg_stats(c, id, err);
        if (!stats) {
            json_decref(j);
            j = NULL;
        } else {
            json_object_set_new(j, "stats", stats);
        }
    }
    json_decref(meta);
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
            json_array_append_new(arr, row_json(st, NULL));
            last = sqlite3_column_int64(st, 0);
            n++;
        }
        if (r != SQLITE_ROW && r != SQLITE_DONE)
            db_fail(c, err, "listing datasets");
        else
            out = datasets_list_page_json(arr, more ? last : 0);
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

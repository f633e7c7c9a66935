/* db.c — SQLite state (see db.h): connections, the writer lock and the reader pool, the statement
 * cache, and the migration runner with its checks against a newer or edited schema. */
#include "server/db.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

typedef struct {
    const char *sql;
    sqlite3_stmt *st;
} cached_stmt;

struct db_conn {
    sqlite3 *h;
    cached_stmt *cache;
    int n_cache, cap_cache;
    int in_use; /* readers only */
};

struct db {
    char path[1024];
    db_conn writer;
    pthread_mutex_t writer_mu;
    db_conn *readers;
    int n_readers;
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    atomic_int ready;
    atomic_int version;
};

ecg_code db_fail(db_conn *c, ecg_err *err, const char *what) {
    return err_set(err, ECG_EIO, "%s: %s", what, c && c->h ? sqlite3_errmsg(c->h) : "no database");
}

sqlite3 *db_handle(db_conn *c) {
    return c->h;
}

sqlite3_stmt *db_stmt(db_conn *c, const char *sql, ecg_err *err) {
    for (int i = 0; i < c->n_cache; i++) {
        if (c->cache[i].sql == sql) {
            sqlite3_reset(c->cache[i].st);
            sqlite3_clear_bindings(c->cache[i].st);
            return c->cache[i].st;
        }
    }
    if (c->n_cache == c->cap_cache) {
        int cap = c->cap_cache ? 2 * c->cap_cache : 16;
        cached_stmt *m = realloc(c->cache, (size_t)cap * sizeof *m);
        if (!m) {
            err_set(err, ECG_ENOMEM, "out of memory caching a statement");
            return NULL;
        }
        c->cache = m;
        c->cap_cache = cap;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(c->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        db_fail(c, err, "preparing a statement");
        return NULL;
    }
    c->cache[c->n_cache++] = (cached_stmt){sql, st};
    return st;
}

/* Run one statement that returns no rows we need (pragmas, BEGIN/COMMIT); not cached. */
static ecg_code exec1(db_conn *c, const char *sql, ecg_err *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->h, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(c, err, sql);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_fail(c, err, sql);
    return ECG_OK;
}

ecg_code db_begin(db_conn *c, ecg_err *err) {
    return exec1(c, "BEGIN IMMEDIATE", err);
}
ecg_code db_commit(db_conn *c, ecg_err *err) {
    ecg_code rc = exec1(c, "COMMIT", err);
    if (rc) db_rollback(c);
    return rc;
}
void db_rollback(db_conn *c) {
    if (!sqlite3_get_autocommit(c->h)) exec1(c, "ROLLBACK", NULL);
}

static void conn_close(db_conn *c) {
    for (int i = 0; i < c->n_cache; i++)
        sqlite3_finalize(c->cache[i].st);
    free(c->cache);
    if (c->h) sqlite3_close_v2(c->h);
    memset(c, 0, sizeof *c);
}

static ecg_code conn_open(db_conn *c, const char *path, int writer, ecg_err *err) {
    memset(c, 0, sizeof *c);
    /* NOMUTEX: a connection is only ever used by the thread holding the writer lock or the reader
     * it was handed to, so SQLite's own per-connection mutex would be pure cost. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &c->h, flags, NULL) != SQLITE_OK) {
        ecg_code rc = err_set(err, ECG_EIO, "database %s: %s", path,
                              c->h ? sqlite3_errmsg(c->h) : "out of memory");
        conn_close(c);
        return rc;
    }
    sqlite3_extended_result_codes(c->h, 1);
    sqlite3_busy_timeout(c->h, DB_BUSY_TIMEOUT_MS);
    ecg_err e = {0};
    /* The first statement reads the header: a file that is not SQLite fails here, clearly. */
    ecg_code rc = writer ? exec1(c, "PRAGMA journal_mode=WAL", &e) : ECG_OK;
    if (!rc) rc = exec1(c, "PRAGMA foreign_keys=ON", &e);
    /* NORMAL in WAL mode: a crash of the process loses nothing committed; only a power cut can
     * lose the last transactions, never corrupt the file. */
    if (!rc) rc = exec1(c, "PRAGMA synchronous=NORMAL", &e);
    if (!rc && !writer) rc = exec1(c, "PRAGMA query_only=1", &e);
    if (!rc) rc = exec1(c, "SELECT count(*) FROM sqlite_schema", &e);
    if (rc) {
        int notadb =
            sqlite3_errcode(c->h) == SQLITE_NOTADB || sqlite3_errcode(c->h) == SQLITE_CORRUPT;
        ecg_code code = err_set(
            err, notadb ? ECG_EFORMAT : ECG_EIO, "database %s: %s%s", path, sqlite3_errmsg(c->h),
            notadb ? " (the file is damaged or not an ecgfm database; restore it from a backup "
                     "or move it away to start empty)"
                   : "");
        conn_close(c);
        return code;
    }
    return ECG_OK;
}

ecg_code db_open(db **out, const char *path, int n_readers, ecg_err *err) {
    *out = NULL;
    if (n_readers < 1) n_readers = 1;
    if (sodium_init() < 0) return err_set(err, ECG_EIO, "libsodium failed to initialise");
    if (strlen(path) >= sizeof((db *)0)->path)
        return err_set(err, ECG_EINVAL, "database path is too long");
    db *d = calloc(1, sizeof *d);
    if (!d) return err_set(err, ECG_ENOMEM, "out of memory opening the database");
    d->readers = calloc((size_t)n_readers, sizeof *d->readers);
    if (!d->readers) {
        free(d);
        return err_set(err, ECG_ENOMEM, "out of memory opening the database");
    }
    strcpy(d->path, path);
    pthread_mutex_init(&d->writer_mu, NULL);
    pthread_mutex_init(&d->pool_mu, NULL);
    pthread_cond_init(&d->pool_cv, NULL);
    ecg_code rc = conn_open(&d->writer, path, 1, err);
    for (int i = 0; !rc && i < n_readers; i++) {
        rc = conn_open(&d->readers[i], path, 0, err);
        if (!rc) d->n_readers = i + 1;
    }
    if (rc) {
        db_close(d);
        return rc;
    }
    *out = d;
    return ECG_OK;
}

void db_close(db *d) {
    if (!d) return;
    for (int i = 0; i < d->n_readers; i++)
        conn_close(&d->readers[i]);
    /* Closing the last connection checkpoints the WAL into the main file. */
    conn_close(&d->writer);
    free(d->readers);
    pthread_mutex_destroy(&d->writer_mu);
    pthread_mutex_destroy(&d->pool_mu);
    pthread_cond_destroy(&d->pool_cv);
    free(d);
}

ecg_code db_open_dir(db **out, const char *data_dir, int n_readers, int *applied, ecg_err *err) {
    char path[1024];
    if (snprintf(path, sizeof path, "%s/%s", data_dir, DB_FILE_NAME) >= (int)sizeof path)
        return err_set(err, ECG_EINVAL, "data directory path is too long");
    ecg_code rc = db_open(out, path, n_readers, err);
    if (rc) return rc;
    rc = db_migrate(*out, DB_MIGRATIONS, DB_N_MIGRATIONS, applied, err);
    if (rc) {
        db_close(*out);
        *out = NULL;
    }
    return rc;
}

db_conn *db_writer_lock(db *d) {
    pthread_mutex_lock(&d->writer_mu);
    return &d->writer;
}

void db_writer_unlock(db *d, db_conn *c) {
    db_rollback(c); /* a transaction left open by an error path must not leak into the next user */
    pthread_mutex_unlock(&d->writer_mu);
}

db_conn *db_reader_get(db *d) {
    pthread_mutex_lock(&d->pool_mu);
    for (;;) {
        for (int i = 0; i < d->n_readers; i++) {
            if (!d->readers[i].in_use) {
                d->readers[i].in_use = 1;
                pthread_mutex_unlock(&d->pool_mu);
                return &d->readers[i];
            }
        }
        pthread_cond_wait(&d->pool_cv, &d->pool_mu);
    }
}

void db_reader_put(db *d, db_conn *c) {
    if (!sqlite3_get_autocommit(c->h)) exec1(c, "ROLLBACK", NULL);
    pthread_mutex_lock(&d->pool_mu);
    c->in_use = 0;
    pthread_cond_signal(&d->pool_cv);
    pthread_mutex_unlock(&d->pool_mu);
}

int db_is_ready(const db *d) {
    return d && atomic_load(&d->ready);
}

int db_schema_version(const db *d) {
    return d ? atomic_load(&d->version) : 0;
}

/* NNNN from "NNNN_words.sql"; -1 when the name does not look like that. */
static int migration_number(const char *name) {
    int n = 0, digits = 0;
    for (; name[digits] >= '0' && name[digits] <= '9'; digits++)
        n = n * 10 + (name[digits] - '0');
    if (digits != 4 || name[4] != '_' || n == 0) return -1;
    return n;
}

static void sha256_hex(const char *text, char hex[65]) {
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    sodium_bin2hex(hex, 65, h, sizeof h);
}

/* Every statement of a migration's text, in order, each prepared then stepped. */
static ecg_code run_script(db_conn *c, const char *name, const char *sql, ecg_err *err) {
    const char *p = sql;
    while (*p) {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        if (sqlite3_prepare_v2(c->h, p, -1, &st, &tail) != SQLITE_OK)
            return err_set(err, ECG_EFORMAT, "migration %s: %s", name, sqlite3_errmsg(c->h));
        if (!st) break; /* only whitespace and comments left */
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return err_set(err, ECG_EFORMAT, "migration %s: %s", name, sqlite3_errmsg(c->h));
        p = tail;
    }
    return ECG_OK;
}

static const char SQL_CREATE_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
    " applied_at INTEGER NOT NULL) STRICT";
static const char SQL_LIST_APPLIED[] =
    "SELECT version, name, checksum FROM schema_migrations ORDER BY version";
static const char SQL_IS_APPLIED[] = "SELECT 1 FROM schema_migrations WHERE version = ?1";
static const char SQL_RECORD[] =
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)";

/* Compare what the database recorded with this binary's migrations. */
static ecg_code check_applied(db *d, const db_migration *m, int n, int *version, ecg_err *err) {
    db_conn *c = &d->writer;
    sqlite3_stmt *st = db_stmt(c, SQL_LIST_APPLIED, err);
    if (!st) return err ? err->code : ECG_EIO;
    int known_max = n ? migration_number(m[n - 1].name) : 0;
    int rc;
    *version = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int v = sqlite3_column_int(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *sum = (const char *)sqlite3_column_text(st, 2);
        const db_migration *mine = NULL;
        for (int i = 0; i < n; i++)
            if (migration_number(m[i].name) == v) mine = &m[i];
        if (!mine) {
            ecg_code e = err_set(
                err, ECG_EVERSION,
                "database %s has schema migration %04d (%s), which this ecgfm does not have (it "
                "knows migrations up to %04d): a newer ecgfm wrote it; run that version, or "
                "restore a backup made before it ran",
                d->path, v, name ? name : "?", known_max);
            sqlite3_reset(st);
            return e;
        }
        char hex[65];
        sha256_hex(mine->sql, hex);
        if (!sum || strcmp(sum, hex) != 0) {
            ecg_code e = err_set(
                err, ECG_EFORMAT,
                "database %s: migration %s was applied with checksum %.16s... but this ecgfm's "
                "copy has %.16s...: the migration was edited after it ran (schema changes go in a "
                "new numbered migration); refusing to run on a schema that may not match",
                d->path, mine->name, sum ? sum : "(none)", hex);
            sqlite3_reset(st);
            return e;
        }
        if (v > *version) *version = v;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return db_fail(c, err, "reading schema_migrations");
    return ECG_OK;
}

ecg_code db_migrate(db *d, const db_migration *m, int n, int *applied, ecg_err *err) {
    if (applied) *applied = 0;
    for (int i = 0; i < n; i++) {
        int v = migration_number(m[i].name);
        if (v < 0)
            return err_set(err, ECG_EINVAL, "migration %s: the name must be NNNN_words.sql",
                           m[i].name);
        if (i && v <= migration_number(m[i - 1].name))
            return err_set(err, ECG_EINVAL,
                           "migrations %s and %s are out of order or share a number", m[i - 1].name,
                           m[i].name);
    }
    db_conn *c = db_writer_lock(d);
    ecg_code rc = exec1(c, SQL_CREATE_SCHEMA, err);
    int version = 0, ran_now = 0;
    if (!rc) rc = check_applied(d, m, n, &version, err);
    for (int i = 0; !rc && i < n; i++) {
        int v = migration_number(m[i].name);
        /* Checked again inside the write transaction: another process (`ecgfm migrate`, `ecgfm
         * keys`) may have run it since. */
        rc = db_begin(c, err);
        if (rc) break;
        sqlite3_stmt *st = db_stmt(c, SQL_IS_APPLIED, err);
        if (!st) {
            rc = err ? err->code : ECG_EIO;
            break;
        }
        sqlite3_bind_int(st, 1, v);
        int step = sqlite3_step(st);
        sqlite3_reset(st);
        if (step == SQLITE_ROW) {
            db_rollback(c);
            continue;
        }
        if (step != SQLITE_DONE) {
            rc = db_fail(c, err, "reading schema_migrations");
            break;
        }
        rc = run_script(c, m[i].name, m[i].sql, err);
        if (rc) break;
        char hex[65];
        sha256_hex(m[i].sql, hex);
        st = db_stmt(c, SQL_RECORD, err);
        if (!st) {
            rc = err ? err->code : ECG_EIO;
            break;
        }
        sqlite3_bind_int(st, 1, v);
        sqlite3_bind_text(st, 2, m[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, hex, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
        step = sqlite3_step(st);
        sqlite3_reset(st);
        if (step != SQLITE_DONE) {
            rc = db_fail(c, err, "recording a migration");
            break;
        }
        rc = db_commit(c, err);
        if (!rc) ran_now++;
        if (!rc && applied) (*applied)++;
        if (!rc && v > version) version = v;
    }
    /* After migrations that ran now, every foreign key must still point somewhere (a table
     * rebuilt by a migration could leave rows orphaned). Only then: it scans every row, which on a
     * large records table would slow every start. */
    if (!rc && ran_now) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(c->h, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK) {
            rc = db_fail(c, err, "PRAGMA foreign_key_check");
        } else {
            int step = sqlite3_step(st);
            if (step == SQLITE_ROW)
                rc = err_set(err, ECG_EFORMAT,
                             "database %s: table %s has rows whose foreign keys point nowhere",
                             d->path, (const char *)sqlite3_column_text(st, 0));
            else if (step != SQLITE_DONE)
                rc = db_fail(c, err, "PRAGMA foreign_key_check");
            sqlite3_finalize(st);
        }
    }
    db_writer_unlock(d, c);
    if (rc) return rc;
    atomic_store(&d->version, version);
    atomic_store(&d->ready, 1);
    return ECG_OK;
}

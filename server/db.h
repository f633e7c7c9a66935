/* db.h — the service's SQLite database: WAL mode, foreign keys, busy timeout, numbered migrations
 * applied in order and recorded with their checksum; one writer connection behind a mutex, and a
 * pool of read connections. Every statement is prepared (and cached per connection). */
#ifndef ECGFM_SERVER_DB_H
#define ECGFM_SERVER_DB_H

#include <sqlite3.h>

#include "core/base/error.h"

/* One migration: its file name (NNNN_words.sql) and SQL text. The build compiles migrations/ into
 * DB_MIGRATIONS (build/gen/migrations.c, by scripts/embed_sql.sh), ordered by name. */
typedef struct {
    const char *name;
    const char *sql;
} db_migration;
extern const db_migration DB_MIGRATIONS[];
extern const int DB_N_MIGRATIONS;

#define DB_FILE_NAME "ecgfm.sqlite3"
#define DB_BUSY_TIMEOUT_MS 5000

typedef struct db db;
typedef struct db_conn db_conn;

/* Open (creating) the database at path with n_readers read connections (>= 1). Does not migrate. */
ecg_code db_open(db **out, const char *path, int n_readers, ecg_err *err);
/* Bring the schema up to date with `migrations` (n of them, ordered by name): each one not yet in
 * schema_migrations runs in its own transaction and is recorded with its SHA-256. Refuses
 * (ECG_EFORMAT, message says what to do) a database that records a migration this binary does not
 * have (a newer ecgfm wrote it) or whose recorded checksum differs from the file's (edited after
 * it ran). *applied (may be NULL) gets how many ran now. On success the database is ready. */
ecg_code db_migrate(db *d, const db_migration *migrations, int n, int *applied, ecg_err *err);
/* True once db_migrate succeeded on d (thread-safe). */
int db_is_ready(const db *d);
/* The highest applied migration number, 0 for none. */
int db_schema_version(const db *d);
void db_close(db *d);
/* The service's database: DIR/ecgfm.sqlite3 opened and brought up to date with DB_MIGRATIONS. */
ecg_code db_open_dir(db **out, const char *data_dir, int n_readers, int *applied, ecg_err *err);

/* The writer: one connection, one thread at a time. Lock, do a short transaction, unlock. */
db_conn *db_writer_lock(db *d);
void db_writer_unlock(db *d, db_conn *c);
/* A read connection from the pool (blocks while all are in use); give it back when done. */
db_conn *db_reader_get(db *d);
void db_reader_put(db *d, db_conn *c);

/* A prepared statement for sql on c, cached by the sql text's address (pass string literals),
 * already reset and with bindings cleared. NULL with err set on failure. Do not finalize it. */
sqlite3_stmt *db_stmt(db_conn *c, const char *sql, ecg_err *err);
/* Transactions on the writer (BEGIN IMMEDIATE, so a write never fails half-way on SQLITE_BUSY). */
ecg_code db_begin(db_conn *c, ecg_err *err);
ecg_code db_commit(db_conn *c, ecg_err *err);
void db_rollback(db_conn *c);
/* Turn a failed sqlite3 call on c into err (ECG_EIO, with what and SQLite's message). */
ecg_code db_fail(db_conn *c, ecg_err *err, const char *what);
sqlite3 *db_handle(db_conn *c);

#endif

/* test_db.c — server/db.c on a temp directory: the real schema migrates once and is idempotent,
 * WAL and foreign keys are on, migrations run in order and atomically, a newer or edited schema and
 * a damaged file are refused with a message that says so, and the writer lock serialises writers
 * from several threads while readers read. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/db.h"

static char dir[] = "/tmp/ecgfm-test-db-XXXXXX";
static char path[256];

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/ecgfm-test-db-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/%s", dir, DB_FILE_NAME);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* One integer from a one-row query on a reader. */
static long long query_int(db *d, const char *sql) {
    db_conn *c = db_reader_get(d);
    sqlite3_stmt *st = db_stmt(c, sql, NULL);
    assert_non_null(st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    db_reader_put(d, c);
    return v;
}

static void test_real_schema(void **state) {
    (void)state;
    assert_true(DB_N_MIGRATIONS >= 1);
    assert_string_equal(DB_MIGRATIONS[0].name, "0001_init.sql");
    db *d = NULL;
    ecg_err err = {0};
    int applied = -1;
    assert_int_equal(db_open_dir(&d, dir, 2, &applied, &err), ECG_OK);
    assert_int_equal(applied, DB_N_MIGRATIONS);
    assert_true(db_is_ready(d));
    assert_true(db_schema_version(d) >= 1);
    /* Every table of the SPEC's state exists. */
    const char *tables[] = {"datasets", "records", "jobs",     "job_events",       "checkpoints",
                            "probes",   "studies", "api_keys", "schema_migrations"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        db_conn *c = db_reader_get(d);
        sqlite3_stmt *st = db_stmt(
            c, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1", NULL);
        sqlite3_bind_text(st, 1, tables[i], -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        if (sqlite3_column_int(st, 0) != 1) fail_msg("table %s missing", tables[i]);
        sqlite3_reset(st);
        db_reader_put(d, c);
    }
    /* WAL, and foreign keys enforced on the writer. */
    db_conn *c = db_reader_get(d);
    sqlite3_stmt *st = db_stmt(c, "PRAGMA journal_mode", NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_reset(st);
    /* Readers cannot write. */
    st = db_stmt(c, "DELETE FROM jobs", NULL);
    assert_int_not_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
    db_reader_put(d, c);
    c = db_writer_lock(d);
    st = db_stmt(c,
                 "INSERT INTO records (dataset_id, idx, source_name, format, fs, n_samples, "
                 "n_leads, created_at) VALUES (42, 0, 'a', 'csv', 500, 10, 1, 0)",
                 NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_CONSTRAINT_FOREIGNKEY);
    sqlite3_reset(st);
    /* The statement cache hands back the same statement for the same text. */
    static const char q[] = "SELECT 1";
    assert_ptr_equal(db_stmt(c, q, NULL), db_stmt(c, q, NULL));
    db_writer_unlock(d, c);
    db_close(d);

    /* Idempotent: a second start applies nothing and keeps the version. */
    assert_int_equal(db_open_dir(&d, dir, 1, &applied, &err), ECG_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(query_int(d, "SELECT count(*) FROM schema_migrations"), DB_N_MIGRATIONS);
    db_conn *r = db_reader_get(d);
    sqlite3_stmt *ic = db_stmt(r, "PRAGMA integrity_check", NULL);
    assert_int_equal(sqlite3_step(ic), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(ic, 0), "ok");
    sqlite3_reset(ic);
    db_reader_put(d, r);
    db_close(d);
}

static void test_newer_schema_refused(void **state) {
    (void)state;
    db *d = NULL;
    ecg_err err = {0};
    assert_int_equal(db_open_dir(&d, dir, 1, NULL, &err), ECG_OK);
    db_conn *c = db_writer_lock(d);
    sqlite3_stmt *st = db_stmt(c,
                               "INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', "
                               "'abc', 0)",
                               NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
    db_writer_unlock(d, c);
    db_close(d);
    assert_int_equal(db_open_dir(&d, dir, 1, NULL, &err), ECG_EVERSION);
    assert_null(d);
    assert_non_null(strstr(err.msg, "9999"));
    assert_non_null(strstr(err.msg, "newer ecgfm"));
}

static void test_edited_migration_refused(void **state) {
    (void)state;
    const db_migration v1[] = {{"0001_a.sql", "CREATE TABLE a (x INTEGER);"}};
    const db_migration v1_edited[] = {{"0001_a.sql", "CREATE TABLE a (x INTEGER, y TEXT);"}};
    db *d = NULL;
    ecg_err err = {0};
    assert_int_equal(db_open(&d, path, 1, &err), ECG_OK);
    assert_false(db_is_ready(d));
    assert_int_equal(db_migrate(d, v1, 1, NULL, &err), ECG_OK);
    db_close(d);
    assert_int_equal(db_open(&d, path, 1, &err), ECG_OK);
    assert_int_equal(db_migrate(d, v1_edited, 1, NULL, &err), ECG_EFORMAT);
    assert_false(db_is_ready(d));
    assert_non_null(strstr(err.msg, "0001_a.sql"));
    assert_non_null(strstr(err.msg, "edited"));
    db_close(d);
}

static void test_order_and_atomicity(void **state) {
    (void)state;
    const db_migration good[] = {
        {"0001_a.sql", "CREATE TABLE a (x INTEGER);\n-- a comment\nINSERT INTO a VALUES (1);"},
        {"0002_b.sql", "ALTER TABLE a ADD COLUMN y TEXT; UPDATE a SET y = 'two';"},
    };
    /* 0003 fails half-way: its first statement must not stay. */
    const db_migration bad[] = {
        good[0], good[1], {"0003_c.sql", "CREATE TABLE c (x); CREATE TABLE a (x);"}};
    const db_migration unordered[] = {good[1], good[0]};
    db *d = NULL;
    ecg_err err = {0};
    int applied = 0;
    assert_int_equal(db_open(&d, path, 1, &err), ECG_OK);
    assert_int_equal(db_migrate(d, unordered, 2, NULL, &err), ECG_EINVAL);
    assert_int_equal(db_migrate(d, good, 1, &applied, &err), ECG_OK);
    assert_int_equal(applied, 1);
    assert_int_equal(db_migrate(d, good, 2, &applied, &err), ECG_OK);
    assert_int_equal(applied, 1);
    assert_int_equal(db_schema_version(d), 2);
    assert_int_equal(query_int(d, "SELECT count(*) FROM a WHERE y = 'two'"), 1);
    assert_int_equal(db_migrate(d, bad, 3, &applied, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "0003_c.sql"));
    assert_int_equal(query_int(d, "SELECT count(*) FROM sqlite_schema WHERE name = 'c'"), 0);
    assert_int_equal(query_int(d, "SELECT max(version) FROM schema_migrations"), 2);
    db_close(d);
}

static void test_damaged_file_refused(void **state) {
    (void)state;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 8192; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    db *d = NULL;
    ecg_err err = {0};
    assert_int_equal(db_open(&d, path, 1, &err), ECG_EFORMAT);
    assert_null(d);
    assert_non_null(strstr(err.msg, "not a database"));
}

typedef struct {
    db *d;
    int id;
} writer_arg;

static void *writer_thread(void *p) {
    writer_arg *a = p;
    for (int i = 0; i < 100; i++) {
        db_conn *c = db_writer_lock(a->d);
        ecg_err err = {0};
        if (db_begin(c, &err) == ECG_OK) {
            sqlite3_stmt *st = db_stmt(c, "INSERT INTO t (who, i) VALUES (?1, ?2)", &err);
            sqlite3_bind_int(st, 1, a->id);
            sqlite3_bind_int(st, 2, i);
            if (sqlite3_step(st) == SQLITE_DONE) {
                sqlite3_reset(st);
                db_commit(c, &err);
            } else {
                sqlite3_reset(st);
            }
        }
        db_writer_unlock(a->d, c);
    }
    return NULL;
}

static void test_writers_serialised(void **state) {
    (void)state;
    const db_migration m[] = {{"0001_t.sql", "CREATE TABLE t (who INTEGER, i INTEGER);"}};
    db *d = NULL;
    ecg_err err = {0};
    assert_int_equal(db_open(&d, path, 2, &err), ECG_OK);
    assert_int_equal(db_migrate(d, m, 1, NULL, &err), ECG_OK);
    pthread_t th[3];
    writer_arg args[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (writer_arg){d, i};
        assert_int_equal(pthread_create(&th[i], NULL, writer_thread, &args[i]), 0);
    }
    long long last = 0;
    for (int k = 0; k < 50; k++) { /* readers see a growing, never torn, count meanwhile */
        long long n = query_int(d, "SELECT count(*) FROM t");
        assert_true(n >= last);
        last = n;
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(query_int(d, "SELECT count(*) FROM t"), 300);
    db_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_real_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edited_migration_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_and_atomicity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writers_serialised, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_auth.c — server/auth.c on a temp database: key shape, the stored row holds no clear key,
 * scope order, header parsing (missing, other schemes, malformed, unknown, revoked), revocation
 * errors, ensure-admin creating exactly one key, name validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/auth.h"

static char dir[64];
static db *d;

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/ecgfm-test-auth-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    ecg_err err = {0};
    return db_open_dir(&d, dir, 2, NULL, &err) == ECG_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    db_close(d);
    d = NULL;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *bearer(const char *key) {
    static char buf[128];
    snprintf(buf, sizeof buf, "Bearer %s", key);
    return buf;
}

static void test_create_and_check(void **state) {
    (void)state;
    char key[AUTH_KEY_LEN + 1], key2[AUTH_KEY_LEN + 1];
    auth_key_info info;
    ecg_err err = {0};
    assert_int_equal(auth_key_create(d, AUTH_SCOPE_EMBED, "ward 3", key, &info, &err), ECG_OK);
    assert_int_equal(strlen(key), AUTH_KEY_LEN);
    assert_memory_equal(key, AUTH_KEY_PREFIX, 4);
    assert_memory_equal(info.prefix, key, AUTH_KEY_SHOWN);
    assert_string_equal(info.name, "ward 3");
    assert_int_equal(info.scope, AUTH_SCOPE_EMBED);
    assert_int_equal(auth_key_create(d, AUTH_SCOPE_EMBED, NULL, key2, NULL, &err), ECG_OK);
    assert_string_not_equal(key, key2);

    /* Scope order: read <= embed pass, train and admin are forbidden; who says which key. */
    auth_key_info who;
    assert_int_equal(auth_check(d, bearer(key), AUTH_SCOPE_READ, &who), AUTH_OK);
    assert_int_equal(who.id, info.id);
    assert_int_equal(auth_check(d, bearer(key), AUTH_SCOPE_EMBED, NULL), AUTH_OK);
    assert_int_equal(auth_check(d, bearer(key), AUTH_SCOPE_TRAIN, NULL), AUTH_FORBIDDEN);
    assert_int_equal(auth_check(d, bearer(key), AUTH_SCOPE_ADMIN, NULL), AUTH_FORBIDDEN);
    assert_int_equal(auth_check(d, NULL, AUTH_SCOPE_NONE, NULL), AUTH_OK);

    /* Header forms. */
    char buf[128];
    snprintf(buf, sizeof buf, "bearer   %s  ", key); /* scheme is case-insensitive */
    assert_int_equal(auth_check(d, buf, AUTH_SCOPE_READ, NULL), AUTH_OK);
    assert_int_equal(auth_check(d, NULL, AUTH_SCOPE_READ, NULL), AUTH_MISSING);
    assert_int_equal(auth_check(d, "", AUTH_SCOPE_READ, NULL), AUTH_MISSING);
    assert_int_equal(auth_check(d, "Basic dXNlcjpwYXNz", AUTH_SCOPE_READ, NULL), AUTH_MISSING);
    assert_int_equal(auth_check(d, "Bearer ", AUTH_SCOPE_READ, NULL), AUTH_INVALID);
    assert_int_equal(auth_check(d, "Bearer efm_short", AUTH_SCOPE_READ, NULL), AUTH_INVALID);
    char wrong[AUTH_KEY_LEN + 1];
    strcpy(wrong, key);
    wrong[10] = wrong[10] == 'A' ? 'B' : 'A'; /* same shape, one character off */
    assert_int_equal(auth_check(d, bearer(wrong), AUTH_SCOPE_READ, NULL), AUTH_INVALID);
    strcpy(wrong, key);
    wrong[20] = '%'; /* not base64url */
    assert_int_equal(auth_check(d, bearer(wrong), AUTH_SCOPE_READ, NULL), AUTH_INVALID);
    snprintf(buf, sizeof buf, "Bearer %sX", key); /* one character too many */
    assert_int_equal(auth_check(d, buf, AUTH_SCOPE_READ, NULL), AUTH_INVALID);
}

static void test_no_clear_key_stored(void **state) {
    (void)state;
    char key[AUTH_KEY_LEN + 1];
    ecg_err err = {0};
    assert_int_equal(auth_key_create(d, AUTH_SCOPE_ADMIN, "x", key, NULL, &err), ECG_OK);
    /* The whole database file (and its WAL) must not contain the key or its secret part. */
    char p[128];
    const char *files[] = {"ecgfm.sqlite3", "ecgfm.sqlite3-wal"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        FILE *f = fopen(p, "rb");
        if (!f) continue;
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        for (size_t k = 0; k + 20 <= n; k++)
            if (memcmp(buf + k, key + AUTH_KEY_SHOWN, 20) == 0) fail_msg("clear key in %s", p);
    }
    db_conn *c = db_reader_get(d);
    sqlite3_stmt *st = db_stmt(c, "SELECT length(hash), typeof(hash) FROM api_keys", NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 32);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "blob");
    sqlite3_reset(st);
    db_reader_put(d, c);
}

static void test_revoke(void **state) {
    (void)state;
    char key[AUTH_KEY_LEN + 1];
    auth_key_info info, out;
    ecg_err err = {0};
    assert_int_equal(auth_key_create(d, AUTH_SCOPE_READ, "r", key, &info, &err), ECG_OK);
    assert_int_equal(auth_check(d, bearer(key), AUTH_SCOPE_READ, NULL), AUTH_OK);
    assert_int_equal(auth_key_revoke(d, info.id, &out, &err), ECG_OK);
    assert_true(out.revoked_at > 0);
    assert_int_equal(auth_check(d, bearer(key), AUTH_SCOPE_READ, NULL), AUTH_INVALID);
    assert_int_equal(auth_key_revoke(d, info.id, NULL, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "already revoked"));
    assert_int_equal(auth_key_revoke(d, 12345, NULL, &err), ECG_ENOTFOUND);
    auth_key_info *ks = NULL;
    size_t n = 0;
    assert_int_equal(auth_key_list(d, &ks, &n, &err), ECG_OK);
    assert_int_equal(n, 1);
    assert_true(ks[0].revoked_at > 0);
    free(ks);
}

static void test_ensure_admin_and_names(void **state) {
    (void)state;
    char key[AUTH_KEY_LEN + 1], again[AUTH_KEY_LEN + 1];
    int created = 0;
    ecg_err err = {0};
    /* A non-admin key does not count. */
    assert_int_equal(auth_key_create(d, AUTH_SCOPE_TRAIN, NULL, key, NULL, &err), ECG_OK);
    assert_int_equal(auth_ensure_admin(d, key, &created, &err), ECG_OK);
    assert_int_equal(created, 1);
    assert_int_equal(auth_check(d, bearer(key), AUTH_SCOPE_ADMIN, NULL), AUTH_OK);
    assert_int_equal(auth_ensure_admin(d, again, &created, &err), ECG_OK);
    assert_int_equal(created, 0);
    auth_key_info *ks = NULL;
    size_t n = 0;
    assert_int_equal(auth_key_list(d, &ks, &n, &err), ECG_OK);
    assert_int_equal(n, 2);
    assert_string_equal(ks[1].name, "local-admin");
    /* Revoking it makes ensure-admin create a new one. */
    assert_int_equal(auth_key_revoke(d, ks[1].id, NULL, &err), ECG_OK);
    free(ks);
    assert_int_equal(auth_ensure_admin(d, again, &created, &err), ECG_OK);
    assert_int_equal(created, 1);

    assert_int_equal(auth_key_create(d, AUTH_SCOPE_READ, "bad\nname", key, NULL, &err), ECG_EINVAL);
    assert_int_equal(auth_key_create(d, AUTH_SCOPE_READ, "\xff\xfe", key, NULL, &err), ECG_EINVAL);
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(auth_key_create(d, AUTH_SCOPE_READ, longname, key, NULL, &err), ECG_EINVAL);
    assert_int_equal(auth_key_create(d, AUTH_SCOPE_NONE, NULL, key, NULL, &err), ECG_EINVAL);
    auth_scope s;
    assert_int_equal(auth_scope_parse("train", &s), 0);
    assert_int_equal(s, AUTH_SCOPE_TRAIN);
    assert_int_equal(auth_scope_parse("write", &s), -1);
    assert_int_equal(auth_scope_parse("none", &s), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_clear_key_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ensure_admin_and_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

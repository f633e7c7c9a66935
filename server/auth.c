/* auth.c — API keys (see auth.h). A key is 32 random bytes; only its BLAKE2b-256 hash
 * (crypto_generichash, keyed with a fixed domain-separation key) is stored.
 *
 * Why a fast hash and not crypto_pwhash: slow, salted password hashing exists because passwords
 * are guessable, so each guess must be made expensive. A key of 256 random bits cannot be guessed
 * whatever the hash costs, and inverting BLAKE2b is as hard as guessing the key, so a stolen
 * database reveals no key. Meanwhile the check runs on every request: a fast deterministic hash
 * lets it be one indexed lookup (hash = ?) in microseconds, where pwhash would cost ~100 ms and
 * tens of MB per request and, being salted, force a scan of every stored key. */
#include "server/auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

/* Not a secret: it only keeps these hashes from being confused with any other BLAKE2b use. */
static const unsigned char HASH_KEY[crypto_generichash_KEYBYTES] = "ecgfm api key hash, version 1";

static const char *const SCOPE_NAMES[] = {"none", "read", "embed", "train", "admin"};

const char *auth_scope_name(auth_scope s) {
    return (unsigned)s <= AUTH_SCOPE_ADMIN ? SCOPE_NAMES[s] : "?";
}

int auth_scope_parse(const char *name, auth_scope *out) {
    for (int s = AUTH_SCOPE_READ; s <= AUTH_SCOPE_ADMIN; s++) {
        if (name && strcmp(name, SCOPE_NAMES[s]) == 0) {
            *out = (auth_scope)s;
            return 0;
        }
    }
    return -1;
}

static void key_hash(const char *key, unsigned char out[32]) {
    crypto_generichash(out, 32, (const unsigned char *)key, strlen(key), HASH_KEY, sizeof HASH_KEY);
}

static void row_to_info(sqlite3_stmt *st, auth_key_info *info) {
    memset(info, 0, sizeof *info);
    info->id = sqlite3_column_int64(st, 0);
    const char *name = (const char *)sqlite3_column_text(st, 1);
    snprintf(info->name, sizeof info->name, "%s", name ? name : "");
    const char *scope = (const char *)sqlite3_column_text(st, 2);
    if (auth_scope_parse(scope, &info->scope)) info->scope = AUTH_SCOPE_NONE;
    const char *prefix = (const char *)sqlite3_column_text(st, 3);
    snprintf(info->prefix, sizeof info->prefix, "%s", prefix ? prefix : "");
    info->created_at = sqlite3_column_int64(st, 4);
    info->revoked_at = sqlite3_column_int64(st, 5);
}

#define KEY_COLUMNS "id, name, scope, prefix, created_at, coalesce(revoked_at, 0)"

static const char SQL_INSERT[] =
    "INSERT INTO api_keys (name, scope, prefix, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5) "
    "RETURNING " KEY_COLUMNS;

/* Insert a new key on the writer c, inside the caller's transaction or on its own. */
static ecg_code create_on(db_conn *c, auth_scope scope, const char *name,
                          char key[AUTH_KEY_LEN + 1], auth_key_info *info, ecg_err *err) {
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(key, AUTH_KEY_PREFIX, 4);
    sodium_bin2base64(key + 4, AUTH_KEY_LEN + 1 - 4, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    unsigned char h[32];
    key_hash(key, h);
    char prefix[AUTH_KEY_SHOWN + 1];
    memcpy(prefix, key, AUTH_KEY_SHOWN);
    prefix[AUTH_KEY_SHOWN] = '\0';
    sqlite3_stmt *st = db_stmt(c, SQL_INSERT, err);
    if (!st) return err ? err->code : ECG_EIO;
    sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, auth_scope_name(scope), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, prefix, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 4, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && info) row_to_info(st, info);
    if (rc == SQLITE_ROW) rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return db_fail(c, err, "storing an API key");
    return ECG_OK;
}

static ecg_code check_name(const char *name, ecg_err *err) {
    if (!name) return ECG_OK;
    if (strlen(name) > 127) return err_set(err, ECG_EINVAL, "a key name is at most 127 bytes");
    json_t *probe = json_string(name); /* names are shown in JSON: valid UTF-8 only */
    if (!probe) return err_set(err, ECG_EINVAL, "a key name must be valid UTF-8");
    json_decref(probe);
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return err_set(err, ECG_EINVAL, "a key name must not contain control characters");
    return ECG_OK;
}

ecg_code auth_key_create(db *d, auth_scope scope, const char *name, char key[AUTH_KEY_LEN + 1],
                         auth_key_info *info, ecg_err *err) {
    if (scope < AUTH_SCOPE_READ || scope > AUTH_SCOPE_ADMIN)
        return err_set(err, ECG_EINVAL, "scope must be read, embed, train or admin");
    ecg_code rc = check_name(name, err);
    if (rc) return rc;
    db_conn *c = db_writer_lock(d);
    rc = create_on(c, scope, name, key, info, err);
    db_writer_unlock(d, c);
    if (rc) sodium_memzero(key, AUTH_KEY_LEN + 1);
    return rc;
}

static const char SQL_LIST[] = "SELECT " KEY_COLUMNS " FROM api_keys ORDER BY id";

ecg_code auth_key_list(db *d, auth_key_info **out, size_t *n, ecg_err *err) {
    *out = NULL;
    *n = 0;
    db_conn *c = db_reader_get(d);
    ecg_code code = ECG_OK;
    size_t cap = 0;
    sqlite3_stmt *st = db_stmt(c, SQL_LIST, err);
    if (!st) {
        db_reader_put(d, c);
        return err ? err->code : ECG_EIO;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            auth_key_info *m = realloc(*out, cap * sizeof *m);
            if (!m) {
                code = err_set(err, ECG_ENOMEM, "out of memory listing keys");
                break;
            }
            *out = m;
        }
        row_to_info(st, &(*out)[(*n)++]);
    }
    if (!code && rc != SQLITE_DONE) code = db_fail(c, err, "listing API keys");
    sqlite3_reset(st);
    db_reader_put(d, c);
    if (code) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return code;
}

static const char SQL_GET[] = "SELECT " KEY_COLUMNS " FROM api_keys WHERE id = ?1";
static const char SQL_REVOKE[] =
    "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";

ecg_code auth_key_revoke(db *d, long long id, auth_key_info *info, ecg_err *err) {
    db_conn *c = db_writer_lock(d);
    ecg_code code = db_begin(c, err);
    sqlite3_stmt *st = code ? NULL : db_stmt(c, SQL_GET, err);
    if (!code && !st) code = err ? err->code : ECG_EIO;
    auth_key_info k;
    if (!code) {
        sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) row_to_info(st, &k);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            code = err_set(err, ECG_ENOTFOUND, "there is no API key %lld", id);
        else if (rc != SQLITE_ROW)
            code = db_fail(c, err, "reading an API key");
        else if (k.revoked_at)
            code = err_set(err, ECG_EINVAL, "API key %lld is already revoked", id);
    }
    if (!code) {
        st = db_stmt(c, SQL_REVOKE, err);
        if (!st) code = err ? err->code : ECG_EIO;
    }
    if (!code) {
        k.revoked_at = (long long)time(NULL);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, k.revoked_at);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) code = db_fail(c, err, "revoking an API key");
    }
    if (!code) code = db_commit(c, err);
    db_writer_unlock(d, c);
    if (!code && info) *info = k;
    return code;
}

static const char SQL_ANY_ADMIN[] =
    "SELECT 1 FROM api_keys WHERE scope = 'admin' AND revoked_at IS NULL LIMIT 1";

ecg_code auth_ensure_admin(db *d, char key[AUTH_KEY_LEN + 1], int *created, ecg_err *err) {
    *created = 0;
    db_conn *c = db_writer_lock(d);
    /* One transaction, so two processes starting at once cannot both create one. */
    ecg_code code = db_begin(c, err);
    sqlite3_stmt *st = code ? NULL : db_stmt(c, SQL_ANY_ADMIN, err);
    if (!code && !st) code = err ? err->code : ECG_EIO;
    if (!code) {
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE) {
            code = create_on(c, AUTH_SCOPE_ADMIN, "local-admin", key, NULL, err);
            if (!code) *created = 1;
        } else if (rc != SQLITE_ROW) {
            code = db_fail(c, err, "looking for an admin key");
        }
    }
    if (!code) code = db_commit(c, err);
    db_writer_unlock(d, c);
    if (code) *created = 0;
    return code;
}

static const char SQL_BY_HASH[] = "SELECT " KEY_COLUMNS " FROM api_keys WHERE hash = ?1";

auth_result auth_check(db *d, const char *authorization, auth_scope need, auth_key_info *who) {
    if (need == AUTH_SCOPE_NONE) return AUTH_OK;
    if (!authorization) return AUTH_MISSING;
    if (strncasecmp(authorization, "Bearer ", 7) != 0) return AUTH_MISSING;
    const char *key = authorization + 7;
    while (*key == ' ')
        key++;
    size_t len = strlen(key);
    while (len && key[len - 1] == ' ')
        len--;
    /* Only something shaped like a key is hashed and looked up. */
    if (len != AUTH_KEY_LEN || strncmp(key, AUTH_KEY_PREFIX, 4) != 0) return AUTH_INVALID;
    for (size_t i = 4; i < len; i++) {
        char ch = key[i];
        int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '_';
        if (!ok) return AUTH_INVALID;
    }
    char copy[AUTH_KEY_LEN + 1];
    memcpy(copy, key, AUTH_KEY_LEN);
    copy[AUTH_KEY_LEN] = '\0';
    unsigned char h[32];
    key_hash(copy, h);
    sodium_memzero(copy, sizeof copy);
    if (!db_is_ready(d)) return AUTH_UNAVAILABLE;
    db_conn *c = db_reader_get(d);
    sqlite3_stmt *st = db_stmt(c, SQL_BY_HASH, NULL);
    if (!st) {
        db_reader_put(d, c);
        return AUTH_UNAVAILABLE;
    }
    sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    auth_key_info k;
    if (rc == SQLITE_ROW) row_to_info(st, &k);
    sqlite3_reset(st);
    db_reader_put(d, c);
    if (rc == SQLITE_DONE) return AUTH_INVALID;
    if (rc != SQLITE_ROW) return AUTH_UNAVAILABLE;
    if (k.revoked_at) return AUTH_INVALID;
    if (who) *who = k;
    return k.scope >= need ? AUTH_OK : AUTH_FORBIDDEN;
}

/* auth.h — API keys: creation (the key is shown once), listing, revocation, and the check every
 * /v1 request goes through (Authorization: Bearer <key>, with a scope at least the route's). */
#ifndef ECGFM_SERVER_AUTH_H
#define ECGFM_SERVER_AUTH_H

#include <stddef.h>

#include "core/base/error.h"
#include "server/db.h"

/* Scopes are ordered: a key may do what its scope and every lower one allow. read: GET resources;
 * embed: also /v1/embed and /v1/transfer; train: also create and control jobs, datasets and
 * checkpoints; admin: also manage API keys. */
typedef enum {
    AUTH_SCOPE_NONE = 0, /* route needs no key */
    AUTH_SCOPE_READ,
    AUTH_SCOPE_EMBED,
    AUTH_SCOPE_TRAIN,
    AUTH_SCOPE_ADMIN,
} auth_scope;

/* "efm_" + 43 base64url characters (32 random bytes). */
#define AUTH_KEY_PREFIX "efm_"
#define AUTH_KEY_LEN 47
#define AUTH_KEY_SHOWN 12 /* characters of the key kept in clear to recognise it in lists */

typedef struct {
    long long id;
    char name[128];
    auth_scope scope;
    char prefix[AUTH_KEY_SHOWN + 1];
    long long created_at; /* Unix seconds */
    long long revoked_at; /* 0 when active */
} auth_key_info;

typedef enum {
    AUTH_OK = 0,
    AUTH_MISSING,     /* no Authorization header, or not a Bearer one: 401 */
    AUTH_INVALID,     /* unknown, malformed or revoked key: 401 */
    AUTH_FORBIDDEN,   /* a valid key whose scope is too low: 403 */
    AUTH_UNAVAILABLE, /* the database cannot answer: 503 */
} auth_result;

const char *auth_scope_name(auth_scope s);
/* 0 and *out set for "read", "embed", "train", "admin"; -1 otherwise. */
int auth_scope_parse(const char *name, auth_scope *out);

/* Make a key with scope and name (may be NULL or ""; at most 127 bytes of UTF-8): key gets the
 * only clear copy there will ever be (AUTH_KEY_LEN + 1 bytes), info its stored description. */
ecg_code auth_key_create(db *d, auth_scope scope, const char *name, char key[AUTH_KEY_LEN + 1],
                         auth_key_info *info, ecg_err *err);
/* Every key, revoked ones too, oldest first; *out is malloc'd (free it). */
ecg_code auth_key_list(db *d, auth_key_info **out, size_t *n, ecg_err *err);
/* Revoke key id: ECG_ENOTFOUND when there is no such key, ECG_EINVAL when already revoked. */
ecg_code auth_key_revoke(db *d, long long id, auth_key_info *info, ecg_err *err);
/* If no active admin key exists, create one named "local-admin": *created = 1 and key filled. */
ecg_code auth_ensure_admin(db *d, char key[AUTH_KEY_LEN + 1], int *created, ecg_err *err);
/* Check an Authorization header value (may be NULL) against need; who (may be NULL) gets the key
 * on AUTH_OK and AUTH_FORBIDDEN. Safe from any thread (uses a read connection). */
auth_result auth_check(db *d, const char *authorization, auth_scope need, auth_key_info *who);

#endif

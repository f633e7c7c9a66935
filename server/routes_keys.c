/* routes_keys.c — the API-key endpoints (see routes_keys.h). */
#include "server/routes_keys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/keys.h"

static keys_view view_of(const auth_key_info *k) {
    return (keys_view){k->id,     k->name,       auth_scope_name(k->scope),
                       k->prefix, k->created_at, k->revoked_at};
}

static void answer_failure(const ecg_err *err, api_response *res) {
    if (err->code == ECG_EINVAL)
        api_response_error(res, 422, "invalid_value", "%s", err->msg);
    else
        api_response_error(res, 500, "storage_error", "%s", err->msg);
}

void routes_keys_create(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    keys_create_request req;
    if (keys_parse_create(rq->body, rq->body_len, rq->content_type, &req, res)) return;
    auth_scope scope;
    if (auth_scope_parse(req.scope, &scope)) {
        api_response_error(res, 422, "invalid_scope", "unknown scope %s", req.scope);
        return;
    }
    char key[AUTH_KEY_LEN + 1];
    auth_key_info info;
    ecg_err err = {0};
    if (auth_key_create(ctx->db, scope, req.name, key, &info, &err) != ECG_OK) {
        answer_failure(&err, res);
        return;
    }
    keys_view v = view_of(&info);
    keys_answer_created(&v, key, res);
    sodium_memzero(key, sizeof key);
}

void routes_keys_list(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    (void)rq;
    auth_key_info *ks = NULL;
    size_t n = 0;
    ecg_err err = {0};
    if (auth_key_list(ctx->db, &ks, &n, &err) != ECG_OK) {
        answer_failure(&err, res);
        return;
    }
    keys_view *vs = n ? malloc(n * sizeof *vs) : NULL;
    if (n && !vs) {
        free(ks);
        api_response_error(res, 500, "out_of_memory", "out of memory listing keys");
        return;
    }
    for (size_t i = 0; i < n; i++)
        vs[i] = view_of(&ks[i]);
    keys_answer_list(vs, n, res);
    free(vs);
    free(ks);
}

void routes_keys_revoke(const routes_ctx *ctx, const routes_request *rq, api_response *res) {
    const char *s = rq->params[0];
    /* Ids are positive decimal integers; anything else names no key. */
    char *end = NULL;
    errno = 0;
    long long id = (s && *s >= '1' && *s <= '9') ? strtoll(s, &end, 10) : 0;
    if (!s || id <= 0 || errno || !end || *end) {
        api_response_error(res, 404, "not_found", "there is no API key \"%.40s\"", s ? s : "");
        return;
    }
    auth_key_info info;
    ecg_err err = {0};
    ecg_code rc = auth_key_revoke(ctx->db, id, &info, &err);
    if (rc == ECG_ENOTFOUND) {
        api_response_error(res, 404, "not_found", "%s", err.msg);
        return;
    }
    if (rc == ECG_EINVAL) {
        api_response_error(res, 409, "already_revoked", "%s", err.msg);
        return;
    }
    if (rc) {
        answer_failure(&err, res);
        return;
    }
    keys_view v = view_of(&info);
    keys_answer_one(&v, res);
}

/* keys.c — API-key request parsing and answers (see keys.h). Unknown fields are refused (422) so
 * that a typo ("scopes") is not silently ignored. */
#include "api/keys.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int keys_parse_create(const char *body, size_t len, const char *content_type,
                      keys_create_request *req, api_response *res) {
    memset(req, 0, sizeof *req);
    static const char *const fields[] = {"scope", "name", NULL};
    json_t *j = api_request_object(body, len, content_type, "POST /v1/keys", fields, res);
    if (!j) return -1;
    int rc = -1;
    json_t *scope = json_object_get(j, "scope");
    if (!scope) {
        api_response_error(res, 422, "missing_field",
                           "\"scope\" is required: one of read, embed, train, admin");
        goto done;
    }
    const char *s = json_string_value(scope);
    if (!s ||
        (strcmp(s, "read") && strcmp(s, "embed") && strcmp(s, "train") && strcmp(s, "admin"))) {
        api_response_error(res, 422, "invalid_scope",
                           "\"scope\" must be one of the strings read, embed, train, admin");
        goto done;
    }
    snprintf(req->scope, sizeof req->scope, "%s", s);
    json_t *name = json_object_get(j, "name");
    if (name && !json_is_null(name)) {
        const char *n = json_string_value(name);
        if (!n) {
            api_response_error(res, 422, "invalid_name", "\"name\" must be a string");
            goto done;
        }
        if (strlen(n) >= sizeof req->name) {
            api_response_error(res, 422, "invalid_name", "\"name\" is at most %zu bytes",
                               sizeof req->name - 1);
            goto done;
        }
        for (const char *p = n; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                api_response_error(res, 422, "invalid_name",
                                   "\"name\" must not contain control characters");
                goto done;
            }
        }
        snprintf(req->name, sizeof req->name, "%s", n);
    }
    rc = 0;
done:
    json_decref(j);
    return rc;
}

static json_t *key_json(const keys_view *k) {
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)k->id, "name",
                     k->name ? k->name : "", "scope", k->scope, "prefix", k->prefix, "created_at",
                     api_json_timestamp(k->created_at), "revoked_at",
                     api_json_timestamp(k->revoked_at));
}

void keys_answer_created(const keys_view *k, const char *key, api_response *res) {
    json_t *j = key_json(k);
    if (j && json_object_set_new(j, "key", json_string(key))) {
        json_decref(j);
        j = NULL;
    }
    api_response_json(res, 201, j);
}

void keys_answer_list(const keys_view *ks, size_t n, api_response *res) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *one = key_json(&ks[i]);
        if (!one || json_array_append_new(arr, one)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    api_response_json(res, 200, arr ? json_pack("{s:o}", "keys", arr) : NULL);
}

void keys_answer_one(const keys_view *k, api_response *res) {
    api_response_json(res, 200, key_json(k));
}

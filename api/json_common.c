/* json_common.c — request-body and timestamp JSON shared by the API endpoints (see json_common.h),
 * so every endpoint refuses the same bodies with the same statuses and words. */
#include "api/json_common.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int api_is_json_content_type(const char *ct) {
    if (!ct) return -1;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    if (strncasecmp(ct, "application/json", n) != 0) return -1;
    return (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ') ? 0 : -1;
}

int api_in_list(const char *s, const char *const *list) {
    for (int i = 0; s && list[i]; i++)
        if (strcmp(s, list[i]) == 0) return 1;
    return 0;
}

int api_check_keys(json_t *obj, const char *prefix, const char *const *allowed,
                   const char *allowed_text, api_response *res) {
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (!api_in_list(k, allowed)) {
            api_response_error(res, 422, "unknown_field", "unknown parameter %s%.64s (allowed: %s)",
                               prefix, k, allowed_text);
            return -1;
        }
    }
    return 0;
}

json_t *api_request_object(const char *body, size_t len, const char *content_type,
                           const char *route, const char *const *fields, api_response *res) {
    if (api_is_json_content_type(content_type)) {
        api_response_error(res, 415, "unsupported_media_type",
                           "%s takes a JSON body (Content-Type: application/json)", route);
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        api_response_error(res, 400, "invalid_json", "the body is not valid JSON: %s (line %d)",
                           e.text, e.line);
        return NULL;
    }
    if (!json_is_object(j)) {
        api_response_error(res, 400, "invalid_json", "the body must be a JSON object");
        json_decref(j);
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        if (!api_in_list(k, fields)) {
            char allowed[256] = "";
            size_t used = 0;
            for (const char *const *f = fields; *f && used < sizeof allowed; f++) {
                int w = snprintf(allowed + used, sizeof allowed - used, "%s%s",
                                 f == fields ? "" : ", ", *f);
                if (w < 0) break;
                used += (size_t)w;
            }
            api_response_error(res, 422, "unknown_field", "unknown field \"%.64s\" (allowed: %s)",
                               k, allowed);
            json_decref(j);
            return NULL;
        }
    }
    return j;
}

json_t *api_json_timestamp(long long t) {
    if (!t) return json_null();
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return json_string(buf);
}

int api_parse_paging(const char *limit_s, const char *cursor_s, long long limit_max,
                     long long cursor_min, int digits_only, long long *limit, long long *cursor,
                     api_response *res) {
    *limit = 50;
    *cursor = 0;
    struct {
        const char *s, *name;
        long long lo, hi, *dst;
    } ints[] = {{limit_s, "limit", 1, limit_max, limit},
                {cursor_s, "cursor", cursor_min, 1ll << 62, cursor}};
    for (int i = 0; i < 2; i++) {
        if (!ints[i].s) continue;
        char *end;
        long long v = strtoll(ints[i].s, &end, 10);
        if (end == ints[i].s || *end || (digits_only && !isdigit((unsigned char)ints[i].s[0])) ||
            v < ints[i].lo || v > ints[i].hi) {
            api_response_error(res, 422, "invalid_value", "%s must be an integer in [%lld, %lld]",
                               ints[i].name, ints[i].lo, ints[i].hi);
            return -1;
        }
        *ints[i].dst = v;
    }
    return 0;
}

json_t *api_json_stored(const char *text) {
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    return j ? j : json_null();
}

json_t *api_json_append(json_t *arr, json_t *one) {
    if (!one || json_array_append_new(arr, one)) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

void api_answer_page(api_response *res, const char *key, json_t *items, long long next_cursor) {
    api_response_json(res, 200,
                      items ? json_pack("{s:o, s:o}", key, items, "next_cursor",
                                        next_cursor ? json_integer(next_cursor) : json_null())
                            : NULL);
}

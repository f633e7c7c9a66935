/* embed_batch.c — the batch body scanned once for its record boundaries (see embed_batch.h): a
 * jansson tree of a batch of 12-lead ECGs would cost milliseconds on the loop thread per request.
 */
#include "api/embed_batch.h"

#include <stdlib.h>
#include <string.h>

#include "api/json_common.h"

#define EB_MAX_DEPTH 64

typedef struct {
    const char *start, *p, *end;
} scan;

static void ws(scan *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* A string starting at '"'; out (may be NULL) gets its first cap-1 raw bytes. -1 when bad. */
static int scan_string(scan *s, char *out, size_t cap) {
    if (s->p >= s->end || *s->p != '"') return -1;
    s->p++;
    size_t n = 0;
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p;
        if (c < 0x20) return -1;
        if (c == '\\') {
            s->p++;
            if (s->p >= s->end) return -1;
        }
        if (out && n + 1 < cap) out[n++] = *s->p;
        s->p++;
    }
    if (s->p >= s->end) return -1;
    s->p++;
    if (out) out[n] = '\0';
    return 0;
}

static int scan_value(scan *s, int depth) {
    ws(s);
    if (s->p >= s->end || depth > EB_MAX_DEPTH) return -1;
    char c = *s->p;
    if (c == '"') return scan_string(s, NULL, 0);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        s->p++;
        ws(s);
        if (s->p < s->end && *s->p == close) {
            s->p++;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                ws(s);
                if (scan_string(s, NULL, 0)) return -1;
                ws(s);
                if (s->p >= s->end || *s->p != ':') return -1;
                s->p++;
            }
            if (scan_value(s, depth + 1)) return -1;
            ws(s);
            if (s->p < s->end && *s->p == ',') {
                s->p++;
                continue;
            }
            if (s->p < s->end && *s->p == close) {
                s->p++;
                return 0;
            }
            return -1;
        }
    }
    static const char *const lits[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(lits[i]);
        if ((size_t)(s->end - s->p) >= n && memcmp(s->p, lits[i], n) == 0) {
            s->p += n;
            return 0;
        }
    }
    const char *q = s->p;
    while (q < s->end && strchr("+-0123456789.eE", *q))
        q++;
    if (q == s->p) return -1;
    s->p = q; /* the record's own parser checks its numbers */
    return 0;
}

static int bad_json(scan *s, api_response *res) {
    api_response_error(res, 400, "invalid_json", "the body is not valid JSON at byte %ld",
                       (long)(s->p - s->start));
    return -1;
}

int embed_batch_split(const char *body, size_t len, const char *content_type, size_t max_records,
                      embed_batch_range **ranges, size_t *n, api_response *res) {
    *ranges = NULL;
    *n = 0;
    if (api_is_json_content_type(content_type)) {
        api_response_error(res, 415, "unsupported_media_type",
                           "POST /v1/embed/batch takes a JSON body {\"records\": [...]} "
                           "(Content-Type: application/json)");
        return -1;
    }
    scan s = {body, body, body + len};
    embed_batch_range *r = NULL;
    size_t nr = 0, cap = 0;
    int have = 0;
    ws(&s);
    if (s.p >= s.end || *s.p != '{') {
        api_response_error(res, 400, "invalid_json",
                           "the body must be a JSON object "
                           "{\"records\": [...]}");
        return -1;
    }
    s.p++;
    ws(&s);
    if (s.p < s.end && *s.p == '}') {
        s.p++;
    } else {
        for (;;) {
            char key[40];
            ws(&s);
            if (scan_string(&s, key, sizeof key)) goto bad;
            ws(&s);
            if (s.p >= s.end || *s.p != ':') goto bad;
            s.p++;
            ws(&s);
            if (strcmp(key, "records") != 0) {
                free(r);
                api_response_error(res, 422, "unknown_field",
                                   "unknown field \"%.32s\" (allowed: records)", key);
                return -1;
            }
            if (have) {
                free(r);
                api_response_error(res, 400, "invalid_json", "duplicate key \"records\"");
                return -1;
            }
            have = 1;
            if (s.p >= s.end || *s.p != '[') {
                if (scan_value(&s, 0)) goto bad;
                api_response_error(res, 400, "wrong_type",
                                   "\"records\" must be an array of embed request objects");
                return -1;
            }
            s.p++;
            ws(&s);
            if (s.p < s.end && *s.p == ']') {
                s.p++;
            } else {
                for (;;) {
                    ws(&s);
                    const char *at = s.p;
                    if (scan_value(&s, 1)) goto bad;
                    if (nr == max_records) {
                        free(r);
                        api_response_error(res, 413, "too_many_records",
                                           "more than %zu records in one batch "
                                           "(embed_batch_max_records)",
                                           max_records);
                        return -1;
                    }
                    if (nr == cap) {
                        cap = cap ? 2 * cap : 16;
                        embed_batch_range *m = realloc(r, cap * sizeof *m);
                        if (!m) {
                            free(r);
                            api_response_error(res, 500, "out_of_memory", "out of memory");
                            return -1;
                        }
                        r = m;
                    }
                    r[nr].offset = (size_t)(at - body);
                    r[nr].len = (size_t)(s.p - at);
                    nr++;
                    ws(&s);
                    if (s.p < s.end && *s.p == ',') {
                        s.p++;
                        continue;
                    }
                    if (s.p < s.end && *s.p == ']') {
                        s.p++;
                        break;
                    }
                    goto bad;
                }
            }
            ws(&s);
            if (s.p < s.end && *s.p == ',') {
                s.p++;
                continue;
            }
            if (s.p < s.end && *s.p == '}') {
                s.p++;
                break;
            }
            goto bad;
        }
    }
    ws(&s);
    if (s.p != s.end) goto bad;
    if (!have) {
        free(r);
        api_response_error(res, 400, "missing_field", "\"records\" is required");
        return -1;
    }
    if (nr == 0) {
        free(r);
        api_response_error(res, 422, "no_records", "\"records\" is empty");
        return -1;
    }
    *ranges = r;
    *n = nr;
    return 0;
bad:
    free(r);
    return bad_json(&s, res);
}

json_t *embed_batch_item_error(const api_response *res) {
    json_t *j = res->body ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
    if (j) return j;
    return json_pack("{s:{s:s, s:s, s:s}}", "error", "code", "internal", "message",
                     "the record failed", "type", "api_error");
}

json_t *embed_batch_answer(json_t *results, size_t n_ok, size_t n_failed) {
    return json_pack("{s:o, s:I, s:I}", "results", results, "n_ok", (json_int_t)n_ok, "n_failed",
                     (json_int_t)n_failed);
}

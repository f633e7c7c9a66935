/* embed_json.c — the JSON body of POST /v1/embed read straight into a record. A hand-written
 * parser rather than jansson: a 10 s 12-lead ECG is ~12000 numbers, and building a jansson tree of
 * them cost ~5 ms on the loop thread per request, which capped the service's throughput. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/embed.h"

#define EJ_MAX_ABS_MV 1e5
#define EJ_MAX_LEADS 64
#define EJ_MAX_FS 100000.0
#define EJ_MAX_DEPTH 64

typedef struct {
    const char *start, *p, *end;
    api_response *res;
    int failed;
} jp;

static int jfail(jp *j, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int jfail(jp *j, int status, const char *code, const char *fmt, ...) {
    if (j->failed) return -1;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_response_error(j->res, status, code, "%s", msg);
    j->failed = 1;
    return -1;
}

static int bad_json(jp *j, const char *what) {
    return jfail(j, 400, "invalid_json", "the body is not valid JSON: %s at byte %ld", what,
                 (long)(j->p - j->start));
}

static void ws(jp *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int expect(jp *j, char c, const char *what) {
    ws(j);
    if (j->p >= j->end || *j->p != c) return bad_json(j, what);
    j->p++;
    return 0;
}

static void put_utf8(char *out, size_t cap, size_t *k, unsigned cp) {
    unsigned char b[4];
    int n;
    if (cp < 0x80)
        b[0] = (unsigned char)cp, n = 1;
    else if (cp < 0x800)
        b[0] = (unsigned char)(0xC0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        b[0] = (unsigned char)(0xE0 | cp >> 12), b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)),
        b[2] = (unsigned char)(0x80 | (cp & 0x3F)), n = 3;
    else
        b[0] = (unsigned char)(0xF0 | cp >> 18), b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F)),
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)),
        b[3] = (unsigned char)(0x80 | (cp & 0x3F)), n = 4;
    for (int i = 0; i < n; i++)
        if (*k + 1 < cap) out[(*k)++] = (char)b[i];
}

static int hex4(const char *s, unsigned *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d > 15) return -1;
        *v = *v * 16 + d;
    }
    return 0;
}

/* A string at j->p (the opening quote), decoded into out (truncated to cap - 1 bytes, which only
 * makes a long key or name unknown). */
static int parse_string(jp *j, char *out, size_t cap) {
    if (j->p >= j->end || *j->p != '"') return bad_json(j, "expected a string");
    j->p++;
    size_t k = 0;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20) return bad_json(j, "control character in a string");
        if (c != '\\') {
            if (k + 1 < cap) out[k++] = (char)c;
            j->p++;
            continue;
        }
        if (j->end - j->p < 2) return bad_json(j, "unfinished escape");
        char e = j->p[1];
        j->p += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            if (k + 1 < cap) out[k++] = e;
            break;
        case 'b':
            if (k + 1 < cap) out[k++] = '\b';
            break;
        case 'f':
            if (k + 1 < cap) out[k++] = '\f';
            break;
        case 'n':
            if (k + 1 < cap) out[k++] = '\n';
            break;
        case 'r':
            if (k + 1 < cap) out[k++] = '\r';
            break;
        case 't':
            if (k + 1 < cap) out[k++] = '\t';
            break;
        case 'u': {
            unsigned cp;
            if (j->end - j->p < 4 || hex4(j->p, &cp)) return bad_json(j, "bad \\u escape");
            j->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00) {
                unsigned lo;
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) ||
                    lo < 0xDC00 || lo >= 0xE000)
                    return bad_json(j, "unpaired surrogate");
                j->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                return bad_json(j, "unpaired surrogate");
            }
            if (cp == 0) return bad_json(j, "NUL in a string");
            put_utf8(out, cap, &k, cp);
            break;
        }
        default: return bad_json(j, "bad escape");
        }
    }
    if (j->p >= j->end) return bad_json(j, "unterminated string");
    j->p++;
    if (cap) out[k < cap ? k : cap - 1] = 0;
    return 0;
}

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A JSON number (strict grammar) at j->p; -1 with invalid_json for anything else or overflow.
 * Up to 15 significant digits and a decimal exponent within 22 take Clinger's fast path: the
 * digits and the power of ten are exact doubles, so one correctly rounded multiply or divide gives
 * strtod's bits; anything else goes through strtod. */
static int parse_number(jp *j, double *v) {
    const char *s = j->p, *q = s;
    int neg = 0, sig = 0, frac = 0, exp = 0, big = 0;
    uint64_t m = 0;
    if (q < j->end && *q == '-') neg = 1, q++;
    if (q >= j->end || *q < '0' || *q > '9') return bad_json(j, "expected a number");
    if (*q == '0')
        q++;
    else
        for (; q < j->end && *q >= '0' && *q <= '9'; q++) {
            if (sig < 19) {
                m = m * 10 + (uint64_t)(*q - '0');
                if (m) sig++;
            } else {
                big = 1;
            }
        }
    if (q < j->end && *q == '.') {
        q++;
        if (q >= j->end || *q < '0' || *q > '9') return bad_json(j, "bad number");
        for (; q < j->end && *q >= '0' && *q <= '9'; q++) {
            if (sig < 19) {
                m = m * 10 + (uint64_t)(*q - '0');
                if (m) sig++;
                frac++;
            } else {
                big = 1;
            }
        }
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        q++;
        int eneg = 0;
        if (q < j->end && (*q == '+' || *q == '-')) eneg = *q == '-', q++;
        if (q >= j->end || *q < '0' || *q > '9') return bad_json(j, "bad number");
        for (; q < j->end && *q >= '0' && *q <= '9'; q++)
            if (exp < 100000) exp = exp * 10 + (*q - '0');
        if (eneg) exp = -exp;
    }
    int e10 = exp - frac;
    if (!big && sig <= 15 && e10 >= -22 && e10 <= 22) {
        double x = (double)m;
        x = e10 < 0 ? x / POW10[-e10] : x * POW10[e10];
        *v = neg ? -x : x;
        j->p = q;
        return 0;
    }
    /* strtod on a terminated copy: the body need not be NUL-terminated (multipart parts). */
    char tmp[64];
    size_t n = (size_t)(q - s);
    if (n >= sizeof tmp) return bad_json(j, "number too long");
    memcpy(tmp, s, n);
    tmp[n] = 0;
    double x = strtod(tmp, NULL);
    if (!isfinite(x)) return bad_json(j, "number out of range");
    *v = x;
    j->p = q;
    return 0;
}

/* Skip one value (for type errors we report after seeing what it is). */
static int skip_value(jp *j, int depth) {
    ws(j);
    if (j->p >= j->end) return bad_json(j, "unexpected end");
    if (depth > EJ_MAX_DEPTH) return bad_json(j, "nested too deeply");
    char c = *j->p;
    if (c == '"') {
        char tmp[8];
        return parse_string(j, tmp, sizeof tmp);
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                char tmp[8];
                ws(j);
                if (parse_string(j, tmp, sizeof tmp) || expect(j, ':', "expected ':'")) return -1;
            }
            if (skip_value(j, depth + 1)) return -1;
            ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            return expect(j, close, "expected ',' or a closing bracket");
        }
    }
    static const char *const lits[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(lits[i]);
        if ((size_t)(j->end - j->p) >= n && memcmp(j->p, lits[i], n) == 0) {
            j->p += n;
            return 0;
        }
    }
    double v;
    return parse_number(j, &v);
}

static const char *type_at(jp *j) {
    ws(j);
    if (j->p >= j->end) return "nothing";
    switch (*j->p) {
    case '"': return "a string";
    case '{': return "an object";
    case '[': return "an array";
    case 't':
    case 'f': return "a boolean";
    case 'n': return "null";
    default: return "a number";
    }
}

static int is_null(jp *j) {
    if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
        j->p += 4;
        return 1;
    }
    return 0;
}

typedef struct {
    double *v; /* all rows, row-major once n is known */
    size_t n, cap;
    size_t rows;
    size_t row_len; /* samples in the first row */
} sig_buf;

static int parse_signal(jp *j, sig_buf *s) {
    ws(j);
    if (j->p >= j->end || *j->p != '[')
        return jfail(j, 400, "wrong_type",
                     "\"signal\" must be a non-empty array of leads, each an array of samples "
                     "(got %s)",
                     type_at(j));
    j->p++;
    ws(j);
    if (j->p < j->end && *j->p == ']')
        return jfail(j, 400, "wrong_type",
                     "\"signal\" must be a non-empty array of leads, each an array of samples");
    for (;;) {
        ws(j);
        if (j->p >= j->end || *j->p != '[') {
            if (j->p < j->end && (*j->p == ']' || *j->p == ',')) return bad_json(j, "bad array");
            return jfail(j, 400, "wrong_type", "\"signal\"[%zu] must be an array of samples",
                         s->rows);
        }
        if (s->rows == EJ_MAX_LEADS)
            return jfail(j, 422, "too_many_leads", "\"signal\" has more than %d leads",
                         EJ_MAX_LEADS);
        j->p++;
        size_t t = 0;
        ws(j);
        if (j->p < j->end && *j->p == ']') {
            j->p++;
        } else {
            for (;;) {
                ws(j);
                double x;
                if (j->p < j->end && *j->p == 'n' && is_null(j)) {
                    x = NAN; /* a missing sample */
                } else if (j->p < j->end && (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))) {
                    if (parse_number(j, &x)) return -1;
                } else if (j->p < j->end && (*j->p == '"' || *j->p == '[' || *j->p == '{' ||
                                             *j->p == 't' || *j->p == 'f')) {
                    const char *what = type_at(j);
                    if (skip_value(j, 1)) return -1;
                    return jfail(j, 400, "wrong_type",
                                 "\"signal\"[%zu][%zu] must be a number or null, not %s", s->rows,
                                 t, what);
                } else {
                    return bad_json(j, "expected a number");
                }
                if (s->n == s->cap) {
                    size_t cap = s->cap ? 2 * s->cap : 4096;
                    double *m = realloc(s->v, cap * sizeof *m);
                    if (!m) return jfail(j, 500, "out_of_memory", "out of memory reading signal");
                    s->v = m;
                    s->cap = cap;
                }
                s->v[s->n++] = x;
                t++;
                ws(j);
                if (j->p < j->end && *j->p == ',') {
                    j->p++;
                    continue;
                }
                if (expect(j, ']', "expected ',' or ']' in a lead")) return -1;
                break;
            }
        }
        if (s->rows == 0) s->row_len = t;
        if (t != s->row_len)
            return jfail(j, 400, "ragged_signal",
                         "\"signal\" is ragged: lead 0 has %zu samples, lead %zu has %zu",
                         s->row_len, s->rows, t);
        s->rows++;
        ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        return expect(j, ']', "expected ',' or ']' after a lead");
    }
}

#define EJ_NAME 32

/* The option parsers shared with api/embed.c live here, so the JSON fuzz target links alone. */
int embed_set_checkpoint(embed_request *req, const char *ref) {
    size_t n = strlen(ref);
    if (n == 0 || n >= sizeof req->checkpoint) return -1;
    for (const char *p = ref; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-') return -1;
    memcpy(req->checkpoint, ref, n + 1);
    return 0;
}

int embed_parse_encoding(const char *s, embed_encoding *out, api_response *res) {
    if (strcmp(s, "float") == 0) {
        *out = EMBED_ENC_FLOAT;
        return 0;
    }
    if (strcmp(s, "base64") == 0) {
        *out = EMBED_ENC_BASE64;
        return 0;
    }
    api_response_error(res, 422, "invalid_encoding",
                       "encoding must be \"float\" or \"base64\", got \"%.40s\"", s);
    return -1;
}

int embed_parse_json(const char *body, size_t len, embed_request *req, api_response *res) {
    jp j = {body, body, body + len, res, 0};
    sig_buf sig = {0};
    char(*leads)[EJ_NAME] = NULL;
    size_t n_leads = 0;
    int have_signal = 0, have_fs = 0, have_leads = 0, have_units = 0;
    double fs = 0, scale = 1.0;
    char units[16] = "mV";
    int rc = -1;
    ws(&j);
    if (j.p >= j.end || *j.p != '{') {
        if (j.p < j.end &&
            (*j.p == '[' || *j.p == '"' || *j.p == '-' || (*j.p >= '0' && *j.p <= '9') ||
             *j.p == 't' || *j.p == 'f' || *j.p == 'n') &&
            skip_value(&j, 0) == 0) {
            ws(&j);
            if (j.p == j.end) jfail(&j, 400, "invalid_json", "the body must be a JSON object");
        }
        bad_json(&j, "expected an object");
        goto done;
    }
    j.p++;
    ws(&j);
    if (j.p < j.end && *j.p == '}') {
        j.p++;
    } else {
        char seen[8] = {0};
        for (;;) {
            char key[40];
            ws(&j);
            if (parse_string(&j, key, sizeof key) || expect(&j, ':', "expected ':'")) goto done;
            static const char *const keys[] = {"signal",  "fs",         "leads",     "units",
                                               "pooling", "checkpoint", "normalize", "encoding"};
            int k = -1;
            for (int i = 0; i < 8; i++)
                if (strcmp(key, keys[i]) == 0) k = i;
            if (k < 0) {
                jfail(&j, 400, "unknown_field",
                      "unknown field \"%.40s\" (fields: signal, fs, leads, units, pooling, "
                      "checkpoint, normalize, encoding)",
                      key);
                goto done;
            }
            if (seen[k]) {
                jfail(&j, 400, "invalid_json", "the body is not valid JSON: duplicate key \"%s\"",
                      key);
                goto done;
            }
            seen[k] = 1;
            ws(&j);
            char sval[64];
            switch (k) {
            case 0:
                if (parse_signal(&j, &sig)) goto done;
                have_signal = 1;
                break;
            case 1:
                if (j.p >= j.end || !(*j.p == '-' || (*j.p >= '0' && *j.p <= '9'))) {
                    const char *what = type_at(&j);
                    if (skip_value(&j, 1) == 0)
                        jfail(&j, 400, "wrong_type", "\"fs\" must be a number, not %s", what);
                    goto done;
                }
                if (parse_number(&j, &fs)) goto done;
                have_fs = 1;
                break;
            case 2:
                if (j.p >= j.end || *j.p != '[') {
                    if (skip_value(&j, 1) == 0)
                        jfail(&j, 400, "wrong_type", "\"leads\" must be an array of names");
                    goto done;
                }
                j.p++;
                ws(&j);
                if (j.p < j.end && *j.p == ']') {
                    j.p++;
                } else {
                    for (;;) {
                        ws(&j);
                        if (j.p >= j.end || *j.p != '"') {
                            if (skip_value(&j, 1) == 0)
                                jfail(&j, 400, "wrong_type", "\"leads\"[%zu] must be a string",
                                      n_leads);
                            goto done;
                        }
                        if (n_leads == EJ_MAX_LEADS) {
                            jfail(&j, 422, "too_many_leads", "\"leads\" names more than %d leads",
                                  EJ_MAX_LEADS);
                            goto done;
                        }
                        if (!leads && !(leads = calloc(EJ_MAX_LEADS, sizeof *leads))) {
                            jfail(&j, 500, "out_of_memory", "out of memory");
                            goto done;
                        }
                        if (parse_string(&j, leads[n_leads], EJ_NAME)) goto done;
                        n_leads++;
                        ws(&j);
                        if (j.p < j.end && *j.p == ',') {
                            j.p++;
                            continue;
                        }
                        if (expect(&j, ']', "expected ',' or ']' in leads")) goto done;
                        break;
                    }
                }
                have_leads = 1;
                break;
            case 6: /* normalize: true or false */
                if (j.end - j.p >= 4 && memcmp(j.p, "true", 4) == 0) {
                    req->out.normalize = 1;
                    j.p += 4;
                } else if (j.end - j.p >= 5 && memcmp(j.p, "false", 5) == 0) {
                    req->out.normalize = 0;
                    j.p += 5;
                } else {
                    if (skip_value(&j, 1) == 0)
                        jfail(&j, 400, "wrong_type", "\"normalize\" must be true or false");
                    goto done;
                }
                break;
            default: /* units, pooling, checkpoint, encoding: strings */
                if (j.p >= j.end || *j.p != '"') {
                    if (skip_value(&j, 1) == 0)
                        jfail(&j, 400, "wrong_type", "\"%s\" must be a string", key);
                    goto done;
                }
                if (parse_string(&j, sval, sizeof sval)) goto done;
                if (k == 3) {
                    snprintf(units, sizeof units, "%.15s", sval);
                    have_units = 1;
                } else if (k == 4) {
                    if (strcmp(sval, "mean") == 0)
                        req->out.pooling = EMBED_POOL_MEAN;
                    else if (strcmp(sval, "windows") == 0)
                        req->out.pooling = EMBED_POOL_WINDOWS;
                    else {
                        jfail(&j, 422, "invalid_pooling",
                              "pooling must be \"mean\" or \"windows\", got \"%.40s\"", sval);
                        goto done;
                    }
                } else if (k == 7) {
                    api_response er = {0};
                    if (embed_parse_encoding(sval, &req->out.encoding, &er)) {
                        api_response_free(&er);
                        jfail(&j, 422, "invalid_encoding",
                              "encoding must be \"float\" or \"base64\", got \"%.40s\"", sval);
                        goto done;
                    }
                } else {
                    if (embed_set_checkpoint(req, sval)) {
                        jfail(&j, 404, "checkpoint_not_found",
                              "no checkpoint \"%.60s\" (see GET /v1/checkpoints)", sval);
                        goto done;
                    }
                }
                break;
            }
            ws(&j);
            if (j.p < j.end && *j.p == ',') {
                j.p++;
                continue;
            }
            if (expect(&j, '}', "expected ',' or '}'")) goto done;
            break;
        }
    }
    ws(&j);
    if (j.p != j.end) {
        bad_json(&j, "text after the object");
        goto done;
    }
    /* The object is well formed: now the values. */
    if (!have_signal) {
        jfail(&j, 400, "missing_field", "\"signal\" is required");
        goto done;
    }
    if (!have_fs) {
        jfail(&j, 400, "missing_field", "\"fs\" is required");
        goto done;
    }
    if (!(fs > 0) || fs > EJ_MAX_FS) {
        jfail(&j, 422, "invalid_fs", "\"fs\" must be in (0, %g], got %g", EJ_MAX_FS, fs);
        goto done;
    }
    size_t n_ch = sig.rows, n = sig.row_len;
    if (n == 0) {
        jfail(&j, 422, "empty_signal", "\"signal\" has no samples");
        goto done;
    }
    if (have_units) {
        if (strcmp(units, "mV") == 0)
            scale = 1.0;
        else if (strcmp(units, "uV") == 0 || strcmp(units, "\xc2\xb5V") == 0)
            scale = 1e-3;
        else {
            jfail(&j, 422, "invalid_units", "\"units\" must be \"mV\" or \"uV\", got \"%.15s\"",
                  units);
            goto done;
        }
    }
    if (!have_leads && n_ch != ECG_N_LEADS) {
        jfail(&j, 400, "missing_field",
              "\"leads\" is required unless \"signal\" has the 12 standard leads in order (it has "
              "%zu)",
              n_ch);
        goto done;
    }
    if (have_leads && n_leads != n_ch) {
        jfail(&j, 422, "leads_mismatch", "\"leads\" names %zu leads but \"signal\" has %zu",
              n_leads, n_ch);
        goto done;
    }
    ecg_err err = {0};
    if (record_alloc(&req->rec, (int)n_ch, n, &err)) {
        jfail(&j, 500, "out_of_memory", "%s", err.msg);
        goto done;
    }
    req->rec.fs = fs;
    snprintf(req->rec.record_name, sizeof req->rec.record_name, "json");
    int seen_lead[ECG_N_LEADS] = {0};
    for (size_t c = 0; c < n_ch; c++) {
        const char *name = have_leads ? leads[c] : ecg_lead_names[c];
        int lead = record_lead_from_name(name);
        if (lead < 0) {
            jfail(&j, 422, "unknown_lead",
                  "unknown lead \"%.20s\" (leads: I, II, III, aVR, aVL, aVF, V1-V6)", name);
            goto done;
        }
        if (seen_lead[lead]) {
            jfail(&j, 422, "duplicate_lead", "lead %s is given twice", ecg_lead_names[lead]);
            goto done;
        }
        seen_lead[lead] = 1;
        ecg_channel *ch = &req->rec.channels[c];
        snprintf(ch->name, sizeof ch->name, "%s", ecg_lead_names[lead]);
        snprintf(ch->units, sizeof ch->units, "mV");
        ch->lead = lead;
        const double *src = sig.v + c * n;
        float *dst = req->rec.signal + c * n;
        for (size_t t = 0; t < n; t++) {
            double mv = src[t] * scale;
            if (fabs(mv) > EJ_MAX_ABS_MV) { /* NaN (null) passes: a missing sample */
                jfail(&j, 422, "sample_out_of_range",
                      "\"signal\"[%zu][%zu] = %g %s is not a plausible ECG value (|x| <= %g mV)", c,
                      t, src[t], units, EJ_MAX_ABS_MV);
                goto done;
            }
            dst[t] = (float)mv;
        }
    }
    snprintf(req->source, sizeof req->source, "json");
    rc = 0;
done:
    if (rc) record_free(&req->rec);
    free(sig.v);
    free(leads);
    return rc;
}

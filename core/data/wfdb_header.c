/* wfdb_header.c — parse WFDB .hea text (record line, signal or segment lines, '#' comments) into a
 * wfdb_header, strictly: every field is range-checked and every error names its line. */
#include "core/data/wfdb.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define MAX_TOKENS 16

typedef struct {
    const char *where;
    int line;
    ecg_err *err;
} ctx_t;

static ecg_code fail(const ctx_t *c, const char *fmt, const char *a, const char *b) {
    char what[300];
    snprintf(what, sizeof what, fmt, a ? a : "", b ? b : "");
    return err_set(c->err, ECG_EFORMAT, "%s: line %d: %s", c->where, c->line, what);
}

/* Strict integer: optional sign, digits only, within [lo, hi]. */
static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    if (!*s) return 0;
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!*p) return 0;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return 0;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* Strict finite decimal number (digits, '.', exponent); no hex, inf or nan. */
static int parse_f64(const char *s, double *out) {
    if (!*s) return 0;
    for (const char *q = s; *q; q++)
        if (!((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' ||
              *q == '-'))
            return 0;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno == ERANGE && fabs(v) > 1) return 0;
    if (*end || end == s || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static int copy_str(char *dst, size_t cap, const char *src, size_t n) {
    if (n >= cap) return 0;
    memcpy(dst, src, n);
    dst[n] = 0;
    return 1;
}

static int is_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Split a line (NUL-terminated copy, modified in place) into at most max tokens; *rest points
 * at the text after the max-th token's separator (the description), or NULL. */
static int tokenize(char *s, char **tok, int max, char **rest) {
    int n = 0;
    *rest = NULL;
    char *p = s;
    while (*p) {
        while (*p && is_space(*p))
            p++;
        if (!*p) break;
        if (n == max) {
            *rest = p;
            break;
        }
        tok[n++] = p;
        while (*p && !is_space(*p))
            p++;
        if (*p) *p++ = 0;
    }
    return n;
}

static ecg_code append_comment(wfdb_header *h, size_t *cap, size_t *len, const char *s, size_t n,
                               const ctx_t *c) {
    size_t need = *len + n + 2;
    if (need > *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        while (nc < need)
            nc *= 2;
        char *p = realloc(h->comments, nc);
        if (!p) return err_set(c->err, ECG_ENOMEM, "%s: out of memory for comments", c->where);
        h->comments = p;
        *cap = nc;
    }
    if (*len) h->comments[(*len)++] = '\n';
    memcpy(h->comments + *len, s, n);
    *len += n;
    h->comments[*len] = 0;
    return ECG_OK;
}

static ecg_code parse_record_line(wfdb_header *h, char *line, const ctx_t *c) {
    char *tok[MAX_TOKENS], *rest;
    int n = tokenize(line, tok, 6, &rest);
    if (rest)
        return fail(c, "record line has unexpected text after the base date: '%s'", rest, NULL);
    if (n < 2)
        return fail(c, "record line needs at least a record name and a signal count", NULL, NULL);
    char *slash = strchr(tok[0], '/');
    if (slash) {
        *slash = 0;
        int64_t ns;
        if (!parse_i64(slash + 1, 1, WFDB_MAX_SEGMENTS, &ns))
            return fail(c, "bad segment count '%s' (1 to 1000000)", slash + 1, NULL);
        h->n_segments = (int)ns;
    }
    if (!tok[0][0] || strchr(tok[0], '/')) return fail(c, "bad record name '%s'", tok[0], NULL);
    if (!copy_str(h->name, sizeof h->name, tok[0], strlen(tok[0])))
        return fail(c, "record name '%.40s...' is too long", tok[0], NULL);
    int64_t nsig;
    if (!parse_i64(tok[1], 0, WFDB_MAX_SIGNALS, &nsig))
        return fail(c, "bad signal count '%s' (0 to 4096)", tok[1], NULL);
    h->n_signals = (int)nsig;
    h->fs = 250;
    if (n > 2) {
        /* fs[/counter_freq[(base_counter)]] */
        char *f = tok[2];
        char *cf = strchr(f, '/');
        if (cf) *cf++ = 0;
        if (!parse_f64(f, &h->fs) || !(h->fs > 0))
            return fail(c, "bad sampling frequency '%s' (a positive number)", f, NULL);
        if (cf) {
            char *bc = strchr(cf, '(');
            if (bc) {
                *bc++ = 0;
                size_t bl = strlen(bc);
                if (bl == 0 || bc[bl - 1] != ')')
                    return fail(c, "bad base counter '(%s' (missing ')')", bc, NULL);
                bc[bl - 1] = 0;
                if (!parse_f64(bc, &h->base_counter))
                    return fail(c, "bad base counter value '%s'", bc, NULL);
            }
            if (!parse_f64(cf, &h->counter_freq) || !(h->counter_freq > 0))
                return fail(c, "bad counter frequency '%s' (a positive number)", cf, NULL);
        }
    }
    if (n > 3) {
        int64_t ns;
        if (!parse_i64(tok[3], 0, INT64_MAX, &ns) || (uint64_t)ns > SIZE_MAX / 8)
            return fail(c, "bad sample count '%s'", tok[3], NULL);
        h->n_samples = (size_t)ns;
        h->has_n_samples = ns > 0 || h->n_segments > 0;
    }
    if (n > 4) {
        for (const char *q = tok[4]; *q; q++)
            if (!((*q >= '0' && *q <= '9') || *q == ':' || *q == '.' || *q == '[' || *q == ']'))
                return fail(c, "bad base time '%s' (HH:MM:SS)", tok[4], NULL);
        if (!copy_str(h->base_time, sizeof h->base_time, tok[4], strlen(tok[4])))
            return fail(c, "base time '%s' is too long", tok[4], NULL);
    }
    if (n > 5) {
        for (const char *q = tok[5]; *q; q++)
            if (!((*q >= '0' && *q <= '9') || *q == '/' || *q == ']'))
                return fail(c, "bad base date '%s' (DD/MM/YYYY)", tok[5], NULL);
        if (!copy_str(h->base_date, sizeof h->base_date, tok[5], strlen(tok[5])))
            return fail(c, "base date '%s' is too long", tok[5], NULL);
    }
    return ECG_OK;
}

static int format_known(int f) {
    switch (f) {
    case 0:
    case 8:
    case 16:
    case 24:
    case 32:
    case 61:
    case 80:
    case 160:
    case 212:
    case 310:
    case 311: return 1;
    }
    return 0;
}

/* format[xspf][:skew][+offset], the suffixes in that order, each at most once. */
static ecg_code parse_format(wfdb_signal_spec *s, char *f, const ctx_t *c) {
    const char *orig = f;
    char *p = f;
    while (*p >= '0' && *p <= '9')
        p++;
    char save = *p;
    *p = 0;
    int64_t v;
    if (!parse_i64(f, 0, 100000, &v)) {
        *p = save;
        return fail(c, "bad signal format '%s'", orig, NULL);
    }
    *p = save;
    if (!format_known((int)v)) {
        char num[24];
        snprintf(num, sizeof num, "%d", (int)v);
        return fail(c,
                    "unsupported signal format %s (readable: 0, 8, 16, 24, 32, 61, 80, 160, "
                    "212, 310, 311)",
                    num, NULL);
    }
    s->format = (int)v;
    s->spf = 1;
    const char order[] = "x:+";
    int stage = 0;
    while (*p) {
        const char *o = strchr(order + stage, *p);
        if (!o || *p == 0) return fail(c, "bad signal format '%s'", orig, NULL);
        stage = (int)(o - order) + 1;
        char kind = *p++;
        char *q = p;
        while (*q >= '0' && *q <= '9')
            q++;
        save = *q;
        *q = 0;
        int ok;
        if (kind == 'x') {
            ok = parse_i64(p, 1, WFDB_MAX_SPF, &v);
            s->spf = (int)v;
        } else if (kind == ':') {
            ok = parse_i64(p, 0, 1 << 30, &v);
            s->skew = (int)v;
        } else {
            ok = parse_i64(p, 0, (int64_t)1 << 40, &v);
            s->byte_offset = (uint64_t)v;
        }
        *q = save;
        if (!ok)
            return fail(c,
                        "bad signal format '%s' (samples per frame 1..65536, skew and "
                        "byte offset non-negative)",
                        orig, NULL);
        p = q;
    }
    return ECG_OK;
}

/* gain[(baseline)][/units] */
static ecg_code parse_gain(wfdb_signal_spec *s, char *g, int *has_baseline, const ctx_t *c) {
    const char *orig = g;
    char *units = strchr(g, '/');
    if (units) {
        *units++ = 0;
        if (!*units) return fail(c, "empty units in '%s'", orig, NULL);
        size_t ul = strlen(units);
        if (ul >= sizeof s->units) ul = sizeof s->units - 1; /* kept as far as it fits */
        memcpy(s->units, units, ul);
        s->units[ul] = 0;
    }
    char *bl = strchr(g, '(');
    if (bl) {
        *bl++ = 0;
        size_t n = strlen(bl);
        if (n < 2 || bl[n - 1] != ')') return fail(c, "bad baseline in gain '%s'", orig, NULL);
        bl[n - 1] = 0;
        int64_t v;
        if (!parse_i64(bl, INT32_MIN, INT32_MAX, &v))
            return fail(c, "bad baseline '%s' (a 32-bit integer)", bl, NULL);
        s->baseline = (int32_t)v;
        *has_baseline = 1;
    }
    double gain;
    if (!parse_f64(g, &gain)) return fail(c, "bad gain '%s'", g, NULL);
    if (gain < 0) return fail(c, "negative gain '%s'", g, NULL);
    if (gain > 0) {
        s->gain = gain;
        s->gain_given = 1;
    }
    return ECG_OK;
}

static ecg_code parse_signal_line(wfdb_signal_spec *s, char *line, const ctx_t *c) {
    char *tok[MAX_TOKENS], *rest;
    int n = tokenize(line, tok, 8, &rest);
    memset(s, 0, sizeof *s);
    s->line = c->line;
    s->gain = 200;
    strcpy(s->units, "mV");
    if (n < 2) return fail(c, "signal line needs a file name and a format", NULL, NULL);
    if (!copy_str(s->file, sizeof s->file, tok[0], strlen(tok[0])))
        return fail(c, "signal file name '%.40s...' is too long", tok[0], NULL);
    ecg_code rc = parse_format(s, tok[1], c);
    if (rc) return rc;
    int has_baseline = 0;
    if (n > 2 && (rc = parse_gain(s, tok[2], &has_baseline, c))) return rc;
    int64_t v;
    if (n > 3) {
        if (!parse_i64(tok[3], 0, 32, &v))
            return fail(c, "bad ADC resolution '%s' (0 to 32 bits)", tok[3], NULL);
        s->adc_res = (int)v;
    }
    if (n > 4) {
        if (!parse_i64(tok[4], INT32_MIN, INT32_MAX, &v))
            return fail(c, "bad ADC zero '%s'", tok[4], NULL);
        s->adc_zero = (int32_t)v;
    }
    if (!has_baseline) s->baseline = s->adc_zero;
    s->init_value = s->adc_zero;
    if (n > 5) {
        if (!parse_i64(tok[5], INT32_MIN, INT32_MAX, &v))
            return fail(c, "bad initial value '%s'", tok[5], NULL);
        s->init_value = (int32_t)v;
        s->has_init = 1;
    }
    if (n > 6) {
        /* Written signed (-22131) by most tools, unsigned (64758) by PTB-XL's. */
        if (!parse_i64(tok[6], INT32_MIN, UINT32_MAX, &v))
            return fail(c, "bad checksum '%s'", tok[6], NULL);
        s->checksum = v;
        s->has_checksum = 1;
    }
    if (n > 7) {
        if (!parse_i64(tok[7], 0, INT32_MAX, &v))
            return fail(c, "bad block size '%s'", tok[7], NULL);
        s->block_size = (int)v;
    }
    if (rest) {
        size_t dl = strlen(rest);
        while (dl > 0 && is_space(rest[dl - 1]))
            dl--;
        if (dl >= sizeof s->desc) dl = sizeof s->desc - 1;
        memcpy(s->desc, rest, dl);
        s->desc[dl] = 0;
    }
    return ECG_OK;
}

static ecg_code parse_segment_line(wfdb_segment_spec *g, char *line, const ctx_t *c) {
    char *tok[MAX_TOKENS], *rest;
    int n = tokenize(line, tok, 2, &rest);
    memset(g, 0, sizeof *g);
    g->line = c->line;
    if (n < 2) return fail(c, "segment line needs a record name and a sample count", NULL, NULL);
    if (rest) return fail(c, "unexpected text after the segment length: '%s'", rest, NULL);
    if (!copy_str(g->name, sizeof g->name, tok[0], strlen(tok[0])))
        return fail(c, "segment name '%.40s...' is too long", tok[0], NULL);
    int64_t v;
    if (!parse_i64(tok[1], 0, INT64_MAX, &v) || (uint64_t)v > SIZE_MAX / 8)
        return fail(c, "bad segment length '%s'", tok[1], NULL);
    g->n_samples = (size_t)v;
    return ECG_OK;
}

void wfdb_header_free(wfdb_header *h) {
    if (!h) return;
    free(h->segments);
    free(h->signals);
    free(h->comments);
    memset(h, 0, sizeof *h);
}

ecg_code wfdb_header_parse(wfdb_header *h, const char *text, size_t len, const char *where,
                           ecg_err *err) {
    memset(h, 0, sizeof *h);
    ctx_t c = {where ? where : "header", 0, err};
    if (len > WFDB_MAX_HEADER_BYTES)
        return err_set(err, ECG_EFORMAT, "%s: header is %zu bytes, more than the %zu allowed",
                       c.where, len, WFDB_MAX_HEADER_BYTES);
    char *line = NULL;
    size_t line_cap = 0, com_cap = 0, com_len = 0;
    int have_record = 0, n_body = 0, expected = 0;
    ecg_code rc = ECG_OK;
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        c.line++;
        size_t n = end - pos;
        const char *src = text + pos;
        pos = end + 1;
        if (memchr(src, 0, n)) {
            rc = fail(&c, "NUL byte in header text", NULL, NULL);
            goto out;
        }
        size_t a = 0;
        while (a < n && is_space(src[a]))
            a++;
        if (a == n) continue; /* blank, or a stray '\r' */
        if (src[a] == '#') {
            size_t b = n;
            while (b > a + 1 && is_space(src[b - 1]))
                b--;
            size_t s0 = a + 1;
            if (s0 < b && src[s0] == ' ') s0++;
            if ((rc = append_comment(h, &com_cap, &com_len, src + s0, b - s0, &c))) goto out;
            continue;
        }
        if (n + 1 > line_cap) {
            char *p = realloc(line, n + 1);
            if (!p) {
                rc = err_set(err, ECG_ENOMEM, "%s: out of memory", c.where);
                goto out;
            }
            line = p;
            line_cap = n + 1;
        }
        memcpy(line, src, n);
        line[n] = 0;
        if (!have_record) {
            if ((rc = parse_record_line(h, line, &c))) goto out;
            have_record = 1;
            if (h->n_segments) {
                expected = h->n_segments;
                h->segments = calloc((size_t)expected, sizeof *h->segments);
            } else {
                expected = h->n_signals;
                if (expected) h->signals = calloc((size_t)expected, sizeof *h->signals);
            }
            if (expected && !h->segments && !h->signals) {
                rc = err_set(err, ECG_ENOMEM, "%s: out of memory for %d header lines", c.where,
                             expected);
                goto out;
            }
            continue;
        }
        if (n_body >= expected) {
            rc = fail(&c, "more %s lines than the record line's count",
                      h->n_segments ? "segment" : "signal", NULL);
            goto out;
        }
        if (h->n_segments)
            rc = parse_segment_line(&h->segments[n_body], line, &c);
        else
            rc = parse_signal_line(&h->signals[n_body], line, &c);
        if (rc) goto out;
        n_body++;
    }
    if (!have_record) {
        rc = err_set(err, ECG_EFORMAT, "%s: no record line (empty header)", c.where);
        goto out;
    }
    if (n_body < expected) {
        char got[64];
        snprintf(got, sizeof got, "%d of %d", n_body, expected);
        rc = fail(&c, "header ends after %s %s lines", got, h->n_segments ? "segment" : "signal");
        goto out;
    }
    if (h->n_segments) {
        size_t total = 0;
        for (int i = 0; i < h->n_segments; i++) {
            if (h->segments[i].n_samples > SIZE_MAX / 8 - total) {
                rc = err_set(err, ECG_EFORMAT, "%s: segment lengths overflow", c.where);
                goto out;
            }
            total += h->segments[i].n_samples;
        }
        if (h->has_n_samples && h->n_samples != total) {
            rc = err_set(err, ECG_EFORMAT,
                         "%s: segment lengths add up to %zu samples but the record line says %zu",
                         c.where, total, h->n_samples);
            goto out;
        }
        h->n_samples = total;
        h->has_n_samples = 1;
    }
out:
    free(line);
    if (rc) wfdb_header_free(h);
    return rc;
}

/* arff.c — reader of ARFF splits (see arff.h): the header is reduced to the two layouts the
 * archives use, then each instance line is split into quote-aware fields and stored. */
#include "core/data/arff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t n_top;        /* top-level attributes seen */
    size_t n_numeric;    /* top-level numeric attributes */
    int n_relational;    /* top-level relational attributes */
    int n_other;         /* top-level string/date attributes */
    int last_nominal;    /* the last top-level attribute is nominal */
    const char *nominal; /* its value list "{...}" and where it was */
    size_t nominal_len, nominal_line;
    size_t inner; /* numeric attributes inside the relational one */
    int rel_open;
} arff_header;

typedef struct {
    char *c;
    size_t ccap;
    float *v;
    size_t vcap;
} arff_scratch;

static int is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

/* Next comma-separated field of [*p, end): a quoted field is returned without its quotes, still
 * escaped, with *quoted set. Returns 1, 0 at the end, -1 for an unterminated quote, -2 for text
 * between a closing quote and the next comma. */
static int next_field(const char **p, const char *end, const char **f, size_t *fn, int *quoted) {
    const char *q = *p;
    while (q < end && is_blank(*q))
        q++;
    if (q >= end) return 0;
    *quoted = 0;
    if (*q == '\'' || *q == '"') {
        char qc = *q++;
        const char *s = q;
        while (q < end && *q != qc)
            q += (*q == '\\' && q + 1 < end) ? 2 : 1;
        if (q >= end) return -1;
        *f = s;
        *fn = (size_t)(q - s);
        *quoted = 1;
        q++;
        while (q < end && is_blank(*q))
            q++;
        if (q < end && *q != ',') return -2;
    } else {
        const char *s = q;
        while (q < end && *q != ',')
            q++;
        *f = s;
        *fn = (size_t)(q - s);
        tb_trim(f, fn);
    }
    *p = q < end ? q + 1 : q;
    return 1;
}

/* Undo backslash escapes of a quoted field into out (room for n + 1 bytes); returns the length. */
static size_t unescape(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            c = s[++i];
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
        }
        out[o++] = c;
    }
    out[o] = 0;
    return o;
}

static ecg_code scratch_chars(arff_scratch *sc, size_t n, ecg_err *err, const char *src) {
    if (n + 1 <= sc->ccap) return ECG_OK;
    char *c = realloc(sc->c, n + 1);
    if (!c) return err_set(err, ECG_ENOMEM, "%s: no memory for an instance", src);
    sc->c = c;
    sc->ccap = n + 1;
    return ECG_OK;
}

static ecg_code scratch_floats(arff_scratch *sc, size_t n, ecg_err *err, const char *src) {
    if (n <= sc->vcap) return ECG_OK;
    size_t cap = sc->vcap ? sc->vcap : 256;
    while (cap < n)
        cap *= 2;
    float *v = realloc(sc->v, cap * sizeof *v);
    if (!v) return err_set(err, ECG_ENOMEM, "%s: no memory for an instance", src);
    sc->v = v;
    sc->vcap = cap;
    return ECG_OK;
}

/* A name token at the start of [*p, end): quoted or up to a blank. 0 for an unterminated quote. */
static int name_token(const char **p, const char *end, const char **s, size_t *n) {
    const char *q = *p;
    while (q < end && is_blank(*q))
        q++;
    if (q < end && (*q == '\'' || *q == '"')) {
        char qc = *q++;
        *s = q;
        while (q < end && *q != qc)
            q += (*q == '\\' && q + 1 < end) ? 2 : 1;
        if (q >= end) return 0;
        *n = (size_t)(q - *s);
        *p = q + 1;
        return 1;
    }
    *s = q;
    while (q < end && !is_blank(*q))
        q++;
    *n = (size_t)(q - *s);
    *p = q;
    return 1;
}

static ecg_code header_line(task_builder *b, arff_header *h, const char *s, size_t n, size_t line,
                            int *data, ecg_err *err) {
    const char *p = s, *end = s + n, *tok;
    size_t tn;
    if (tb_keyword(s, n, "@data")) {
        *data = 1;
        return ECG_OK;
    }
    if (tb_keyword(s, n, "@relation")) {
        p += 9;
        if (!name_token(&p, end, &tok, &tn))
            return err_set(err, ECG_EFORMAT, "%s:%zu: unterminated quote in @relation", b->src,
                           line);
        char tmp[sizeof b->t->name];
        if (tn >= sizeof tmp) tn = sizeof tmp - 1;
        unescape(tok, tn, tmp);
        memcpy(b->t->name, tmp, sizeof tmp);
        return ECG_OK;
    }
    if (tb_keyword(s, n, "@end")) {
        if (!h->rel_open)
            return err_set(err, ECG_EFORMAT, "%s:%zu: @end outside a relational attribute", b->src,
                           line);
        h->rel_open = 0;
        return ECG_OK;
    }
    if (!tb_keyword(s, n, "@attribute"))
        return err_set(err, ECG_EFORMAT, "%s:%zu: expected @relation, @attribute or @data", b->src,
                       line);
    p += 10;
    if (!name_token(&p, end, &tok, &tn) || tn == 0)
        return err_set(err, ECG_EFORMAT, "%s:%zu: @attribute without a name", b->src, line);
    const char *type = p;
    size_t ty = (size_t)(end - p);
    tb_trim(&type, &ty);
    int numeric = tb_keyword(type, ty, "numeric") || tb_keyword(type, ty, "real") ||
                  tb_keyword(type, ty, "integer");
    if (h->rel_open) {
        if (!numeric)
            return err_set(err, ECG_EFORMAT,
                           "%s:%zu: only numeric attributes are read inside a relational one",
                           b->src, line);
        if (++h->inner > b->lim.max_length)
            return err_set(err, ECG_EINVAL, "%s:%zu: series longer than %zu", b->src, line,
                           b->lim.max_length);
        return ECG_OK;
    }
    h->n_top++;
    h->last_nominal = 0;
    if (numeric) {
        if (++h->n_numeric > b->lim.max_length)
            return err_set(err, ECG_EINVAL, "%s:%zu: series longer than %zu", b->src, line,
                           b->lim.max_length);
    } else if (tb_keyword(type, ty, "relational")) {
        if (h->n_relational++)
            return err_set(err, ECG_EFORMAT, "%s:%zu: more than one relational attribute", b->src,
                           line);
        h->rel_open = 1;
    } else if (ty > 0 && type[0] == '{') {
        if (type[ty - 1] != '}')
            return err_set(err, ECG_EFORMAT, "%s:%zu: nominal values without a closing '}'", b->src,
                           line);
        h->last_nominal = 1;
        h->nominal = type + 1;
        h->nominal_len = ty - 2;
        h->nominal_line = line;
    } else {
        h->n_other++;
    }
    return ECG_OK;
}

/* Check the layout and declare the classes. */
static ecg_code header_done(task_builder *b, arff_header *h, size_t line, ecg_err *err) {
    if (h->rel_open)
        return err_set(err, ECG_EFORMAT, "%s:%zu: relational attribute without @end", b->src, line);
    if (!h->last_nominal)
        return err_set(err, ECG_EFORMAT,
                       "%s:%zu: the last attribute must be the nominal class (regression and "
                       "unlabelled layouts are not read)",
                       b->src, line);
    if (h->n_other)
        return err_set(err, ECG_EFORMAT, "%s:%zu: string or date attributes are not read", b->src,
                       line);
    if (h->n_relational ? (h->n_top != 2 || h->inner == 0)
                        : (h->n_numeric != h->n_top - 1 || h->n_numeric == 0))
        return err_set(err, ECG_EFORMAT,
                       "%s:%zu: expected numeric attributes or one relational attribute, then the "
                       "class",
                       b->src, line);
    const char *p = h->nominal, *end = h->nominal + h->nominal_len, *f;
    size_t fn;
    int quoted, r;
    char name[TASK_MAX_LABEL + 1];
    while ((r = next_field(&p, end, &f, &fn, &quoted)) == 1) {
        if (fn == 0 || fn > TASK_MAX_LABEL)
            return err_set(err, ECG_EFORMAT, "%s:%zu: empty or overlong class name", b->src,
                           h->nominal_line);
        size_t k = quoted ? unescape(f, fn, name) : (memcpy(name, f, fn), name[fn] = 0, fn);
        ecg_code rc = tb_class_add(b, name, k, NULL, h->nominal_line, err);
        if (rc) return rc;
    }
    if (r < 0)
        return err_set(err, ECG_EFORMAT, "%s:%zu: bad quoting in the class values", b->src,
                       h->nominal_line);
    if (b->t->n_classes == 0)
        return err_set(err, ECG_EFORMAT, "%s:%zu: the class attribute has no values", b->src,
                       h->nominal_line);
    return ECG_OK;
}

static ecg_code parse_label(task_builder *b, const char *f, size_t fn, int quoted, size_t line,
                            int *label, ecg_err *err) {
    char name[TASK_MAX_LABEL + 1];
    if (fn > TASK_MAX_LABEL)
        return err_set(err, ECG_EFORMAT, "%s:%zu: class value longer than %d bytes", b->src, line,
                       TASK_MAX_LABEL);
    if (!quoted && fn == 1 && f[0] == '?') {
        *label = -1;
        return ECG_OK;
    }
    size_t k = quoted ? unescape(f, fn, name) : (memcpy(name, f, fn), name[fn] = 0, fn);
    *label = tb_class_find(b, name, k);
    if (*label < 0)
        return err_set(err, ECG_EFORMAT, "%s:%zu: class '%.*s' is not one of the declared values",
                       b->src, line, (int)(k > 40 ? 40 : k), name);
    return ECG_OK;
}

/* Stores [nd][len] from sc->v, dropping time points missing on every dimension at the end. */
static ecg_code store(task_builder *b, arff_scratch *sc, int nd, size_t len, int label, size_t line,
                      ecg_err *err) {
    size_t keep = len;
    while (keep > 0) {
        int all = 1;
        for (int d = 0; d < nd && all; d++)
            all = isnan(sc->v[(size_t)d * len + keep - 1]);
        if (!all) break;
        keep--;
    }
    if (keep == 0)
        return err_set(err, ECG_EFORMAT, "%s:%zu: every value of the instance is missing", b->src,
                       line);
    float *dst;
    ecg_code rc = tb_series_add(b, nd, keep, label, line, &dst, err);
    if (rc) return rc;
    for (int d = 0; d < nd; d++)
        memcpy(dst + (size_t)d * keep, sc->v + (size_t)d * len, keep * sizeof *dst);
    return ECG_OK;
}

static ecg_code value(task_builder *b, const char *f, size_t fn, size_t line, size_t at, int dim,
                      float *out, ecg_err *err) {
    tb_trim(&f, &fn);
    int pr = tb_parse_value(f, fn, out);
    if (pr == 0) return ECG_OK;
    return err_set(err, ECG_EFORMAT, "%s:%zu: value %zu of dimension %d ('%.*s') is %s", b->src,
                   line, at + 1, dim + 1, (int)(fn > 40 ? 40 : fn), f,
                   pr == -2 ? "out of float range" : "not a number");
}

static ecg_code data_line(task_builder *b, const arff_header *h, arff_scratch *sc, const char *s,
                          size_t n, size_t line, ecg_err *err) {
    const char *p = s, *end = s + n, *f;
    size_t fn;
    int quoted, r, label;
    ecg_code rc;
    if (s[0] == '{')
        return err_set(err, ECG_EFORMAT, "%s:%zu: sparse instances are not read", b->src, line);
    if (!h->n_relational) {
        size_t L = h->n_numeric;
        if ((rc = scratch_floats(sc, L, err, b->src))) return rc;
        for (size_t i = 0; i < L; i++) {
            if ((r = next_field(&p, end, &f, &fn, &quoted)) != 1 || quoted)
                return err_set(err, ECG_EFORMAT, "%s:%zu: %s at value %zu of %zu", b->src, line,
                               r == 0 ? "instance ends early" : "bad field", i + 1, L);
            if ((rc = value(b, f, fn, line, i, 0, &sc->v[i], err))) return rc;
        }
        if ((r = next_field(&p, end, &f, &fn, &quoted)) != 1)
            return err_set(err, ECG_EFORMAT, "%s:%zu: no class value", b->src, line);
        if ((rc = parse_label(b, f, fn, quoted, line, &label, err))) return rc;
        if (next_field(&p, end, &f, &fn, &quoted) != 0)
            return err_set(err, ECG_EFORMAT, "%s:%zu: more values than attributes", b->src, line);
        return store(b, sc, 1, L, label, line, err);
    }
    /* 'row\nrow\n...',class */
    if ((r = next_field(&p, end, &f, &fn, &quoted)) != 1 || !quoted)
        return err_set(err, ECG_EFORMAT, "%s:%zu: the relational value must be a quoted string",
                       b->src, line);
    if ((rc = scratch_chars(sc, fn, err, b->src))) return rc;
    size_t cn = unescape(f, fn, sc->c);
    const char *rel = sc->c, *rend = sc->c + cn;
    if ((r = next_field(&p, end, &f, &fn, &quoted)) != 1)
        return err_set(err, ECG_EFORMAT, "%s:%zu: no class value", b->src, line);
    if ((rc = parse_label(b, f, fn, quoted, line, &label, err))) return rc;
    if (next_field(&p, end, &f, &fn, &quoted) != 0)
        return err_set(err, ECG_EFORMAT, "%s:%zu: more fields than attributes", b->src, line);
    size_t L = h->inner;
    int nd = 0;
    while (rel < rend) {
        const char *nl = memchr(rel, '\n', (size_t)(rend - rel));
        const char *re = nl ? nl : rend;
        const char *rp = rel;
        if (nd >= b->lim.max_dims)
            return err_set(err, ECG_EINVAL, "%s:%zu: more than %d dimensions", b->src, line,
                           b->lim.max_dims);
        if ((size_t)nd + 1 > b->lim.max_values / L)
            return err_set(err, ECG_EINVAL, "%s:%zu: instance larger than %zu values", b->src, line,
                           b->lim.max_values);
        if ((rc = scratch_floats(sc, ((size_t)nd + 1) * L, err, b->src))) return rc;
        for (size_t i = 0; i < L; i++) {
            if ((r = next_field(&rp, re, &f, &fn, &quoted)) != 1 || quoted)
                return err_set(err, ECG_EFORMAT, "%s:%zu: dimension %d %s at value %zu of %zu",
                               b->src, line, nd + 1, r == 0 ? "ends early" : "has a bad field",
                               i + 1, L);
            if ((rc = value(b, f, fn, line, i, nd, &sc->v[(size_t)nd * L + i], err))) return rc;
        }
        if (next_field(&rp, re, &f, &fn, &quoted) != 0)
            return err_set(err, ECG_EFORMAT, "%s:%zu: dimension %d has more than %zu values",
                           b->src, line, nd + 1, L);
        nd++;
        rel = nl ? nl + 1 : rend;
    }
    if (nd == 0) return err_set(err, ECG_EFORMAT, "%s:%zu: empty relational value", b->src, line);
    return store(b, sc, nd, L, label, line, err);
}

ecg_code arff_parse_buffer(task_split *t, const char *buf, size_t len, const char *src,
                           const task_limits *lim, ecg_err *err) {
    task_builder b;
    ecg_code rc = tb_init(&b, t, lim, src, err);
    if (rc) return rc;
    arff_header h = {0};
    arff_scratch sc = {0};
    tb_cursor c;
    tb_cursor_init(&c, buf, len);
    int in_data = 0;
    const char *s;
    size_t n;
    while (tb_next_line(&c, &s, &n)) {
        tb_trim(&s, &n);
        if (n == 0 || s[0] == '%') continue;
        if (!in_data) {
            if ((rc = header_line(&b, &h, s, n, c.line, &in_data, err))) goto fail;
            if (in_data && (rc = header_done(&b, &h, c.line, err))) goto fail;
            continue;
        }
        if ((rc = data_line(&b, &h, &sc, s, n, c.line, err))) goto fail;
    }
    free(sc.c);
    free(sc.v);
    return tb_finish_data(&b, in_data, c.line, err);
fail:
    free(sc.c);
    free(sc.v);
    tb_abort(&b);
    return rc;
}

ecg_code arff_read_file(task_split *t, const char *path, const task_limits *lim, ecg_err *err) {
    return tb_read_named_file(t, path, lim, arff_parse_buffer, err);
}

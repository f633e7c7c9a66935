/* sktime_ts.c — reader of sktime/aeon .ts splits (see sktime_ts.h): a header of tags checked one
 * by one, then one case per line parsed into a scratch row and stored with its dimensions. */
#include "core/data/sktime_ts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int labels;        /* -1 no @classLabel tag, 0 false, 1 true */
    int univariate;    /* -1 unknown */
    int dims;          /* 0 unknown */
    int equal;         /* -1 unknown */
    size_t series_len; /* 0 unknown */
} ts_header;

typedef struct {
    float *v;
    size_t cap;
    size_t *dim_len;
    int dim_cap;
} ts_scratch;

static int parse_bool(const char *s, size_t n, int *out) {
    if (tb_keyword(s, n, "true") && n == 4) return *out = 1, 1;
    if (tb_keyword(s, n, "false") && n == 5) return *out = 0, 1;
    return 0;
}

static int parse_count(const char *s, size_t n, size_t *out) {
    if (n == 0 || n > 18) return 0;
    size_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return 1;
}

/* One @tag line of the header; *data set at @data. */
static ecg_code header_line(task_builder *b, ts_header *h, const char *s, size_t n, size_t line,
                            int *data, ecg_err *err) {
    size_t k = 0;
    while (k < n && s[k] != ' ' && s[k] != '\t')
        k++;
    const char *rest = s + k;
    size_t rn = n - k;
    tb_trim(&rest, &rn);
    int bv;
    size_t cv;
    if (tb_keyword(s, n, "@data")) {
        *data = 1;
        return ECG_OK;
    }
    if (tb_keyword(s, n, "@problemName")) {
        size_t m = rn < sizeof b->t->name - 1 ? rn : sizeof b->t->name - 1;
        memcpy(b->t->name, rest, m);
        b->t->name[m] = 0;
        if (memchr(rest, 0, m)) b->t->name[0] = 0;
        return ECG_OK;
    }
    if (tb_keyword(s, n, "@timeStamps")) {
        if (!parse_bool(rest, rn, &bv)) goto bad_bool;
        if (bv)
            return err_set(err, ECG_EFORMAT, "%s:%zu: timestamped series are not supported", b->src,
                           line);
        return ECG_OK;
    }
    if (tb_keyword(s, n, "@missing")) {
        if (!parse_bool(rest, rn, &bv)) goto bad_bool;
        return ECG_OK;
    }
    if (tb_keyword(s, n, "@univariate")) {
        if (!parse_bool(rest, rn, &h->univariate)) goto bad_bool;
        return ECG_OK;
    }
    if (tb_keyword(s, n, "@equalLength")) {
        if (!parse_bool(rest, rn, &h->equal)) goto bad_bool;
        return ECG_OK;
    }
    if (tb_keyword(s, n, "@dimensions") || tb_keyword(s, n, "@dimension")) {
        if (!parse_count(rest, rn, &cv) || cv < 1)
            return err_set(err, ECG_EFORMAT, "%s:%zu: @dimensions needs a positive integer", b->src,
                           line);
        if (cv > (size_t)b->lim.max_dims)
            return err_set(err, ECG_EINVAL, "%s:%zu: %zu dimensions (limit %d)", b->src, line, cv,
                           b->lim.max_dims);
        h->dims = (int)cv;
        return ECG_OK;
    }
    if (tb_keyword(s, n, "@seriesLength")) {
        if (!parse_count(rest, rn, &cv) || cv < 1)
            return err_set(err, ECG_EFORMAT, "%s:%zu: @seriesLength needs a positive integer",
                           b->src, line);
        if (cv > b->lim.max_length)
            return err_set(err, ECG_EINVAL, "%s:%zu: series length %zu (limit %zu)", b->src, line,
                           cv, b->lim.max_length);
        h->series_len = cv;
        return ECG_OK;
    }
    if (tb_keyword(s, n, "@targetLabel")) {
        if (!parse_bool(rest, rn, &bv)) goto bad_bool;
        if (bv)
            return err_set(err, ECG_EFORMAT,
                           "%s:%zu: @targetLabel true is a regression problem, not classification",
                           b->src, line);
        if (h->labels < 0) h->labels = 0;
        return ECG_OK;
    }
    if (tb_keyword(s, n, "@classLabel")) {
        if (h->labels >= 0)
            return err_set(err, ECG_EFORMAT, "%s:%zu: a second @classLabel or @targetLabel", b->src,
                           line);
        size_t w = 0;
        while (w < rn && rest[w] != ' ' && rest[w] != '\t')
            w++;
        if (!parse_bool(rest, w, &h->labels))
            return err_set(err, ECG_EFORMAT, "%s:%zu: @classLabel must be true or false", b->src,
                           line);
        const char *p = rest + w, *end = rest + rn;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            const char *q = p;
            while (q < end && *q != ' ' && *q != '\t')
                q++;
            if (q > p) {
                if (!h->labels)
                    return err_set(err, ECG_EFORMAT, "%s:%zu: @classLabel false lists classes",
                                   b->src, line);
                ecg_code rc = tb_class_add(b, p, (size_t)(q - p), NULL, line, err);
                if (rc) return rc;
            }
            p = q;
        }
        if (h->labels && b->t->n_classes == 0)
            return err_set(err, ECG_EFORMAT, "%s:%zu: @classLabel true lists no classes", b->src,
                           line);
        return ECG_OK;
    }
    /* Tags we do not use (newer aeon versions add some) are allowed before @data. */
    return ECG_OK;
bad_bool:
    return err_set(err, ECG_EFORMAT, "%s:%zu: %.*s needs true or false", b->src, line, (int)k, s);
}

static ecg_code scratch_grow(ts_scratch *sc, size_t need, const task_builder *b, ecg_err *err) {
    if (need <= sc->cap) return ECG_OK;
    size_t cap = sc->cap ? sc->cap : 256;
    while (cap < need)
        cap *= 2;
    float *v = realloc(sc->v, cap * sizeof *v);
    if (!v) return err_set(err, ECG_ENOMEM, "%s: no memory for a case", b->src);
    sc->v = v;
    sc->cap = cap;
    return ECG_OK;
}

/* One @data line. */
static ecg_code data_line(task_builder *b, ts_header *h, ts_scratch *sc, const char *s, size_t n,
                          size_t line, ecg_err *err) {
    int label = -1;
    const char *body = s;
    size_t bn = n;
    if (h->labels == 1) {
        const char *colon = NULL;
        for (size_t i = n; i-- > 0;)
            if (s[i] == ':') {
                colon = s + i;
                break;
            }
        if (!colon)
            return err_set(err, ECG_EFORMAT, "%s:%zu: no ':' before a class label", b->src, line);
        const char *lab = colon + 1;
        size_t ln = (size_t)(s + n - lab);
        tb_trim(&lab, &ln);
        label = tb_class_find(b, lab, ln);
        if (label < 0)
            return err_set(err, ECG_EFORMAT, "%s:%zu: class '%.*s' is not declared in @classLabel",
                           b->src, line, (int)(ln > 40 ? 40 : ln), lab);
        bn = (size_t)(colon - s);
    }
    /* Dimensions, then values. */
    int nd = 0;
    size_t nv = 0, maxlen = 0;
    const char *p = body, *end = body + bn;
    for (;;) {
        const char *q = memchr(p, ':', (size_t)(end - p));
        const char *dend = q ? q : end;
        if (nd >= b->lim.max_dims)
            return err_set(err, ECG_EINVAL, "%s:%zu: more than %d dimensions", b->src, line,
                           b->lim.max_dims);
        if (nd == sc->dim_cap) {
            int cap = sc->dim_cap ? 2 * sc->dim_cap : 16;
            size_t *dl = realloc(sc->dim_len, (size_t)cap * sizeof *dl);
            if (!dl) return err_set(err, ECG_ENOMEM, "%s: no memory for a case", b->src);
            sc->dim_len = dl;
            sc->dim_cap = cap;
        }
        size_t len = 0;
        const char *v = p;
        for (;;) {
            const char *c = memchr(v, ',', (size_t)(dend - v));
            const char *vend = c ? c : dend;
            const char *tok = v;
            size_t tn = (size_t)(vend - v);
            tb_trim(&tok, &tn);
            if (tn == 0) {
                if (!c && len == 0)
                    return err_set(err, ECG_EFORMAT, "%s:%zu: dimension %d is empty", b->src, line,
                                   nd + 1);
                return err_set(err, ECG_EFORMAT, "%s:%zu: empty value in dimension %d", b->src,
                               line, nd + 1);
            }
            if (len >= b->lim.max_length)
                return err_set(err, ECG_EINVAL, "%s:%zu: series longer than %zu", b->src, line,
                               b->lim.max_length);
            ecg_code rc = scratch_grow(sc, nv + 1, b, err);
            if (rc) return rc;
            int pr = tb_parse_value(tok, tn, &sc->v[nv]);
            if (pr)
                return err_set(err, ECG_EFORMAT, "%s:%zu: value '%.*s' in dimension %d is %s",
                               b->src, line, (int)(tn > 40 ? 40 : tn), tok, nd + 1,
                               pr == -2 ? "out of float range" : "not a number");
            nv++;
            len++;
            if (!c) break;
            v = c + 1;
        }
        sc->dim_len[nd++] = len;
        if (len > maxlen) maxlen = len;
        if (!q) break;
        p = q + 1;
    }
    if (h->univariate == 1 && nd != 1)
        return err_set(err, ECG_EFORMAT, "%s:%zu: %d dimensions in a @univariate true file", b->src,
                       line, nd);
    if (h->dims && nd != h->dims)
        return err_set(err, ECG_EFORMAT, "%s:%zu: %d dimensions, @dimensions says %d", b->src, line,
                       nd, h->dims);
    if (h->equal == 1) {
        size_t want = h->series_len ? h->series_len : (b->t->n_series ? b->t->length[0] : maxlen);
        for (int d = 0; d < nd; d++)
            if (sc->dim_len[d] != want)
                return err_set(err, ECG_EFORMAT,
                               "%s:%zu: dimension %d has %zu values in an @equalLength file of "
                               "length %zu",
                               b->src, line, d + 1, sc->dim_len[d], want);
    }
    float *dst;
    ecg_code rc = tb_series_add(b, nd, maxlen, label, line, &dst, err);
    if (rc) return rc;
    const float *src = sc->v;
    for (int d = 0; d < nd; d++) {
        size_t L = sc->dim_len[d];
        memcpy(dst + (size_t)d * maxlen, src, L * sizeof *dst);
        for (size_t i = L; i < maxlen; i++)
            dst[(size_t)d * maxlen + i] = NAN;
        src += L;
    }
    return ECG_OK;
}

ecg_code ts_parse_buffer(task_split *t, const char *buf, size_t len, const char *src,
                         const task_limits *lim, ecg_err *err) {
    task_builder b;
    ecg_code rc = tb_init(&b, t, lim, src, err);
    if (rc) return rc;
    ts_header h = {-1, -1, 0, -1, 0};
    ts_scratch sc = {0};
    tb_cursor c;
    tb_cursor_init(&c, buf, len);
    int in_data = 0;
    const char *s;
    size_t n;
    while (tb_next_line(&c, &s, &n)) {
        tb_trim(&s, &n);
        if (n == 0 || s[0] == '#') continue;
        if (!in_data) {
            if (s[0] != '@') {
                rc = err_set(err, ECG_EFORMAT, "%s:%zu: data before @data", b.src, c.line);
                goto fail;
            }
            if ((rc = header_line(&b, &h, s, n, c.line, &in_data, err))) goto fail;
            if (in_data && h.labels < 0) {
                rc = err_set(err, ECG_EFORMAT, "%s:%zu: @data without @classLabel", b.src, c.line);
                goto fail;
            }
            continue;
        }
        if (s[0] == '@') {
            rc = err_set(err, ECG_EFORMAT, "%s:%zu: a tag after @data", b.src, c.line);
            goto fail;
        }
        if ((rc = data_line(&b, &h, &sc, s, n, c.line, err))) goto fail;
    }
    free(sc.v);
    free(sc.dim_len);
    return tb_finish_data(&b, in_data, c.line, err);
fail:
    free(sc.v);
    free(sc.dim_len);
    tb_abort(&b);
    return rc;
}

ecg_code ts_read_file(task_split *t, const char *path, const task_limits *lim, ecg_err *err) {
    return tb_read_named_file(t, path, lim, ts_parse_buffer, err);
}

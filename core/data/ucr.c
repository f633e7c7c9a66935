/* ucr.c — reader of UCR-format splits (see ucr.h). Line-based; every series is parsed into a
 * scratch row first so that its padding can be dropped before it is stored. */
#include "core/data/ucr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Next field of a line: for ' ' a run of non-blanks, otherwise up to the separator. Returns 0 at
 * the end of the line. */
static int next_field(const char **p, const char *end, char sep, const char **f, size_t *flen,
                      int *first) {
    const char *q = *p;
    if (sep == ' ') {
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q >= end) return 0;
        const char *s = q;
        while (q < end && *q != ' ' && *q != '\t')
            q++;
        *f = s;
        *flen = (size_t)(q - s);
        *p = q;
        return 1;
    }
    if (!*first) {
        if (q >= end) return 0;
        q++; /* the separator */
    }
    *first = 0;
    const char *s = q;
    while (q < end && *q != sep)
        q++;
    *f = s;
    *flen = (size_t)(q - s);
    tb_trim(f, flen);
    *p = q;
    return 1;
}

ecg_code ucr_parse_buffer(task_split *t, const char *buf, size_t len, const char *src,
                          const task_limits *lim, ecg_err *err) {
    task_builder b;
    ecg_code rc = tb_init(&b, t, lim, src, err);
    if (rc) return rc;
    tb_cursor c;
    tb_cursor_init(&c, buf, len);
    float *row = NULL;
    size_t cap = 0;
    const char *s;
    size_t n;
    while (tb_next_line(&c, &s, &n)) {
        tb_trim(&s, &n);
        if (n == 0 || s[0] == '#') continue;
        char sep = memchr(s, '\t', n) ? '\t' : memchr(s, ',', n) ? ',' : ' ';
        const char *p = s, *end = s + n, *f;
        size_t flen, nv = 0;
        int first = 1;
        char name[TASK_MAX_LABEL + 1];
        next_field(&p, end, sep, &f, &flen, &first);
        if (flen == 0) {
            rc = err_set(err, ECG_EFORMAT, "%s:%zu: empty class label", b.src, c.line);
            goto fail;
        }
        if (flen > TASK_MAX_LABEL) {
            rc = err_set(err, ECG_EFORMAT, "%s:%zu: class label longer than %d bytes", b.src,
                         c.line, TASK_MAX_LABEL);
            goto fail;
        }
        tb_label_canonical(f, flen, name);
        while (next_field(&p, end, sep, &f, &flen, &first)) {
            if (flen == 0) {
                rc = err_set(err, ECG_EFORMAT, "%s:%zu: empty field after value %zu", b.src, c.line,
                             nv);
                goto fail;
            }
            if (nv >= b.lim.max_length) {
                rc = err_set(err, ECG_EINVAL, "%s:%zu: series longer than %zu", b.src, c.line,
                             b.lim.max_length);
                goto fail;
            }
            if (nv == cap) {
                size_t nc = cap ? 2 * cap : 256;
                float *r = realloc(row, nc * sizeof *r);
                if (!r) {
                    rc = err_set(err, ECG_ENOMEM, "%s: no memory for a row", b.src);
                    goto fail;
                }
                row = r;
                cap = nc;
            }
            int pr = tb_parse_value(f, flen, &row[nv]);
            if (pr) {
                rc = err_set(err, ECG_EFORMAT, "%s:%zu: value %zu '%.*s' is %s", b.src, c.line,
                             nv + 1, (int)(flen > 40 ? 40 : flen), f,
                             pr == -2 ? "out of float range" : "not a number");
                goto fail;
            }
            nv++;
        }
        while (nv > 0 && isnan(row[nv - 1]))
            nv--;
        if (nv == 0) {
            rc = err_set(err, ECG_EFORMAT, "%s:%zu: a label without values", b.src, c.line);
            goto fail;
        }
        int label = tb_class_find(&b, name, strlen(name));
        if (label < 0 && (rc = tb_class_add(&b, name, strlen(name), &label, c.line, err)))
            goto fail;
        float *dst;
        if ((rc = tb_series_add(&b, 1, nv, label, c.line, &dst, err))) goto fail;
        memcpy(dst, row, nv * sizeof *dst);
    }
    free(row);
    return tb_finish(&b, c.line, err);
fail:
    free(row);
    tb_abort(&b);
    return rc;
}

ecg_code ucr_read_file(task_split *t, const char *path, const task_limits *lim, ecg_err *err) {
    memset(t, 0, sizeof *t);
    task_limits l = task_limits_resolve(lim);
    char *buf;
    size_t len;
    ecg_code rc = tb_read_file(path, l.max_file_bytes, &buf, &len, err);
    if (rc) return rc;
    rc = ucr_parse_buffer(t, buf, len, path, &l, err);
    free(buf);
    if (rc == ECG_OK) tb_name_from_path(path, t->name, sizeof t->name);
    return rc;
}

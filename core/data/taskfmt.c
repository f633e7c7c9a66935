/* taskfmt.c — shared machinery of the task readers (see taskfmt.h) and task_split_free (task.h).
 * Every size that comes from a file is checked against task_limits before anything is allocated. */
#include "core/data/taskfmt.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void task_split_free(task_split *t) {
    if (!t) return;
    free(t->length);
    free(t->offset);
    free(t->values);
    free(t->label);
    if (t->class_names)
        for (int i = 0; i < t->n_classes; i++)
            free(t->class_names[i]);
    free(t->class_names);
    memset(t, 0, sizeof *t);
}

task_limits task_limits_resolve(const task_limits *lim) {
    task_limits l = {0};
    if (lim) l = *lim;
    if (!l.max_series) l.max_series = 1000000;
    if (!l.max_length) l.max_length = 10000000;
    if (l.max_dims <= 0) l.max_dims = 4096;
    if (l.max_classes <= 0) l.max_classes = 65536;
    if (!l.max_values) l.max_values = (size_t)256 << 20;
    if (!l.max_file_bytes) l.max_file_bytes = (size_t)2 << 30;
    return l;
}

static char *dup_bytes(const char *s, size_t len) {
    char *d = malloc(len + 1);
    if (!d) return NULL;
    memcpy(d, s, len);
    d[len] = 0;
    return d;
}

ecg_code task_split_align_classes(task_split *test, const task_split *train, ecg_err *err) {
    int n_new = train->n_classes;
    int *map = malloc(((size_t)test->n_classes + 1) * sizeof *map);
    if (!map) return err_set(err, ECG_ENOMEM, "align classes: no memory");
    for (int i = 0; i < test->n_classes; i++) {
        map[i] = -1;
        for (int j = 0; j < train->n_classes; j++)
            if (strcmp(test->class_names[i], train->class_names[j]) == 0) {
                map[i] = j;
                break;
            }
        if (map[i] < 0) map[i] = n_new++;
    }
    char **names = calloc((size_t)n_new + 1, sizeof *names);
    if (!names) {
        free(map);
        return err_set(err, ECG_ENOMEM, "align classes: no memory");
    }
    for (int j = 0; j < train->n_classes; j++)
        if (!(names[j] = strdup(train->class_names[j]))) goto oom;
    for (int i = 0; i < test->n_classes; i++)
        if (map[i] >= train->n_classes && !(names[map[i]] = strdup(test->class_names[i]))) goto oom;
    for (int i = 0; i < test->n_series; i++)
        if (test->label[i] >= 0) test->label[i] = map[test->label[i]];
    for (int i = 0; i < test->n_classes; i++)
        free(test->class_names[i]);
    free(test->class_names);
    test->class_names = names;
    test->n_classes = n_new;
    free(map);
    return ECG_OK;
oom:
    for (int j = 0; j < n_new; j++)
        free(names[j]);
    free(names);
    free(map);
    return err_set(err, ECG_ENOMEM, "align classes: no memory");
}

/* ---- builder ------------------------------------------------------------------------------------
 */

ecg_code tb_init(task_builder *b, task_split *t, const task_limits *lim, const char *src,
                 ecg_err *err) {
    (void)err;
    memset(b, 0, sizeof *b);
    memset(t, 0, sizeof *t);
    b->t = t;
    b->lim = task_limits_resolve(lim);
    b->src = src ? src : "<buffer>";
    return ECG_OK;
}

static uint64_t fnv1a(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

int tb_class_find(const task_builder *b, const char *name, size_t len) {
    if (!b->hash_cap) return -1;
    size_t mask = b->hash_cap - 1;
    for (size_t i = fnv1a(name, len) & mask;; i = (i + 1) & mask) {
        int v = b->hash[i];
        if (!v) return -1;
        const char *c = b->t->class_names[v - 1];
        if (strlen(c) == len && memcmp(c, name, len) == 0) return v - 1;
    }
}

static ecg_code hash_rebuild(task_builder *b, size_t cap, ecg_err *err) {
    int *h = calloc(cap, sizeof *h);
    if (!h) return err_set(err, ECG_ENOMEM, "%s: no memory for class names", b->src);
    for (int k = 0; k < b->t->n_classes; k++) {
        const char *c = b->t->class_names[k];
        size_t i = fnv1a(c, strlen(c)) & (cap - 1);
        while (h[i])
            i = (i + 1) & (cap - 1);
        h[i] = k + 1;
    }
    free(b->hash);
    b->hash = h;
    b->hash_cap = cap;
    return ECG_OK;
}

ecg_code tb_class_add(task_builder *b, const char *name, size_t len, int *index, size_t line,
                      ecg_err *err) {
    task_split *t = b->t;
    if (len == 0) return err_set(err, ECG_EFORMAT, "%s:%zu: empty class name", b->src, line);
    if (len > TASK_MAX_LABEL)
        return err_set(err, ECG_EFORMAT, "%s:%zu: class name longer than %d bytes", b->src, line,
                       TASK_MAX_LABEL);
    if (memchr(name, 0, len))
        return err_set(err, ECG_EFORMAT, "%s:%zu: NUL byte in a class name", b->src, line);
    if (tb_class_find(b, name, len) >= 0)
        return err_set(err, ECG_EFORMAT, "%s:%zu: class '%.*s' declared twice", b->src, line,
                       (int)len, name);
    if (t->n_classes >= b->lim.max_classes)
        return err_set(err, ECG_EINVAL, "%s:%zu: more than %d classes", b->src, line,
                       b->lim.max_classes);
    if (t->n_classes == b->cap_classes) {
        int cap = b->cap_classes ? 2 * b->cap_classes : 8;
        char **n = realloc(t->class_names, (size_t)cap * sizeof *n);
        if (!n) return err_set(err, ECG_ENOMEM, "%s: no memory for class names", b->src);
        t->class_names = n;
        b->cap_classes = cap;
    }
    char *d = dup_bytes(name, len);
    if (!d) return err_set(err, ECG_ENOMEM, "%s: no memory for class names", b->src);
    t->class_names[t->n_classes++] = d;
    if ((size_t)t->n_classes * 2 > b->hash_cap) {
        ecg_code rc = hash_rebuild(b, b->hash_cap ? 2 * b->hash_cap : 16, err);
        if (rc) return rc;
    } else {
        size_t i = fnv1a(name, len) & (b->hash_cap - 1);
        while (b->hash[i])
            i = (i + 1) & (b->hash_cap - 1);
        b->hash[i] = t->n_classes;
    }
    if (index) *index = t->n_classes - 1;
    return ECG_OK;
}

ecg_code tb_series_add(task_builder *b, int n_dims, size_t length, int label, size_t line,
                       float **dst, ecg_err *err) {
    task_split *t = b->t;
    if (n_dims < 1 || n_dims > b->lim.max_dims)
        return err_set(err, ECG_EINVAL, "%s:%zu: %d dimensions (limit %d)", b->src, line, n_dims,
                       b->lim.max_dims);
    if (t->n_series > 0 && n_dims != t->n_dims)
        return err_set(err, ECG_EFORMAT, "%s:%zu: %d dimensions where earlier series have %d",
                       b->src, line, n_dims, t->n_dims);
    if (length < 1 || length > b->lim.max_length)
        return err_set(err, ECG_EINVAL, "%s:%zu: series length %zu (limit %zu)", b->src, line,
                       length, b->lim.max_length);
    if ((size_t)t->n_series >= b->lim.max_series || t->n_series == INT32_MAX)
        return err_set(err, ECG_EINVAL, "%s:%zu: more than %zu series", b->src, line,
                       b->lim.max_series);
    size_t count = (size_t)n_dims * length;
    if (count / (size_t)n_dims != length || count > b->lim.max_values ||
        b->n_values > b->lim.max_values - count)
        return err_set(err, ECG_EINVAL, "%s:%zu: more than %zu values in the split", b->src, line,
                       b->lim.max_values);
    if ((size_t)t->n_series == b->cap_series) {
        size_t cap = b->cap_series ? 2 * b->cap_series : 64;
        if (cap > b->lim.max_series) cap = b->lim.max_series;
        size_t *len = realloc(t->length, cap * sizeof *len);
        if (len) t->length = len;
        size_t *off = realloc(t->offset, cap * sizeof *off);
        if (off) t->offset = off;
        int *lab = realloc(t->label, cap * sizeof *lab);
        if (lab) t->label = lab;
        if (!len || !off || !lab)
            return err_set(err, ECG_ENOMEM, "%s: no memory for %zu series", b->src, cap);
        b->cap_series = cap;
    }
    if (b->n_values + count > b->cap_values) {
        size_t cap = b->cap_values ? b->cap_values : 4096;
        while (cap < b->n_values + count)
            cap = cap > b->lim.max_values / 2 ? b->lim.max_values : 2 * cap;
        if (cap > SIZE_MAX / sizeof(float))
            return err_set(err, ECG_ENOMEM, "%s: %zu values do not fit in memory", b->src, cap);
        float *v = realloc(t->values, cap * sizeof *v);
        if (!v) return err_set(err, ECG_ENOMEM, "%s: no memory for %zu values", b->src, cap);
        t->values = v;
        b->cap_values = cap;
    }
    int i = t->n_series++;
    t->n_dims = n_dims;
    t->length[i] = length;
    t->offset[i] = b->n_values;
    t->label[i] = label;
    *dst = t->values + b->n_values;
    b->n_values += count;
    return ECG_OK;
}

void tb_series_shrink(task_builder *b, size_t length) {
    task_split *t = b->t;
    int i = t->n_series - 1;
    if (i < 0 || length == 0 || length >= t->length[i]) return;
    size_t old = t->length[i];
    float *base = t->values + t->offset[i];
    for (int d = 1; d < t->n_dims; d++)
        memmove(base + (size_t)d * length, base + (size_t)d * old, length * sizeof *base);
    t->length[i] = length;
    b->n_values = t->offset[i] + (size_t)t->n_dims * length;
}

ecg_code tb_finish(task_builder *b, size_t line, ecg_err *err) {
    task_split *t = b->t;
    free(b->hash);
    b->hash = NULL;
    if (t->n_series == 0) {
        task_split_free(t);
        return err_set(err, ECG_EFORMAT, "%s:%zu: no series in the file", b->src, line);
    }
    float *v = realloc(t->values, b->n_values * sizeof *v);
    if (v) t->values = v;
    return ECG_OK;
}

void tb_abort(task_builder *b) {
    free(b->hash);
    b->hash = NULL;
    task_split_free(b->t);
}

ecg_code tb_finish_data(task_builder *b, int in_data, size_t line, ecg_err *err) {
    if (!in_data) {
        tb_abort(b);
        return err_set(err, ECG_EFORMAT, "%s:%zu: no @data section", b->src, line);
    }
    return tb_finish(b, line, err);
}

/* ---- tokens -------------------------------------------------------------------------------------
 */

static int is_nan_word(const char *s, size_t len) {
    return len == 3 && tolower((unsigned char)s[0]) == 'n' && tolower((unsigned char)s[1]) == 'a' &&
           tolower((unsigned char)s[2]) == 'n';
}

/* strtod on a bounded copy of a decimal token; 0 ok, -1 not a number, -2 not finite. */
static int parse_double(const char *s, size_t len, double *out) {
    if (len == 0 || len > TASK_MAX_TOKEN) return -1;
    char buf[TASK_MAX_TOKEN + 1];
    int digits = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            digits = 1;
        else if (c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E')
            return -1;
        buf[i] = c;
    }
    if (!digits) return -1;
    buf[len] = 0;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + len) return -1;
    if (!isfinite(v)) return -2;
    *out = v;
    return 0;
}

int tb_parse_value(const char *s, size_t len, float *out) {
    if ((len == 1 && s[0] == '?') || is_nan_word(s, len)) {
        *out = NAN;
        return 0;
    }
    double v;
    int rc = parse_double(s, len, &v);
    if (rc) return rc;
    if (fabs(v) > FLT_MAX) return -2;
    *out = (float)v;
    return 0;
}

void tb_label_canonical(const char *s, size_t len, char out[TASK_MAX_LABEL + 1]) {
    double v;
    if (parse_double(s, len, &v) == 0 && v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, TASK_MAX_LABEL + 1, "%lld", (long long)v);
        return;
    }
    if (len > TASK_MAX_LABEL) len = TASK_MAX_LABEL;
    memcpy(out, s, len);
    out[len] = 0;
}

void tb_cursor_init(tb_cursor *c, const char *buf, size_t len) {
    c->p = buf;
    c->end = buf + len;
    c->line = 0;
    /* A UTF-8 byte order mark is not part of the first line. */
    if (len >= 3 && (unsigned char)buf[0] == 0xef && (unsigned char)buf[1] == 0xbb &&
        (unsigned char)buf[2] == 0xbf)
        c->p += 3;
}

int tb_next_line(tb_cursor *c, const char **s, size_t *len) {
    if (c->p >= c->end) return 0;
    const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    const char *e = nl ? nl : c->end;
    *s = c->p;
    *len = (size_t)(e - c->p);
    if (*len && (*s)[*len - 1] == '\r') (*len)--;
    c->p = nl ? nl + 1 : c->end;
    c->line++;
    return 1;
}

static int is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

void tb_trim(const char **s, size_t *len) {
    while (*len && is_blank(**s))
        (*s)++, (*len)--;
    while (*len && is_blank((*s)[*len - 1]))
        (*len)--;
}

int tb_keyword(const char *s, size_t len, const char *kw) {
    size_t k = strlen(kw);
    if (len < k) return 0;
    for (size_t i = 0; i < k; i++)
        if (tolower((unsigned char)s[i]) != tolower((unsigned char)kw[i])) return 0;
    return len == k || is_blank(s[k]);
}

ecg_code tb_read_file(const char *path, size_t max_bytes, char **buf, size_t *len, ecg_err *err) {
    *buf = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return err_set(err, ECG_EIO, "%s: cannot open: %s", path, strerror(errno));
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0) size = ftell(fp);
    if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return err_set(err, ECG_EIO, "%s: cannot seek: %s", path, strerror(errno));
    }
    if ((unsigned long)size > max_bytes) {
        fclose(fp);
        return err_set(err, ECG_EINVAL, "%s: %ld bytes, above the limit of %zu", path, size,
                       max_bytes);
    }
    char *b = malloc((size_t)size + 1);
    if (!b) {
        fclose(fp);
        return err_set(err, ECG_ENOMEM, "%s: no memory for %ld bytes", path, size);
    }
    size_t got = fread(b, 1, (size_t)size, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad || got != (size_t)size) {
        free(b);
        return err_set(err, ECG_EIO, "%s: short read (%zu of %ld bytes)", path, got, size);
    }
    b[size] = 0;
    *buf = b;
    *len = (size_t)size;
    return ECG_OK;
}

void tb_name_from_path(const char *path, char *out, size_t cap) {
    if (!cap) return;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base) n = (size_t)(dot - base);
    static const char *const suffix[] = {"_TRAIN", "_TEST"};
    for (int i = 0; i < 2; i++) {
        size_t k = strlen(suffix[i]);
        if (n > k && strncasecmp(base + n - k, suffix[i], k) == 0) {
            n -= k;
            break;
        }
    }
    if (n >= cap) n = cap - 1;
    memcpy(out, base, n);
    out[n] = 0;
}

ecg_code tb_read_named_file(task_split *t, const char *path, const task_limits *lim,
                            tb_parse_fn parse, ecg_err *err) {
    memset(t, 0, sizeof *t);
    task_limits l = task_limits_resolve(lim);
    char *buf;
    size_t len;
    ecg_code rc = tb_read_file(path, l.max_file_bytes, &buf, &len, err);
    if (rc) return rc;
    rc = parse(t, buf, len, path, &l, err);
    free(buf);
    if (rc == ECG_OK && !t->name[0]) tb_name_from_path(path, t->name, sizeof t->name);
    return rc;
}

/* text_signal.c — CSV and .npy ECG readers (see text_signal.h). Both treat the bytes as hostile:
 * sizes come from the file only after they are checked against the limits and the data present. */
#include "core/data/text_signal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/taskfmt.h"

typedef struct {
    double fs, to_mv;
    const char *units;
    signal_orientation orientation;
    const char *const *names;
    int n_names, max_channels;
    size_t max_samples, max_file_bytes;
} opts_t;

static opts_t resolve(const text_signal_opts *o) {
    opts_t r = {0};
    if (o) {
        r.fs = o->fs;
        r.to_mv = o->to_mv;
        r.units = o->units;
        r.orientation = o->orientation;
        r.names = o->names;
        r.n_names = o->n_names;
        r.max_channels = o->max_channels;
        r.max_samples = o->max_samples;
        r.max_file_bytes = o->max_file_bytes;
    }
    if (r.to_mv == 0) r.to_mv = 1.0;
    if (!r.units) r.units = "mV";
    if (r.max_channels <= 0) r.max_channels = 256;
    if (!r.max_samples) r.max_samples = 100000000;
    if (!r.max_file_bytes) r.max_file_bytes = (size_t)2 << 30;
    return r;
}

static ecg_code check_opts(const opts_t *o, const char *src, ecg_err *err) {
    if (!(o->fs >= 0) || !isfinite(o->fs))
        return err_set(err, ECG_EINVAL, "%s: sampling rate %g is not valid", src, o->fs);
    if (!isfinite(o->to_mv))
        return err_set(err, ECG_EINVAL, "%s: scale to mV %g is not valid", src, o->to_mv);
    if (o->orientation != SIGNAL_LEADS_BY_SAMPLES && o->orientation != SIGNAL_SAMPLES_BY_LEADS)
        return err_set(err, ECG_EINVAL, "%s: unknown orientation %d", src, (int)o->orientation);
    return ECG_OK;
}

static void copy_name(char *dst, size_t cap, const char *s, size_t n) {
    if (n >= cap) n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (dst[i] == 0) dst[i] = '?';
}

/* Names, units and lead mapping of channel c when the file gives no name. */
static ecg_code default_names(ecg_record *r, const opts_t *o, const char *src, ecg_err *err) {
    if (o->names && o->n_names != r->n_channels)
        return err_set(err, ECG_EINVAL, "%s: %d channel names given for %d channels", src,
                       o->n_names, r->n_channels);
    for (int c = 0; c < r->n_channels; c++) {
        ecg_channel *ch = &r->channels[c];
        if (o->names)
            copy_name(ch->name, sizeof ch->name, o->names[c] ? o->names[c] : "",
                      o->names[c] ? strlen(o->names[c]) : 0);
        else if (r->n_channels == ECG_N_LEADS)
            snprintf(ch->name, sizeof ch->name, "%s", ecg_lead_names[c]);
        else
            snprintf(ch->name, sizeof ch->name, "ch%d", c + 1);
    }
    return ECG_OK;
}

static void finish_channels(ecg_record *r, const opts_t *o) {
    for (int c = 0; c < r->n_channels; c++) {
        ecg_channel *ch = &r->channels[c];
        snprintf(ch->units, sizeof ch->units, "%s", o->units);
        ch->lead = record_lead_from_name(ch->name);
    }
}

static void name_from_src(ecg_record *r, const char *src) {
    char tmp[sizeof r->record_name];
    const char *base = strrchr(src, '/');
    base = base ? base + 1 : src;
    snprintf(tmp, sizeof tmp, "%s", base);
    char *dot = strrchr(tmp, '.');
    if (dot && dot != tmp) *dot = 0;
    memcpy(r->record_name, tmp, sizeof tmp);
}

/* ---- CSV ----------------------------------------------------------------------------------------
 */

/* Next field of a CSV line: a double-quoted field is returned without its quotes (with "" left
 * in; *quoted set). Returns 1, 0 after the last field, -1 for an unterminated quote, -2 for text
 * after a closing quote. `first` is set by the caller for the first call on a line. */
static int csv_field(const char **p, const char *end, char sep, int *first, const char **f,
                     size_t *fn, int *quoted) {
    const char *q = *p;
    if (!*first) {
        if (q >= end) return 0;
        q++; /* the separator */
    }
    *first = 0;
    while (q < end && (*q == ' ' || *q == '\t') && *q != sep)
        q++;
    *quoted = 0;
    if (q < end && *q == '"') {
        const char *s = ++q;
        for (;;) {
            if (q >= end) return -1;
            if (*q == '"') {
                if (q + 1 < end && q[1] == '"') {
                    q += 2;
                    continue;
                }
                break;
            }
            q++;
        }
        *f = s;
        *fn = (size_t)(q - s);
        *quoted = 1;
        q++;
        while (q < end && (*q == ' ' || *q == '\t') && *q != sep)
            q++;
        if (q < end && *q != sep) return -2;
    } else {
        const char *s = q;
        while (q < end && *q != sep)
            q++;
        *f = s;
        *fn = (size_t)(q - s);
        tb_trim(f, fn);
    }
    *p = q;
    return 1;
}

static char pick_separator(const char *s, size_t n) {
    size_t c[3] = {0, 0, 0};
    int inq = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') inq = !inq;
        if (inq) continue;
        c[0] += s[i] == ',';
        c[1] += s[i] == ';';
        c[2] += s[i] == '\t';
    }
    if (c[1] > c[0] && c[1] >= c[2]) return ';';
    if (c[2] > c[0] && c[2] > c[1]) return '\t';
    return ',';
}

/* Time column kinds: 0 none, 1 seconds, 2 milliseconds, 3 sample index. */
static int time_kind(const char *s, size_t n) {
    char k[24];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isalnum((unsigned char)s[i])) {
            if (m + 1 >= sizeof k) return 0;
            k[m++] = (char)tolower((unsigned char)s[i]);
        }
    k[m] = 0;
    static const char *const sec[] = {"time",      "t",       "times", "timesec",
                                      "timestamp", "seconds", "sec",   "secs"};
    static const char *const ms[] = {"timems", "ms", "milliseconds", "msec", "timemsec"};
    static const char *const idx[] = {"",    "sample",      "samples",      "index",
                                      "idx", "sampleindex", "samplenumber", "unnamed0"};
    for (size_t i = 0; i < sizeof sec / sizeof *sec; i++)
        if (!strcmp(k, sec[i])) return 1;
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
        if (!strcmp(k, ms[i])) return 2;
    for (size_t i = 0; i < sizeof idx / sizeof *idx; i++)
        if (!strcmp(k, idx[i])) return 3;
    return 0;
}

static int parse_time(const char *s, size_t n, double *out) {
    if (n == 0 || n > TASK_MAX_TOKEN) return -1;
    char buf[TASK_MAX_TOKEN + 1];
    for (size_t i = 0; i < n; i++) {
        if (!strchr("0123456789+-.eE", s[i]) || s[i] == 0) return -1;
        buf[i] = s[i];
    }
    buf[n] = 0;
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + n || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

typedef struct {
    float *v; /* [rows][n_ch] */
    double *t;
    size_t rows, cap;
} csv_rows;

static ecg_code rows_grow(csv_rows *rw, int n_ch, int want_time, const opts_t *o, const char *src,
                          size_t line, ecg_err *err) {
    if (rw->rows < rw->cap) return ECG_OK;
    if (rw->rows >= o->max_samples)
        return err_set(err, ECG_EINVAL, "%s:%zu: more than %zu samples", src, line, o->max_samples);
    size_t cap = rw->cap ? 2 * rw->cap : 1024;
    if (cap > o->max_samples) cap = o->max_samples;
    if (cap > SIZE_MAX / sizeof(float) / (size_t)n_ch)
        return err_set(err, ECG_ENOMEM, "%s: %zu rows do not fit in memory", src, cap);
    float *v = realloc(rw->v, cap * (size_t)n_ch * sizeof *v);
    if (!v) return err_set(err, ECG_ENOMEM, "%s: no memory for %zu rows", src, cap);
    rw->v = v;
    if (want_time) {
        double *t = realloc(rw->t, cap * sizeof *t);
        if (!t) return err_set(err, ECG_ENOMEM, "%s: no memory for %zu rows", src, cap);
        rw->t = t;
    }
    rw->cap = cap;
    return ECG_OK;
}

/* fs from a time column in seconds (scale 1) or milliseconds (scale 1000). */
static ecg_code fs_from_time(const double *t, size_t n, double scale, const char *src, double *fs,
                             ecg_err *err) {
    if (n < 2)
        return err_set(err, ECG_EINVAL, "%s: one sample cannot give a sampling rate; give fs", src);
    double dt = (t[n - 1] - t[0]) / (double)(n - 1);
    if (!(dt > 0) || !isfinite(dt))
        return err_set(err, ECG_EFORMAT, "%s: the time column does not increase", src);
    for (size_t i = 0; i < n; i++)
        if (fabs(t[i] - (t[0] + (double)i * dt)) > 0.5 * dt)
            return err_set(err, ECG_EFORMAT,
                           "%s: the time column is not uniform (sample %zu is %g off the grid "
                           "of step %g)",
                           src, i + 1, t[i] - (t[0] + (double)i * dt), dt);
    double f = scale / dt, r = nearbyint(f);
    *fs = (r > 0 && fabs(f - r) < 1e-4 * f) ? r : f;
    return ECG_OK;
}

ecg_code csv_parse_buffer(ecg_record *r, const char *buf, size_t len, const char *src,
                          const text_signal_opts *opts, ecg_err *err) {
    memset(r, 0, sizeof *r);
    if (!src) src = "<buffer>";
    opts_t o = resolve(opts);
    ecg_code rc = check_opts(&o, src, err);
    if (rc) return rc;
    tb_cursor c;
    tb_cursor_init(&c, buf, len);
    const char *s;
    size_t n;
    int found = 0;
    while (tb_next_line(&c, &s, &n)) {
        /* Lines are trimmed only to see whether they are blank or comments: with tab separators
         * a trailing tab is an empty (missing) last field. */
        const char *ts = s;
        size_t tn = n;
        tb_trim(&ts, &tn);
        if (tn && ts[0] != '#') {
            found = 1;
            break;
        }
    }
    if (!found) return err_set(err, ECG_EFORMAT, "%s:%zu: no rows", src, c.line);
    char sep = pick_separator(s, n);
    /* The first row: header or data. */
    int n_fields = 0, header = 0, first = 1, quoted, fr;
    const char *p = s, *end = s + n, *f;
    size_t fn;
    while ((fr = csv_field(&p, end, sep, &first, &f, &fn, &quoted)) == 1) {
        float v;
        if (quoted || tb_parse_value(f, fn, &v) != 0) header = 1;
        if (++n_fields > o.max_channels + 1)
            return err_set(err, ECG_EINVAL, "%s:%zu: more than %d columns", src, c.line,
                           o.max_channels + 1);
    }
    if (fr < 0) return err_set(err, ECG_EFORMAT, "%s:%zu: bad quoting", src, c.line);
    int tkind = 0;
    if (header) {
        p = s;
        first = 1;
        csv_field(&p, end, sep, &first, &f, &fn, &quoted);
        tkind = n_fields > 1 ? time_kind(f, fn) : 0;
    }
    int has_t = tkind != 0, n_ch = n_fields - has_t;
    if (n_ch < 1) return err_set(err, ECG_EFORMAT, "%s:%zu: no signal columns", src, c.line);
    if (n_ch > o.max_channels)
        return err_set(err, ECG_EINVAL, "%s:%zu: %d channels (limit %d)", src, c.line, n_ch,
                       o.max_channels);
    if (o.fs == 0 && tkind != 1 && tkind != 2)
        return err_set(err, ECG_EINVAL, "%s: no sampling rate: give fs or a time column in s or ms",
                       src);
    char(*names)[ECG_NAME_MAX] = NULL;
    csv_rows rw = {0};
    size_t header_line = c.line;
    if (header) {
        names = calloc((size_t)n_ch, sizeof *names);
        if (!names) return err_set(err, ECG_ENOMEM, "%s: no memory for names", src);
        p = s;
        first = 1;
        for (int k = 0; k < n_fields; k++) {
            csv_field(&p, end, sep, &first, &f, &fn, &quoted);
            if (k < has_t) continue;
            char *dst = names[k - has_t];
            size_t m = 0;
            for (size_t i = 0; i < fn && m + 1 < ECG_NAME_MAX; i++) {
                if (quoted && f[i] == '"') i++; /* "" inside quotes */
                if (i < fn) dst[m++] = f[i] ? f[i] : '?';
            }
            dst[m] = 0;
        }
    }
    int pending = !header; /* the first row is data */
    for (;;) {
        if (!pending) {
            if (!tb_next_line(&c, &s, &n)) break;
            const char *ts = s;
            size_t tn = n;
            tb_trim(&ts, &tn);
            if (tn == 0 || ts[0] == '#') continue;
        }
        pending = 0;
        if ((rc = rows_grow(&rw, n_ch, has_t, &o, src, c.line, err))) goto fail;
        float *row = rw.v + rw.rows * (size_t)n_ch;
        p = s;
        end = s + n;
        first = 1;
        int k = 0;
        while ((fr = csv_field(&p, end, sep, &first, &f, &fn, &quoted)) == 1) {
            if (k >= n_fields) {
                k++;
                break;
            }
            if (k < has_t) {
                if (parse_time(f, fn, &rw.t[rw.rows])) {
                    rc = err_set(err, ECG_EFORMAT, "%s:%zu: time '%.*s' is not a number", src,
                                 c.line, (int)(fn > 40 ? 40 : fn), f);
                    goto fail;
                }
            } else {
                float v = NAN;
                int pr = fn == 0 ? 0 : tb_parse_value(f, fn, &v);
                if (pr) {
                    rc = err_set(err, ECG_EFORMAT, "%s:%zu: column %d '%.*s' is %s", src, c.line,
                                 k + 1, (int)(fn > 40 ? 40 : fn), f,
                                 pr == -2 ? "out of float range" : "not a number");
                    goto fail;
                }
                double mv = (double)v * o.to_mv;
                if (isnan(v))
                    mv = NAN;
                else if (!(fabs(mv) <= 3.4e38)) {
                    rc = err_set(err, ECG_EFORMAT, "%s:%zu: column %d is out of range in mV", src,
                                 c.line, k + 1);
                    goto fail;
                }
                row[k - has_t] = (float)mv;
            }
            k++;
        }
        if (fr < 0) {
            rc = err_set(err, ECG_EFORMAT, "%s:%zu: bad quoting", src, c.line);
            goto fail;
        }
        if (k != n_fields) {
            rc =
                err_set(err, ECG_EFORMAT, "%s:%zu: %s fields, the %s has %d", src, c.line,
                        k > n_fields ? "more" : "fewer", header ? "header" : "first row", n_fields);
            goto fail;
        }
        rw.rows++;
    }
    if (rw.rows == 0) {
        rc = err_set(err, ECG_EFORMAT, "%s:%zu: a header but no samples", src, header_line);
        goto fail;
    }
    double fs = o.fs;
    if (fs == 0 && (rc = fs_from_time(rw.t, rw.rows, tkind == 2 ? 1000.0 : 1.0, src, &fs, err)))
        goto fail;
    if ((rc = record_alloc(r, n_ch, rw.rows, err))) goto fail;
    r->fs = fs;
    for (size_t i = 0; i < rw.rows; i++)
        for (int ch = 0; ch < n_ch; ch++)
            r->signal[(size_t)ch * rw.rows + i] = rw.v[i * (size_t)n_ch + ch];
    if (names) {
        for (int ch = 0; ch < n_ch; ch++)
            memcpy(r->channels[ch].name, names[ch], ECG_NAME_MAX);
    } else if ((rc = default_names(r, &o, src, err))) {
        record_free(r);
        goto fail;
    }
    finish_channels(r, &o);
    name_from_src(r, src);
    free(names);
    free(rw.v);
    free(rw.t);
    return ECG_OK;
fail:
    free(names);
    free(rw.v);
    free(rw.t);
    return rc;
}

ecg_code csv_read_file(ecg_record *r, const char *path, const text_signal_opts *opts,
                       ecg_err *err) {
    memset(r, 0, sizeof *r);
    opts_t o = resolve(opts);
    char *buf;
    size_t len;
    ecg_code rc = tb_read_file(path, o.max_file_bytes, &buf, &len, err);
    if (rc) return rc;
    rc = csv_parse_buffer(r, buf, len, path, opts, err);
    free(buf);
    return rc;
}

/* ---- npy ----------------------------------------------------------------------------------------
 */

typedef struct {
    const char *p, *end;
} pyc;

static void py_ws(pyc *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int py_eat(pyc *c, char ch) {
    py_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes (numpy headers never need them). */
static int py_str(pyc *c, const char **s, size_t *n) {
    py_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    *s = c->p;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\') return 0;
        c->p++;
    }
    if (c->p >= c->end) return 0;
    *n = (size_t)(c->p - *s);
    c->p++;
    return 1;
}

static int py_word(pyc *c, const char *w) {
    py_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
    c->p += n;
    return 1;
}

#define NPY_MAX_NDIM 8

/* The header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (12, 5000), } */
static ecg_code npy_header(const char *h, size_t hn, const char *src, char descr[8], int *fortran,
                           int *ndim, uint64_t shape[NPY_MAX_NDIM], ecg_err *err) {
    pyc c = {h, h + hn};
    int seen[3] = {0, 0, 0};
    if (!py_eat(&c, '{')) goto bad;
    while (!py_eat(&c, '}')) {
        const char *k;
        size_t kn;
        if (!py_str(&c, &k, &kn) || !py_eat(&c, ':')) goto bad;
        if (kn == 5 && !memcmp(k, "descr", 5) && !seen[0]++) {
            const char *d;
            size_t dn;
            if (!py_str(&c, &d, &dn) || dn == 0 || dn > 7) goto bad;
            memcpy(descr, d, dn);
            descr[dn] = 0;
        } else if (kn == 13 && !memcmp(k, "fortran_order", 13) && !seen[1]++) {
            if (py_word(&c, "True"))
                *fortran = 1;
            else if (py_word(&c, "False"))
                *fortran = 0;
            else
                goto bad;
        } else if (kn == 5 && !memcmp(k, "shape", 5) && !seen[2]++) {
            if (!py_eat(&c, '(')) goto bad;
            *ndim = 0;
            while (!py_eat(&c, ')')) {
                py_ws(&c);
                uint64_t v = 0;
                int digits = 0;
                while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
                    if (v > (UINT64_MAX - 9) / 10 || ++digits > 18) goto bad;
                    v = v * 10 + (uint64_t)(*c.p++ - '0');
                }
                if (!digits || *ndim >= NPY_MAX_NDIM) goto bad;
                py_ws(&c);
                if (c.p < c.end && *c.p == 'L') c.p++; /* Python 2 longs */
                shape[(*ndim)++] = v;
                if (!py_eat(&c, ',')) {
                    if (!py_eat(&c, ')')) goto bad;
                    break;
                }
            }
        } else {
            return err_set(err, ECG_EFORMAT,
                           "%s: npy header has an unexpected or repeated key "
                           "'%.*s'",
                           src, (int)(kn > 40 ? 40 : kn), k);
        }
        if (!py_eat(&c, ',')) {
            if (!py_eat(&c, '}')) goto bad;
            break;
        }
    }
    py_ws(&c);
    if (c.p != c.end) goto bad;
    if (!seen[0] || !seen[1] || !seen[2])
        return err_set(err, ECG_EFORMAT, "%s: npy header lacks descr, fortran_order or shape", src);
    return ECG_OK;
bad:
    return err_set(err, ECG_EFORMAT, "%s: npy header is not the dict numpy writes (at byte %zu)",
                   src, (size_t)(c.p - h));
}

static uint16_t rd16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static double load_elem(const uint8_t *p, char kind, size_t size, int big) {
    uint8_t b[8];
    for (size_t i = 0; i < size; i++)
        b[i] = big ? p[size - 1 - i] : p[i];
    if (kind == 'i') {
        int16_t v;
        memcpy(&v, b, 2);
        return v;
    }
    if (size == 4) {
        float v;
        memcpy(&v, b, 4);
        return v;
    }
    double v;
    memcpy(&v, b, 8);
    return v;
}

ecg_code npy_parse_buffer(ecg_record *r, const uint8_t *buf, size_t len, const char *src,
                          const text_signal_opts *opts, ecg_err *err) {
    memset(r, 0, sizeof *r);
    if (!src) src = "<buffer>";
    opts_t o = resolve(opts);
    ecg_code rc = check_opts(&o, src, err);
    if (rc) return rc;
    if (!(o.fs > 0))
        return err_set(err, ECG_EINVAL, "%s: an npy file needs fs from the caller", src);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return err_set(err, ECG_EFORMAT, "%s: not an npy file (magic \\x93NUMPY missing)", src);
    int major = buf[6];
    size_t hl, pre;
    if (major == 1) {
        hl = rd16(buf + 8);
        pre = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return err_set(err, ECG_EFORMAT, "%s: truncated npy preamble", src);
        hl = rd32(buf + 8);
        pre = 12;
    } else {
        return err_set(err, ECG_EVERSION, "%s: npy format version %d.%d is not read (1-3 are)", src,
                       major, buf[7]);
    }
    if (hl > len - pre)
        return err_set(err, ECG_EFORMAT, "%s: npy header of %zu bytes runs past the file", src, hl);
    char descr[8] = {0};
    int fortran = 0, ndim = 0;
    uint64_t shape[NPY_MAX_NDIM];
    if ((rc = npy_header((const char *)buf + pre, hl, src, descr, &fortran, &ndim, shape, err)))
        return rc;
    char bo = descr[0], kind = descr[1];
    size_t size = (size_t)(descr[2] - '0');
    int big = bo == '>';
    if (!(bo == '<' || bo == '>' || bo == '=') || descr[3] != 0 ||
        !((kind == 'f' && (size == 4 || size == 8)) || (kind == 'i' && size == 2)))
        return err_set(err, ECG_EFORMAT, "%s: dtype '%s' is not read (f4, f8 and i2 are)", src,
                       descr);
    if (ndim < 1 || ndim > 2)
        return err_set(err, ECG_EFORMAT, "%s: %d-dimensional array (1 or 2 are read)", src, ndim);
    uint64_t rows = shape[0], cols = ndim == 2 ? shape[1] : 1;
    uint64_t n_ch, n_samp;
    if (ndim == 1) {
        n_ch = 1;
        n_samp = rows;
    } else if (o.orientation == SIGNAL_LEADS_BY_SAMPLES) {
        n_ch = rows;
        n_samp = cols;
    } else {
        n_ch = cols;
        n_samp = rows;
    }
    if (n_ch == 0 || n_samp == 0) return err_set(err, ECG_EFORMAT, "%s: empty array", src);
    if (n_ch > (uint64_t)o.max_channels)
        return err_set(err, ECG_EINVAL, "%s: %llu channels (limit %d); is the orientation right?",
                       src, (unsigned long long)n_ch, o.max_channels);
    if (n_samp > o.max_samples)
        return err_set(err, ECG_EINVAL, "%s: %llu samples per channel (limit %zu)", src,
                       (unsigned long long)n_samp, o.max_samples);
    size_t avail = len - pre - hl;
    if (n_samp > avail / size / n_ch || n_ch * n_samp * size != avail)
        return err_set(err, ECG_EFORMAT,
                       "%s: shape (%llu, %llu) of %zu-byte values needs %llu bytes, the file has "
                       "%zu",
                       src, (unsigned long long)rows, (unsigned long long)cols, size,
                       (unsigned long long)(rows * cols * size), avail);
    const uint8_t *data = buf + pre + hl;
    if ((rc = record_alloc(r, (int)n_ch, (size_t)n_samp, err))) return rc;
    r->fs = o.fs;
    for (uint64_t i = 0; i < rows; i++)
        for (uint64_t j = 0; j < cols; j++) {
            uint64_t at = fortran ? i + j * rows : i * cols + j;
            double v = load_elem(data + at * size, kind, size, big) * o.to_mv;
            if (isinf(v) || (!isnan(v) && fabs(v) > 3.4e38)) {
                record_free(r);
                return err_set(err, ECG_EFORMAT, "%s: element (%llu, %llu) is infinite in mV", src,
                               (unsigned long long)i, (unsigned long long)j);
            }
            uint64_t ch = ndim == 1 || o.orientation == SIGNAL_SAMPLES_BY_LEADS ? j : i;
            uint64_t t = ndim == 1 ? i : o.orientation == SIGNAL_SAMPLES_BY_LEADS ? i : j;
            r->signal[ch * n_samp + t] = (float)v;
        }
    if ((rc = default_names(r, &o, src, err))) {
        record_free(r);
        return rc;
    }
    finish_channels(r, &o);
    name_from_src(r, src);
    return ECG_OK;
}

ecg_code npy_read_file(ecg_record *r, const char *path, const text_signal_opts *opts,
                       ecg_err *err) {
    memset(r, 0, sizeof *r);
    opts_t o = resolve(opts);
    char *buf;
    size_t len;
    ecg_code rc = tb_read_file(path, o.max_file_bytes, &buf, &len, err);
    if (rc) return rc;
    rc = npy_parse_buffer(r, (const uint8_t *)buf, len, path, opts, err);
    free(buf);
    return rc;
}

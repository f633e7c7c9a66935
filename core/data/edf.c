/* edf.c — EDF/EDF+/BDF through EDFlib: an own check of the fixed-size header (hostile sizes are
 * refused before EDFlib sees the file), decoding into an ecg_record in mV, annotations, and import
 * of a folder of EDF files into the dataset store. */
#include "core/data/edf.h"

#include <edflib.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* EDFlib keeps its open files in a global table and says open and close are not thread-safe; one
 * file is decoded at a time (reading is I/O; the resampling after it runs in parallel). */
static pthread_mutex_t edflib_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- the header ----------------------------------------------------------------------------- */

#define MAIN_HDR 256

/* A fixed-width ASCII field, spaces trimmed, into buf (NUL-terminated). */
static void field(const uint8_t *p, size_t w, char *buf) {
    size_t a = 0, b = w;
    while (a < b && p[a] == ' ')
        a++;
    while (b > a && (p[b - 1] == ' ' || p[b - 1] == 0))
        b--;
    for (size_t i = a; i < b; i++)
        buf[i - a] = (char)(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?');
    buf[b - a] = 0;
}

static int parse_int(const uint8_t *p, size_t w, long long *v) {
    char buf[96];
    field(p, w, buf);
    if (!buf[0]) return 0;
    char *end;
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    if (errno || *end) return 0;
    *v = x;
    return 1;
}

static int parse_num(const uint8_t *p, size_t w, double *v) {
    char buf[96];
    field(p, w, buf);
    if (!buf[0]) return 0;
    for (const char *s = buf; *s; s++) /* no "inf", "nan" or hex floats */
        if (!strchr("0123456789+-.eE", *s)) return 0;
    char *end;
    errno = 0;
    double x = strtod(buf, &end);
    if (errno || *end || !isfinite(x)) return 0;
    *v = x;
    return 1;
}

static int is_annotation_label(const uint8_t *label, int bdf) {
    return memcmp(label, bdf ? "BDF Annotations " : "EDF Annotations ", 16) == 0;
}

ecg_code edf_header_check(const uint8_t *d, size_t len, uint64_t file_size, const char *where,
                          edf_header_info *info, ecg_err *err) {
    memset(info, 0, sizeof *info);
    if (len < MAIN_HDR || file_size < MAIN_HDR)
        return err_set(err, ECG_EFORMAT, "%s: %llu bytes: shorter than the 256-byte EDF header",
                       where, (unsigned long long)(file_size < len ? file_size : len));
    if (memcmp(d, "0       ", 8) == 0)
        info->bdf = 0;
    else if (d[0] == 0xff && memcmp(d + 1, "BIOSEMI", 7) == 0)
        info->bdf = 1;
    else
        return err_set(err, ECG_EFORMAT,
                       "%s: not an EDF or BDF file (version field must be \"0\" or "
                       "\"\\xffBIOSEMI\")",
                       where);
    long long hdr_bytes, n_rec, ns;
    double dur;
    if (!parse_int(d + 252, 4, &ns))
        return err_set(err, ECG_EFORMAT, "%s: number of signals is not a number", where);
    if (ns < 1 || ns > EDF_MAX_SIGNALS)
        return err_set(err, ECG_EFORMAT, "%s: %lld signals (must be 1..%d)", where, ns,
                       EDF_MAX_SIGNALS);
    if (!parse_int(d + 184, 8, &hdr_bytes))
        return err_set(err, ECG_EFORMAT, "%s: header size is not a number", where);
    if (hdr_bytes != MAIN_HDR * (ns + 1))
        return err_set(err, ECG_EFORMAT, "%s: header size %lld, but %lld signals need %lld", where,
                       hdr_bytes, ns, MAIN_HDR * (ns + 1));
    if (!parse_int(d + 236, 8, &n_rec))
        return err_set(err, ECG_EFORMAT, "%s: number of data records is not a number", where);
    if (n_rec == -1)
        return err_set(err, ECG_EFORMAT,
                       "%s: number of data records is -1 (the file was not closed by its writer)",
                       where);
    if (n_rec < 1) return err_set(err, ECG_EFORMAT, "%s: %lld data records", where, n_rec);
    if (!parse_num(d + 244, 8, &dur) || dur < 0)
        return err_set(err, ECG_EFORMAT, "%s: data record duration is not a number >= 0", where);
    info->n_signals = (int)ns;
    info->n_records = n_rec;
    info->record_seconds = dur;
    info->header_bytes = (uint64_t)hdr_bytes;
    char reserved[48];
    field(d + 192, 44, reserved);
    info->plus = strncmp(reserved, info->bdf ? "BDF+" : "EDF+", 4) == 0;
    info->discontinuous = info->plus && reserved[4] == 'D';
    if (len < (size_t)hdr_bytes || file_size < (uint64_t)hdr_bytes)
        return err_set(err, ECG_EFORMAT,
                       "%s: truncated header: %lld signals need %lld bytes, %llu "
                       "present",
                       where, ns, hdr_bytes,
                       (unsigned long long)(file_size < len ? file_size : len));
    const uint8_t *s = d + MAIN_HDR;
    size_t n = (size_t)ns, width = info->bdf ? 3 : 2;
    long long dlo = info->bdf ? -8388608 : -32768, dhi = info->bdf ? 8388607 : 32767;
    uint64_t spr_total = 0;
    for (size_t i = 0; i < n; i++) {
        char label[20];
        field(s + 16 * i, 16, label);
        int annot = is_annotation_label(s + 16 * i, info->bdf);
        info->n_annotation_signals += annot;
        long long spr, dmin, dmax;
        double pmin, pmax;
        const char *what = NULL;
        if (!parse_num(s + 104 * n + 8 * i, 8, &pmin))
            what = "physical minimum";
        else if (!parse_num(s + 112 * n + 8 * i, 8, &pmax))
            what = "physical maximum";
        else if (!parse_int(s + 120 * n + 8 * i, 8, &dmin))
            what = "digital minimum";
        else if (!parse_int(s + 128 * n + 8 * i, 8, &dmax))
            what = "digital maximum";
        else if (!parse_int(s + 216 * n + 8 * i, 8, &spr))
            what = "samples per record";
        if (what)
            return err_set(err, ECG_EFORMAT, "%s: signal %zu ('%s'): %s is not a number", where,
                           i + 1, label, what);
        if (spr < 1 || spr > (long long)(EDF_MAX_RECORD_BYTES / width))
            return err_set(err, ECG_EFORMAT, "%s: signal %zu ('%s'): %lld samples per record",
                           where, i + 1, label, spr);
        if (dmin < dlo || dmax > dhi || dmin >= dmax)
            return err_set(err, ECG_EFORMAT,
                           "%s: signal %zu ('%s'): digital range %lld..%lld (must be increasing "
                           "inside %lld..%lld)",
                           where, i + 1, label, dmin, dmax, dlo, dhi);
        if (pmin == pmax)
            return err_set(err, ECG_EFORMAT,
                           "%s: signal %zu ('%s'): physical minimum equals maximum (%g)", where,
                           i + 1, label, pmin);
        spr_total += (uint64_t)spr;
    }
    if (spr_total > EDF_MAX_RECORD_BYTES / width)
        return err_set(err, ECG_EFORMAT, "%s: one data record holds %llu bytes (limit %zu)", where,
                       (unsigned long long)(spr_total * width), EDF_MAX_RECORD_BYTES);
    info->record_bytes = (size_t)(spr_total * width);
    if ((uint64_t)n_rec > (UINT64_MAX - info->header_bytes) / info->record_bytes)
        return err_set(err, ECG_EFORMAT, "%s: %lld records of %zu bytes overflow", where, n_rec,
                       info->record_bytes);
    info->data_bytes = (uint64_t)n_rec * info->record_bytes;
    if (file_size < info->header_bytes + info->data_bytes)
        return err_set(err, ECG_EFORMAT,
                       "%s: truncated: the header announces %lld records of %zu bytes (%llu bytes "
                       "with the header), the file has %llu",
                       where, n_rec, info->record_bytes,
                       (unsigned long long)(info->header_bytes + info->data_bytes),
                       (unsigned long long)file_size);
    if (file_size > info->header_bytes + info->data_bytes) /* EDFlib refuses these too */
        return err_set(
            err, ECG_EFORMAT,
            "%s: %llu bytes after the %lld records the header announces (an EDF file "
            "ends with its last record)",
            where, (unsigned long long)(file_size - info->header_bytes - info->data_bytes), n_rec);
    for (size_t i = info->bdf ? 1 : 0; i < (size_t)hdr_bytes; i++)
        info->repairs += d[i] < 0x20 || d[i] > 0x7e;
    return ECG_OK;
}

int edf_header_repair(uint8_t *h, size_t len) {
    int n = 0;
    size_t start = len && h[0] == 0xff ? 8 : 0; /* BDF's version byte is 0xff by design */
    for (size_t i = start; i < len; i++) {
        if (h[i] >= 0x20 && h[i] <= 0x7e) continue;
        if (h[i] == 0xb5 && i + 1 < len && h[i + 1] == 'V')
            h[i] = 'u'; /* Latin-1 micro sign */
        else if (h[i] == 0xc2 && i + 2 < len && h[i + 1] == 0xb5 && h[i + 2] == 'V') {
            memcpy(h + i, "uV ", 3); /* UTF-8 micro sign: the field stays left-justified */
            n++;
            i += 2;
        } else
            h[i] = '?';
        n++;
    }
    return n;
}

/* ---- small helpers -------------------------------------------------------------------------- */

typedef struct {
    char *s;
    size_t n, cap;
    int full;
} notes;

#define NOTES_MAX ((size_t)1 << 20)

static void note(notes *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(notes *b, const char *fmt, ...) {
    if (b->full) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    size_t len = strlen(line);
    if (b->n + len + 2 > NOTES_MAX) {
        b->full = 1;
        snprintf(line, sizeof line, "edf: further notes omitted");
        len = strlen(line);
    }
    if (b->n + len + 2 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len + 2)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->full = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    if (b->n) b->s[b->n++] = '\n';
    memcpy(b->s + b->n, line, len + 1);
    b->n += len;
}

/* Millivolts per unit for voltage units; 1 for anything else (left in its own units). */
static double unit_scale(const char *u) {
    if (!strcasecmp(u, "mV")) return 1;
    if (!strcasecmp(u, "uV")) return 1e-3;
    if (!strcasecmp(u, "nV")) return 1e-6;
    if (!strcmp(u, "V")) return 1e3;
    return 1;
}

static void base_name_of(const char *path, char *out, size_t cap) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, cap, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

/* EDFlib's labels and units keep the header's space padding. */
static void trimmed(char *dst, size_t cap, const char *src) {
    while (*src == ' ')
        src++;
    snprintf(dst, cap, "%s", src);
    size_t n = strlen(dst);
    while (n && dst[n - 1] == ' ')
        dst[--n] = 0;
}

static ecg_code edflib_error(int type, const char *where, ecg_err *err) {
    switch (type) {
    case EDFLIB_MALLOC_ERROR: return err_set(err, ECG_ENOMEM, "%s: EDFlib: out of memory", where);
    case EDFLIB_NO_SUCH_FILE_OR_DIRECTORY:
        return err_set(err, ECG_ENOTFOUND, "%s: no such file", where);
    case EDFLIB_FILE_CONTAINS_FORMAT_ERRORS:
        return err_set(err, ECG_EFORMAT,
                       "%s: EDFlib refuses the file: it breaks the EDF/EDF+ specification (a "
                       "header field, date, or EDF+ annotation signal out of form)",
                       where);
    case EDFLIB_MAXFILES_REACHED:
        return err_set(err, ECG_EIO, "%s: EDFlib: too many EDF files open", where);
    case EDFLIB_FILE_READ_ERROR: return err_set(err, ECG_EIO, "%s: EDFlib: read error", where);
    case EDFLIB_FILE_ALREADY_OPENED:
        return err_set(err, ECG_EIO, "%s: EDFlib: the file is already open", where);
    case EDFLIB_FILETYPE_ERROR:
        return err_set(err, ECG_EFORMAT, "%s: EDFlib: not an EDF or BDF file", where);
    case EDFLIB_NUMBER_OF_SIGNALS_INVALID:
        return err_set(err, ECG_EFORMAT, "%s: EDFlib: invalid number of signals", where);
    case EDFLIB_FILE_IS_DISCONTINUOUS:
        return err_set(err, ECG_EFORMAT, "%s: EDF+D (discontinuous) files are not supported",
                       where);
    default:
        return err_set(err, ECG_EFORMAT, "%s: EDFlib cannot open the file (error %d)", where, type);
    }
}

/* A temp copy: the header bytes (repaired), then the data from src (a FILE at offset
 * hdr_len) or from mem. The path is returned in tmp; the caller unlinks it. */
static ecg_code write_temp(char *tmp, size_t cap, const uint8_t *hdr, size_t hdr_len, FILE *src,
                           const uint8_t *mem, uint64_t data_len, const char *where, ecg_err *err) {
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    if ((size_t)snprintf(tmp, cap, "%s/ecgfm-edf-XXXXXX", dir) >= cap)
        return err_set(err, ECG_EIO, "%s: temp path too long", where);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return err_set(err, ECG_EIO, "%s: cannot create %s: %s", where, tmp, strerror(errno));
    FILE *out = fdopen(fd, "wb");
    if (!out) {
        close(fd);
        unlink(tmp);
        return err_set(err, ECG_EIO, "%s: fdopen: %s", where, strerror(errno));
    }
    int ok = fwrite(hdr, 1, hdr_len, out) == hdr_len;
    if (ok && mem) ok = data_len == 0 || fwrite(mem, 1, (size_t)data_len, out) == data_len;
    if (ok && src) {
        static const size_t B = (size_t)1 << 20;
        uint8_t *buf = malloc(B);
        ok = buf && fseeko(src, (off_t)hdr_len, SEEK_SET) == 0;
        for (uint64_t left = data_len; ok && left;) {
            size_t want = left < B ? (size_t)left : B;
            ok = fread(buf, 1, want, src) == want && fwrite(buf, 1, want, out) == want;
            left -= want;
        }
        free(buf);
    }
    if (fclose(out) != 0) ok = 0;
    if (!ok) {
        unlink(tmp);
        return err_set(err, ECG_EIO, "%s: cannot write the temp copy %s", where, tmp);
    }
    return ECG_OK;
}

/* ---- decoding ------------------------------------------------------------------------------- */

#define READ_CHUNK (1 << 20)

/* Decode the file at open_path (the original or a temp copy, unlinked once open). */
static ecg_code decode(ecg_record *r, const char *open_path, int unlink_after_open,
                       const char *where, const char *rec_name, const edf_header_info *info,
                       int repairs, const edf_options *opt, ecg_err *err) {
    memset(r, 0, sizeof *r);
    size_t max_samples = opt && opt->max_samples ? opt->max_samples : EDF_DEFAULT_MAX_SAMPLES;
    int want_annot = opt && opt->annotations;
    struct edf_hdr_struct *h = calloc(1, sizeof *h); /* ~150 KB: not on the stack */
    if (!h) {
        if (unlink_after_open) unlink(open_path);
        return err_set(err, ECG_ENOMEM, "%s: no memory", where);
    }
    ecg_code rc = ECG_OK;
    notes nb = {0};
    double *buf = NULL;
    pthread_mutex_lock(&edflib_lock);
    int opened = edfopen_file_readonly(open_path, h,
                                       want_annot ? EDFLIB_READ_ALL_ANNOTATIONS
                                                  : EDFLIB_DO_NOT_READ_ANNOTATIONS) == 0;
    if (unlink_after_open) unlink(open_path);
    if (!opened) {
        rc = edflib_error(h->filetype, where, err);
        goto done;
    }
    for (int i = 0; i < h->edfsignals && i < EDFLIB_MAXSIGNALS; i++) {
        struct edf_param_struct *p = &h->signalparam[i];
        char t[sizeof p->label > sizeof p->physdimension ? sizeof p->label
                                                         : sizeof p->physdimension];
        trimmed(t, sizeof p->label, p->label);
        memcpy(p->label, t, sizeof p->label);
        trimmed(t, sizeof p->physdimension, p->physdimension);
        memcpy(p->physdimension, t, sizeof p->physdimension);
    }
    if (h->edfsignals <= 0) {
        if (want_annot)
            rc = err_set(err, ECG_EFORMAT,
                         "%s: no signals, only EDF+ annotations (%lld): an annotation file, not "
                         "an ECG (read it with edf_read_annotations)",
                         where, h->annotations_in_file);
        else
            rc = err_set(err, ECG_EFORMAT,
                         "%s: no signals, only EDF+ annotations: an annotation file, not an ECG "
                         "(read it with edf_read_annotations)",
                         where);
        goto done;
    }
    if (h->datarecord_duration <= 0) {
        rc = err_set(err, ECG_EFORMAT,
                     "%s: data record duration 0 with %d signals: no sampling "
                     "rate",
                     where, h->edfsignals);
        goto done;
    }
    /* The record's rate: the fastest standard lead's, or the fastest signal's. */
    int ns = h->edfsignals, best_lead = 0, best_any = 0;
    for (int i = 0; i < ns; i++) {
        int spr = h->signalparam[i].smp_in_datarecord;
        if (spr > best_any) best_any = spr;
        if (record_lead_from_name(h->signalparam[i].label) >= 0 && spr > best_lead) best_lead = spr;
    }
    int spr = best_lead ? best_lead : best_any, kept = 0;
    for (int i = 0; i < ns; i++)
        kept += h->signalparam[i].smp_in_datarecord == spr;
    size_t n = (size_t)h->datarecords_in_file * (size_t)spr; /* header-checked: no overflow */
    if (n == 0) {
        rc = err_set(err, ECG_EFORMAT, "%s: no samples", where);
        goto done;
    }
    if ((size_t)kept > max_samples / n) {
        rc = err_set(err, ECG_EINVAL, "%s: %d signals x %zu samples exceed the limit of %zu", where,
                     kept, n, max_samples);
        goto done;
    }
    if ((rc = record_alloc(r, kept, n, err))) goto done;
    r->fs = (double)spr * (double)EDFLIB_TIME_DIMENSION / (double)h->datarecord_duration;
    snprintf(r->record_name, sizeof r->record_name, "%s", rec_name);
    buf = malloc((size_t)READ_CHUNK * sizeof *buf);
    if (!buf) {
        rc = err_set(err, ECG_ENOMEM, "%s: no memory for the read buffer", where);
        goto done;
    }
    static const char *const types[] = {"EDF", "EDF+", "BDF", "BDF+"};
    note(&nb, "edf: %s, %d signals, %lld records of %g s", types[h->filetype & 3], ns,
         h->datarecords_in_file, (double)h->datarecord_duration / EDFLIB_TIME_DIMENSION);
    const char *fields[][2] = {{"patient", h->patient},
                               {"recording", h->recording},
                               {"patient code", h->patientcode},
                               {"equipment", h->equipment}};
    for (int i = 0; i < 4; i++) {
        char t[96];
        trimmed(t, sizeof t, fields[i][1]);
        if (t[0]) note(&nb, "edf: %s: %s", fields[i][0], t);
    }
    if (repairs)
        note(&nb, "edf: %d non-ASCII header bytes replaced (EDF headers are ASCII)", repairs);
    int c = 0;
    for (int i = 0; i < ns && !rc; i++) {
        const struct edf_param_struct *p = &h->signalparam[i];
        if (p->smp_in_datarecord != spr) {
            note(&nb, "edf: signal '%s' at %g Hz dropped (record at %g Hz)", p->label,
                 (double)p->smp_in_datarecord * EDFLIB_TIME_DIMENSION / h->datarecord_duration,
                 r->fs);
            continue;
        }
        ecg_channel *ch = &r->channels[c];
        snprintf(ch->name, sizeof ch->name, "%s", p->label);
        snprintf(ch->units, sizeof ch->units, "%s", p->physdimension);
        ch->lead = record_lead_from_name(p->label);
        if (ch->lead < 0) note(&nb, "edf: signal '%s' is not one of the 12 leads", p->label);
        double scale = unit_scale(p->physdimension);
        float *dst = r->signal + (size_t)c * n;
        for (size_t t = 0; t < n;) {
            int want = n - t < READ_CHUNK ? (int)(n - t) : READ_CHUNK;
            int got = edfread_physical_samples(h->handle, i, want, buf);
            if (got != want) {
                rc = err_set(err, ECG_EFORMAT, "%s: signal '%s': read %d of %d samples at %zu",
                             where, p->label, got, want, t);
                break;
            }
            for (int k = 0; k < got; k++)
                dst[t + (size_t)k] = (float)(buf[k] * scale);
            t += (size_t)got;
        }
        c++;
    }
    if (!rc && want_annot && h->annotations_in_file > 0) {
        note(&nb, "edf: %lld annotations", h->annotations_in_file);
        for (long long i = 0; i < h->annotations_in_file && i < EDF_MAX_COMMENT_ANNOTATIONS; i++) {
            struct edf_annotation_struct a;
            if (edf_get_annotation(h->handle, (int)i, &a) != 0) break;
            note(&nb, "edf: annotation +%.7g s %s%s %s", (double)a.onset / EDFLIB_TIME_DIMENSION,
                 a.duration[0] ? a.duration : "-", a.duration[0] ? " s" : "", a.annotation);
        }
    }
done:
    if (opened) edfclose_file(h->handle);
    pthread_mutex_unlock(&edflib_lock);
    (void)info;
    free(buf);
    free(h);
    if (rc) {
        record_free(r);
        free(nb.s);
    } else {
        r->comments = nb.s;
    }
    return rc;
}

/* Read the header of the file at path (up to the largest header) and its size. */
static ecg_code read_head(FILE *fp, const char *where, uint8_t **hdr, size_t *len, uint64_t *size,
                          ecg_err *err) {
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode))
        return err_set(err, ECG_EIO, "%s: not a regular file", where);
    *size = (uint64_t)st.st_size;
    size_t cap = MAIN_HDR * (EDF_MAX_SIGNALS + 1);
    size_t want = *size < cap ? (size_t)*size : cap;
    *hdr = malloc(want ? want : 1);
    if (!*hdr) return err_set(err, ECG_ENOMEM, "%s: no memory", where);
    *len = fread(*hdr, 1, want, fp);
    if (*len != want) {
        free(*hdr);
        *hdr = NULL;
        return err_set(err, ECG_EIO, "%s: read error", where);
    }
    return ECG_OK;
}

ecg_code edf_read_record(ecg_record *r, const char *path, const edf_options *opt, ecg_err *err) {
    memset(r, 0, sizeof *r);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(err, errno == ENOENT ? ECG_ENOTFOUND : ECG_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
    uint8_t *hdr = NULL;
    size_t len = 0;
    uint64_t size = 0;
    edf_header_info info;
    ecg_code rc = read_head(fp, path, &hdr, &len, &size, err);
    if (!rc) rc = edf_header_check(hdr, len, size, path, &info, err);
    char name[128];
    base_name_of(path, name, sizeof name);
    if (!rc && info.repairs) {
        char tmp[4096];
        int fixed = edf_header_repair(hdr, (size_t)info.header_bytes);
        rc = write_temp(tmp, sizeof tmp, hdr, (size_t)info.header_bytes, fp, NULL, info.data_bytes,
                        path, err);
        fclose(fp);
        fp = NULL;
        if (!rc) rc = decode(r, tmp, 1, path, name, &info, fixed, opt, err);
    } else if (!rc) {
        fclose(fp);
        fp = NULL;
        rc = decode(r, path, 0, path, name, &info, 0, opt, err);
    }
    if (fp) fclose(fp);
    free(hdr);
    return rc;
}

ecg_code edf_read_record_mem(ecg_record *r, const char *name, const uint8_t *data, size_t len,
                             const edf_options *opt, ecg_err *err) {
    memset(r, 0, sizeof *r);
    if (!name) name = "upload.edf";
    edf_header_info info;
    ecg_code rc = edf_header_check(data, len, len, name, &info, err);
    if (rc) return rc;
    uint8_t *hdr = malloc((size_t)info.header_bytes);
    if (!hdr) return err_set(err, ECG_ENOMEM, "%s: no memory", name);
    memcpy(hdr, data, (size_t)info.header_bytes);
    int fixed = info.repairs ? edf_header_repair(hdr, (size_t)info.header_bytes) : 0;
    char tmp[4096];
    rc = write_temp(tmp, sizeof tmp, hdr, (size_t)info.header_bytes, NULL, data + info.header_bytes,
                    len - info.header_bytes, name, err);
    free(hdr);
    char rec[128];
    base_name_of(name, rec, sizeof rec);
    if (!rc) rc = decode(r, tmp, 1, name, rec, &info, fixed, opt, err);
    return rc;
}

/* ---- annotations ---------------------------------------------------------------------------- */

void edf_annotations_free(edf_annotations *a) {
    free(a->items);
    free(a->pool);
    memset(a, 0, sizeof *a);
}

ecg_code edf_read_annotations(edf_annotations *a, const char *path, ecg_err *err) {
    memset(a, 0, sizeof *a);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(err, errno == ENOENT ? ECG_ENOTFOUND : ECG_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
    uint8_t *hdr = NULL;
    size_t len = 0;
    uint64_t size = 0;
    edf_header_info info;
    ecg_code rc = read_head(fp, path, &hdr, &len, &size, err);
    if (!rc) rc = edf_header_check(hdr, len, size, path, &info, err);
    char tmp[4096];
    const char *open_path = path;
    if (!rc && info.repairs) {
        edf_header_repair(hdr, (size_t)info.header_bytes);
        rc = write_temp(tmp, sizeof tmp, hdr, (size_t)info.header_bytes, fp, NULL, info.data_bytes,
                        path, err);
        open_path = tmp;
    }
    fclose(fp);
    free(hdr);
    if (rc) return rc;
    struct edf_hdr_struct *h = calloc(1, sizeof *h);
    if (!h) {
        if (open_path != path) unlink(open_path);
        return err_set(err, ECG_ENOMEM, "%s: no memory", path);
    }
    pthread_mutex_lock(&edflib_lock);
    int opened = edfopen_file_readonly(open_path, h, EDFLIB_READ_ALL_ANNOTATIONS) == 0;
    if (open_path != path) unlink(open_path);
    if (!opened) rc = edflib_error(h->filetype, path, err);
    size_t n = opened && h->annotations_in_file > 0 ? (size_t)h->annotations_in_file : 0;
    if (!rc && n > EDF_MAX_ANNOTATIONS)
        rc = err_set(err, ECG_EINVAL, "%s: %zu annotations (limit %zu)", path, n,
                     EDF_MAX_ANNOTATIONS);
    size_t used = 0, cap = 0;
    size_t *offs = NULL;
    if (!rc && n) {
        a->items = calloc(n, sizeof *a->items);
        offs = malloc(n * sizeof *offs);
        if (!a->items || !offs)
            rc = err_set(err, ECG_ENOMEM, "%s: no memory for %zu annotations", path, n);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        struct edf_annotation_struct e;
        if (edf_get_annotation(h->handle, (int)i, &e) != 0) {
            rc = err_set(err, ECG_EFORMAT, "%s: annotation %zu unreadable", path, i);
            break;
        }
        size_t l = strnlen(e.annotation, sizeof e.annotation);
        if (used + l + 1 > cap) {
            size_t c2 = cap ? cap : 4096;
            while (c2 < used + l + 1)
                c2 *= 2;
            char *p = realloc(a->pool, c2);
            if (!p) {
                rc = err_set(err, ECG_ENOMEM, "%s: no memory for annotation text", path);
                break;
            }
            a->pool = p;
            cap = c2;
        }
        memcpy(a->pool + used, e.annotation, l);
        a->pool[used + l] = 0;
        offs[i] = used;
        used += l + 1;
        a->items[i].onset = e.onset;
        a->items[i].duration = e.duration[0] ? e.duration_l : -1;
    }
    if (opened) edfclose_file(h->handle);
    pthread_mutex_unlock(&edflib_lock);
    free(h);
    if (rc) {
        free(offs);
        edf_annotations_free(a);
        return rc;
    }
    a->n = n;
    for (size_t i = 0; i < n; i++)
        a->items[i].text = a->pool + offs[i];
    free(offs);
    return ECG_OK;
}

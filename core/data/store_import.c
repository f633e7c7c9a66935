/* store_import.c — bringing ECGs into the dataset store: one ecg_record (12-lead map, 240 Hz), a
 * whole WFDB tree (parallel read and resample, appended in path order) and CSV metadata labels. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/data/resample.h"
#include "core/data/store.h"
#include "core/data/store_walk.h"

/* ---- one record ----------------------------------------------------------------------------- */

/* Resampling plans by ratio and the 12-lead scratch, one per thread. */
#define PLAN_SLOTS 4
typedef struct {
    struct {
        int up, down, used;
        resample_plan p;
    } slot[PLAN_SLOTS];
    int next;
    int shared; /* look in the process-wide plans first (store_prepare) */
    float *tmp;
    size_t tmp_cap;
} prep_cache;

/* Plans for the ratios seen by store_prepare, built once per process (a plan costs ~50 us, as
 * much as resampling a 10 s record) and read-only afterwards, so shared without a lock held. */
#define SHARED_PLANS 8
static struct {
    int up, down;
    resample_plan p;
} shared_plans[SHARED_PLANS];
static int n_shared_plans;
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;

static const resample_plan *shared_plan(int up, int down) {
    const resample_plan *found = NULL;
    pthread_mutex_lock(&shared_mu);
    for (int i = 0; i < n_shared_plans && !found; i++)
        if (shared_plans[i].up == up && shared_plans[i].down == down) found = &shared_plans[i].p;
    if (!found && n_shared_plans < SHARED_PLANS &&
        resample_plan_init(&shared_plans[n_shared_plans].p, up, down, NULL) == ECG_OK) {
        shared_plans[n_shared_plans].up = up;
        shared_plans[n_shared_plans].down = down;
        found = &shared_plans[n_shared_plans++].p;
    }
    pthread_mutex_unlock(&shared_mu);
    return found; /* NULL: the table is full (or no memory); the caller builds its own */
}

static void prep_cache_free(prep_cache *c) {
    for (int i = 0; i < PLAN_SLOTS; i++)
        if (c->slot[i].used) resample_plan_free(&c->slot[i].p);
    free(c->tmp);
    memset(c, 0, sizeof *c);
}

static ecg_code cached_plan(prep_cache *c, int up, int down, const resample_plan **p,
                            ecg_err *err) {
    if (c->shared && (*p = shared_plan(up, down))) return ECG_OK;
    for (int i = 0; i < PLAN_SLOTS; i++)
        if (c->slot[i].used && c->slot[i].up == up && c->slot[i].down == down) {
            *p = &c->slot[i].p;
            return ECG_OK;
        }
    int i = c->next;
    c->next = (c->next + 1) % PLAN_SLOTS;
    if (c->slot[i].used) resample_plan_free(&c->slot[i].p);
    c->slot[i].used = 0;
    ecg_code rc = resample_plan_init(&c->slot[i].p, up, down, err);
    if (rc) return rc;
    c->slot[i].used = 1;
    c->slot[i].up = up;
    c->slot[i].down = down;
    *p = &c->slot[i].p;
    return ECG_OK;
}

/* A buffer kept across records so that importing does not allocate per record. */
typedef struct {
    float *x;
    size_t cap;
} prep_buf;

/* r mapped onto the 12 leads, non-finite samples zeroed, at STORE_FS into p (p->x from buf when
 * given, else malloc'd). Leads are read in place; only a lead with non-finite samples is copied. */
static ecg_code prepare_with(prep_cache *c, store_prepared *p, const ecg_record *r, prep_buf *buf,
                             ecg_err *err) {
    memset(p, 0, sizeof *p);
    const char *name = r->record_name[0] ? r->record_name : "record";
    size_t n = r->n_samples;
    if (n == 0 || r->n_channels <= 0 || !r->signal)
        return err_set(err, ECG_EINVAL, "%s: no samples", name);
    if (!(r->fs > 0) || !isfinite(r->fs))
        return err_set(err, ECG_EINVAL, "%s: bad sampling rate %g", name, r->fs);
    if (n > SIZE_MAX / sizeof(float) / ECG_N_LEADS)
        return err_set(err, ECG_EINVAL, "%s: %zu samples: too long", name, n);
    double n_est = (double)n * STORE_FS / r->fs;
    if (n_est > (double)STORE_MAX_SAMPLES)
        return err_set(err, ECG_EINVAL, "%s: %zu samples at %g Hz give %.0f at %d Hz (limit %zu)",
                       name, n, r->fs, n_est, STORE_FS, STORE_MAX_SAMPLES);
    int up = 1, down = 1, poly = resample_ratio(r->fs, STORE_FS, &up, &down);
    const resample_plan *plan = NULL;
    ecg_code rc;
    if (poly && up != down && (rc = cached_plan(c, up, down, &plan, err))) return rc;
    size_t n_out = plan   ? resample_plan_out_len(plan, n)
                   : poly ? n
                          : resample_out_len(n, r->fs, STORE_FS);
    if (n_out == 0 || n_out > STORE_MAX_SAMPLES)
        return err_set(err, ECG_EINVAL, "%s: %zu samples at %g Hz give %zu at %d Hz", name, n,
                       r->fs, n_out, STORE_FS);
    /* The first channel of each lead, as record_to_12lead maps them. */
    int src[ECG_N_LEADS], present = 0;
    for (int k = 0; k < ECG_N_LEADS; k++)
        src[k] = -1;
    for (int ch = 0; ch < r->n_channels; ch++) {
        int k = r->channels[ch].lead;
        if (k >= 0 && k < ECG_N_LEADS && src[k] < 0) src[k] = ch, present++;
    }
    if (!present)
        return err_set(err, ECG_EINVAL, "%s: none of its %d channels is one of the 12 leads", name,
                       r->n_channels);
    const float *rows[ECG_N_LEADS];
    for (int k = 0; k < ECG_N_LEADS; k++) {
        rows[k] = NULL;
        if (src[k] < 0) continue;
        const float *x = r->signal + (size_t)src[k] * n;
        float poison = 0; /* x * 0 is NaN exactly for NaN and infinite x: a vectorised scan */
#pragma omp simd reduction(+ : poison)
        for (size_t t = 0; t < n; t++)
            poison += x[t] * 0.0f;
        if (poison == 0) {
            rows[k] = x;
            continue;
        }
        if (c->tmp_cap < ECG_N_LEADS * n) {
            float *t = realloc(c->tmp, ECG_N_LEADS * n * sizeof *t);
            if (!t) return err_set(err, ECG_ENOMEM, "%s: no memory for %zu samples", name, n);
            c->tmp = t;
            c->tmp_cap = ECG_N_LEADS * n;
        }
        float *xc = c->tmp + (size_t)k * n;
        size_t bad = 0;
        for (size_t t = 0; t < n; t++) {
            xc[t] = isfinite(x[t]) ? x[t] : 0.0f;
            bad += !isfinite(x[t]);
        }
        if (bad == n) continue; /* nothing left of this lead */
        p->nan_filled += (int)(bad > INT32_MAX ? INT32_MAX : bad);
        rows[k] = xc;
    }
    size_t need = ECG_N_LEADS * n_out;
    if (buf && buf->cap < need) {
        float *x = realloc(buf->x, need * sizeof *x);
        if (!x) return err_set(err, ECG_ENOMEM, "%s: no memory for %zu samples", name, n_out);
        buf->x = x;
        buf->cap = need;
    }
    p->x = buf ? buf->x : malloc(need * sizeof *p->x);
    if (!p->x) return err_set(err, ECG_ENOMEM, "%s: no memory for %zu samples", name, n_out);
    p->n = n_out;
    p->orig_fs = r->fs;
    float *outs[ECG_N_LEADS];
    for (int k = 0; k < ECG_N_LEADS; k++) {
        outs[k] = p->x + (size_t)k * n_out;
        if (rows[k]) p->lead_mask |= (uint16_t)(1u << k);
    }
    if (!p->lead_mask) {
        if (!buf) free(p->x);
        memset(p, 0, sizeof *p);
        return err_set(err, ECG_EINVAL, "%s: every standard lead is missing (NaN)", name);
    }
    if (plan) {
        resample_plan_apply_rows(plan, rows, ECG_N_LEADS, n, outs);
        return ECG_OK;
    }
    for (int k = 0; k < ECG_N_LEADS; k++) {
        if (!rows[k])
            memset(outs[k], 0, n_out * sizeof *outs[k]);
        else if (poly)
            memcpy(outs[k], rows[k], n * sizeof *outs[k]);
        else if ((rc = resample_rate_sinc(rows[k], n, r->fs, STORE_FS, outs[k], err))) {
            if (!buf) free(p->x);
            memset(p, 0, sizeof *p);
            return rc;
        }
    }
    return ECG_OK;
}

ecg_code store_prepare(store_prepared *p, const ecg_record *r, ecg_err *err) {
    prep_cache c = {0};
    c.shared = 1;
    ecg_code rc = prepare_with(&c, p, r, NULL, err);
    prep_cache_free(&c);
    return rc;
}

void store_prepared_free(store_prepared *p) {
    free(p->x);
    memset(p, 0, sizeof *p);
}

ecg_code store_import_record(store_writer *w, const ecg_record *r,
                             const int32_t labels[STORE_N_LABELS], const char *source_id,
                             ecg_err *err) {
    store_prepared p;
    ecg_code rc = store_prepare(&p, r, err);
    if (rc) return rc;
    rc = store_writer_add(w, p.x, p.n, p.lead_mask, labels, p.orig_fs,
                          source_id ? source_id : r->record_name, err);
    store_prepared_free(&p);
    return rc;
}

/* ---- labels from a metadata CSV ------------------------------------------------------------- */

#define CSV_MAX_BYTES ((size_t)1 << 30)

struct store_labels {
    int n_cols;
    char names[STORE_N_LABELS][64];
    char **vocab[STORE_N_LABELS]; /* sorted text values of text columns, NULL for numeric ones */
    size_t n_vocab[STORE_N_LABELS];
    size_t n_rows;
    char **keys;
    int32_t *labels;           /* [n_rows][4] */
    int64_t *by_key, *by_base; /* open addressing over rows by key and by key base name */
    size_t table_cap;
    char *buf; /* the file; keys and text values point into it */
};

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static const char *base_name(const char *s) {
    const char *b = strrchr(s, '/');
    return b ? b + 1 : s;
}

/* The slot holding key in table, or the empty slot where it would go. Rows below -1 are base
 * names shared by several keys, stored as -row - 3 so the name can still be compared. */
static size_t table_slot(const store_labels *l, const int64_t *table, const char *key, int base) {
    size_t mask = l->table_cap - 1, i = fnv1a(key) & mask;
    for (;; i = (i + 1) & mask) {
        int64_t row = table[i];
        if (row == -1) return i;
        int64_t real = row >= 0 ? row : -row - 3;
        const char *k = base ? base_name(l->keys[real]) : l->keys[real];
        if (strcmp(k, key) == 0) return i;
    }
}

/* One CSV field parser over a NUL-terminated buffer; RFC 4180 quoting, CRLF tolerated. Returns
 * the field (unquoted, in place) and advances *pos; *eol = 1 at the end of a record. */
static char *csv_field(char **pos, int *eol, int *eof) {
    char *p = *pos, *out = p, *start = p;
    *eol = 0;
    if (*p == '"') {
        p++;
        for (;;) {
            if (*p == 0) break;
            if (*p == '"') {
                if (p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                    continue;
                }
                p++;
                break;
            }
            *out++ = *p++;
        }
        while (*p && *p != ',' && *p != '\n' && *p != '\r')
            p++; /* junk after the quote */
    } else {
        while (*p && *p != ',' && *p != '\n' && *p != '\r')
            *out++ = *p++;
    }
    if (*p == ',') {
        p++;
    } else {
        if (*p == '\r') p++;
        if (*p == '\n') p++;
        *eol = 1;
    }
    *eof = *p == 0;
    *out = 0;
    *pos = p;
    return start;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int parse_number(const char *s, int32_t *v) {
    if (!*s) return 0;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (errno || *end || !isfinite(d) || d < INT32_MIN || d > INT32_MAX) return 0;
    *v = (int32_t)lrint(d);
    return 1;
}

void store_labels_free(store_labels *l) {
    if (!l) return;
    for (int k = 0; k < STORE_N_LABELS; k++)
        free(l->vocab[k]); /* strings live in the file buffer */
    free(l->keys);
    free(l->labels);
    free(l->by_key);
    free(l->by_base);
    free(l->buf);
    free(l);
}

ecg_code store_labels_load_csv(store_labels **out, const char *path, const char *key_column,
                               const char *const *label_columns, int n_label_columns,
                               ecg_err *err) {
    *out = NULL;
    if (!key_column || n_label_columns < 0 || n_label_columns > STORE_N_LABELS ||
        (n_label_columns > 0 && !label_columns))
        return err_set(err, ECG_EINVAL, "%s: no key column or %d label columns (at most %d)", path,
                       n_label_columns, STORE_N_LABELS);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(err, errno == ENOENT ? ECG_ENOTFOUND : ECG_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > CSV_MAX_BYTES) {
        fclose(fp);
        return err_set(err, ECG_EINVAL, "%s: not a readable file under %zu bytes", path,
                       CSV_MAX_BYTES);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        fclose(fp);
        return err_set(err, ECG_ENOMEM, "%s: no memory for %zu bytes", path, size);
    }
    size_t got = fread(buf, 1, size, fp);
    fclose(fp);
    if (got != size) {
        free(buf);
        return err_set(err, ECG_EIO, "%s: short read", path);
    }
    buf[size] = 0;
    if (memchr(buf, 0, size)) {
        free(buf);
        return err_set(err, ECG_EFORMAT, "%s: NUL byte: not a CSV text file", path);
    }
    store_labels *l = calloc(1, sizeof *l);
    if (!l) {
        free(buf);
        return err_set(err, ECG_ENOMEM, "%s: no memory", path);
    }
    l->buf = buf;
    l->n_cols = n_label_columns;
    ecg_code rc = ECG_OK;
    char *pos = buf;
    int eol = 0, eof = *pos == 0;
    int key_col = -1, col_of[STORE_N_LABELS];
    for (int k = 0; k < STORE_N_LABELS; k++)
        col_of[k] = -1;
    int n_header = 0;
    if (size >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
        (unsigned char)buf[2] == 0xBF)
        pos += 3; /* UTF-8 byte order mark */
    while (!eof && !eol) {
        char *f = csv_field(&pos, &eol, &eof);
        if (strcmp(f, key_column) == 0 && key_col < 0) key_col = n_header;
        for (int k = 0; k < n_label_columns; k++)
            if (col_of[k] < 0 && strcmp(f, label_columns[k]) == 0) col_of[k] = n_header;
        n_header++;
    }
    if (key_col < 0) rc = err_set(err, ECG_EFORMAT, "%s: no column '%s'", path, key_column);
    for (int k = 0; !rc && k < n_label_columns; k++) {
        if (col_of[k] < 0)
            rc = err_set(err, ECG_EFORMAT, "%s: no column '%s'", path, label_columns[k]);
        snprintf(l->names[k], sizeof l->names[k], "%s", label_columns[k]);
    }
    /* Rows: the key and the label cells (pointers into buf). */
    size_t cap = 0;
    char **cells = NULL; /* [rows][1 + 4] */
    while (!rc && !eof) {
        char *row[1 + STORE_N_LABELS] = {0};
        int c = 0, any = 0;
        eol = 0;
        while (!eof && !eol) {
            char *f = csv_field(&pos, &eol, &eof);
            if (*f) any = 1;
            if (c == key_col) row[0] = f;
            for (int k = 0; k < n_label_columns; k++)
                if (c == col_of[k]) row[1 + k] = f;
            c++;
        }
        if (!any) continue; /* blank line */
        if (!row[0] || !*row[0]) {
            rc = err_set(err, ECG_EFORMAT, "%s: row %zu has no '%s'", path, l->n_rows + 2,
                         key_column);
            break;
        }
        if (l->n_rows == cap) {
            cap = cap ? 2 * cap : 1024;
            char **p = realloc(cells, cap * (1 + STORE_N_LABELS) * sizeof *p);
            if (!p) {
                rc = err_set(err, ECG_ENOMEM, "%s: no memory for %zu rows", path, cap);
                break;
            }
            cells = p;
        }
        for (int k = 0; k <= STORE_N_LABELS; k++)
            cells[l->n_rows * (1 + STORE_N_LABELS) + k] = row[k] ? row[k] : "";
        l->n_rows++;
    }
    size_t nr = l->n_rows;
    if (!rc) {
        l->keys = malloc((nr ? nr : 1) * sizeof *l->keys);
        l->labels = malloc((nr ? nr : 1) * STORE_N_LABELS * sizeof *l->labels);
        l->table_cap = 16;
        while (l->table_cap < 2 * nr)
            l->table_cap *= 2;
        l->by_key = malloc(l->table_cap * sizeof *l->by_key);
        l->by_base = malloc(l->table_cap * sizeof *l->by_base);
        if (!l->keys || !l->labels || !l->by_key || !l->by_base)
            rc = err_set(err, ECG_ENOMEM, "%s: no memory for %zu rows", path, nr);
    }
    for (int k = 0; !rc && k < n_label_columns; k++) {
        int numeric = 1;
        int32_t v;
        for (size_t i = 0; i < nr && numeric; i++) {
            const char *s = cells[i * (1 + STORE_N_LABELS) + 1 + k];
            if (*s && !parse_number(s, &v)) numeric = 0;
        }
        for (size_t i = 0; numeric && i < nr; i++) {
            const char *s = cells[i * (1 + STORE_N_LABELS) + 1 + k];
            l->labels[i * STORE_N_LABELS + k] = *s && parse_number(s, &v) ? v : STORE_LABEL_MISSING;
        }
        if (numeric) continue;
        char **vals = malloc((nr ? nr : 1) * sizeof *vals);
        if (!vals) {
            rc = err_set(err, ECG_ENOMEM, "%s: no memory", path);
            break;
        }
        size_t nv = 0;
        for (size_t i = 0; i < nr; i++) {
            char *s = cells[i * (1 + STORE_N_LABELS) + 1 + k];
            if (*s) vals[nv++] = s;
        }
        qsort(vals, nv, sizeof *vals, cmp_str);
        size_t u = 0;
        for (size_t i = 0; i < nv; i++)
            if (u == 0 || strcmp(vals[u - 1], vals[i]) != 0) vals[u++] = vals[i];
        l->vocab[k] = vals;
        l->n_vocab[k] = u;
        for (size_t i = 0; i < nr; i++) {
            char *s = cells[i * (1 + STORE_N_LABELS) + 1 + k];
            int32_t lab = STORE_LABEL_MISSING;
            if (*s) {
                char **hit = bsearch(&s, vals, u, sizeof *vals, cmp_str);
                lab = (int32_t)(hit - vals);
            }
            l->labels[i * STORE_N_LABELS + k] = lab;
        }
    }
    if (!rc) {
        for (size_t i = 0; i < l->table_cap; i++)
            l->by_key[i] = l->by_base[i] = -1;
        for (size_t i = 0; i < nr; i++) {
            l->keys[i] = cells[i * (1 + STORE_N_LABELS)];
            for (int k = n_label_columns; k < STORE_N_LABELS; k++)
                l->labels[i * STORE_N_LABELS + k] = STORE_LABEL_MISSING;
            size_t s = table_slot(l, l->by_key, l->keys[i], 0);
            if (l->by_key[s] >= 0) {
                rc = err_set(err, ECG_EFORMAT, "%s: key '%.200s' appears twice", path, l->keys[i]);
                break;
            }
            l->by_key[s] = (int64_t)i;
        }
        /* Base names: a name shared by two keys is dropped from this table (ambiguous). */
        for (size_t i = 0; !rc && i < nr; i++) {
            size_t s = table_slot(l, l->by_base, base_name(l->keys[i]), 1);
            if (l->by_base[s] == -1)
                l->by_base[s] = (int64_t)i;
            else if (l->by_base[s] >= 0)
                l->by_base[s] = -l->by_base[s] - 3;
        }
    }
    free(cells);
    if (rc) {
        store_labels_free(l);
        return rc;
    }
    *out = l;
    return ECG_OK;
}

int store_labels_lookup(const store_labels *l, const char *rel, int32_t labels[STORE_N_LABELS]) {
    int64_t row = -1;
    if (l->n_rows) {
        row = l->by_key[table_slot(l, l->by_key, rel, 0)];
        if (row < 0) row = l->by_key[table_slot(l, l->by_key, base_name(rel), 0)];
        if (row < 0) row = l->by_base[table_slot(l, l->by_base, base_name(rel), 1)];
        if (row < 0) row = -1; /* no row, or a base name two keys share */
    }
    for (int k = 0; k < STORE_N_LABELS; k++)
        labels[k] = row >= 0 ? l->labels[row * STORE_N_LABELS + k] : STORE_LABEL_MISSING;
    return row >= 0;
}

const char *store_labels_value_name(const store_labels *l, int k, int32_t v) {
    if (k < 0 || k >= l->n_cols || !l->vocab[k] || v < 0 || (size_t)v >= l->n_vocab[k]) return NULL;
    return l->vocab[k][v];
}

int store_labels_count(const store_labels *l) {
    return (int)l->n_rows;
}

/* ---- a WFDB tree ---------------------------------------------------------------------------- */

/* Header files are the records; their ids drop the ".hea". */
static int keep_header(char *rel, size_t len) {
    if (len <= 4 || strcmp(rel + len - 4, ".hea") != 0) return 0;
    rel[len - 4] = 0;
    return 1;
}

/* Is this header a multi-segment master ("name/segments ..." on its record line)? */
static int is_master(const char *root, const char *rel) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.hea", root, rel);
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    char line[1024];
    int master = 0;
    while (fgets(line, sizeof line, fp)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == 0) continue;
        size_t tok = strcspn(p, " \t\r\n");
        master = memchr(p, '/', tok) != NULL;
        break;
    }
    fclose(fp);
    return master;
}

/* A master's segment names (in the same directory) go to segs. Reads only the header. */
static int master_segments(const char *root, const char *rel, store_paths *segs, int *oom) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.hea", root, rel);
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    /* Parse the whole header with the WFDB parser to get the segment names right. */
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *text = size > 0 && (size_t)size <= WFDB_MAX_HEADER_BYTES ? malloc((size_t)size) : NULL;
    if (text && fread(text, 1, (size_t)size, fp) == (size_t)size) {
        wfdb_header h;
        if (wfdb_header_parse(&h, text, (size_t)size, path, NULL) == ECG_OK) {
            const char *slash = strrchr(rel, '/');
            size_t dlen = slash ? (size_t)(slash - rel) + 1 : 0;
            for (int i = 0; i < h.n_segments; i++) {
                char seg[4096];
                if (strcmp(h.segments[i].name, "~") == 0) continue;
                snprintf(seg, sizeof seg, "%.*s%s", (int)dlen, rel, h.segments[i].name);
                if (store_paths_push(segs, seg)) *oom = 1;
            }
            wfdb_header_free(&h);
        }
    }
    free(text);
    fclose(fp);
    return 1;
}

typedef struct {
    store_prepared p; /* p.x is buf.x, kept from batch to batch */
    prep_buf buf;
    ecg_code code;
    char msg[512];
} import_slot;

/* Label names and text values go into the manifest, sanitised to what it accepts. */
static void copy_label_meta(store_writer *w, const store_labels *l) {
    for (int k = 0; k < l->n_cols; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s", l->names[k]);
        for (char *p = name; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || strchr("_-.", *p)))
                *p = '_';
        store_writer_set_label_name(w, k, name, NULL);
        if (!l->vocab[k] || l->n_vocab[k] > 4096) continue; /* too many to be a class list */
        for (size_t v = 0; v < l->n_vocab[k]; v++) {
            char text[256];
            snprintf(text, sizeof text, "%s", l->vocab[k][v]);
            for (char *p = text; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
            store_writer_set_label_value(w, k, (int32_t)v, text, NULL);
        }
    }
}

ecg_code store_import_wfdb_tree(store_writer *w, const char *root, const store_import_opts *opt,
                                store_import_summary *sum, ecg_err *err) {
    store_import_opts o = store_import_start(opt, sum);
    store_paths all = {0}, segs = {0};
    ecg_code rc = store_walk_tree(root, keep_header, &all, err);
    if (rc) return rc;
    /* Multi-segment masters: their segments are not records of their own. */
    int oom = 0;
    unsigned char *master = calloc(all.n ? all.n : 1, 1);
    if (!master) {
        store_paths_free(&all);
        return err_set(err, ECG_ENOMEM, "import: no memory for %zu records", all.n);
    }
    /* Reading the first line of every header is most of this pass: done in parallel, the few
     * masters then parsed in order. */
#pragma omp parallel for schedule(dynamic, 64)
    for (size_t i = 0; i < all.n; i++)
        master[i] = (unsigned char)is_master(root, all.v[i]);
    for (size_t i = 0; i < all.n; i++)
        if (master[i]) master_segments(root, all.v[i], &segs, &oom);
    free(master);
    if (oom) {
        store_paths_free(&all);
        store_paths_free(&segs);
        return err_set(err, ECG_ENOMEM, "import: no memory for segment names");
    }
    if (segs.n) qsort(segs.v, segs.n, sizeof *segs.v, cmp_str);
    size_t kept = 0;
    for (size_t i = 0; i < all.n; i++) {
        if (segs.n && bsearch(&all.v[i], segs.v, segs.n, sizeof *segs.v, cmp_str)) {
            free(all.v[i]);
            continue;
        }
        all.v[kept++] = all.v[i];
    }
    all.n = kept;
    store_paths_free(&segs);
    sum->found = kept;
    sum->skips = calloc(STORE_MAX_SKIPS, sizeof *sum->skips);
    if (!sum->skips) {
        store_paths_free(&all);
        return err_set(err, ECG_ENOMEM, "import: no memory for the skip list");
    }
    if (o.labels) copy_label_meta(w, o.labels);
    int n_threads = 1;
#ifdef _OPENMP
    n_threads = omp_get_max_threads();
#endif
    prep_cache *caches = calloc((size_t)n_threads, sizeof *caches);
    /* Two sets of slots: while the calling thread appends batch b - 1 in path order, the other
     * threads read and resample batch b (and the calling thread joins them when it is done). */
    import_slot *slots = calloc(2 * (size_t)o.batch, sizeof *slots);
    if (!caches || !slots) {
        free(caches);
        free(slots);
        store_paths_free(&all);
        return err_set(err, ECG_ENOMEM, "import: no memory for %d slots", o.batch);
    }
    size_t batch = (size_t)o.batch, n_batches = (all.n + batch - 1) / batch;
    for (size_t b = 0; !rc && b <= n_batches; b++) {
        import_slot *fill = slots + (b % 2) * batch, *ready = slots + ((b + 1) % 2) * batch;
        size_t f0 = b * batch, r0 = f0 - batch;
        int nf = b < n_batches ? (int)(all.n - f0 < batch ? all.n - f0 : batch) : 0;
        int nr = b > 0 ? (int)(all.n - r0 < batch ? all.n - r0 : batch) : 0;
        /* Asked to stop: append the batch already read, read no more. */
        int last = nf && o.stop && atomic_load(o.stop);
        if (last) nf = 0, sum->stopped = 1;
#pragma omp parallel num_threads(n_threads)
        {
#pragma omp master
            {
                for (int s = 0; s < nr; s++) {
                    import_slot *sl = &ready[s];
                    const char *rel = all.v[r0 + (size_t)s];
                    if (!rc && !sl->code)
                        rc = store_summary_add(w, o.labels, sum, rel, &sl->p, err);
                    else if (!rc)
                        store_summary_skip(sum, rel, sl->code, sl->msg);
                    memset(&sl->p, 0, sizeof sl->p);
                }
                if (nr && !rc && o.progress)
                    o.progress(o.progress_ctx, r0 + (size_t)nr, all.n, sum->skipped);
            }
#pragma omp for schedule(dynamic, 1)
            for (int s = 0; s < nf; s++) {
                int t = 0;
#ifdef _OPENMP
                t = omp_get_thread_num();
#endif
                import_slot *sl = &fill[s];
                char path[4096];
                ecg_err e;
                ecg_record r;
                snprintf(path, sizeof path, "%s/%s", root, all.v[f0 + (size_t)s]);
                sl->code = wfdb_read_record(&r, path, o.wfdb, &e);
                if (!sl->code) {
                    snprintf(r.record_name, sizeof r.record_name, "%s", all.v[f0 + (size_t)s]);
                    sl->code = prepare_with(&caches[t], &sl->p, &r, &sl->buf, &e);
                    record_free(&r);
                }
                if (sl->code) snprintf(sl->msg, sizeof sl->msg, "%s", e.msg);
            }
        }
        if (last) break;
    }
    for (int t = 0; t < n_threads; t++)
        prep_cache_free(&caches[t]);
    for (size_t s = 0; s < 2 * batch; s++)
        free(slots[s].buf.x);
    free(caches);
    free(slots);
    store_paths_free(&all);
    if (!rc) rc = store_writer_flush(w, err);
    return rc;
}

void store_import_summary_free(store_import_summary *sum) {
    free(sum->skips);
    memset(sum, 0, sizeof *sum);
}

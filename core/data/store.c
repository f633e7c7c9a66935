/* store.c — the dataset store's directory level: the manifest, opening a dataset as a snapshot,
 * the appending writer (shards built in a temp file, published by rename), and seeded subsets. */
#include "core/data/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

#include "core/base/rng.h"
#include "core/data/store_impl.h"
#include "core/format/atomic_file.h"

/* ---- reading -------------------------------------------------------------------------------- */

struct store_dataset {
    store_manifest m;
    store_shard *shards;
    uint64_t *first; /* [n_shards + 1]: global index of each shard's first record */
    unsigned flags;
};

ecg_code store_open(store_dataset **out, const char *dir, unsigned flags, ecg_err *err) {
    *out = NULL;
    store_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return err_set(err, ECG_ENOMEM, "%s: no memory", dir);
    ds->flags = flags;
    ecg_code rc = store_manifest_read(&ds->m, dir, err);
    if (rc) {
        free(ds);
        return rc;
    }
    size_t ns = ds->m.n_shards;
    ds->shards = calloc(ns ? ns : 1, sizeof *ds->shards);
    ds->first = calloc(ns + 1, sizeof *ds->first);
    if (!ds->shards || !ds->first) {
        store_close(ds);
        return err_set(err, ECG_ENOMEM, "%s: no memory for %zu shards", dir, ns);
    }
    for (size_t i = 0; i < ns; i++) {
        const manifest_shard *ms = &ds->m.shards[i];
        char path[4096];
        if ((rc = store_path_join(path, sizeof path, dir, ms->file, err)) ||
            (rc = store_shard_open(&ds->shards[i], path, err))) {
            store_close(ds);
            return rc;
        }
        const store_shard *s = &ds->shards[i];
        if (s->n_records != ms->records || s->size != ms->bytes) {
            rc = err_set(err, ECG_EFORMAT,
                         "%s: %llu records in %zu bytes; the manifest says %llu in %llu", path,
                         (unsigned long long)s->n_records, s->size, (unsigned long long)ms->records,
                         (unsigned long long)ms->bytes);
            store_close(ds);
            return rc;
        }
        if ((flags & STORE_OPEN_VERIFY) && (rc = store_shard_verify(s, err))) {
            store_close(ds);
            return rc;
        }
        ds->first[i + 1] = ds->first[i] + s->n_records;
    }
    *out = ds;
    return ECG_OK;
}

void store_close(store_dataset *ds) {
    if (!ds) return;
    if (ds->shards)
        for (size_t i = 0; i < ds->m.n_shards; i++)
            store_shard_close(&ds->shards[i]);
    free(ds->shards);
    free(ds->first);
    store_manifest_free(&ds->m);
    free(ds);
}

size_t store_count(const store_dataset *ds) {
    return (size_t)ds->m.records;
}
size_t store_shard_total(const store_dataset *ds) {
    return ds->m.n_shards;
}

const char *store_label_name(const store_dataset *ds, int k) {
    if (k < 0 || k >= STORE_N_LABELS || !ds->m.label_names[k][0]) return NULL;
    return ds->m.label_names[k];
}

const char *store_label_value_name(const store_dataset *ds, int k, int32_t v) {
    for (size_t i = 0; i < ds->m.n_values; i++)
        if (ds->m.values[i].k == k && ds->m.values[i].v == v) return ds->m.values[i].text;
    return NULL;
}

static ecg_code locate(const store_dataset *ds, size_t i, const store_shard **s, uint64_t *j,
                       ecg_err *err) {
    if (i >= ds->m.records)
        return err_set(err, ECG_EINVAL, "record %zu of %llu", i, (unsigned long long)ds->m.records);
    size_t lo = 0, hi = ds->m.n_shards; /* first[lo] <= i < first[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ds->first[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    *s = &ds->shards[lo];
    *j = i - ds->first[lo];
    return ECG_OK;
}

ecg_code store_info(const store_dataset *ds, size_t i, store_record_info *info, ecg_err *err) {
    const store_shard *s;
    uint64_t j;
    ecg_code rc = locate(ds, i, &s, &j, err);
    return rc ? rc : store_shard_info(s, j, info, err);
}

ecg_code store_read(const store_dataset *ds, size_t i, float *out, size_t cap,
                    store_record_info *info, ecg_err *err) {
    const store_shard *s;
    uint64_t j;
    store_record_info tmp;
    if (!info) info = &tmp;
    ecg_code rc = locate(ds, i, &s, &j, err);
    if (!rc) rc = store_shard_info(s, j, info, err);
    if (rc) return rc;
    if (info->n_samples > cap)
        return err_set(err, ECG_EINVAL, "record %zu has %zu samples per lead, the buffer %zu", i,
                       info->n_samples, cap);
    if (!(ds->flags & STORE_OPEN_NO_RECORD_CRC) && (rc = store_shard_check_record(s, j, err)))
        return rc;
    return store_shard_read(s, j, 0, info->n_samples, out, err);
}

ecg_code store_read_window(const store_dataset *ds, size_t i, size_t start, size_t len, float *out,
                           ecg_err *err) {
    const store_shard *s;
    uint64_t j;
    ecg_code rc = locate(ds, i, &s, &j, err);
    return rc ? rc : store_shard_read(s, j, start, len, out, err);
}

ecg_code store_raw(const store_dataset *ds, size_t i, store_record_info *info, const void **data,
                   ecg_err *err) {
    const store_shard *s;
    uint64_t j;
    ecg_code rc = locate(ds, i, &s, &j, err);
    if (!rc) rc = store_shard_info(s, j, info, err);
    if (rc) return rc;
    store_entry e;
    store_entry_decode(&e, s->index + j * STORE_INDEX_ENTRY_SIZE);
    *data = s->base + e.offset;
    return ECG_OK;
}

ecg_code store_verify(const store_dataset *ds, ecg_err *err) {
    for (size_t i = 0; i < ds->m.n_shards; i++) {
        ecg_code rc = store_shard_verify(&ds->shards[i], err);
        if (rc) return rc;
    }
    return ECG_OK;
}

/* ---- writing -------------------------------------------------------------------------------- */

struct store_writer {
    char dir[4000];
    int lock_fd;
    store_writer_opts opt;
    store_manifest m;
    unsigned next_shard;
    /* the open shard */
    int open;
    atomic_file af;
    char shard_file[32];
    store_entry *entries;
    size_t n_entries, cap_entries;
    char *strings;
    size_t strings_len, strings_cap;
    uint64_t data_end;
    uint32_t data_crc, flags;
    int16_t *q; /* quantisation scratch */
    size_t q_cap;
};

static ecg_code mkdir_p(const char *dir, ecg_err *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return err_set(err, ECG_EINVAL, "%s: path too long", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return err_set(err, ECG_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return err_set(err, ECG_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    return ECG_OK;
}

/* Delete what interrupted appends left: temp files and shards the manifest does not list. */
static ecg_code clean_leftovers(store_writer *w, ecg_err *err) {
    DIR *d = opendir(w->dir);
    if (!d) return err_set(err, ECG_EIO, "%s: cannot list: %s", w->dir, strerror(errno));
    struct dirent *e;
    ecg_code rc = ECG_OK;
    while (!rc && (e = readdir(d))) {
        const char *name = e->d_name;
        unsigned num;
        int is_tmp =
            (strncmp(name, "shard-", 6) == 0 || strncmp(name, STORE_MANIFEST ".tmp.", 13) == 0) &&
            strstr(name, ".tmp.") != NULL;
        int orphan = 0;
        if (!is_tmp && store_shard_name_ok(name, &num)) {
            orphan = 1;
            for (size_t i = 0; i < w->m.n_shards; i++)
                if (strcmp(w->m.shards[i].file, name) == 0) orphan = 0;
            if (num >= w->next_shard && !orphan) w->next_shard = num + 1;
        }
        if (is_tmp || orphan) {
            char path[4096];
            if (!(rc = store_path_join(path, sizeof path, w->dir, name, err)) &&
                unlink(path) != 0 && errno != ENOENT)
                rc = err_set(err, ECG_EIO, "%s: cannot remove leftover: %s", path, strerror(errno));
        }
    }
    closedir(d);
    return rc;
}

ecg_code store_writer_open(store_writer **out, const char *dir, const store_writer_opts *opt,
                           ecg_err *err) {
    *out = NULL;
    if (strlen(dir) >= sizeof((store_writer *)0)->dir - 64)
        return err_set(err, ECG_EINVAL, "%s: path too long", dir);
    store_writer *w = calloc(1, sizeof *w);
    if (!w) return err_set(err, ECG_ENOMEM, "%s: no memory", dir);
    w->lock_fd = -1;
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    if (opt) w->opt = *opt;
    if (!w->opt.shard_max_records) w->opt.shard_max_records = 1024;
    if (!w->opt.shard_max_bytes) w->opt.shard_max_bytes = (size_t)64 << 20;
    if (!(w->opt.max_step_mv > 0)) w->opt.max_step_mv = 0.001f;
    ecg_code rc = ECG_OK;
    if ((unsigned)w->opt.encode > STORE_ENCODE_AUTO)
        rc = err_set(err, ECG_EINVAL, "store: unknown encoding policy %d", (int)w->opt.encode);
    char path[4096];
    if (!rc) rc = mkdir_p(dir, err);
    if (!rc) rc = store_path_join(path, sizeof path, dir, "LOCK", err);
    if (!rc) {
        w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (w->lock_fd < 0)
            rc = err_set(err, ECG_EIO, "%s: cannot open: %s", path, strerror(errno));
        else if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0)
            rc = err_set(err, ECG_EIO, "%s: another writer is appending to this dataset", dir);
    }
    if (!rc) {
        rc = store_manifest_read(&w->m, dir, err);
        if (rc == ECG_ENOTFOUND)
            rc = store_manifest_write(&w->m, dir, err); /* a new, empty dataset */
    }
    for (size_t i = 0; !rc && i < w->m.n_shards; i++) {
        unsigned num;
        if (store_shard_name_ok(w->m.shards[i].file, &num) && num >= w->next_shard)
            w->next_shard = num + 1;
    }
    if (!rc) rc = clean_leftovers(w, err);
    if (rc) {
        store_writer_abort(w);
        return rc;
    }
    *out = w;
    return ECG_OK;
}

ecg_code store_writer_set_label_name(store_writer *w, int k, const char *name, ecg_err *err) {
    if (k < 0 || k >= STORE_N_LABELS || !name || !store_label_name_ok(name))
        return err_set(err, ECG_EINVAL, "store: bad name for label field %d", k);
    snprintf(w->m.label_names[k], LABEL_NAME_MAX, "%s", name);
    return ECG_OK;
}

ecg_code store_writer_set_label_value(store_writer *w, int k, int32_t v, const char *text,
                                      ecg_err *err) {
    if (k < 0 || k >= STORE_N_LABELS || !text || !store_value_text_ok(text))
        return err_set(err, ECG_EINVAL, "store: bad text for value %ld of label field %d", (long)v,
                       k);
    return store_manifest_set_value(&w->m, k, v, text, err);
}

size_t store_writer_count(const store_writer *w) {
    return (size_t)w->m.records;
}

static void discard_shard(store_writer *w) {
    if (w->open) atomic_abort(&w->af);
    w->open = 0;
    w->n_entries = 0;
    w->strings_len = 0;
}

static ecg_code start_shard(store_writer *w, ecg_err *err) {
    snprintf(w->shard_file, sizeof w->shard_file, SHARD_NAME_FMT, w->next_shard);
    char path[4096];
    ecg_code rc = store_path_join(path, sizeof path, w->dir, w->shard_file, err);
    if (!rc) rc = atomic_open(&w->af, path, err);
    if (rc) return rc;
    w->open = 1;
    w->next_shard++;
    uint8_t zero[STORE_HEADER_SIZE] = {0}; /* rewritten at publication */
    if ((rc = atomic_write(&w->af, zero, sizeof zero, err))) {
        discard_shard(w);
        return rc;
    }
    w->n_entries = 0;
    w->strings_len = 0;
    w->data_end = STORE_HEADER_SIZE;
    w->data_crc = 0;
    w->flags = 0;
    return ECG_OK;
}

static ecg_code publish_shard(store_writer *w, ecg_err *err) {
    uint64_t index_off = w->data_end;
    uint64_t strings_off = index_off + (uint64_t)w->n_entries * STORE_INDEX_ENTRY_SIZE;
    uint64_t size = strings_off + w->strings_len + STORE_FOOTER_SIZE;
    uint8_t e[STORE_INDEX_ENTRY_SIZE], hdr[STORE_HEADER_SIZE], foot[STORE_FOOTER_SIZE];
    uint32_t meta_crc = 0;
    ecg_code rc = ECG_OK;
    for (size_t i = 0; !rc && i < w->n_entries; i++) {
        store_entry_encode(e, &w->entries[i]);
        meta_crc = store_crc32c(meta_crc, e, sizeof e);
        rc = atomic_write(&w->af, e, sizeof e, err);
    }
    if (!rc) {
        meta_crc = store_crc32c(meta_crc, w->strings, w->strings_len);
        rc = atomic_write(&w->af, w->strings, w->strings_len, err);
    }
    if (!rc) {
        store_footer_encode(foot, index_off, size, meta_crc, w->data_crc);
        rc = atomic_write(&w->af, foot, sizeof foot, err);
    }
    if (!rc) {
        store_header_encode(hdr, w->n_entries, w->flags, index_off, strings_off,
                            (uint32_t)w->strings_len);
        if (fseek(w->af.fp, 0, SEEK_SET) != 0)
            rc = err_set(err, ECG_EIO, "%s: seek: %s", w->af.tmp, strerror(errno));
        else
            rc = atomic_write(&w->af, hdr, sizeof hdr, err);
    }
    if (rc) {
        discard_shard(w);
        return rc;
    }
    w->open = 0;
    if ((rc = atomic_commit(&w->af, err))) return rc;
    /* The shard is in place; it exists for readers once the manifest lists it. */
    size_t n_before = w->m.n_shards;
    uint64_t rec_before = w->m.records;
    rc = store_manifest_add_shard(&w->m, w->shard_file, w->n_entries, size, err);
    if (!rc) {
        w->m.records += w->n_entries;
        rc = store_manifest_write(&w->m, w->dir, err);
    }
    if (rc) {
        w->m.n_shards = n_before;
        w->m.records = rec_before;
        char path[4096];
        if (!store_path_join(path, sizeof path, w->dir, w->shard_file, NULL)) unlink(path);
    }
    w->n_entries = 0;
    w->strings_len = 0;
    return rc;
}

ecg_code store_writer_flush(store_writer *w, ecg_err *err) {
    if (!w->open) return ECG_OK;
    if (w->n_entries == 0) {
        discard_shard(w);
        return ECG_OK;
    }
    return publish_shard(w, err);
}

/* Per-lead scale so that max|x| maps to 32767: the rounding error is at most half a step.
 * Returns -1 when a sample is NaN or infinite (x * 0 is NaN exactly then). */
static float lead_gain(const float *x, size_t n) {
    float m = 0, poison = 0;
#pragma omp simd reduction(max : m) reduction(+ : poison)
    for (size_t t = 0; t < n; t++) {
        float a = fabsf(x[t]);
        m = a > m ? a : m;
        poison += x[t] * 0.0f;
    }
    return poison == 0 ? m / 32767.0f : -1.0f;
}

/* q = x / gain rounded half away from zero, in double so that |x - q * gain| <= gain / 2 holds
 * exactly (float would add up to 0.002 steps); |x| <= max |x| keeps q within +-32767. */
static void quantise(const float *x, size_t n, float gain, int16_t *q) {
    double inv = 1.0 / gain;
#pragma omp simd
    for (size_t t = 0; t < n; t++) {
        double v = x[t] * inv;
        v = v >= 0 ? v + 0.5 : v - 0.5;
        v = v > 32767 ? 32767 : v;
        v = v < -32767 ? -32767 : v;
        q[t] = (int16_t)(int32_t)v;
    }
}

/* The record's CRC-32C (from 0) and the shard's running one (from *run) over the same block:
 * with the CRC instruction the two chains are independent, so one pass costs what one CRC does
 * (it is latency-bound). Equal to two store_crc32c calls. */
static uint32_t crc32c_twice(uint32_t *run, const void *data, size_t n) {
#if defined(__SSE4_2__)
    const uint8_t *p = data;
    uint64_t a = 0xffffffffu, b = ~*run & 0xffffffffu;
    for (; n && ((uintptr_t)p & 7); n--, p++) {
        a = _mm_crc32_u8((uint32_t)a, *p);
        b = _mm_crc32_u8((uint32_t)b, *p);
    }
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        a = _mm_crc32_u64(a, v);
        b = _mm_crc32_u64(b, v);
    }
    for (; n; n--, p++) {
        a = _mm_crc32_u8((uint32_t)a, *p);
        b = _mm_crc32_u8((uint32_t)b, *p);
    }
    *run = ~(uint32_t)b;
    return ~(uint32_t)a;
#else
    *run = store_crc32c(*run, data, n);
    return store_crc32c(0, data, n);
#endif
}

ecg_code store_writer_add(store_writer *w, const float *x, size_t n, uint16_t lead_mask,
                          const int32_t labels[STORE_N_LABELS], double orig_fs,
                          const char *source_id, ecg_err *err) {
    if (!source_id) source_id = "";
    size_t sid_len = strlen(source_id);
    if (n == 0 || n > STORE_MAX_SAMPLES)
        return err_set(err, ECG_EINVAL, "%s: %zu samples per lead (1 to %zu allowed)", source_id, n,
                       STORE_MAX_SAMPLES);
    if (lead_mask >> ECG_N_LEADS)
        return err_set(err, ECG_EINVAL, "%s: lead mask 0x%x has bits past lead 12", source_id,
                       lead_mask);
    if (sid_len > STORE_MAX_SOURCE_ID)
        return err_set(err, ECG_EINVAL, "source id of %zu bytes (limit %d)", sid_len,
                       STORE_MAX_SOURCE_ID);
    if (!isfinite(orig_fs) || orig_fs < 0)
        return err_set(err, ECG_EINVAL, "%s: bad original rate %g", source_id, orig_fs);
    store_entry e = {0};
    e.n_samples = n;
    e.lead_mask = lead_mask;
    e.orig_fs = orig_fs;
    for (int k = 0; k < STORE_N_LABELS; k++)
        e.labels[k] = labels ? labels[k] : STORE_LABEL_MISSING;
    float maxstep = 0;
    for (int k = 0; k < ECG_N_LEADS; k++) {
        if (!(lead_mask >> k & 1)) continue;
        e.gain[k] = lead_gain(x + (size_t)k * n, n);
        if (e.gain[k] < 0)
            return err_set(err, ECG_EINVAL, "%s: lead %s has non-finite samples", source_id,
                           ecg_lead_names[k]);
        if (e.gain[k] > maxstep) maxstep = e.gain[k];
    }
    int as_float = w->opt.encode == STORE_ENCODE_FLOAT32 ||
                   (w->opt.encode == STORE_ENCODE_AUTO && maxstep > w->opt.max_step_mv);
    e.encoding = as_float ? STORE_FLOAT32 : STORE_INT16;
    uint64_t bytes = store_block_bytes(e.encoding, n);
    /* Start a new shard when this record would overfill the open one. */
    if (w->open && w->n_entries > 0 &&
        (w->n_entries >= w->opt.shard_max_records ||
         w->data_end - STORE_HEADER_SIZE + bytes > w->opt.shard_max_bytes ||
         w->strings_len + sid_len + 1 > UINT32_MAX)) {
        ecg_code rc = publish_shard(w, err);
        if (rc) return rc;
    }
    ecg_code rc;
    if (!w->open && (rc = start_shard(w, err))) return rc;
    if (w->n_entries == w->cap_entries) {
        size_t cap = w->cap_entries ? 2 * w->cap_entries : 256;
        store_entry *p = realloc(w->entries, cap * sizeof *p);
        if (!p) return err_set(err, ECG_ENOMEM, "store: no memory for the index");
        w->entries = p;
        w->cap_entries = cap;
    }
    if (w->strings_len + sid_len + 1 > w->strings_cap) {
        size_t cap = w->strings_cap ? 2 * w->strings_cap : 4096;
        while (cap < w->strings_len + sid_len + 1)
            cap *= 2;
        char *p = realloc(w->strings, cap);
        if (!p) return err_set(err, ECG_ENOMEM, "store: no memory for source ids");
        w->strings = p;
        w->strings_cap = cap;
    }
    const void *block;
    if (as_float) {
        for (int k = 0; k < ECG_N_LEADS; k++)
            e.gain[k] = 0;
        if (lead_mask == (1u << ECG_N_LEADS) - 1) {
            block = x;
        } else {
            if (w->q_cap < 2 * (size_t)ECG_N_LEADS * n) {
                int16_t *q = realloc(w->q, 2 * (size_t)ECG_N_LEADS * n * sizeof *q);
                if (!q) return err_set(err, ECG_ENOMEM, "store: no memory for %zu samples", n);
                w->q = q;
                w->q_cap = 2 * (size_t)ECG_N_LEADS * n;
            }
            float *f = (float *)w->q;
            for (int k = 0; k < ECG_N_LEADS; k++) {
                if (lead_mask >> k & 1)
                    memcpy(f + (size_t)k * n, x + (size_t)k * n, n * sizeof *f);
                else
                    memset(f + (size_t)k * n, 0, n * sizeof *f);
            }
            block = f;
        }
    } else {
        if (w->q_cap < (size_t)ECG_N_LEADS * n) {
            int16_t *q = realloc(w->q, (size_t)ECG_N_LEADS * n * sizeof *q);
            if (!q) return err_set(err, ECG_ENOMEM, "store: no memory for %zu samples", n);
            w->q = q;
            w->q_cap = (size_t)ECG_N_LEADS * n;
        }
        for (int k = 0; k < ECG_N_LEADS; k++) {
            int16_t *q = w->q + (size_t)k * n;
            const float *xk = x + (size_t)k * n;
            if (!(lead_mask >> k & 1) || e.gain[k] == 0) {
                memset(q, 0, n * sizeof *q);
                continue;
            }
            quantise(xk, n, e.gain[k], q);
        }
        block = w->q;
    }
    e.offset = w->data_end;
    uint32_t run = w->data_crc;
    e.crc = crc32c_twice(&run, block, bytes);
    e.sid_off = (uint32_t)w->strings_len;
    e.sid_len = (uint32_t)sid_len;
    if ((rc = atomic_write(&w->af, block, bytes, err))) {
        discard_shard(w);
        return rc;
    }
    w->data_crc = run;
    w->data_end += bytes;
    memcpy(w->strings + w->strings_len, source_id, sid_len + 1);
    w->strings_len += sid_len + 1;
    if (as_float) w->flags |= 1;
    w->entries[w->n_entries++] = e;
    return ECG_OK;
}

ecg_code store_writer_close(store_writer *w, ecg_err *err) {
    if (!w) return ECG_OK;
    ecg_code rc = store_writer_flush(w, err);
    store_writer_abort(w);
    return rc;
}

void store_writer_abort(store_writer *w) {
    if (!w) return;
    discard_shard(w);
    if (w->lock_fd >= 0) close(w->lock_fd); /* releases the flock */
    store_manifest_free(&w->m);
    free(w->entries);
    free(w->strings);
    free(w->q);
    free(w);
}

/* ---- subsets -------------------------------------------------------------------------------- */

void store_permutation(size_t n, uint64_t seed, size_t *perm) {
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    rng_state r;
    rng_seed(&r, seed);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_below(&r, i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

ecg_code store_split_init(store_split *s, size_t n, size_t n_val, uint64_t seed, ecg_err *err) {
    memset(s, 0, sizeof *s);
    if (n_val > n)
        return err_set(err, ECG_EINVAL, "validation split of %zu from %zu records", n_val, n);
    if (n > SIZE_MAX / sizeof *s->perm)
        return err_set(err, ECG_ENOMEM, "%zu records: too many for a permutation", n);
    s->perm = malloc((n ? n : 1) * sizeof *s->perm);
    if (!s->perm) return err_set(err, ECG_ENOMEM, "no memory for a permutation of %zu", n);
    store_permutation(n, seed, s->perm);
    s->n = n;
    s->n_val = n_val;
    return ECG_OK;
}

void store_split_free(store_split *s) {
    free(s->perm);
    memset(s, 0, sizeof *s);
}

const size_t *store_split_val(const store_split *s) {
    return s->perm;
}

ecg_code store_split_subset(const store_split *s, size_t n_train, const size_t **idx,
                            ecg_err *err) {
    if (n_train > s->n - s->n_val)
        return err_set(err, ECG_EINVAL,
                       "training subset of %zu: only %zu records outside the %zu-record "
                       "validation split",
                       n_train, s->n - s->n_val, s->n_val);
    *idx = s->perm + s->n_val;
    return ECG_OK;
}

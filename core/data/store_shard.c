/* store_shard.c — one shard of the dataset store: CRC-32C, the binary layout's encoders, and the
 * hostile-input-safe reader (every offset checked against the file size before use). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

#include "core/data/store_impl.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the store reads int16/float32 samples in place: little-endian hosts only"
#endif

/* ---- CRC-32C ------------------------------------------------------------------------------- */

#if defined(__SSE4_2__)
uint32_t store_crc32c(uint32_t crc, const void *data, size_t n) {
    const uint8_t *p = data;
    uint64_t c = ~crc;
    for (; n && ((uintptr_t)p & 7); n--)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
    }
    for (; n; n--)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}
#else
/* Slicing-by-8 over the reflected polynomial 0x82F63B78. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint32_t store_crc32c(uint32_t crc, const void *data, size_t n) {
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = c ^ store_get_u32(p), hi = store_get_u32(p + 4);
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^
            crc_table[2][(hi >> 8) & 0xff] ^ crc_table[1][(hi >> 16) & 0xff] ^
            crc_table[0][hi >> 24];
    }
    for (; n; n--)
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
    return ~c;
}
#endif

/* ---- encoders ------------------------------------------------------------------------------- */

void store_entry_encode(uint8_t out[STORE_INDEX_ENTRY_SIZE], const store_entry *e) {
    memset(out, 0, STORE_INDEX_ENTRY_SIZE);
    store_put_u64(out + 0, e->offset);
    store_put_u64(out + 8, e->n_samples);
    store_put_u32(out + 16, e->encoding);
    store_put_u32(out + 20, e->lead_mask);
    store_put_u32(out + 24, e->sid_off);
    store_put_u32(out + 28, e->sid_len);
    store_put_f64(out + 32, e->orig_fs);
    for (int k = 0; k < STORE_N_LABELS; k++)
        store_put_u32(out + 40 + 4 * k, (uint32_t)e->labels[k]);
    for (int k = 0; k < ECG_N_LEADS; k++)
        store_put_f32(out + 56 + 4 * k, e->gain[k]);
    store_put_u32(out + 104, e->crc);
    store_put_u32(out + 108, e->reserved);
}

void store_entry_decode(store_entry *e, const uint8_t in[STORE_INDEX_ENTRY_SIZE]) {
    e->offset = store_get_u64(in + 0);
    e->n_samples = store_get_u64(in + 8);
    e->encoding = store_get_u32(in + 16);
    e->lead_mask = store_get_u32(in + 20);
    e->sid_off = store_get_u32(in + 24);
    e->sid_len = store_get_u32(in + 28);
    e->orig_fs = store_get_f64(in + 32);
    for (int k = 0; k < STORE_N_LABELS; k++)
        e->labels[k] = (int32_t)store_get_u32(in + 40 + 4 * k);
    for (int k = 0; k < ECG_N_LEADS; k++)
        e->gain[k] = store_get_f32(in + 56 + 4 * k);
    e->crc = store_get_u32(in + 104);
    e->reserved = store_get_u32(in + 108);
}

void store_header_encode(uint8_t out[STORE_HEADER_SIZE], uint64_t n_records, uint32_t flags,
                         uint64_t index_off, uint64_t strings_off, uint32_t strings_size) {
    memset(out, 0, STORE_HEADER_SIZE);
    memcpy(out, STORE_MAGIC, 8);
    store_put_u32(out + 8, STORE_VERSION);
    store_put_u32(out + 12, STORE_HEADER_SIZE);
    store_put_u32(out + 16, flags);
    store_put_u32(out + 20, STORE_FS);
    store_put_u32(out + 24, ECG_N_LEADS);
    store_put_u32(out + 28, STORE_N_LABELS);
    store_put_u64(out + 32, n_records);
    store_put_u64(out + 40, index_off);
    store_put_u64(out + 48, strings_off);
    store_put_u32(out + 56, strings_size);
    store_put_u32(out + 60, store_crc32c(0, out, 60));
}

void store_footer_encode(uint8_t out[STORE_FOOTER_SIZE], uint64_t index_off, uint64_t file_size,
                         uint32_t meta_crc, uint32_t data_crc) {
    store_put_u64(out + 0, index_off);
    store_put_u64(out + 8, file_size);
    store_put_u32(out + 16, meta_crc);
    store_put_u32(out + 20, data_crc);
    memcpy(out + 24, STORE_FOOTER_MAGIC, 8);
}

/* ---- reader --------------------------------------------------------------------------------- */

static ecg_code check_entry(const store_shard *s, uint64_t i, const store_entry *e,
                            uint64_t *prev_end, ecg_err *err) {
    const char *w = s->where;
    if (e->encoding != STORE_INT16 && e->encoding != STORE_FLOAT32)
        return err_set(err, ECG_EFORMAT, "%s: record %llu: unknown encoding %u", w,
                       (unsigned long long)i, e->encoding);
    if (e->encoding == STORE_FLOAT32 && !(s->flags & 1))
        return err_set(err, ECG_EFORMAT, "%s: record %llu is float32 but the header says none is",
                       w, (unsigned long long)i);
    if (e->lead_mask >> ECG_N_LEADS)
        return err_set(err, ECG_EFORMAT, "%s: record %llu: lead mask 0x%x has bits past lead 12", w,
                       (unsigned long long)i, e->lead_mask);
    if (e->n_samples > STORE_MAX_SAMPLES)
        return err_set(err, ECG_EFORMAT, "%s: record %llu: %llu samples (limit %zu)", w,
                       (unsigned long long)i, (unsigned long long)e->n_samples, STORE_MAX_SAMPLES);
    uint64_t bytes = store_block_bytes(e->encoding, e->n_samples);
    if (e->offset % 8 || e->offset < *prev_end || e->offset > s->data_end ||
        bytes > s->data_end - e->offset)
        return err_set(err, ECG_EFORMAT,
                       "%s: record %llu: data at [%llu, +%llu) is outside the data section "
                       "[%llu, %llu), misaligned or overlaps the previous record",
                       w, (unsigned long long)i, (unsigned long long)e->offset,
                       (unsigned long long)bytes, (unsigned long long)*prev_end,
                       (unsigned long long)s->data_end);
    *prev_end = e->offset + bytes;
    if (e->sid_len > STORE_MAX_SOURCE_ID || e->sid_off >= s->strings_size ||
        e->sid_len >= s->strings_size - e->sid_off || s->strings[e->sid_off + e->sid_len] != 0 ||
        memchr(s->strings + e->sid_off, 0, e->sid_len))
        return err_set(err, ECG_EFORMAT,
                       "%s: record %llu: source id [%u, +%u) is not a string of the %zu-byte table",
                       w, (unsigned long long)i, e->sid_off, e->sid_len, s->strings_size);
    if (!isfinite(e->orig_fs) || e->orig_fs < 0)
        return err_set(err, ECG_EFORMAT, "%s: record %llu: bad original rate %g", w,
                       (unsigned long long)i, e->orig_fs);
    for (int k = 0; k < ECG_N_LEADS; k++)
        if (!isfinite(e->gain[k]) || e->gain[k] < 0 ||
            (e->encoding == STORE_FLOAT32 && e->gain[k] != 0))
            return err_set(err, ECG_EFORMAT, "%s: record %llu: bad gain %g for lead %d", w,
                           (unsigned long long)i, e->gain[k], k);
    if (e->reserved)
        return err_set(err, ECG_EFORMAT, "%s: record %llu: reserved field set", w,
                       (unsigned long long)i);
    return ECG_OK;
}

ecg_code store_shard_parse(store_shard *s, const void *data, size_t size, const char *where,
                           ecg_err *err) {
    memset(s, 0, sizeof *s);
    snprintf(s->where, sizeof s->where, "%s", where ? where : "shard");
    const char *w = s->where;
    const uint8_t *b = data;
    if (size < STORE_HEADER_SIZE + STORE_FOOTER_SIZE)
        return err_set(err,
                       size >= 8 && memcmp(b, STORE_MAGIC, 8) == 0 ? ECG_EFORMAT : ECG_EVERSION,
                       "%s: %zu bytes: too short for a shard (header and footer take %d)%s", w,
                       size, STORE_HEADER_SIZE + STORE_FOOTER_SIZE,
                       size >= 8 && memcmp(b, STORE_MAGIC, 8) == 0 ? " (truncated)" : "");
    if (memcmp(b, STORE_MAGIC, 8) != 0)
        return err_set(err, ECG_EVERSION, "%s: bad magic: not an ecgfm dataset shard", w);
    uint32_t version = store_get_u32(b + 8);
    if (version != STORE_VERSION)
        return err_set(err, ECG_EVERSION,
                       "%s: shard format version %u; this build reads version %d (re-import the "
                       "dataset or use a matching ecgfm)",
                       w, version, STORE_VERSION);
    if (store_get_u32(b + 60) != store_crc32c(0, b, 60))
        return err_set(err, ECG_EFORMAT, "%s: header CRC mismatch (corrupted header)", w);
    uint32_t hsize = store_get_u32(b + 12), fs = store_get_u32(b + 20),
             leads = store_get_u32(b + 24), labels = store_get_u32(b + 28);
    s->flags = store_get_u32(b + 16);
    if (hsize != STORE_HEADER_SIZE || fs != STORE_FS || leads != ECG_N_LEADS ||
        labels != STORE_N_LABELS || (s->flags & ~1u))
        return err_set(err, ECG_EFORMAT,
                       "%s: header says %u-byte header, %u Hz, %u leads, %u labels, flags 0x%x; "
                       "expected %d, %d, %d, %d and flags 0 or 1",
                       w, hsize, fs, leads, labels, s->flags, STORE_HEADER_SIZE, STORE_FS,
                       ECG_N_LEADS, STORE_N_LABELS);
    const uint8_t *f = b + size - STORE_FOOTER_SIZE;
    if (memcmp(f + 24, STORE_FOOTER_MAGIC, 8) != 0)
        return err_set(err, ECG_EFORMAT, "%s: no footer at the end: truncated or torn shard", w);
    uint64_t n = store_get_u64(b + 32), index_off = store_get_u64(b + 40),
             strings_off = store_get_u64(b + 48), strings_size = store_get_u32(b + 56);
    if (store_get_u64(f + 8) != size || store_get_u64(f) != index_off)
        return err_set(err, ECG_EFORMAT,
                       "%s: footer says %llu bytes with the index at %llu, the file has %zu and "
                       "the header says %llu: truncated or torn shard",
                       w, (unsigned long long)store_get_u64(f + 8),
                       (unsigned long long)store_get_u64(f), size, (unsigned long long)index_off);
    uint64_t meta_end = size - STORE_FOOTER_SIZE;
    if (index_off < STORE_HEADER_SIZE || index_off > meta_end ||
        n > (meta_end - index_off) / STORE_INDEX_ENTRY_SIZE ||
        strings_off != index_off + n * STORE_INDEX_ENTRY_SIZE ||
        strings_size != meta_end - strings_off)
        return err_set(err, ECG_EFORMAT,
                       "%s: index at %llu with %llu records and strings at %llu (+%llu) do not fit "
                       "a %zu-byte shard",
                       w, (unsigned long long)index_off, (unsigned long long)n,
                       (unsigned long long)strings_off, (unsigned long long)strings_size, size);
    if (store_get_u32(f + 16) != store_crc32c(0, b + index_off, meta_end - index_off))
        return err_set(err, ECG_EFORMAT, "%s: index CRC mismatch (corrupted index or strings)", w);
    s->base = b;
    s->size = size;
    s->n_records = n;
    s->index = b + index_off;
    s->strings = (const char *)b + strings_off;
    s->strings_size = strings_size;
    s->data_end = index_off;
    uint64_t prev_end = STORE_HEADER_SIZE;
    for (uint64_t i = 0; i < n; i++) {
        store_entry e;
        store_entry_decode(&e, s->index + i * STORE_INDEX_ENTRY_SIZE);
        ecg_code rc = check_entry(s, i, &e, &prev_end, err);
        if (rc) {
            memset(s, 0, sizeof *s);
            return rc;
        }
    }
    return ECG_OK;
}

ecg_code store_shard_open(store_shard *s, const char *path, ecg_err *err) {
    memset(s, 0, sizeof *s);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, errno == ENOENT ? ECG_ENOTFOUND : ECG_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return err_set(err, ECG_EIO, "%s: fstat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode) || st.st_size < STORE_HEADER_SIZE + STORE_FOOTER_SIZE) {
        close(fd);
        return err_set(err, ECG_EFORMAT, "%s: %lld bytes: not a regular file of shard size (%s)",
                       path, (long long)st.st_size, "truncated?");
    }
    size_t size = (size_t)st.st_size;
    void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) return err_set(err, ECG_EIO, "%s: mmap: %s", path, strerror(e));
    ecg_code rc = store_shard_parse(s, m, size, path, err);
    if (rc) {
        munmap(m, size);
        return rc;
    }
    s->map = m;
    s->map_size = size;
    return ECG_OK;
}

void store_shard_close(store_shard *s) {
    if (s->map) munmap(s->map, s->map_size);
    memset(s, 0, sizeof *s);
}

static ecg_code get_entry(const store_shard *s, uint64_t i, store_entry *e, ecg_err *err) {
    if (i >= s->n_records)
        return err_set(err, ECG_EINVAL, "%s: record %llu of %llu", s->where, (unsigned long long)i,
                       (unsigned long long)s->n_records);
    store_entry_decode(e, s->index + i * STORE_INDEX_ENTRY_SIZE);
    return ECG_OK;
}

ecg_code store_shard_info(const store_shard *s, uint64_t i, store_record_info *info, ecg_err *err) {
    store_entry e;
    ecg_code rc = get_entry(s, i, &e, err);
    if (rc) return rc;
    info->n_samples = (size_t)e.n_samples;
    info->lead_mask = (uint16_t)e.lead_mask;
    memcpy(info->labels, e.labels, sizeof info->labels);
    info->orig_fs = e.orig_fs;
    info->encoding = (store_encoding)e.encoding;
    memcpy(info->gain, e.gain, sizeof info->gain);
    info->source_id = s->strings + e.sid_off;
    info->source_id_len = e.sid_len;
    return ECG_OK;
}

ecg_code store_shard_read(const store_shard *s, uint64_t i, size_t start, size_t len, float *out,
                          ecg_err *err) {
    store_entry e;
    ecg_code rc = get_entry(s, i, &e, err);
    if (rc) return rc;
    size_t n = (size_t)e.n_samples;
    size_t avail = start < n ? n - start : 0, take = len < avail ? len : avail;
    const uint8_t *block = s->base + e.offset;
    for (int k = 0; k < ECG_N_LEADS; k++) {
        float *o = out + (size_t)k * len;
        if (e.encoding == STORE_INT16 && take) {
            const uint8_t *q = block + ((size_t)k * n + start) * 2;
            float g = e.gain[k];
            for (size_t t = 0; t < take; t++) {
                int16_t v;
                memcpy(&v, q + 2 * t, 2);
                o[t] = (float)v * g;
            }
        } else if (e.encoding == STORE_FLOAT32 && take) {
            memcpy(o, block + ((size_t)k * n + start) * 4, take * 4);
        }
        if (take < len) memset(o + take, 0, (len - take) * sizeof *o);
    }
    return ECG_OK;
}

ecg_code store_shard_check_record(const store_shard *s, uint64_t i, ecg_err *err) {
    store_entry e;
    ecg_code rc = get_entry(s, i, &e, err);
    if (rc) return rc;
    uint32_t c = store_crc32c(0, s->base + e.offset, store_block_bytes(e.encoding, e.n_samples));
    if (c != e.crc)
        return err_set(err, ECG_EFORMAT, "%s: record %llu: data CRC mismatch (corrupted samples)",
                       s->where, (unsigned long long)i);
    return ECG_OK;
}

ecg_code store_shard_verify(const store_shard *s, ecg_err *err) {
    const uint8_t *f = s->base + s->size - STORE_FOOTER_SIZE;
    uint32_t c = store_crc32c(0, s->base + STORE_HEADER_SIZE, s->data_end - STORE_HEADER_SIZE);
    if (c != store_get_u32(f + 20))
        return err_set(err, ECG_EFORMAT, "%s: data section CRC mismatch (corrupted samples)",
                       s->where);
    for (uint64_t i = 0; i < s->n_records; i++) {
        ecg_code rc = store_shard_check_record(s, i, err);
        if (rc) return rc;
    }
    return ECG_OK;
}

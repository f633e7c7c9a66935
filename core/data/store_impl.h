/* store_impl.h — what the store's files share and nobody else needs: the decoded index entry and
 * the little-endian encoders of the shard's header, index entries and footer (see store.h). */
#ifndef ECGFM_CORE_STORE_IMPL_H
#define ECGFM_CORE_STORE_IMPL_H

#include <stdint.h>
#include <string.h>

#include "core/data/store.h"

#define STORE_MAGIC "ECGSHARD"
#define STORE_FOOTER_MAGIC "ECGSEND1"

typedef struct {
    uint64_t offset, n_samples;
    uint32_t encoding, lead_mask, sid_off, sid_len;
    double orig_fs;
    int32_t labels[STORE_N_LABELS];
    float gain[ECG_N_LEADS];
    uint32_t crc;
    uint32_t reserved;
} store_entry;

static inline void store_put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void store_put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t store_get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t store_get_u64(const uint8_t *p) {
    return (uint64_t)store_get_u32(p) | (uint64_t)store_get_u32(p + 4) << 32;
}
static inline void store_put_f32(uint8_t *p, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    store_put_u32(p, u);
}
static inline float store_get_f32(const uint8_t *p) {
    uint32_t u = store_get_u32(p);
    float v;
    memcpy(&v, &u, 4);
    return v;
}
static inline void store_put_f64(uint8_t *p, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    store_put_u64(p, u);
}
static inline double store_get_f64(const uint8_t *p) {
    uint64_t u = store_get_u64(p);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

void store_entry_encode(uint8_t out[STORE_INDEX_ENTRY_SIZE], const store_entry *e);
void store_entry_decode(store_entry *e, const uint8_t in[STORE_INDEX_ENTRY_SIZE]);
void store_header_encode(uint8_t out[STORE_HEADER_SIZE], uint64_t n_records, uint32_t flags,
                         uint64_t index_off, uint64_t strings_off, uint32_t strings_size);
void store_footer_encode(uint8_t out[STORE_FOOTER_SIZE], uint64_t index_off, uint64_t file_size,
                         uint32_t meta_crc, uint32_t data_crc);
/* Bytes of one record's data block. */
static inline uint64_t store_block_bytes(uint32_t encoding, uint64_t n_samples) {
    return (uint64_t)ECG_N_LEADS * n_samples * (encoding == STORE_FLOAT32 ? 4u : 2u);
}

/* ---- the manifest (store_manifest.c) ---- */

#define MANIFEST_MAX_BYTES ((size_t)64 << 20)
#define MANIFEST_MAX_SHARDS 10000000
#define SHARD_NAME_FMT "shard-%06u.ecgs"
#define LABEL_NAME_MAX 64
#define VALUE_TEXT_MAX 256

typedef struct {
    char file[32];
    uint64_t records, bytes;
} manifest_shard;

typedef struct {
    int k;
    int32_t v;
    char text[VALUE_TEXT_MAX];
} manifest_value;

typedef struct {
    manifest_shard *shards;
    size_t n_shards, cap_shards;
    uint64_t records;
    char label_names[STORE_N_LABELS][LABEL_NAME_MAX];
    manifest_value *values;
    size_t n_values, cap_values;
} store_manifest;

void store_manifest_free(store_manifest *m);
ecg_code store_manifest_add_shard(store_manifest *m, const char *file, uint64_t records,
                                  uint64_t bytes, ecg_err *err);
ecg_code store_manifest_set_value(store_manifest *m, int k, int32_t v, const char *text,
                                  ecg_err *err);
/* Read and check dir/MANIFEST (ECG_ENOTFOUND when there is none); write it atomically. */
ecg_code store_manifest_read(store_manifest *m, const char *dir, ecg_err *err);
ecg_code store_manifest_write(const store_manifest *m, const char *dir, ecg_err *err);
int store_label_name_ok(const char *s);
int store_value_text_ok(const char *s);
/* "shard-NNNNNN.ecgs" exactly; its number in *num (may be NULL). */
int store_shard_name_ok(const char *s, unsigned *num);
ecg_code store_path_join(char *out, size_t cap, const char *dir, const char *name, ecg_err *err);

#endif

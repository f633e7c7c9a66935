/* fuzz_store_shard.c — libFuzzer target for the dataset store's shard reader: any bytes, no crash,
 * no read outside the buffer; each input is also tried with its CRCs repaired, so that mutations
 * reach the offset and size checks behind them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/store_impl.h"

static void check(const uint8_t *data, size_t size) {
    store_shard s;
    ecg_err err;
    err.msg[0] = 0;
    if (store_shard_parse(&s, data, size, "fuzz.ecgs", &err) != ECG_OK) {
        if (!err.msg[0]) abort(); /* every refusal says why */
        return;
    }
    if (s.n_records > size / STORE_INDEX_ENTRY_SIZE) abort();
    uint64_t n_read = s.n_records < 64 ? s.n_records : 64;
    for (uint64_t i = 0; i < n_read; i++) {
        store_record_info info;
        if (store_shard_info(&s, i, &info, &err) != ECG_OK) abort();
        if (info.n_samples > size / 24 + 1 && info.n_samples) abort();
        if (info.lead_mask >> ECG_N_LEADS) abort();
        if (strlen(info.source_id) != info.source_id_len) abort();
        size_t n = info.n_samples ? info.n_samples : 1;
        float *out = malloc(ECG_N_LEADS * n * sizeof *out);
        if (!out) return;
        if (store_shard_read(&s, i, 0, info.n_samples, out, &err) != ECG_OK) abort();
        /* a window past the end of the record is zero-padded, never read past it */
        size_t len = n < 17 ? n : 17;
        if (store_shard_read(&s, i, info.n_samples / 2 + 3, len, out, &err) != ECG_OK) abort();
        store_shard_check_record(&s, i, &err);
        free(out);
    }
    store_shard_verify(&s, &err);
    if (store_shard_info(&s, s.n_records, NULL, &err) != ECG_EINVAL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check(data, size);
    if (size < STORE_HEADER_SIZE + STORE_FOOTER_SIZE || size > ((size_t)1 << 24)) return 0;
    uint8_t *b = malloc(size);
    if (!b) return 0;
    memcpy(b, data, size);
    uint64_t meta_end = size - STORE_FOOTER_SIZE, idx = store_get_u64(b + 40),
             n = store_get_u64(b + 32);
    if (idx >= STORE_HEADER_SIZE && idx <= meta_end) {
        /* record CRCs of the entries whose blocks lie in the buffer, then the index CRC */
        for (uint64_t i = 0; i < n && i < (meta_end - idx) / STORE_INDEX_ENTRY_SIZE; i++) {
            uint8_t *e = b + idx + i * STORE_INDEX_ENTRY_SIZE;
            uint64_t off = store_get_u64(e), ns = store_get_u64(e + 8);
            uint32_t enc = store_get_u32(e + 16);
            if (ns > size || off > idx) continue;
            uint64_t bytes = store_block_bytes(enc, ns);
            if (bytes <= idx - off) store_put_u32(e + 104, store_crc32c(0, b + off, bytes));
        }
        store_put_u32(b + meta_end + 16, store_crc32c(0, b + idx, meta_end - idx));
        store_put_u32(b + meta_end + 20,
                      store_crc32c(0, b + STORE_HEADER_SIZE, idx - STORE_HEADER_SIZE));
    }
    store_put_u32(b + 60, store_crc32c(0, b, 60));
    check(b, size);
    free(b);
    return 0;
}

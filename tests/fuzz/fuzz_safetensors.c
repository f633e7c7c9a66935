/* fuzz_safetensors.c — libFuzzer target for the safetensors reader: any bytes, no crash, no leak,
 * and whatever is accepted satisfies the reader's promises (tensors inside the payload). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/format/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    st_file f;
    ecg_err err;
    if (st_parse(&f, buf, size, &err) == ECG_OK) {
        for (int i = 0; i < f.n_tensors; i++) {
            const st_tensor *t = &f.tensors[i];
            if (t->offset > f.payload_size || t->nbytes > f.payload_size - t->offset) abort();
            volatile uint8_t sink = 0;
            for (size_t j = 0; j < t->nbytes; j++) sink ^= f.payload[t->offset + j];
            (void)sink;
        }
        for (int i = 0; i < f.n_meta; i++)
            if (strlen(f.meta[i].key) > f.size) abort();
        st_free(&f);
    }
    return 0;
}

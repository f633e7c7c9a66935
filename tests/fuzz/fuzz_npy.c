/* fuzz_npy.c — libFuzzer target for the .npy ECG reader: any bytes, no crash, no leak, and an
 * accepted record holds exactly the elements the file's data section had room for. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/text_signal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    text_signal_opts o = {.fs = 500,
                          .orientation =
                              size % 2 ? SIGNAL_SAMPLES_BY_LEADS : SIGNAL_LEADS_BY_SAMPLES,
                          .to_mv = size % 3 ? 1.0 : 1e-3,
                          .max_channels = 64,
                          .max_samples = 1 << 20};
    ecg_record r;
    ecg_err err = {0};
    if (npy_parse_buffer(&r, buf, size, "fuzz.npy", &o, &err) == ECG_OK) {
        if (r.n_channels < 1 || r.n_channels > 64 || r.n_samples < 1 || r.fs != 500) abort();
        if ((size_t)r.n_channels * r.n_samples * 2 > size) abort(); /* >= 2 bytes per element */
        for (size_t k = 0; k < (size_t)r.n_channels * r.n_samples; k++)
            if (isinf(r.signal[k])) abort();
        record_free(&r);
    } else if (r.signal || !err.msg[0]) {
        abort();
    }
    free(buf);
    return 0;
}

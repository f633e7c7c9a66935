/* fuzz_csv.c — libFuzzer target for the CSV ECG reader: any bytes, no crash, no leak, and an
 * accepted record has a positive finite rate, at least one sample and leads in range. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/text_signal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    /* Half the inputs must find fs in a time column, half get it from the caller. */
    text_signal_opts o = {.fs = size % 2 ? 0 : 250, .max_channels = 64, .max_samples = 1 << 20};
    ecg_record r;
    ecg_err err = {0};
    if (csv_parse_buffer(&r, buf, size, "fuzz.csv", &o, &err) == ECG_OK) {
        if (r.n_channels < 1 || r.n_channels > 64 || r.n_samples < 1 || !(r.fs > 0) ||
            !isfinite(r.fs))
            abort();
        volatile float sink = 0;
        for (size_t k = 0; k < (size_t)r.n_channels * r.n_samples; k++)
            sink += r.signal[k];
        for (int c = 0; c < r.n_channels; c++)
            if (r.channels[c].lead < -1 || r.channels[c].lead >= ECG_N_LEADS ||
                strnlen(r.channels[c].name, ECG_NAME_MAX) >= ECG_NAME_MAX)
                abort();
        (void)sink;
        record_free(&r);
    } else if (r.signal || !err.msg[0]) {
        abort();
    }
    free(buf);
    return 0;
}

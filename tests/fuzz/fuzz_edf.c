/* fuzz_edf.c — libFuzzer target for the EDF reader: our header check on the raw bytes, then the
 * whole read through EDFlib (which reads only files: the input goes to a temp file in /dev/shm).
 * Any bytes: no crash, no leak, every refusal says why, and an accepted record keeps its limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/edf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    setenv("TMPDIR", "/dev/shm", 1); /* tmpfs: the temp copy never touches a disk */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    edf_header_info info;
    ecg_err err;
    err.msg[0] = 0;
    if (edf_header_check(data, size, size, "fuzz.edf", &info, &err) == ECG_OK) {
        if (info.n_signals < 1 || info.n_signals > EDF_MAX_SIGNALS) abort();
        if (info.record_bytes == 0 || info.record_bytes > EDF_MAX_RECORD_BYTES) abort();
        if (info.header_bytes + info.data_bytes > size) abort();
        if (info.n_annotation_signals > info.n_signals) abort();
    } else if (!err.msg[0]) {
        abort();
    }
    edf_options opt = {(size_t)1 << 16, (int)(size & 1)};
    ecg_record r;
    err.msg[0] = 0;
    if (edf_read_record_mem(&r, "fuzz.edf", data, size, &opt, &err) == ECG_OK) {
        if (r.n_channels < 1 || r.n_channels > EDF_MAX_SIGNALS || r.n_samples == 0 ||
            (size_t)r.n_channels * r.n_samples > opt.max_samples || !(r.fs > 0))
            abort();
        volatile float sink = 0;
        for (size_t i = 0; i < (size_t)r.n_channels * r.n_samples; i++)
            sink += r.signal[i];
        for (int c = 0; c < r.n_channels; c++)
            if (r.channels[c].lead < -1 || r.channels[c].lead >= ECG_N_LEADS ||
                strlen(r.channels[c].name) >= ECG_NAME_MAX ||
                strlen(r.channels[c].units) >= sizeof r.channels[c].units)
                abort();
        if (r.comments) (void)strlen(r.comments);
        (void)sink;
        record_free(&r);
    } else if (!err.msg[0] || r.signal) {
        abort();
    }
    return 0;
}

/* fuzz_wfdb_annot.c — libFuzzer target for the WFDB annotation reader: any bytes, no crash, no
 * leak, and what is accepted is bounded by the input (count, times, aux strings). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/wfdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wfdb_annotations a;
    ecg_err err;
    err.msg[0] = 0;
    if (wfdb_annot_parse(&a, data, size, "fuzz.atr", &err) == ECG_OK) {
        if (a.n > size / 2) abort();
        for (size_t i = 0; i < a.n; i++) {
            const wfdb_annotation *x = &a.items[i];
            if (x->sample < 0 || x->sample > ((int64_t)1 << 62)) abort();
            if (x->code < 0 || x->code > 58) abort();
            if (strlen(x->symbol) >= sizeof x->symbol) abort();
            if (x->aux && strlen(x->aux) > size) abort();
        }
        wfdb_annot_free(&a);
    } else if (!err.msg[0]) {
        abort();
    }
    return 0;
}

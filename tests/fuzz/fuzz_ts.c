/* fuzz_ts.c — libFuzzer target for the .ts (sktime/aeon) task reader: any bytes, no crash, no leak,
 * and an accepted split keeps task.h's layout promises (checked in task_check.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/sktime_ts.h"
#include "task_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A copy of exactly size bytes, so reading one past the end is caught by ASan. */
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    task_split t;
    ecg_err err = {0};
    if (ts_parse_buffer(&t, buf, size, "fuzz", &fuzz_task_limits, &err) == ECG_OK) {
        fuzz_check_task(&t);
        task_split_free(&t);
    } else if (t.values || t.class_names || !err.msg[0]) {
        abort();
    }
    free(buf);
    return 0;
}

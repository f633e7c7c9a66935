/* task_check.h — what every task-reader fuzz target checks on an accepted split: the layout
 * promises of task.h hold (series tile the values, labels index the classes, names are short). */
#ifndef ECGFM_FUZZ_TASK_CHECK_H
#define ECGFM_FUZZ_TASK_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "core/data/taskfmt.h"

/* Small limits keep every input fast and far from the fuzzer's memory cap. */
static const task_limits fuzz_task_limits = {
    .max_series = 20000,
    .max_length = 200000,
    .max_dims = 64,
    .max_classes = 2000,
    .max_values = 1u << 22,
};

static void fuzz_check_task(const task_split *t) {
    if (t->n_series < 1 || t->n_dims < 1 || t->n_dims > fuzz_task_limits.max_dims) abort();
    size_t next = 0;
    volatile float sink = 0;
    for (int i = 0; i < t->n_series; i++) {
        if (t->offset[i] != next || t->length[i] < 1) abort();
        next += (size_t)t->n_dims * t->length[i];
        if (t->label[i] < -1 || t->label[i] >= t->n_classes) abort();
    }
    if (next > fuzz_task_limits.max_values) abort();
    for (size_t k = 0; k < next; k++)
        sink += t->values[k];
    for (int c = 0; c < t->n_classes; c++)
        if (!t->class_names[c] || strlen(t->class_names[c]) > TASK_MAX_LABEL) abort();
    if (strnlen(t->name, sizeof t->name) >= sizeof t->name) abort();
    (void)sink;
}

#endif

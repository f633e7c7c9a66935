/* task.h — a time-series classification task split (UCR/UEA style): labelled series, possibly
 * multivariate and of unequal length, with the class names kept in the order they were declared. */
#ifndef ECGFM_CORE_TASK_H
#define ECGFM_CORE_TASK_H

#include <stddef.h>

#include "core/base/error.h"

typedef struct {
    int n_series;
    int n_dims;         /* channels per series (1 for univariate) */
    size_t *length;     /* [n_series] samples per channel of series i */
    size_t *offset;     /* [n_series] start of series i in values */
    float *values;      /* series i is [n_dims][length[i]] at values + offset[i]; NaN = missing */
    int *label;         /* [n_series] index into class_names */
    int n_classes;
    char **class_names; /* [n_classes] */
    char name[128];     /* problem name when the file gives one */
} task_split;

void task_split_free(task_split *t);

#endif

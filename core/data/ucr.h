/* ucr.h — the UCR archive's text format (.tsv, .txt, .csv): one series per line, class label first,
 * then the values, separated by tabs, commas or runs of spaces. */
#ifndef ECGFM_CORE_UCR_H
#define ECGFM_CORE_UCR_H

#include <stddef.h>

#include "core/data/task.h"
#include "core/data/taskfmt.h"

/* One split (TRAIN or TEST are separate files). The separator is found per line (a tab, else a
 * comma, else spaces). Labels are numbers in practice and get a canonical name ("1.0000000e+00"
 * and "1" are both "1"; non-numeric labels are kept as written); classes are numbered in order of
 * first appearance, so align a test split to its train split with task_split_align_classes.
 * Values may be "NaN" or "?" (missing); trailing missing values (the archive's padding of
 * unequal-length series) are dropped, so each series has its own length. Univariate: n_dims 1.
 * src names the data in error messages ("file:line: ..."); lim may be NULL. */
ecg_code ucr_parse_buffer(task_split *t, const char *buf, size_t len, const char *src,
                          const task_limits *lim, ecg_err *err);
/* As above from a file; the problem name is the file's base name without _TRAIN/_TEST. */
ecg_code ucr_read_file(task_split *t, const char *path, const task_limits *lim, ecg_err *err);

#endif

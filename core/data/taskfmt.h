/* taskfmt.h — what the UCR, sktime .ts and ARFF readers share: allocation limits, a task_split that
 * grows series by series with class names in declaration or first-appearance order, number tokens.
 */
#ifndef ECGFM_CORE_TASKFMT_H
#define ECGFM_CORE_TASKFMT_H

#include <stddef.h>

#include "core/base/error.h"
#include "core/data/task.h"

#define TASK_MAX_LABEL 255 /* bytes of one class name */
#define TASK_MAX_TOKEN 64  /* bytes of one number token */

/* Bounds on what a reader will allocate for one file; anything past them is refused with
 * ECG_EINVAL naming the file and line. Zero fields mean the default. */
typedef struct {
    size_t max_series;     /* default 1 000 000 */
    size_t max_length;     /* samples per channel, default 10 000 000 */
    int max_dims;          /* default 4096 */
    int max_classes;       /* default 65 536 */
    size_t max_values;     /* all samples of the split, default 256 Mi (1 GiB of floats) */
    size_t max_file_bytes; /* default 2 GiB */
} task_limits;

/* lim with zero fields replaced by the defaults (lim may be NULL). */
task_limits task_limits_resolve(const task_limits *lim);

/* Put test's labels in train's class order (names matched exactly) so that both splits index
 * the same classes; test classes absent from train are appended after train's. Unlabelled
 * series (label -1) stay -1. */
ecg_code task_split_align_classes(task_split *test, const task_split *train, ecg_err *err);

/* ---- for the readers ----------------------------------------------------------------------------
 */

typedef struct {
    task_split *t;
    task_limits lim;
    const char *src; /* file name for messages */
    size_t cap_series, cap_values, n_values;
    int cap_classes;
    int *hash; /* open addressing, class index + 1, 0 = empty */
    size_t hash_cap;
} task_builder;

ecg_code tb_init(task_builder *b, task_split *t, const task_limits *lim, const char *src,
                 ecg_err *err);
/* Index of a class name, or -1. */
int tb_class_find(const task_builder *b, const char *name, size_t len);
/* Add a class (declared list or first appearance); a duplicate is an error when declaring. */
ecg_code tb_class_add(task_builder *b, const char *name, size_t len, int *index, size_t line,
                      ecg_err *err);
/* Room for one more series of n_dims × length samples with its label; returns where to write
 * them ([n_dims][length]) in *dst. The first series fixes n_dims; later ones must match. */
ecg_code tb_series_add(task_builder *b, int n_dims, size_t length, int label, size_t line,
                       float **dst, ecg_err *err);
/* The reader noticed that the last series ended in samples missing on every channel (padding to
 * a common width): shorten it to `length` (>= 1), keeping [n_dims][length]. */
void tb_series_shrink(task_builder *b, size_t length);
/* Trims the arrays; an empty split is an error. On error the split is freed. */
ecg_code tb_finish(task_builder *b, size_t line, ecg_err *err);
void tb_abort(task_builder *b);
/* The end of a format whose series follow an @data line (ARFF, sktime .ts): a file without it is
 * an error (the split freed), else tb_finish. */
ecg_code tb_finish_data(task_builder *b, int in_data, size_t line, ecg_err *err);

/* A number token: decimal float (digits, sign, '.', exponent), or '?' / 'NaN' (any case) for a
 * missing value (NaN). Returns 0, or -1 when it is not a number, -2 when it is outside float. */
int tb_parse_value(const char *s, size_t len, float *out);
/* UCR labels are numbers written in many ways ("1", "1.0000000e+00"); integers become their
 * decimal form, anything else is kept as written. Writes a NUL-terminated name into out. */
void tb_label_canonical(const char *s, size_t len, char out[TASK_MAX_LABEL + 1]);

/* Lines of a buffer, counted from 1, without their "\n" or "\r\n". */
typedef struct {
    const char *p, *end;
    size_t line;
} tb_cursor;
void tb_cursor_init(tb_cursor *c, const char *buf, size_t len);
int tb_next_line(tb_cursor *c, const char **s, size_t *len);
/* Trim ASCII spaces, tabs and \r from both ends. */
void tb_trim(const char **s, size_t *len);
/* Case-insensitive prefix test of a keyword followed by whitespace or the end. */
int tb_keyword(const char *s, size_t len, const char *kw);

/* Whole file into memory (NUL-terminated, *len excludes it), refusing files above max_bytes. */
ecg_code tb_read_file(const char *path, size_t max_bytes, char **buf, size_t *len, ecg_err *err);
/* Problem name from a path: base name without extension and without _TRAIN / _TEST. */
void tb_name_from_path(const char *path, char *out, size_t cap);

/* One format's parse_buffer. */
typedef ecg_code (*tb_parse_fn)(task_split *t, const char *buf, size_t len, const char *src,
                                const task_limits *lim, ecg_err *err);
/* read_file of a format that may name its problem in the file (@relation, @problemName): the
 * file, within lim's size, parsed, and named from its path (tb_name_from_path) when it did not
 * name itself. */
ecg_code tb_read_named_file(task_split *t, const char *path, const task_limits *lim,
                            tb_parse_fn parse, ecg_err *err);

#endif

/* text_signal.h — ECG records from plain files: CSV with a header of lead names and an optional
 * time column, and NumPy .npy arrays (float32, float64, int16; C or Fortran order; either
 * orientation). */
#ifndef ECGFM_CORE_TEXT_SIGNAL_H
#define ECGFM_CORE_TEXT_SIGNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/data/record.h"

typedef enum {
    SIGNAL_LEADS_BY_SAMPLES = 0, /* npy shape (leads, samples) */
    SIGNAL_SAMPLES_BY_LEADS = 1, /* npy shape (samples, leads) */
} signal_orientation;

/* What the file does not say. Zero-initialised options are valid for CSV with a time column. */
typedef struct {
    double fs;         /* samples per second; CSV may leave 0 when it has a time column */
    double to_mv;      /* stored number × to_mv = millivolts; 0 means 1 (already mV) */
    const char *units; /* written into each channel's units; NULL means "mV" */
    signal_orientation orientation; /* 2-D npy arrays only */
    /* Channel names when the file has none (npy, CSV without a header): n_names must equal the
     * channel count. NULL: the 12 standard leads for 12 channels, "ch1".."chN" otherwise. */
    const char *const *names;
    int n_names;
    int max_channels;      /* 0 means 256 */
    size_t max_samples;    /* per channel, 0 means 100 000 000 */
    size_t max_file_bytes; /* 0 means 2 GiB */
} text_signal_opts;

/* CSV: ',', ';' or tab separated (chosen from the first row), '#' lines are comments, fields may
 * be double-quoted. The first row is a header of channel names unless it is all numbers. A first
 * column named like a time (time, t, time_s, time (s), seconds, timestamp / time_ms, ms /
 * sample, index, or empty as pandas writes its index) is not a channel: in seconds or
 * milliseconds it gives fs when opts->fs is 0 (uniform spacing is checked: every sample within
 * half a period of the grid). Empty fields, NaN and '?' are missing (NaN). Every row has as many
 * fields as the header. Errors name src and the line. */
ecg_code csv_parse_buffer(ecg_record *r, const char *buf, size_t len, const char *src,
                          const text_signal_opts *o, ecg_err *err);
ecg_code csv_read_file(ecg_record *r, const char *path, const text_signal_opts *o, ecg_err *err);

/* NumPy .npy, format versions 1-3, dtypes f4, f8, i2 in either byte order; shape (n) is one
 * channel, (a, b) is read with opts->orientation. opts->fs must be positive. Infinite values
 * are refused; NaN is kept as missing. The data must fill the file exactly. */
ecg_code npy_parse_buffer(ecg_record *r, const uint8_t *buf, size_t len, const char *src,
                          const text_signal_opts *o, ecg_err *err);
ecg_code npy_read_file(ecg_record *r, const char *path, const text_signal_opts *o, ecg_err *err);

#endif

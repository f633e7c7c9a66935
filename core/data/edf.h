/* edf.h — EDF, EDF+ (and BDF) records through EDFlib into an ecg_record in mV, their annotations,
 * an own header check that refuses hostile sizes before EDFlib allocates, and EDF folder import. */
#ifndef ECGFM_CORE_EDF_H
#define ECGFM_CORE_EDF_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/data/record.h"
#include "core/data/store.h"

/* Limits that keep a hostile header from asking for unbounded work or memory. */
#define EDF_DEFAULT_MAX_SAMPLES ((size_t)1 << 28) /* kept channels x samples: 1 GiB of floats */
#define EDF_MAX_SIGNALS 640                       /* EDFlib's EDFLIB_MAXSIGNALS */
#define EDF_MAX_RECORD_BYTES ((size_t)10 << 20)   /* one data record (EDFlib's limit for EDF) */
#define EDF_MAX_ANNOTATIONS ((size_t)1 << 20)
#define EDF_MAX_COMMENT_ANNOTATIONS 1000 /* annotations copied into a record's comments */

typedef struct {
    size_t max_samples; /* refuse records with more kept channels x samples (0: the default) */
    int annotations;    /* 1: read EDF+ annotations into comments ("edf: annotation ..." lines) */
} edf_options;

/* What the fixed-size header says, checked by edf_header_check. */
typedef struct {
    int bdf;           /* 1 for BDF (24-bit samples), 0 for EDF */
    int plus;          /* 1 for EDF+/BDF+ ("EDF+C", "EDF+D" in the reserved field) */
    int discontinuous; /* "EDF+D": EDFlib refuses these */
    int n_signals;     /* including annotation signals */
    int n_annotation_signals;
    int64_t n_records;
    double record_seconds; /* duration of one data record */
    size_t record_bytes;   /* bytes of one data record */
    uint64_t header_bytes; /* 256 * (n_signals + 1) */
    uint64_t data_bytes;   /* n_records * record_bytes, what the file must hold after the header */
    int repairs;           /* non-ASCII header bytes that edf_header_repair replaces */
} edf_header_info;

/* Check the header at the start of a file: data holds its first len bytes (at least 256 + 256 *
 * n_signals for a full check), file_size is the whole file's size. Checks the version, that every
 * numeric field is a number, 1 <= signals <= EDF_MAX_SIGNALS, the header size, records >= 1 (not
 * -1, "still recording"), a finite record duration >= 0, samples per record >= 1, digital min <
 * max inside the sample width, physical min != max, one record <= EDF_MAX_RECORD_BYTES, and that
 * the file holds every record the header announces. `where` names the file in messages.
 * Errors: ECG_EFORMAT (the message says which field of which signal). */
ecg_code edf_header_check(const uint8_t *data, size_t len, uint64_t file_size, const char *where,
                          edf_header_info *info, ecg_err *err);
/* Replace the header's non-ASCII bytes, which EDF forbids and EDFlib refuses ("°" from Latin-1
 * files): Latin-1 or UTF-8 micro sign before 'V' becomes 'u', any other byte '?'. Returns how
 * many bytes were changed. hdr is the 256 * (n_signals + 1) header bytes. */
int edf_header_repair(uint8_t *hdr, size_t len);

/* Read a record from an EDF/EDF+/BDF file. r is overwritten; on failure it is left empty.
 * Channels are the ordinary signals (EDF+ annotation signals are not channels); the record's rate
 * is that of the fastest signal that is one of the 12 leads (of the fastest signal when none is),
 * and signals at another rate are dropped with a note. Physical values in uV, mV, V, nV become
 * mV; other units are kept as written. A header with non-ASCII bytes is repaired (a note says so)
 * and read from a temp copy. Comments hold "edf: " notes (file type, patient and recording
 * fields, dropped signals, repairs, and with opt->annotations the annotations).
 * An annotation-only EDF+ file has no channels: ECG_EFORMAT saying so (read its annotations with
 * edf_read_annotations). opt may be NULL for the defaults.
 * Errors: ECG_EFORMAT (bad or truncated file, EDF+D, what EDFlib refuses), ECG_ENOTFOUND, ECG_EIO,
 * ECG_ENOMEM, ECG_EINVAL (past opt->max_samples). */
ecg_code edf_read_record(ecg_record *r, const char *path, const edf_options *opt, ecg_err *err);
/* The same from bytes in memory (uploads, fuzzing): EDFlib reads only files, so the bytes are
 * checked first and then written to an unlinked temp file in $TMPDIR (or /tmp). name is used in
 * messages and as the record name. */
ecg_code edf_read_record_mem(ecg_record *r, const char *name, const uint8_t *data, size_t len,
                             const edf_options *opt, ecg_err *err);

typedef struct {
    int64_t onset;    /* 100 ns units from the start of the file (EDFlib's time unit) */
    int64_t duration; /* 100 ns units, -1 when absent */
    const char *text; /* UTF-8 */
} edf_annotation;

typedef struct {
    size_t n;
    edf_annotation *items;
    char *pool; /* backing store of the texts */
} edf_annotations;

/* All EDF+ annotations of a file (none for plain EDF). Errors as edf_read_record, and ECG_EINVAL
 * past EDF_MAX_ANNOTATIONS. */
ecg_code edf_read_annotations(edf_annotations *a, const char *path, ecg_err *err);
void edf_annotations_free(edf_annotations *a);

/* Import every .edf / .bdf file under root (recursively, any case of the extension, in sorted
 * path order) as store_import_wfdb_tree does for WFDB: read and prepare in parallel (EDFlib itself
 * runs one file at a time: it is not thread-safe), append in path order with source id = path
 * relative to root without the extension; unreadable files (and annotation-only files) are
 * skipped with their reason; labels from opt->labels by that path. opt->wfdb is ignored. */
ecg_code store_import_edf_tree(store_writer *w, const char *root, const store_import_opts *opt,
                               store_import_summary *sum, ecg_err *err);

#endif

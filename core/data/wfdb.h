/* wfdb.h — PhysioNet WFDB records: .hea parsing, signal decoding into an ecg_record in mV
 * (single- and multi-segment), and annotation files (.atr, .qrs, per-lead LUDB files). */
#ifndef ECGFM_CORE_WFDB_H
#define ECGFM_CORE_WFDB_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/data/record.h"

/* Limits that keep a hostile header from asking for unbounded work or memory. */
#define WFDB_DEFAULT_MAX_SAMPLES ((size_t)1 << 28) /* channels x samples: 1 GiB of floats */
#define WFDB_MAX_SIGNALS 4096
#define WFDB_MAX_SEGMENTS 1000000
#define WFDB_MAX_SPF 65536                              /* samples per frame of one signal */
#define WFDB_MAX_HEADER_BYTES ((size_t)16 << 20)        /* one .hea file */
#define WFDB_MAX_RECORD_HEADER_BYTES ((size_t)64 << 20) /* all headers of one record */
#define WFDB_MAX_ANNOT_BYTES ((size_t)256 << 20)
#define WFDB_MAX_ANNOTATIONS ((size_t)1 << 22) /* 4M: weeks of beats, ~200 MB in memory */

/* Multi-frequency records (a signal with more than one sample per frame, e.g. "212x4"):
 * UPSAMPLE returns every signal at the highest rate, fs x max(samples per frame), repeating each
 * sample of slower signals (WFDB's "high resolution" mode; no information is lost on the fast
 * ECG channel). AVERAGE returns one value per frame, the mean of that frame's samples (the WFDB
 * library's default getvec behaviour). */
typedef enum { WFDB_FRAMES_UPSAMPLE = 0, WFDB_FRAMES_AVERAGE = 1 } wfdb_frame_mode;

typedef struct {
    size_t max_samples; /* refuse records with more channels x samples (0: the default) */
    int warn_only;      /* 1: checksum and initial-value mismatches become notes in comments */
    wfdb_frame_mode frames;
} wfdb_options;

/* One signal line: file format[xspf][:skew][+offset] gain(baseline)/units adcres adczero
 * initval checksum blocksize description. Absent optional fields hold WFDB's defaults. */
typedef struct {
    char file[256];       /* signal file, "~" for a signal with no samples */
    int format;           /* 0, 8, 16, 24, 32, 61, 80, 160, 212, 310 or 311 */
    int spf;              /* samples per frame, >= 1 */
    int skew;             /* frames by which this signal lags: output t reads stored t + skew */
    uint64_t byte_offset; /* bytes before the first sample ("+24" in MATLAB v4 .mat files) */
    double gain;          /* ADC units per physical unit, > 0 (200 when absent or 0) */
    int gain_given;       /* 0 when the header gave no gain or 0 ("uncalibrated") */
    int32_t baseline;     /* ADC value of 0 physical units (defaults to adc_zero) */
    char units[16];       /* "mV" when absent */
    int adc_res;          /* bits; 0 when absent */
    int32_t adc_zero;
    int32_t init_value; /* first sample (defaults to adc_zero) */
    int has_init;
    int64_t checksum; /* 16-bit sum of all samples, as written (signed or unsigned) */
    int has_checksum;
    int block_size;
    char desc[128]; /* the channel name */
    int line;       /* line number in the header, for messages */
} wfdb_signal_spec;

typedef struct {
    char name[128];   /* segment record name, "~" for a null (all-missing) segment */
    size_t n_samples; /* frames */
    int line;
} wfdb_segment_spec;

typedef struct {
    char name[128];
    int n_segments;              /* 0 for a single-segment record */
    wfdb_segment_spec *segments; /* n_segments entries */
    int n_signals;
    wfdb_signal_spec *signals; /* n_signals entries (none in a multi-segment master header) */
    double fs;                 /* frames per second (250 when absent) */
    double counter_freq;       /* 0 when absent */
    double base_counter;
    size_t n_samples;   /* frames per signal */
    int has_n_samples;  /* 0 when absent (or 0 in a single-segment header) */
    char base_time[32]; /* as written, "" when absent */
    char base_date[32];
    char *comments; /* '#' lines without the '#', joined by '\n'; NULL when none */
} wfdb_header;

/* Parse header text of len bytes (no NUL needed). `where` names the source in error messages
 * ("100.hea: line 3: ..."). On success h owns its memory (wfdb_header_free); on failure h is
 * left empty. Errors: ECG_EFORMAT (with the line number), ECG_ENOMEM. */
ecg_code wfdb_header_parse(wfdb_header *h, const char *text, size_t len, const char *where,
                           ecg_err *err);
void wfdb_header_free(wfdb_header *h);

/* Where record files come from: a directory on disk or blobs in memory (uploads, fuzzing).
 * read() returns up to max_bytes starting at byte offset of the named file in *data (malloc'd,
 * caller frees; may be shorter at end of file) and the whole file's size in *file_size.
 * Missing files give ECG_ENOTFOUND. */
typedef struct {
    ecg_code (*read)(void *ctx, const char *name, uint64_t offset, size_t max_bytes, uint8_t **data,
                     size_t *len, uint64_t *file_size, ecg_err *err);
    void *ctx;
} wfdb_source;

typedef struct {
    const char *name; /* file name as the header writes it ("100.dat", "100.hea") */
    const uint8_t *data;
    size_t len;
} wfdb_blob;

/* Read a record: path is "dir/100" or "dir/100.hea"; signal and segment files are looked up in
 * the same directory and must be plain file names (no '/', no ".."). r is overwritten; on
 * failure it is left empty. Channel names are the signal descriptions, lead indices come from
 * record_lead_from_name, units are as written ("mV" when absent). Samples are
 * (adc - baseline) / gain converted to millivolts when the units are a voltage (V, mV, uV, nV);
 * other units (mmHg, NU, ...) are left in their own units. Samples equal to the format's
 * "invalid" code, null signals, null segments and skewed-off ends are NaN. Notes about
 * non-lead channels (and, with warn_only, failed checks) are appended to comments as lines
 * starting "wfdb: ". opt may be NULL for the defaults.
 * Errors: ECG_EFORMAT (bad header or data, truncated file, checksum mismatch), ECG_ENOTFOUND
 * (a missing file), ECG_EIO, ECG_ENOMEM, ECG_EINVAL (past opt->max_samples). */
ecg_code wfdb_read_record(ecg_record *r, const char *path, const wfdb_options *opt, ecg_err *err);
ecg_code wfdb_read_record_from(ecg_record *r, const char *record_name, const wfdb_source *src,
                               const wfdb_options *opt, ecg_err *err);
ecg_code wfdb_read_record_mem(ecg_record *r, const char *record_name, const wfdb_blob *files,
                              int n_files, const wfdb_options *opt, ecg_err *err);

/* A source reading plain files from dir (the one wfdb_read_record uses). dir must outlive it. */
wfdb_source wfdb_source_dir(const char *dir);

/* ---- Annotations (MIT format: 16-bit words of 6-bit type and 10-bit time step, with SKIP,
 * NUM, SUB, CHN and AUX pseudo-annotations). ---- */

typedef struct {
    int64_t sample;  /* sample (frame) number */
    int code;        /* annotation type, 1..49 (ecgcodes.h: 1 NORMAL, 5 PVC, 28 RHYTHM, ...) */
    char symbol[8];  /* mnemonic: "N", "V", "A", "+", "(", ... or "[n]" for unnamed codes */
    int subtype;     /* SUB, -512..511, 0 when absent */
    int chan;        /* CHN, carried over from the previous annotation as WFDB does */
    int num;         /* NUM, carried over likewise */
    const char *aux; /* AUX text up to its first NUL ("(AFIB", "(N"), NULL when absent */
} wfdb_annotation;

typedef struct {
    size_t n;
    wfdb_annotation *items;
    char *aux_pool; /* backing store of every aux string */
} wfdb_annotations;

/* Parse an annotation file held in memory; `where` names it in messages. Modifiers before the
 * first annotation set the carried NUM/CHN and are otherwise ignored. Reading stops at the
 * end-of-file word (0) or the end of the data. Errors: ECG_EFORMAT (a truncated SKIP or AUX, a
 * time before 0 or past 2^62, a file past WFDB_MAX_ANNOT_BYTES), ECG_EINVAL (more than
 * WFDB_MAX_ANNOTATIONS annotations), ECG_ENOMEM. */
ecg_code wfdb_annot_parse(wfdb_annotations *a, const uint8_t *data, size_t len, const char *where,
                          ecg_err *err);
ecg_code wfdb_annot_read(wfdb_annotations *a, const char *path, ecg_err *err);
void wfdb_annot_free(wfdb_annotations *a);

/* Mnemonic of a code ("" for 0 and codes past 49 or unnamed, which annotations print as "[n]"),
 * and the code of a mnemonic (-1 when unknown). */
const char *wfdb_annot_symbol(int code);
int wfdb_annot_code(const char *symbol);

#endif

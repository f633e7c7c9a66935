/* store.h — the dataset store: ECGs at 240 Hz, 12 leads, in memory-mapped binary shards listed by a
 * manifest; atomic appends, import from ecg_record and WFDB trees, seeded nested subsets. */
#ifndef ECGFM_CORE_STORE_H
#define ECGFM_CORE_STORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/data/record.h"
#include "core/data/wfdb.h"

/*
 * ---- On-disk format (version 1; all integers and floats little-endian) ----
 *
 * A dataset is a directory:
 *   MANIFEST             text, the only file a reader trusts to say which shards exist (below)
 *   shard-NNNNNN.ecgs    shards, numbered from 000000 in append order
 *   LOCK                 empty; a writer holds flock(LOCK_EX) on it (one writer at a time)
 *   *.tmp.XXXXXX         temp files of an append in progress or interrupted; readers never look
 *                        at them and the next writer deletes them (with any shard file the
 *                        manifest does not list: an append that crashed before its manifest)
 *
 * Shard file:
 *   [0, 64)              header
 *     0  char[8]  magic "ECGSHARD"
 *     8  u32      version (1)
 *     12 u32      header size (64)
 *     16 u32      flags: bit 0 = some record is stored as float32; other bits 0
 *     20 u32      sampling rate, Hz (240)
 *     24 u32      leads (12)
 *     28 u32      label fields per record (4)
 *     32 u64      record count n
 *     40 u64      index offset (= end of the data section)
 *     48 u64      string table offset (= index offset + n * 112)
 *     56 u32      string table size in bytes
 *     60 u32      CRC-32C of bytes [0, 60)
 *   [64, index)          data: one block per record, each at an offset that is a multiple of 8:
 *                        int16 [12][n_samples] (value in mV = q * gain[lead]) or float32
 *                        [12][n_samples] in mV; absent leads are stored as zeros
 *   [index, strings)     index: n entries of 112 bytes
 *     0  u64      data offset          8  u64  n_samples (per lead, at 240 Hz)
 *     16 u32      encoding (0 int16, 1 float32)
 *     20 u32      lead mask (bit k = lead k of I, II, III, aVR, aVL, aVF, V1..V6 present)
 *     24 u32      source id offset in the string table, 28 u32 source id length (without NUL)
 *     32 f64      original sampling rate (Hz; 0 when unknown)
 *     40 i32[4]   labels (-1 = missing)
 *     56 f32[12]  gain per lead, mV per int16 step (0 for float32 records and all-zero leads)
 *     104 u32     CRC-32C of the record's data block
 *     108 u32     reserved, 0
 *   [strings, footer)    string table: source ids, each followed by a NUL
 *   last 32 bytes        footer
 *     0  u64      index offset (again: a torn or shifted file disagrees with the header)
 *     8  u64      file size
 *     16 u32      CRC-32C of the index and string table
 *     20 u32      CRC-32C of the data section
 *     24 char[8]  magic "ECGSEND1"
 * Every offset and size is checked against the file size (without overflow) when the shard is
 * opened; data blocks must lie inside the data section, in index order, without overlapping.
 * Opening checks the header, index and string table CRCs (small); each record's data CRC is
 * checked when that whole record is read (store_read), the data-section CRC by store_verify or
 * STORE_OPEN_VERIFY (a full scan).
 *
 * Quantisation: gain[lead] = max|x| / 32767 (float32), q = x / gain rounded to nearest, so
 * |x - q * gain| <= gain / 2 (computed in double; the float32 value read back adds at most one
 * float32 rounding of q * gain). A record is stored as float32 when the writer is asked to
 * (STORE_ENCODE_FLOAT32) or, with STORE_ENCODE_AUTO, when some lead's step would exceed
 * max_step_mv (a record whose range is dominated by a spike).
 *
 * MANIFEST (text, '\n' line ends, rewritten whole by temp + fsync + rename after each shard):
 *   ecgfm-store 1
 *   fs 240
 *   leads 12
 *   labels 4
 *   label <k> <name>                   optional, a name for label field k (no spaces)
 *   value <k> <v> <text>               optional, what integer v of label field k stands for
 *                                      (text to the end of the line)
 *   shard <file> <records> <bytes>     one line per shard in order
 *   records <total>
 *   crc32c <8 hex digits>              CRC-32C of every byte before this line
 * A reader refuses a manifest whose CRC, totals or shard sizes and counts disagree.
 */

#define STORE_FS 240
#define STORE_N_LABELS 4
#define STORE_LABEL_MISSING (-1)
#define STORE_VERSION 1
#define STORE_HEADER_SIZE 64
#define STORE_INDEX_ENTRY_SIZE 112
#define STORE_FOOTER_SIZE 32
#define STORE_MAX_SOURCE_ID 1024            /* bytes of one source id */
#define STORE_MAX_SAMPLES ((size_t)1 << 26) /* per lead: 77 hours at 240 Hz */
#define STORE_MANIFEST "MANIFEST"

typedef enum { STORE_INT16 = 0, STORE_FLOAT32 = 1 } store_encoding;

/* What the index says about one record. source_id points into the mapped shard (valid while the
 * shard or dataset is open). */
typedef struct {
    size_t n_samples; /* per lead, at 240 Hz */
    uint16_t lead_mask;
    int32_t labels[STORE_N_LABELS];
    double orig_fs;
    store_encoding encoding;
    float gain[ECG_N_LEADS];
    const char *source_id;
    size_t source_id_len;
} store_record_info;

/* CRC-32C (Castagnoli, reflected, as iSCSI/ext4): crc = store_crc32c(0, data, n) for a whole
 * buffer, or chained over pieces. SSE4.2 instruction when compiled for it, tables otherwise. */
uint32_t store_crc32c(uint32_t crc, const void *data, size_t n);

/* ---- one shard ------------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *base; /* the whole file */
    size_t size;
    uint64_t n_records;
    uint32_t flags;
    const uint8_t *index; /* n_records entries */
    const char *strings;
    size_t strings_size;
    uint64_t data_end; /* = index offset */
    void *map;         /* mmap'd region to release, or NULL for memory owned by the caller */
    size_t map_size;
    char where[256]; /* the file name, for messages */
} store_shard;

/* Validate a shard held in memory (data must outlive s; nothing is copied). `where` names it in
 * messages. Errors: ECG_EFORMAT (truncated, offsets out of range, CRC mismatch; the message says
 * which), ECG_EVERSION (bad magic or version). */
ecg_code store_shard_parse(store_shard *s, const void *data, size_t size, const char *where,
                           ecg_err *err);
/* Map a shard file read-only and validate it as above. */
ecg_code store_shard_open(store_shard *s, const char *path, ecg_err *err);
void store_shard_close(store_shard *s);
ecg_code store_shard_info(const store_shard *s, uint64_t i, store_record_info *info, ecg_err *err);
/* Samples [start, start + len) of every lead into out [12][len] in mV; samples past the end of the
 * record are zero. Does not check the record CRC (a crop touches a fraction of the record). */
ecg_code store_shard_read(const store_shard *s, uint64_t i, size_t start, size_t len, float *out,
                          ecg_err *err);
/* Check record i's data CRC; the whole data section's CRC with store_shard_verify. */
ecg_code store_shard_check_record(const store_shard *s, uint64_t i, ecg_err *err);
ecg_code store_shard_verify(const store_shard *s, ecg_err *err);

/* ---- reading a dataset ---------------------------------------------------------------------- */

typedef struct store_dataset store_dataset;

enum {
    STORE_OPEN_VERIFY = 1,        /* full CRC scan of every shard at open */
    STORE_OPEN_NO_RECORD_CRC = 2, /* store_read skips the per-record CRC check */
};

/* Open the dataset in dir as its MANIFEST lists it now (a snapshot: later appends are not seen).
 * An open dataset is read-only: any number of threads may read from it at once.
 * Errors: ECG_ENOTFOUND (no MANIFEST), ECG_EFORMAT / ECG_EVERSION (a bad manifest or shard),
 * ECG_EIO, ECG_ENOMEM. */
ecg_code store_open(store_dataset **ds, const char *dir, unsigned flags, ecg_err *err);
void store_close(store_dataset *ds);
size_t store_count(const store_dataset *ds);
size_t store_shard_total(const store_dataset *ds);
/* Label field k's name from the manifest, or NULL; the text integer v of field k stands for, or
 * NULL. */
const char *store_label_name(const store_dataset *ds, int k);
const char *store_label_value_name(const store_dataset *ds, int k, int32_t v);
ecg_code store_info(const store_dataset *ds, size_t i, store_record_info *info, ecg_err *err);
/* Whole record i into out [12][info->n_samples] (mV; absent leads zero). cap is out's capacity in
 * samples per lead; ECG_EINVAL when the record is longer (info is still filled, so the caller can
 * grow out and retry). The record's CRC is checked unless STORE_OPEN_NO_RECORD_CRC. */
ecg_code store_read(const store_dataset *ds, size_t i, float *out, size_t cap,
                    store_record_info *info, ecg_err *err);
/* Samples [start, start + len) of record i into out [12][len], zero past its end (for crops). */
ecg_code store_read_window(const store_dataset *ds, size_t i, size_t start, size_t len, float *out,
                           ecg_err *err);
/* Record i's block in the mapped shard, without a copy: int16 [12][n] codes (mV = q * gain[lead])
 * or float32 [12][n] mV as info->encoding says; 8-byte aligned; valid while ds is open. */
ecg_code store_raw(const store_dataset *ds, size_t i, store_record_info *info, const void **data,
                   ecg_err *err);
/* Full CRC scan of every shard and record. */
ecg_code store_verify(const store_dataset *ds, ecg_err *err);

/* ---- writing -------------------------------------------------------------------------------- */

typedef enum {
    STORE_ENCODE_INT16 = 0, /* default */
    STORE_ENCODE_FLOAT32 = 1,
    STORE_ENCODE_AUTO = 2, /* int16 unless a lead's step would exceed max_step_mv */
} store_encode_policy;

typedef struct {
    size_t shard_max_records; /* 0: 1024 */
    size_t shard_max_bytes;   /* 0: 64 MiB (a shard holding one larger record is allowed) */
    store_encode_policy encode;
    float max_step_mv; /* for STORE_ENCODE_AUTO; 0: 0.001 mV */
} store_writer_opts;

typedef struct store_writer store_writer;

/* Open dir for appending, creating it and an empty dataset when needed. Takes the dataset's
 * writer lock and deletes leftovers of interrupted appends (temp files, unlisted shards).
 * opt may be NULL. Errors: ECG_EIO (cannot create, or another writer holds the lock),
 * ECG_EFORMAT (an existing manifest is bad), ECG_ENOMEM. */
ecg_code store_writer_open(store_writer **w, const char *dir, const store_writer_opts *opt,
                           ecg_err *err);
/* Name label field k (letters, digits, '_', '-', '.'; at most 63 bytes); saved in the manifest. */
ecg_code store_writer_set_label_name(store_writer *w, int k, const char *name, ecg_err *err);
/* Say what integer v of label field k stands for (printable text without newlines, at most 255
 * bytes), saved with the manifest; setting v again replaces its text. */
ecg_code store_writer_set_label_value(store_writer *w, int k, int32_t v, const char *text,
                                      ecg_err *err);
/* Append one record: x is [12][n] mV at 240 Hz, lead_mask its present leads (absent leads are
 * stored as zero whatever x holds), labels may be NULL (all missing), source_id may be NULL.
 * Values must be finite. The record goes into the open shard (a temp file); it becomes visible
 * when the shard is published (full, store_writer_flush or store_writer_close). */
ecg_code store_writer_add(store_writer *w, const float *x, size_t n, uint16_t lead_mask,
                          const int32_t labels[STORE_N_LABELS], double orig_fs,
                          const char *source_id, ecg_err *err);
/* Publish the open shard (temp, fsync, rename) and then the manifest. No-op when empty. */
ecg_code store_writer_flush(store_writer *w, ecg_err *err);
/* Records appended and published so far (dataset total, including earlier sessions). */
size_t store_writer_count(const store_writer *w);
/* Flush and release; on error the unpublished shard is discarded and the dataset stays as it was
 * at the last successful flush. */
ecg_code store_writer_close(store_writer *w, ecg_err *err);
/* Release without publishing the open shard (what a crash would leave, minus the temp file). */
void store_writer_abort(store_writer *w);

/* ---- import --------------------------------------------------------------------------------- */

/* An ecg_record brought to the store's shape: [12][n] at 240 Hz. */
typedef struct {
    float *x;
    size_t n;
    uint16_t lead_mask;
    double orig_fs;
    int nan_filled; /* samples that were NaN or infinite and were set to 0 */
} store_prepared;

/* Map channels to the 12 leads (record_to_12lead), set non-finite samples to 0 (a lead with no
 * finite sample counts as absent), resample to 240 Hz (core/data/resample.h). p->x is malloc'd;
 * free with store_prepared_free. Errors: ECG_EINVAL (no standard lead, no samples, bad rate, too
 * long), ECG_ENOMEM. */
ecg_code store_prepare(store_prepared *p, const ecg_record *r, ecg_err *err);
void store_prepared_free(store_prepared *p);
/* store_prepare + store_writer_add. labels may be NULL; source_id NULL means r->record_name. */
ecg_code store_import_record(store_writer *w, const ecg_record *r,
                             const int32_t labels[STORE_N_LABELS], const char *source_id,
                             ecg_err *err);

/* Labels for a tree import from a PTB-XL-style metadata CSV: one row per record; key_column holds
 * the record's path relative to the tree root without extension (PTB-XL's filename_hr /
 * filename_lr, e.g. "records500/00000/00001_hr") or its record name; up to 4 label columns, each
 * a numeric column (values rounded to integers: "56.0" is 56) or a text column (values numbered
 * 0, 1, ... in byte order of their text, kept as value names). Empty cells are -1. RFC 4180
 * quoting; at most 1 GiB. A tree import copies column names and, for text columns of at most
 * 4096 distinct values, the value names into the dataset's manifest. */
typedef struct store_labels store_labels;
ecg_code store_labels_load_csv(store_labels **l, const char *path, const char *key_column,
                               const char *const *label_columns, int n_label_columns, ecg_err *err);
void store_labels_free(store_labels *l);
/* Labels for the record at relative path `rel` (no extension) or its base name; 0 when no row. */
int store_labels_lookup(const store_labels *l, const char *rel, int32_t labels[STORE_N_LABELS]);
/* The text value that label column k's integer v stands for, or NULL (integer columns, unknown). */
const char *store_labels_value_name(const store_labels *l, int k, int32_t v);
int store_labels_count(const store_labels *l); /* rows */

typedef void (*store_progress_fn)(void *ctx, size_t done, size_t total, size_t skipped);

typedef struct {
    store_progress_fn progress; /* called from the calling thread after each batch; may be NULL */
    void *progress_ctx;
    const store_labels *labels; /* may be NULL */
    const wfdb_options *wfdb;   /* may be NULL */
    int batch;                  /* records read in parallel before appending in order; 0: 64 */
    const atomic_int *stop;     /* may be NULL; once nonzero, the import stops after the batch
                                 * being appended (what was appended stays; sum->stopped = 1) */
} store_import_opts;

typedef struct {
    char path[512]; /* relative to the root */
    ecg_code code;
    char reason[512];
} store_skip;

typedef struct {
    size_t found; /* records (.hea files that are not segments of a multi-segment record) */
    size_t imported;
    size_t skipped;
    size_t unlabelled;  /* imported without a metadata row (labels given but no row matched) */
    size_t nan_records; /* imported with non-finite samples set to 0 */
    size_t by_code[8];  /* skips per ecg_code */
    store_skip *skips;  /* the first STORE_MAX_SKIPS skips in order */
    size_t n_skips;
    int stopped; /* opt->stop ended the import before every record was read */
} store_import_summary;
#define STORE_MAX_SKIPS 10000

/* Import every WFDB record under root (recursively, in sorted path order): read, prepare, append
 * with source id = path relative to root without ".hea". Unreadable records are skipped with
 * their reason; records are read and prepared in parallel (OpenMP) and appended in path order,
 * so the store is the same whatever the thread count. Segment headers of multi-segment records
 * are not imported on their own. The writer is flushed at the end. Returns an error only when the
 * walk or the store fails (shards filled before that stay published, the open one is not).
 * sum is filled in both cases; free with store_import_summary_free. */
ecg_code store_import_wfdb_tree(store_writer *w, const char *root, const store_import_opts *opt,
                                store_import_summary *sum, ecg_err *err);
void store_import_summary_free(store_import_summary *sum);

/* ---- subsets for the scaling study ---------------------------------------------------------- */

/* perm[0..n) = a permutation of 0..n-1: Fisher-Yates driven by rng_seed(seed) (i from n-1 down to
 * 1 swaps i with rng_below(i + 1)). Same seed and n, same permutation on every machine. */
void store_permutation(size_t n, uint64_t seed, size_t *perm);

/* The validation split is the first n_val entries of the permutation; training subsets are
 * prefixes of the rest, so subset N is inside subset M for N <= M and never meets validation.
 * The permutation depends on n: a study fixes (n, seed) and keeps them with its results. */
typedef struct {
    size_t n; /* records */
    size_t n_val;
    size_t *perm; /* [n]; perm[0..n_val) validation, perm[n_val..n) the training pool */
} store_split;

ecg_code store_split_init(store_split *s, size_t n, size_t n_val, uint64_t seed, ecg_err *err);
void store_split_free(store_split *s);
const size_t *store_split_val(const store_split *s);
/* The first n_train records of the training pool; ECG_EINVAL when n_train > n - n_val. */
ecg_code store_split_subset(const store_split *s, size_t n_train, const size_t **idx, ecg_err *err);

#endif

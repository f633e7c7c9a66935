/* hdf5_tracings.h — ECG tracings in the CODE-15% HDF5 layout (N exams x samples x 12 leads at 400
 * Hz plus N exam ids), streamed with hyperslab reads one exam or one block at a time, and imported.
 */
#ifndef ECGFM_CORE_HDF5_TRACINGS_H
#define ECGFM_CORE_HDF5_TRACINGS_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/data/record.h"
#include "core/data/store.h"

/*
 * The layout (Ribeiro et al., CODE-15%, Zenodo 10.5281/zenodo.4916206): each exams_part<k>.hdf5
 * holds a dataset "tracings" of shape (N, 4096, 12), float32, the 12 leads in the order DI, DII,
 * DIII, aVR, aVL, aVF, V1..V6 sampled at 400 Hz, and "exam_id", N integers (the exams.csv key).
 * Exams of 7 s (2800 samples) and 10 s (4000) are zero-padded, centred, to 4096 samples.
 *
 * Units: the dataset's documentation does not state them plainly. The companion model README
 * (antonior92/automatic-ecg-diagnosis) says the values are at the scale the network expects
 * ("if the signal is in V it should be multiplied by 1000", i.e. mV), while the preprocessing
 * README (antonior92/ecg-preprocessing) says CODE-15% was written with "--scale 2", i.e. twice the
 * WFDB physical values. We read the values as millivolts by default (mv_per_unit = 1, what
 * users of CODE-15% models feed them); set mv_per_unit = 0.5 to undo the documented factor 2.
 */

#define HDF5_TRACINGS_MAX_SAMPLES ((size_t)1 << 22) /* samples per exam in the file */
#define HDF5_TRACINGS_MAX_EXAMS ((size_t)1 << 32)
#define HDF5_TRACINGS_FS 400.0

typedef struct {
    const char *tracings; /* dataset name; NULL: "tracings" */
    const char *exam_ids; /* dataset name; NULL: "exam_id"; "": none (exams named "row<i>") */
    double fs;            /* sampling rate; 0: 400 */
    double mv_per_unit;   /* millivolts per stored unit; 0: 1 (see above) */
    int keep_padding;     /* 0: drop the samples that are zero in all 12 leads at both ends */
} hdf5_tracings_options;

typedef struct hdf5_tracings hdf5_tracings;

/* Open path and check the layout (the dataset names in opt must outlive t; one thread at a time
 * per handle, any number of handles at once: every libhdf5 call holds one process-wide lock):
 * "tracings" of rank 3 with 12 in the last dimension, 1 to HDF5_TRACINGS_MAX_SAMPLES samples, a
 * floating-point type (float32 or float64); "exam_id" of rank 1, one integer per exam. opt may be
 * NULL. Nothing is read but the shapes. Errors: ECG_ENOTFOUND (no file), ECG_EFORMAT (not HDF5, a
 * dataset missing, wrong shape or type; the message names the dataset and what was found),
 * ECG_ENOMEM. */
ecg_code hdf5_tracings_open(hdf5_tracings **t, const char *path, const hdf5_tracings_options *opt,
                            ecg_err *err);
void hdf5_tracings_close(hdf5_tracings *t);
size_t hdf5_tracings_count(const hdf5_tracings *t);  /* exams N */
size_t hdf5_tracings_length(const hdf5_tracings *t); /* samples per exam in the file */

/* Exams [first, first + n) as stored: out is [n][length][12] in the file's units (converted to
 * float32), ids [n] (may be NULL; row numbers when the file has no ids). One hyperslab read.
 * Errors: ECG_EINVAL (past the end), ECG_EIO (libhdf5 failed reading; its message is quoted). */
ecg_code hdf5_tracings_read_block(hdf5_tracings *t, size_t first, size_t n, float *out,
                                  int64_t *ids, ecg_err *err);

/* Exam i as an ecg_record: 12 channels named DI, DII, DIII, AVR, AVL, AVF, V1..V6 (mapped to the
 * 12 leads), in mV (x mv_per_unit), padding trimmed unless keep_padding, record_name = the exam
 * id. An exam that is zero everywhere gives ECG_EFORMAT ("all samples are zero"). */
ecg_code hdf5_tracings_read(hdf5_tracings *t, size_t i, ecg_record *r, ecg_err *err);

/* Import every exam of the file: blocks of opt->batch exams (0: 64) read in turn (libhdf5 is
 * not thread-safe here), converted and resampled to 240 Hz in parallel, appended in file order
 * with source id = the exam id in decimal ("row<i>" without ids). Labels from opt->labels keyed by
 * that id (exams.csv's exam_id column). Empty (all-zero) exams are skipped with their reason
 * (skip path "exam <id>"). Progress after each block; the writer is flushed at the end. Errors
 * and the summary as store_import_wfdb_tree; opt->wfdb is ignored; hopt may be NULL. */
ecg_code store_import_hdf5(store_writer *w, const char *path, const hdf5_tracings_options *hopt,
                           const store_import_opts *opt, store_import_summary *sum, ecg_err *err);

#endif

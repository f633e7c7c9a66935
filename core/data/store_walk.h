/* store_walk.h — what the folder and file importers (WFDB, EDF, HDF5) share: the sorted walk of a
 * tree for record files, and the summary bookkeeping of appending or skipping each record. */
#ifndef ECGFM_CORE_DATA_STORE_WALK_H
#define ECGFM_CORE_DATA_STORE_WALK_H

#include <stddef.h>

#include "core/base/error.h"
#include "core/data/store.h"

typedef struct {
    char **v;
    size_t n, cap;
} store_paths;

/* Appends a copy of x; -1 when out of memory. */
int store_paths_push(store_paths *s, const char *x);
void store_paths_free(store_paths *s);

/* Whether a regular file (rel, its path relative to the root, strlen len) is a record to import;
 * it may shorten rel in place (e.g. drop the extension) before it is kept. */
typedef int (*store_walk_keep_fn)(char *rel, size_t len);

/* Relative paths of the files under root that keep accepts, in strcmp order. Hidden entries are
 * skipped; links to files are followed, links to directories are not (no loops); at most 64
 * directories deep. On error out is left empty. */
ecg_code store_walk_tree(const char *root, store_walk_keep_fn keep, store_paths *out, ecg_err *err);

/* The start of an import: sum zeroed, and the options to use (opt or all defaults; batch 64 when
 * it is not positive). */
store_import_opts store_import_start(const store_import_opts *opt, store_import_summary *sum);

/* Counts a record that could not be read or prepared (what names it in the skip list). */
void store_summary_skip(store_import_summary *sum, const char *what, ecg_code code,
                        const char *msg);

/* Appends a prepared record with source id name, its labels looked up in labels (may be NULL),
 * and counts it in sum. */
ecg_code store_summary_add(store_writer *w, const store_labels *labels, store_import_summary *sum,
                           const char *name, const store_prepared *p, ecg_err *err);

#endif

/* atomic_file.h — write a file so that readers see the old contents or the new, never a torn mix:
 * write to a temp name beside it, fsync, rename over the target, fsync the directory. */
#ifndef ECGFM_CORE_ATOMIC_FILE_H
#define ECGFM_CORE_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "core/base/error.h"

typedef struct {
    FILE *fp;
    char path[4096];
    char tmp[4096];
} atomic_file;

ecg_code atomic_open(atomic_file *a, const char *path, ecg_err *err);
ecg_code atomic_write(atomic_file *a, const void *data, size_t n, ecg_err *err);
/* Flush, fsync, rename into place. On failure the temp file is removed and the target untouched. */
ecg_code atomic_commit(atomic_file *a, ecg_err *err);
void atomic_abort(atomic_file *a);

#endif

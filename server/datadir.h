/* datadir.h — the data directory: created at start if missing, and checked on every /readyz so the
 * service reports "not ready" instead of failing writes when the disk goes away or turns read-only.
 */
#ifndef ECGFM_SERVER_DATADIR_H
#define ECGFM_SERVER_DATADIR_H

#include <stddef.h>

#include "core/base/error.h"

/* mkdir -p path (mode 0750: ECGs are health data). ECG_EIO with the reason when it cannot. */
ecg_code datadir_prepare(const char *path, ecg_err *err);
/* 1 when path is a directory this process can create files in; else 0 and why[] says why. */
int datadir_check(const char *path, char *why, size_t why_size);

#endif

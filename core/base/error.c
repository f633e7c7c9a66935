/* error.c — errors as values (see error.h). */
#include "core/base/error.h"

#include <stdarg.h>
#include <stdio.h>

ecg_code err_set(ecg_err *err, ecg_code code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

const char *err_code_name(ecg_code code) {
    switch (code) {
    case ECG_OK: return "ok";
    case ECG_ENOMEM: return "out_of_memory";
    case ECG_EIO: return "io_error";
    case ECG_EFORMAT: return "bad_format";
    case ECG_EINVAL: return "invalid_value";
    case ECG_ENOTFOUND: return "not_found";
    case ECG_EVERSION: return "unsupported_version";
    }
    return "unknown";
}

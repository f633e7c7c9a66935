/* error.h — errors as values: every fallible core call returns an ecg_code and fills an ecg_err.
 * No core function prints or exits; callers above decide what to do. */
#ifndef ECGFM_CORE_ERROR_H
#define ECGFM_CORE_ERROR_H

typedef enum {
    ECG_OK = 0,
    ECG_ENOMEM,   /* allocation failed or a size would overflow */
    ECG_EIO,      /* the operating system refused a read, write, open or rename */
    ECG_EFORMAT,  /* the bytes are not the format they claim to be */
    ECG_EINVAL,   /* a value is out of its allowed range */
    ECG_ENOTFOUND,/* a named thing (tensor, file, key) does not exist */
    ECG_EVERSION, /* a magic number or version we do not read */
} ecg_code;

typedef struct {
    ecg_code code;
    char msg[512];
} ecg_err;

/* Fill err (may be NULL) with code and a printf-style message; returns code. */
ecg_code err_set(ecg_err *err, ecg_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *err_code_name(ecg_code code);

#endif

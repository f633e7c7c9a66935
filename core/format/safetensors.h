/* safetensors.h — read and write safetensors files, the checkpoint format a PyTorch user can load.
 * The reader treats every file as hostile: capped header, checked sizes, offsets that tile the data. */
#ifndef ECGFM_CORE_SAFETENSORS_H
#define ECGFM_CORE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"

#define ST_MAX_DIMS 8
#define ST_MAX_NAME 256
#define ST_MAX_HEADER (64u << 20) /* 64 MiB of JSON header is far past any real checkpoint */

typedef enum { ST_F32, ST_F64, ST_I64, ST_I32, ST_I16, ST_U8, ST_BF16, ST_F16 } st_dtype;

typedef struct {
    char name[ST_MAX_NAME];
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t offset; /* from the start of the payload */
    size_t nbytes;
} st_tensor;

typedef struct {
    char *key, *value;
} st_meta;

typedef struct {
    uint8_t *buf; /* the whole file, owned */
    size_t size;
    const uint8_t *payload; /* start of tensor data inside buf */
    size_t payload_size;
    st_tensor *tensors;
    int n_tensors;
    st_meta *meta;
    int n_meta;
} st_file;

size_t st_dtype_size(st_dtype d);
const char *st_dtype_name(st_dtype d);

/* Parse a file already in memory; takes ownership of buf (malloc'd) on success and failure. */
ecg_code st_parse(st_file *f, uint8_t *buf, size_t len, ecg_err *err);
ecg_code st_read_file(st_file *f, const char *path, ecg_err *err);
void st_free(st_file *f);

const st_tensor *st_find(const st_file *f, const char *name);
const char *st_meta_get(const st_file *f, const char *key);
/* Copy a tensor into dst, checking dtype F32 and exactly `count` elements. */
ecg_code st_get_f32(const st_file *f, const char *name, float *dst, size_t count, ecg_err *err);

typedef struct {
    const char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
} st_entry;

/* Write entries in the given order, with metadata as n_meta key/value pairs ("format": "pt" is
 * always added). The file appears atomically: temp file, fsync, rename, fsync of the directory. */
ecg_code st_write_file(const char *path, const st_entry *entries, int n, const char *const *meta_kv,
                       int n_meta, ecg_err *err);

#endif

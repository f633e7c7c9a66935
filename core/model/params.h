/* params.h — a model's parameters as one contiguous float buffer with named views (name, shape,
 * offset, group); gradients mirror it, and non-trainable buffers (BatchNorm statistics) sit apart.
 */
#ifndef ECGFM_CORE_PARAMS_H
#define ECGFM_CORE_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"

/* Parameter groups with their own learning-rate factor in AdamW (paper: 0.01, 0.1, 1). */
typedef enum { PG_STEM = 0, PG_BACKBONE, PG_HEAD, PG_COUNT } param_group;

#define PARAM_MAX_NAME 96
#define PARAM_MAX_DIMS 4

typedef struct {
    char name[PARAM_MAX_NAME]; /* the PyTorch state_dict name */
    int ndim;
    int shape[PARAM_MAX_DIMS];
    size_t offset; /* in floats, into data/grad (params) or buf (buffers) */
    size_t count;
    int group;     /* param_group; -1 for buffers */
    int trainable; /* 0: kept in the buffer and saved, but AdamW leaves it alone */
} param_view;

/* Views may be added at any time (a training objective adds its head after the encoder); adding
 * reallocates, so hold view indices and fetch pointers with params_data/params_grad after adds. */
typedef struct {
    param_view *views;
    int n_views, cap_views;
    float *data, *grad; /* n_floats each; grad mirrors data */
    size_t n_floats, cap_floats;
    param_view *bviews; /* non-trainable buffers (running statistics) */
    int n_bviews, cap_bviews;
    float *buf;
    size_t n_buf, cap_buf;
} param_set;

void params_init(param_set *ps);
void params_free(param_set *ps);

/* Add a parameter (zero-filled, zero gradient) or a buffer (filled with `fill`). Returns the view
 * index (>= 0) or -1 with err set (duplicate name, bad shape, out of memory). */
int params_add(param_set *ps, const char *name, int ndim, const int *shape, int group,
               int trainable, ecg_err *err);
int params_add_buffer(param_set *ps, const char *name, int ndim, const int *shape, float fill,
                      ecg_err *err);

static inline float *params_data(const param_set *ps, int i) {
    return ps->data + ps->views[i].offset;
}
static inline float *params_grad(const param_set *ps, int i) {
    return ps->grad + ps->views[i].offset;
}
static inline float *params_buffer(const param_set *ps, int i) {
    return ps->buf + ps->bviews[i].offset;
}

int params_find(const param_set *ps, const char *name); /* view index or -1 */
int params_find_buffer(const param_set *ps, const char *name);

void params_zero_grad(param_set *ps);
size_t params_count_trainable(const param_set *ps);

/* Exact copy of values and buffers between two sets with the same views (EMA teachers, tests). */
ecg_code params_copy(param_set *dst, const param_set *src, ecg_err *err);
/* Same names, shapes, groups and order. */
int params_same_layout(const param_set *a, const param_set *b);

#endif

/* params.c — named views into one contiguous parameter buffer (see params.h).
 * Growth doubles capacity, so adding the few dozen views of a model costs a handful of reallocs. */
#include "core/model/params.h"

#include <stdlib.h>
#include <string.h>

void params_init(param_set *ps) {
    memset(ps, 0, sizeof *ps);
}

void params_free(param_set *ps) {
    free(ps->views);
    free(ps->data);
    free(ps->grad);
    free(ps->bviews);
    free(ps->buf);
    memset(ps, 0, sizeof *ps);
}

static ecg_code check_view(const char *name, int ndim, const int *shape, size_t *count,
                           ecg_err *err) {
    if (!name || !*name || strlen(name) >= PARAM_MAX_NAME)
        return err_set(err, ECG_EINVAL, "parameter name empty or longer than %d",
                       PARAM_MAX_NAME - 1);
    if (ndim < 0 || ndim > PARAM_MAX_DIMS)
        return err_set(err, ECG_EINVAL, "%s: %d dimensions (at most %d)", name, ndim,
                       PARAM_MAX_DIMS);
    size_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] <= 0)
            return err_set(err, ECG_EINVAL, "%s: dimension %d is %d", name, d, shape[d]);
        if (n > ((size_t)1 << 40) / (size_t)shape[d])
            return err_set(err, ECG_ENOMEM, "%s: too many elements", name);
        n *= (size_t)shape[d];
    }
    *count = n;
    return ECG_OK;
}

static ecg_code grow_views(param_view **v, int *cap, int need, ecg_err *err) {
    if (need <= *cap) return ECG_OK;
    int nc = *cap ? *cap * 2 : 32;
    while (nc < need)
        nc *= 2;
    param_view *nv = realloc(*v, (size_t)nc * sizeof *nv);
    if (!nv) return err_set(err, ECG_ENOMEM, "out of memory for parameter views");
    *v = nv;
    *cap = nc;
    return ECG_OK;
}

/* Grow each of the k float arrays to hold `need` floats, zero-filling the new tail. */
static ecg_code grow_floats(float **arrs[], int k, size_t used, size_t *cap, size_t need,
                            ecg_err *err) {
    if (need <= *cap) return ECG_OK;
    size_t nc = *cap ? *cap * 2 : 4096;
    while (nc < need)
        nc *= 2;
    for (int i = 0; i < k; i++) {
        float *p = realloc(*arrs[i], nc * sizeof *p);
        if (!p) return err_set(err, ECG_ENOMEM, "out of memory for %zu parameters", nc);
        memset(p + used, 0, (nc - used) * sizeof *p);
        *arrs[i] = p;
    }
    *cap = nc;
    return ECG_OK;
}

int params_find(const param_set *ps, const char *name) {
    for (int i = 0; i < ps->n_views; i++)
        if (strcmp(ps->views[i].name, name) == 0) return i;
    return -1;
}

int params_find_buffer(const param_set *ps, const char *name) {
    for (int i = 0; i < ps->n_bviews; i++)
        if (strcmp(ps->bviews[i].name, name) == 0) return i;
    return -1;
}

static void fill_view(param_view *v, const char *name, int ndim, const int *shape, size_t offset,
                      size_t count, int group, int trainable) {
    memset(v, 0, sizeof *v);
    strcpy(v->name, name);
    v->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        v->shape[d] = shape[d];
    v->offset = offset;
    v->count = count;
    v->group = group;
    v->trainable = trainable;
}

int params_add(param_set *ps, const char *name, int ndim, const int *shape, int group,
               int trainable, ecg_err *err) {
    size_t count;
    if (check_view(name, ndim, shape, &count, err) != ECG_OK) return -1;
    if (group < 0 || group >= PG_COUNT) {
        err_set(err, ECG_EINVAL, "%s: parameter group %d is not one of stem, backbone, head", name,
                group);
        return -1;
    }
    if (params_find(ps, name) >= 0 || params_find_buffer(ps, name) >= 0) {
        err_set(err, ECG_EINVAL, "%s: parameter name already used", name);
        return -1;
    }
    if (grow_views(&ps->views, &ps->cap_views, ps->n_views + 1, err) != ECG_OK) return -1;
    float **arrs[] = {&ps->data, &ps->grad};
    if (grow_floats(arrs, 2, ps->n_floats, &ps->cap_floats, ps->n_floats + count, err) != ECG_OK)
        return -1;
    fill_view(&ps->views[ps->n_views], name, ndim, shape, ps->n_floats, count, group, trainable);
    ps->n_floats += count;
    return ps->n_views++;
}

int params_add_buffer(param_set *ps, const char *name, int ndim, const int *shape, float fill,
                      ecg_err *err) {
    size_t count;
    if (check_view(name, ndim, shape, &count, err) != ECG_OK) return -1;
    if (params_find(ps, name) >= 0 || params_find_buffer(ps, name) >= 0) {
        err_set(err, ECG_EINVAL, "%s: parameter name already used", name);
        return -1;
    }
    if (grow_views(&ps->bviews, &ps->cap_bviews, ps->n_bviews + 1, err) != ECG_OK) return -1;
    float **arrs[] = {&ps->buf};
    if (grow_floats(arrs, 1, ps->n_buf, &ps->cap_buf, ps->n_buf + count, err) != ECG_OK) return -1;
    fill_view(&ps->bviews[ps->n_bviews], name, ndim, shape, ps->n_buf, count, -1, 0);
    for (size_t i = 0; i < count; i++)
        ps->buf[ps->n_buf + i] = fill;
    ps->n_buf += count;
    return ps->n_bviews++;
}

void params_zero_grad(param_set *ps) {
    if (ps->grad) memset(ps->grad, 0, ps->n_floats * sizeof *ps->grad);
}

size_t params_count_trainable(const param_set *ps) {
    size_t n = 0;
    for (int i = 0; i < ps->n_views; i++)
        if (ps->views[i].trainable) n += ps->views[i].count;
    return n;
}

static int same_views(const param_view *a, const param_view *b, int n) {
    for (int i = 0; i < n; i++) {
        if (strcmp(a[i].name, b[i].name) || a[i].ndim != b[i].ndim || a[i].count != b[i].count ||
            a[i].offset != b[i].offset || a[i].group != b[i].group)
            return 0;
        for (int d = 0; d < a[i].ndim; d++)
            if (a[i].shape[d] != b[i].shape[d]) return 0;
    }
    return 1;
}

int params_same_layout(const param_set *a, const param_set *b) {
    return a->n_views == b->n_views && a->n_bviews == b->n_bviews && a->n_floats == b->n_floats &&
           a->n_buf == b->n_buf && same_views(a->views, b->views, a->n_views) &&
           same_views(a->bviews, b->bviews, a->n_bviews);
}

ecg_code params_copy(param_set *dst, const param_set *src, ecg_err *err) {
    if (!params_same_layout(dst, src))
        return err_set(err, ECG_EINVAL, "parameter sets differ in layout");
    if (src->n_floats) memcpy(dst->data, src->data, src->n_floats * sizeof *src->data);
    if (src->n_buf) memcpy(dst->buf, src->buf, src->n_buf * sizeof *src->buf);
    return ECG_OK;
}

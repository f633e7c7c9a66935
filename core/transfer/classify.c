/* classify.c — what every probe shares: options, input checks, the train scaler, fit and predict
 * dispatch, and saving a fitted probe as safetensors (class names in the metadata). */
#include "core/transfer/classify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/format/safetensors.h"
#include "core/transfer/classify_impl.h"

#define PROBE_FORMAT_VERSION "1"

void probe_options_default(probe_options *o) {
    memset(o, 0, sizeof *o);
    o->standardize = -1;
}

const char *probe_kind_name(probe_kind k) {
    switch (k) {
    case PROBE_CENTROID: return "centroid";
    case PROBE_KNN: return "knn";
    case PROBE_LOGREG: return "logreg";
    }
    return "?";
}

void *probe_calloc(size_t n, size_t size, ecg_err *err, const char *what) {
    void *p = calloc(n ? n : 1, size);
    if (!p)
        err_set(err, ECG_ENOMEM, "probe: out of memory for %s (%zu x %zu bytes)", what, n, size);
    return p;
}

ecg_code probe_scaler_fit(double *mean, double *std, const float *x, const int *rows, int n,
                          int dim, ecg_err *err) {
    if (n < 1) return err_set(err, ECG_EINVAL, "probe: no rows to standardise");
    for (int j = 0; j < dim; j++)
        mean[j] = std[j] = 0;
    for (int r = 0; r < n; r++) {
        const float *xi = x + (size_t)(rows ? rows[r] : r) * dim;
        for (int j = 0; j < dim; j++)
            mean[j] += xi[j];
    }
    for (int j = 0; j < dim; j++)
        mean[j] /= n;
    /* Two passes: the one-pass formula loses the variance of large-mean features. */
    for (int r = 0; r < n; r++) {
        const float *xi = x + (size_t)(rows ? rows[r] : r) * dim;
        for (int j = 0; j < dim; j++) {
            double d = xi[j] - mean[j];
            std[j] += d * d;
        }
    }
    const double eps = 2.220446049250313e-16;
    for (int j = 0; j < dim; j++) {
        double var = std[j] / n, mu = n * mean[j] * eps;
        /* sklearn's _is_constant_feature: a variance within rounding of the mean is zero. */
        std[j] = var <= n * eps * var + mu * mu ? 1 : sqrt(var);
    }
    return ECG_OK;
}

void probe_scaler_apply(double *out, const float *x, const double *mean, const double *std,
                        int dim) {
    if (!mean) {
        for (int j = 0; j < dim; j++)
            out[j] = x[j];
        return;
    }
    for (int j = 0; j < dim; j++)
        out[j] = (x[j] - mean[j]) / std[j];
}

static ecg_code check_features(const float *x, int n, int dim, ecg_err *err) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < dim; j++)
            if (!isfinite(x[(size_t)i * dim + j]))
                return err_set(err, ECG_EINVAL, "probe: row %d feature %d is not finite", i, j);
    return ECG_OK;
}

void probe_free(probe_model *m) {
    if (!m) return;
    if (m->class_names)
        for (int c = 0; c < m->n_classes; c++)
            free(m->class_names[c]);
    free(m->class_names);
    free(m->present);
    free(m->mean);
    free(m->std);
    free(m->centroids);
    free(m->train_x);
    free(m->train_y);
    free(m->weight);
    free(m->bias);
    free(m->sel_param);
    free(m->sel_score);
    memset(m, 0, sizeof *m);
}

static ecg_code set_class_names(probe_model *m, const char *const *names, ecg_err *err) {
    m->class_names = probe_calloc((size_t)m->n_classes, sizeof *m->class_names, err, "class names");
    if (!m->class_names) return ECG_ENOMEM;
    for (int c = 0; c < m->n_classes; c++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", c);
        m->class_names[c] = strdup(names && names[c] ? names[c] : buf);
        if (!m->class_names[c]) return err_set(err, ECG_ENOMEM, "probe: out of memory for a name");
    }
    return ECG_OK;
}

ecg_code probe_fit(probe_model *m, probe_kind kind, const float *x, const int *y, int n, int dim,
                   int n_classes, const char *const *class_names, const probe_options *opt,
                   ecg_err *err) {
    memset(m, 0, sizeof *m);
    probe_options def;
    if (!opt) {
        probe_options_default(&def);
        opt = &def;
    }
    if (kind != PROBE_CENTROID && kind != PROBE_KNN && kind != PROBE_LOGREG)
        return err_set(err, ECG_EINVAL, "probe: unknown kind %d", (int)kind);
    if (n < 1 || dim < 1 || n_classes < 1)
        return err_set(err, ECG_EINVAL, "probe: need n, dim, n_classes >= 1 (got %d, %d, %d)", n,
                       dim, n_classes);
    for (int i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= n_classes)
            return err_set(err, ECG_EINVAL, "probe: label %d of row %d is outside [0, %d)", y[i], i,
                           n_classes);
    ecg_code rc = check_features(x, n, dim, err);
    if (rc) return rc;
    m->kind = kind;
    m->n_classes = n_classes;
    m->dim = dim;
    m->present = probe_calloc((size_t)n_classes, sizeof *m->present, err, "classes");
    if (!m->present) return ECG_ENOMEM;
    int n_present = 0;
    for (int i = 0; i < n; i++) {
        n_present += !m->present[y[i]];
        m->present[y[i]] = 1;
    }
    if (n_present < 2) {
        probe_free(m);
        return err_set(err, ECG_EINVAL,
                       "probe: the train split has %d class; a classifier needs at least two",
                       n_present);
    }
    if ((rc = set_class_names(m, class_names, err))) goto fail;
    int standardize = opt->standardize >= 0 ? opt->standardize : kind == PROBE_LOGREG;
    if (standardize) {
        m->mean = probe_calloc((size_t)dim, sizeof *m->mean, err, "mean");
        m->std = probe_calloc((size_t)dim, sizeof *m->std, err, "std");
        if (!m->mean || !m->std) {
            rc = ECG_ENOMEM;
            goto fail;
        }
        if ((rc = probe_scaler_fit(m->mean, m->std, x, NULL, n, dim, err))) goto fail;
    }
    switch (kind) {
    case PROBE_CENTROID: rc = probe_centroid_fit(m, x, y, n, err); break;
    case PROBE_KNN: rc = probe_knn_fit(m, x, y, n, opt, err); break;
    case PROBE_LOGREG: rc = probe_logreg_fit(m, x, y, n, opt, err); break;
    }
    if (rc) goto fail;
    return ECG_OK;
fail:
    probe_free(m);
    return rc;
}

ecg_code probe_predict(const probe_model *m, const float *x, int n, int *pred, float *prob,
                       ecg_err *err) {
    if (n < 0) return err_set(err, ECG_EINVAL, "probe: negative row count");
    if (n == 0) return ECG_OK;
    ecg_code rc = check_features(x, n, m->dim, err);
    if (rc) return rc;
    switch (m->kind) {
    case PROBE_CENTROID: return probe_centroid_predict(m, x, n, pred, prob, err);
    case PROBE_KNN: return probe_knn_predict(m, x, n, pred, prob, err);
    case PROBE_LOGREG: return probe_logreg_predict(m, x, n, pred, prob, err);
    }
    return err_set(err, ECG_EINVAL, "probe: unknown kind %d", (int)m->kind);
}

/* ---- saving and loading ---- */

ecg_code probe_save(const probe_model *m, const char *path, ecg_err *err) {
    int K = m->n_classes, d = m->dim;
    st_entry ent[8];
    int ne = 0;
    uint8_t *present = probe_calloc((size_t)K, 1, err, "present");
    if (!present) return ECG_ENOMEM;
    for (int c = 0; c < K; c++)
        present[c] = (uint8_t)m->present[c];
    ent[ne++] = (st_entry){"present", ST_U8, 1, {K}, present};
    if (m->mean) {
        ent[ne++] = (st_entry){"mean", ST_F64, 1, {d}, m->mean};
        ent[ne++] = (st_entry){"std", ST_F64, 1, {d}, m->std};
    }
    if (m->kind == PROBE_CENTROID)
        ent[ne++] = (st_entry){"centroids", ST_F64, 2, {K, d}, m->centroids};
    if (m->kind == PROBE_KNN) {
        ent[ne++] = (st_entry){"train_x", ST_F32, 2, {m->n_train, d}, m->train_x};
        ent[ne++] = (st_entry){"train_y", ST_I32, 1, {m->n_train}, m->train_y};
    }
    if (m->kind == PROBE_LOGREG) {
        ent[ne++] = (st_entry){"weight", ST_F64, 2, {K, d}, m->weight};
        ent[ne++] = (st_entry){"bias", ST_F64, 1, {K}, m->bias};
    }
    /* Metadata: 6 fixed pairs and one per class. */
    int n_kv = 2 * (6 + K);
    const char **kv = probe_calloc((size_t)n_kv, sizeof *kv, err, "metadata");
    char *keys = probe_calloc((size_t)K, 24, err, "metadata keys");
    char nums[4][40];
    ecg_code rc = ECG_ENOMEM;
    if (kv && keys) {
        snprintf(nums[0], sizeof nums[0], "%d", K);
        snprintf(nums[1], sizeof nums[1], "%d", d);
        snprintf(nums[2], sizeof nums[2], "%d", m->k);
        snprintf(nums[3], sizeof nums[3], "%.17g", m->C);
        int i = 0;
        kv[i++] = "ecgfm_probe", kv[i++] = PROBE_FORMAT_VERSION;
        kv[i++] = "kind", kv[i++] = probe_kind_name(m->kind);
        kv[i++] = "n_classes", kv[i++] = nums[0];
        kv[i++] = "dim", kv[i++] = nums[1];
        kv[i++] = "k", kv[i++] = nums[2];
        kv[i++] = "C", kv[i++] = nums[3];
        for (int c = 0; c < K; c++) {
            snprintf(keys + 24 * c, 24, "class.%d", c);
            kv[i++] = keys + 24 * c;
            kv[i++] = m->class_names[c];
        }
        rc = st_write_file(path, ent, ne, kv, n_kv / 2, err);
    }
    free(kv);
    free(keys);
    free(present);
    return rc;
}

static ecg_code meta_int(const st_file *f, const char *key, int lo, int hi, int *out,
                         ecg_err *err) {
    const char *v = st_meta_get(f, key);
    if (!v) return err_set(err, ECG_EFORMAT, "probe file: metadata %s missing", key);
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == 0 || *end || x < lo || x > hi)
        return err_set(err, ECG_EFORMAT, "probe file: metadata %s = '%s' is not in [%d, %d]", key,
                       v, lo, hi);
    *out = (int)x;
    return ECG_OK;
}

/* A tensor of exactly `count` elements of dtype dt, copied into fresh memory. */
static ecg_code get_tensor(const st_file *f, const char *name, st_dtype dt, size_t count,
                           void **out, ecg_err *err) {
    const st_tensor *t = st_find(f, name);
    if (!t) return err_set(err, ECG_EFORMAT, "probe file: tensor %s missing", name);
    size_t es = st_dtype_size(dt);
    if (t->dtype != dt || t->nbytes != count * es)
        return err_set(err, ECG_EFORMAT, "probe file: tensor %s is not %s[%zu]", name,
                       st_dtype_name(dt), count);
    *out = probe_calloc(count, es, err, name);
    if (!*out) return ECG_ENOMEM;
    memcpy(*out, f->payload + t->offset, t->nbytes);
    return ECG_OK;
}

ecg_code probe_load(probe_model *m, const char *path, ecg_err *err) {
    memset(m, 0, sizeof *m);
    st_file f;
    ecg_code rc = st_read_file(&f, path, err);
    if (rc) return rc;
    const char *ver = st_meta_get(&f, "ecgfm_probe");
    const char *kind = st_meta_get(&f, "kind");
    if (!ver) {
        rc = err_set(err, ECG_EFORMAT, "%s: not an ecgfm probe (no ecgfm_probe metadata)", path);
        goto out;
    }
    if (strcmp(ver, PROBE_FORMAT_VERSION) != 0) {
        rc = err_set(err, ECG_EVERSION, "%s: probe format %s, this build reads %s; refit the probe",
                     path, ver, PROBE_FORMAT_VERSION);
        goto out;
    }
    int K, d;
    if ((rc = meta_int(&f, "n_classes", 2, 1 << 20, &K, err)) ||
        (rc = meta_int(&f, "dim", 1, 1 << 24, &d, err)))
        goto out;
    m->n_classes = K;
    m->dim = d;
    if (kind && !strcmp(kind, "centroid"))
        m->kind = PROBE_CENTROID;
    else if (kind && !strcmp(kind, "knn"))
        m->kind = PROBE_KNN;
    else if (kind && !strcmp(kind, "logreg"))
        m->kind = PROBE_LOGREG;
    else {
        rc = err_set(err, ECG_EFORMAT, "%s: unknown probe kind '%s'", path, kind ? kind : "");
        goto out;
    }
    m->class_names = probe_calloc((size_t)K, sizeof *m->class_names, err, "class names");
    m->present = probe_calloc((size_t)K, sizeof *m->present, err, "classes");
    if (!m->class_names || !m->present) {
        rc = ECG_ENOMEM;
        goto out;
    }
    for (int c = 0; c < K; c++) {
        char key[32];
        snprintf(key, sizeof key, "class.%d", c);
        const char *v = st_meta_get(&f, key);
        if (!v) {
            rc = err_set(err, ECG_EFORMAT, "%s: metadata %s missing", path, key);
            goto out;
        }
        if (!(m->class_names[c] = strdup(v))) {
            rc = err_set(err, ECG_ENOMEM, "probe: out of memory for a name");
            goto out;
        }
    }
    uint8_t *present = NULL;
    if ((rc = get_tensor(&f, "present", ST_U8, (size_t)K, (void **)&present, err))) goto out;
    int n_present = 0;
    for (int c = 0; c < K; c++)
        n_present += m->present[c] = present[c] != 0;
    free(present);
    if (n_present < 2) {
        rc = err_set(err, ECG_EFORMAT, "%s: fewer than two fitted classes", path);
        goto out;
    }
    if (st_find(&f, "mean")) {
        if ((rc = get_tensor(&f, "mean", ST_F64, (size_t)d, (void **)&m->mean, err)) ||
            (rc = get_tensor(&f, "std", ST_F64, (size_t)d, (void **)&m->std, err)))
            goto out;
        for (int j = 0; j < d; j++)
            if (!isfinite(m->mean[j]) || !(m->std[j] > 0)) {
                rc = err_set(err, ECG_EFORMAT, "%s: mean/std of feature %d unusable", path, j);
                goto out;
            }
    }
    if (m->kind == PROBE_CENTROID) {
        rc = get_tensor(&f, "centroids", ST_F64, (size_t)K * d, (void **)&m->centroids, err);
    } else if (m->kind == PROBE_KNN) {
        const st_tensor *t = st_find(&f, "train_y");
        if ((rc = meta_int(&f, "k", 1, 1 << 20, &m->k, err))) goto out;
        if (!t || t->ndim != 1 || t->shape[0] < m->k || t->shape[0] > (1 << 28)) {
            rc = err_set(err, ECG_EFORMAT, "%s: train_y missing or shorter than k", path);
            goto out;
        }
        m->n_train = (int)t->shape[0];
        if ((rc = get_tensor(&f, "train_y", ST_I32, (size_t)m->n_train, (void **)&m->train_y,
                             err)) ||
            (rc = get_tensor(&f, "train_x", ST_F32, (size_t)m->n_train * d, (void **)&m->train_x,
                             err)))
            goto out;
        for (int i = 0; i < m->n_train; i++)
            if (m->train_y[i] < 0 || m->train_y[i] >= K) {
                rc = err_set(err, ECG_EFORMAT, "%s: train_y[%d] out of range", path, i);
                goto out;
            }
    } else {
        const char *cs = st_meta_get(&f, "C");
        m->C = cs ? strtod(cs, NULL) : 0;
        if ((rc = get_tensor(&f, "weight", ST_F64, (size_t)K * d, (void **)&m->weight, err)) ||
            (rc = get_tensor(&f, "bias", ST_F64, (size_t)K, (void **)&m->bias, err)))
            goto out;
        m->converged = 1;
    }
out:
    st_free(&f);
    if (rc) probe_free(m);
    return rc;
}

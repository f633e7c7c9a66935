/* hdf5_tracings.c — CODE-15%-layout HDF5 tracings through libhdf5: the layout checked at open,
 * exams read by hyperslab (never the whole dataset), and the streamed import into the store. */
#include "core/data/hdf5_tracings.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/data/store_walk.h"

/* The serial libhdf5 is not thread-safe: every call into it holds this lock. Its error stack is
 * silenced (H5E_BEGIN_TRY) and the innermost message quoted in ours instead of printed. */
static pthread_mutex_t hdf5_lock = PTHREAD_MUTEX_INITIALIZER;

struct hdf5_tracings {
    hid_t file, tracings, ids; /* ids < 0 when the file has none */
    size_t n, len;
    hdf5_tracings_options opt;
    char path[512];
    float *row; /* [len][12] scratch for hdf5_tracings_read */
};

static const char *const code15_leads[ECG_N_LEADS] = {"DI", "DII", "DIII", "AVR", "AVL", "AVF",
                                                      "V1", "V2",  "V3",   "V4",  "V5",  "V6"};

static herr_t first_error(unsigned n, const H5E_error2_t *e, void *ctx) {
    if (n == 0 && e->desc) snprintf(ctx, 200, "%s", e->desc);
    return 0;
}

/* The innermost libhdf5 message on the error stack, or "" (then the stack is cleared). */
static void h5_message(char *buf) {
    buf[0] = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, buf);
    H5Eclear2(H5E_DEFAULT);
}

static const char *class_name(H5T_class_t c) {
    switch (c) {
    case H5T_INTEGER: return "integers";
    case H5T_FLOAT: return "floats";
    case H5T_STRING: return "strings";
    case H5T_COMPOUND: return "compound records";
    case H5T_ENUM: return "enums";
    case H5T_ARRAY: return "arrays";
    default: return "a non-numeric type";
    }
}

/* Shape of a dataset as "a x b x c" and its rank; -1 on failure. */
static int shape_of(hid_t d, hsize_t dims[H5S_MAX_RANK], char *text, size_t cap) {
    hid_t s = H5Dget_space(d);
    if (s < 0) return -1;
    int rank = H5Sget_simple_extent_ndims(s);
    if (rank < 0 || rank > H5S_MAX_RANK || H5Sget_simple_extent_dims(s, dims, NULL) < 0) rank = -1;
    H5Sclose(s);
    size_t k = 0;
    text[0] = 0;
    for (int i = 0; i < rank && k < cap; i++)
        k += (size_t)snprintf(text + k, cap - k, "%s%llu", i ? " x " : "",
                              (unsigned long long)dims[i]);
    if (rank == 0) snprintf(text, cap, "a scalar");
    return rank;
}

static H5T_class_t type_class(hid_t d, size_t *size) {
    hid_t t = H5Dget_type(d);
    if (t < 0) return H5T_NO_CLASS;
    H5T_class_t c = H5Tget_class(t);
    *size = H5Tget_size(t);
    H5Tclose(t);
    return c;
}

static void close_handles(hdf5_tracings *t) {
    if (t->ids >= 0) H5Dclose(t->ids);
    if (t->tracings >= 0) H5Dclose(t->tracings);
    if (t->file >= 0) H5Fclose(t->file);
    t->ids = t->tracings = t->file = -1;
}

static ecg_code open_locked(hdf5_tracings *t, const char *path, ecg_err *err) {
    const char *tn = t->opt.tracings, *in = t->opt.exam_ids;
    char msg[200];
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0) {
        h5_message(msg);
        return err_set(err, ECG_EFORMAT, "%s: not an HDF5 file", path);
    }
    t->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (t->file < 0) {
        h5_message(msg);
        return err_set(err, ECG_EFORMAT, "%s: libhdf5 cannot open it: %s", path, msg);
    }
    if (H5Lexists(t->file, tn, H5P_DEFAULT) <= 0 ||
        (t->tracings = H5Dopen2(t->file, tn, H5P_DEFAULT)) < 0) {
        h5_message(msg);
        return err_set(err, ECG_EFORMAT,
                       "%s: no dataset '%s' (the CODE-15%% layout has 'tracings' and 'exam_id')",
                       path, tn);
    }
    hsize_t dims[H5S_MAX_RANK];
    char shape[160];
    int rank = shape_of(t->tracings, dims, shape, sizeof shape);
    if (rank != 3 || dims[2] != ECG_N_LEADS)
        return err_set(err, ECG_EFORMAT,
                       "%s: dataset '%s' has shape %s: expected exams x samples x 12 leads", path,
                       tn, rank < 0 ? "(unreadable)" : shape);
    if (dims[1] < 1 || dims[1] > HDF5_TRACINGS_MAX_SAMPLES || dims[0] > HDF5_TRACINGS_MAX_EXAMS)
        return err_set(err, ECG_EFORMAT,
                       "%s: dataset '%s' has shape %s: 1..%zu samples per exam and at most %zu "
                       "exams",
                       path, tn, shape, HDF5_TRACINGS_MAX_SAMPLES, HDF5_TRACINGS_MAX_EXAMS);
    size_t tsize = 0;
    H5T_class_t c = type_class(t->tracings, &tsize);
    if (c != H5T_FLOAT)
        return err_set(err, ECG_EFORMAT,
                       "%s: dataset '%s' holds %s of %zu bytes: expected float32 or float64", path,
                       tn, class_name(c), tsize);
    /* Exams that were never written read back as the fill value: a file of a few KB could then
     * declare millions of constant "records". Compression rarely shrinks tracings 64-fold, so a
     * file that stores less than 1/64 of what it declares is refused. */
    unsigned long long declared = (unsigned long long)dims[0] * dims[1] * dims[2] * tsize;
    unsigned long long stored = (unsigned long long)H5Dget_storage_size(t->tracings);
    if (declared > 0 && stored < declared / 64)
        return err_set(err, ECG_EFORMAT,
                       "%s: dataset '%s' declares %llu bytes (shape %s) but the file stores %llu "
                       "of them: exams that were never written are not ECGs",
                       path, tn, declared, shape, stored);
    t->n = (size_t)dims[0];
    t->len = (size_t)dims[1];
    if (!*in) return ECG_OK;
    if (H5Lexists(t->file, in, H5P_DEFAULT) <= 0 ||
        (t->ids = H5Dopen2(t->file, in, H5P_DEFAULT)) < 0) {
        h5_message(msg);
        return err_set(err, ECG_EFORMAT, "%s: no dataset '%s' of exam ids (the CODE-15%% layout)",
                       path, in);
    }
    rank = shape_of(t->ids, dims, shape, sizeof shape);
    if (rank != 1 || dims[0] != t->n)
        return err_set(err, ECG_EFORMAT, "%s: dataset '%s' has shape %s: expected %zu exam ids",
                       path, in, rank < 0 ? "(unreadable)" : shape, t->n);
    c = type_class(t->ids, &tsize);
    if (c != H5T_INTEGER)
        return err_set(err, ECG_EFORMAT, "%s: dataset '%s' holds %s: expected integer exam ids",
                       path, in, class_name(c));
    return ECG_OK;
}

ecg_code hdf5_tracings_open(hdf5_tracings **out, const char *path, const hdf5_tracings_options *opt,
                            ecg_err *err) {
    *out = NULL;
    if (access(path, F_OK) != 0)
        return err_set(err, errno == ENOENT ? ECG_ENOTFOUND : ECG_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
    hdf5_tracings *t = calloc(1, sizeof *t);
    if (!t) return err_set(err, ECG_ENOMEM, "%s: no memory", path);
    t->file = t->tracings = t->ids = -1;
    if (opt) t->opt = *opt;
    if (!t->opt.tracings) t->opt.tracings = "tracings";
    if (!t->opt.exam_ids) t->opt.exam_ids = "exam_id";
    if (!(t->opt.fs > 0)) t->opt.fs = HDF5_TRACINGS_FS;
    if (t->opt.mv_per_unit == 0) t->opt.mv_per_unit = 1;
    snprintf(t->path, sizeof t->path, "%s", path);
    ecg_code rc;
    if (!isfinite(t->opt.fs) || !isfinite(t->opt.mv_per_unit)) {
        free(t);
        return err_set(err, ECG_EINVAL, "%s: bad rate %g or scale %g", path, opt->fs,
                       opt->mv_per_unit);
    }
    pthread_mutex_lock(&hdf5_lock);
    H5E_BEGIN_TRY {
        rc = open_locked(t, path, err);
        if (rc) close_handles(t);
    }
    H5E_END_TRY;
    pthread_mutex_unlock(&hdf5_lock);
    if (!rc) {
        t->row = malloc(t->len * ECG_N_LEADS * sizeof *t->row);
        if (!t->row) {
            hdf5_tracings_close(t);
            return err_set(err, ECG_ENOMEM, "%s: no memory for one exam", path);
        }
    }
    if (rc) {
        free(t);
        return rc;
    }
    *out = t;
    return ECG_OK;
}

void hdf5_tracings_close(hdf5_tracings *t) {
    if (!t) return;
    pthread_mutex_lock(&hdf5_lock);
    H5E_BEGIN_TRY {
        close_handles(t);
    }
    H5E_END_TRY;
    pthread_mutex_unlock(&hdf5_lock);
    free(t->row);
    free(t);
}

size_t hdf5_tracings_count(const hdf5_tracings *t) {
    return t->n;
}

size_t hdf5_tracings_length(const hdf5_tracings *t) {
    return t->len;
}

/* One hyperslab [first, first + n) of a dataset of rank 1 or 3 into out as mem_type. */
static herr_t read_slab(hid_t d, int rank, hsize_t first, hsize_t n, hsize_t len, hid_t mem_type,
                        void *out) {
    hsize_t start[3] = {first, 0, 0}, count[3] = {n, len, ECG_N_LEADS};
    hsize_t total = rank == 1 ? n : n * len * ECG_N_LEADS;
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, &total, NULL);
    herr_t st = -1;
    if (fs >= 0 && ms >= 0 &&
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
        st = H5Dread(d, mem_type, ms, fs, H5P_DEFAULT, out);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return st;
}

ecg_code hdf5_tracings_read_block(hdf5_tracings *t, size_t first, size_t n, float *out,
                                  int64_t *ids, ecg_err *err) {
    if (first > t->n || n > t->n - first)
        return err_set(err, ECG_EINVAL, "%s: exams %zu..%zu past the %zu in the file", t->path,
                       first, first + n, t->n);
    if (n == 0) return ECG_OK;
    ecg_code rc = ECG_OK;
    char msg[200] = "";
    pthread_mutex_lock(&hdf5_lock);
    H5E_BEGIN_TRY {
        if (read_slab(t->tracings, 3, first, n, t->len, H5T_NATIVE_FLOAT, out) < 0) {
            h5_message(msg);
            rc = err_set(err, ECG_EIO, "%s: reading '%s' exams %zu..%zu: %s", t->path,
                         t->opt.tracings, first, first + n - 1, msg);
        } else if (ids && t->ids >= 0 &&
                   read_slab(t->ids, 1, first, n, 0, H5T_NATIVE_INT64, ids) < 0) {
            h5_message(msg);
            rc = err_set(err, ECG_EIO, "%s: reading '%s' %zu..%zu: %s", t->path, t->opt.exam_ids,
                         first, first + n - 1, msg);
        }
    }
    H5E_END_TRY;
    pthread_mutex_unlock(&hdf5_lock);
    if (!rc && ids && t->ids < 0)
        for (size_t i = 0; i < n; i++)
            ids[i] = (int64_t)(first + i);
    return rc;
}

/* One stored exam [len][12] into an ecg_record [12][kept] in mV. */
static ecg_code exam_to_record(const hdf5_tracings *t, const float *row, const char *name,
                               ecg_record *r, ecg_err *err) {
    size_t len = t->len, a = 0, b = len;
    if (!t->opt.keep_padding) {
        while (a < b) {
            int z = 1;
            for (int c = 0; c < ECG_N_LEADS; c++)
                z &= row[a * ECG_N_LEADS + (size_t)c] == 0;
            if (!z) break;
            a++;
        }
        while (b > a) {
            int z = 1;
            for (int c = 0; c < ECG_N_LEADS; c++)
                z &= row[(b - 1) * ECG_N_LEADS + (size_t)c] == 0;
            if (!z) break;
            b--;
        }
        if (a == b) {
            memset(r, 0, sizeof *r);
            return err_set(err, ECG_EFORMAT, "%s: exam %s: all samples are zero (an empty slot)",
                           t->path, name);
        }
    }
    ecg_code rc = record_alloc(r, ECG_N_LEADS, b - a, err);
    if (rc) return rc;
    r->fs = t->opt.fs;
    snprintf(r->record_name, sizeof r->record_name, "%s", name);
    float s = (float)t->opt.mv_per_unit;
    for (int c = 0; c < ECG_N_LEADS; c++) {
        snprintf(r->channels[c].name, sizeof r->channels[c].name, "%s", code15_leads[c]);
        snprintf(r->channels[c].units, sizeof r->channels[c].units, "mV");
        r->channels[c].lead = record_lead_from_name(code15_leads[c]);
        float *dst = r->signal + (size_t)c * (b - a);
        for (size_t i = a; i < b; i++)
            dst[i - a] = row[i * ECG_N_LEADS + (size_t)c] * s;
    }
    return ECG_OK;
}

static void exam_name(const hdf5_tracings *t, int64_t id, size_t row, char *buf, size_t cap) {
    if (t->ids >= 0)
        snprintf(buf, cap, "%lld", (long long)id);
    else
        snprintf(buf, cap, "row%zu", row);
}

ecg_code hdf5_tracings_read(hdf5_tracings *t, size_t i, ecg_record *r, ecg_err *err) {
    memset(r, 0, sizeof *r);
    int64_t id = 0;
    ecg_code rc = hdf5_tracings_read_block(t, i, 1, t->row, &id, err);
    if (rc) return rc;
    char name[32];
    exam_name(t, id, i, name, sizeof name);
    return exam_to_record(t, t->row, name, r, err);
}

/* ---- import --------------------------------------------------------------------------------- */

typedef struct {
    store_prepared p;
    ecg_code code;
    char name[32];
    char msg[512];
} import_slot;

ecg_code store_import_hdf5(store_writer *w, const char *path, const hdf5_tracings_options *hopt,
                           const store_import_opts *opt, store_import_summary *sum, ecg_err *err) {
    store_import_opts o = store_import_start(opt, sum);
    hdf5_tracings *t;
    ecg_code rc = hdf5_tracings_open(&t, path, hopt, err);
    if (rc) return rc;
    size_t nb_max = (size_t)o.batch, row = t->len * ECG_N_LEADS;
    sum->found = t->n;
    sum->skips = calloc(STORE_MAX_SKIPS, sizeof *sum->skips);
    float *block =
        nb_max <= SIZE_MAX / sizeof(float) / row ? malloc(nb_max * row * sizeof *block) : NULL;
    int64_t *ids = malloc(nb_max * sizeof *ids);
    import_slot *slots = calloc(nb_max, sizeof *slots);
    if (!sum->skips || !block || !ids || !slots)
        rc = err_set(err, ECG_ENOMEM, "%s: no memory for a block of %zu exams", path, nb_max);
    for (size_t b0 = 0; !rc && b0 < t->n; b0 += nb_max) {
        if (o.stop && atomic_load(o.stop)) {
            sum->stopped = 1;
            break;
        }
        int nb = (int)(t->n - b0 < nb_max ? t->n - b0 : nb_max);
        if ((rc = hdf5_tracings_read_block(t, b0, (size_t)nb, block, ids, err))) break;
#pragma omp parallel for schedule(dynamic, 1)
        for (int s = 0; s < nb; s++) {
            import_slot *sl = &slots[s];
            ecg_err e = {0};
            ecg_record r;
            exam_name(t, ids[s], b0 + (size_t)s, sl->name, sizeof sl->name);
            sl->code = exam_to_record(t, block + (size_t)s * row, sl->name, &r, &e);
            if (!sl->code) {
                sl->code = store_prepare(&sl->p, &r, &e);
                record_free(&r);
            }
            if (sl->code) snprintf(sl->msg, sizeof sl->msg, "%s", e.msg);
        }
        for (int s = 0; s < nb; s++) {
            import_slot *sl = &slots[s];
            if (!rc && !sl->code) {
                rc = store_summary_add(w, o.labels, sum, sl->name, &sl->p, err);
            } else if (!rc) {
                char what[64];
                snprintf(what, sizeof what, "exam %s", sl->name);
                store_summary_skip(sum, what, sl->code, sl->msg);
            }
            store_prepared_free(&sl->p);
        }
        if (!rc && o.progress) o.progress(o.progress_ctx, b0 + (size_t)nb, t->n, sum->skipped);
    }
    free(slots);
    free(ids);
    free(block);
    hdf5_tracings_close(t);
    if (!rc) rc = store_writer_flush(w, err);
    return rc;
}

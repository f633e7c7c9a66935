/* test_hdf5.c — CODE-15%-layout HDF5 files written here with the HDF5 C API (a few exams with
 * known values, zero padding and an empty slot), read back exactly, imported into the store, and
 * malformed files (missing datasets, wrong shapes, wrong types) refused with their message. */
#include "testutil.h"

#include <hdf5.h>
#include <unistd.h>

#include "core/data/hdf5_tracings.h"
#include "core/data/resample.h"
#include "core/data/store.h"

static char tmpdir[] = "/tmp/ecgfm_hdf5_XXXXXX";

static int setup(void **state) {
    (void)state;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* the writer's own failures are asserted below */
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd);
}

#define N_EXAMS 5
#define LEN 256
#define PAD_A 20 /* exam 2 is zero for its first PAD_A and last PAD_B samples */
#define PAD_B 30

/* Stored value of exam e, sample t, lead c: exact in float32. Exam 4 is an empty slot. */
static float value(int e, size_t t, int c) {
    if (e == 4) return 0;
    if (e == 2 && (t < PAD_A || t >= LEN - PAD_B)) return 0;
    return (float)((int)((t * 7 + (size_t)c * 131 + (size_t)e * 977) % 2001) - 1000) / 1024.0f;
}

static void path_of(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static void add_dataset(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims,
                        const void *data, int chunked) {
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    assert_true(s >= 0 && p >= 0);
    if (chunked) {
        hsize_t chunk[3] = {1, dims[1], dims[2]}; /* one exam per chunk, as h5py writes them */
        assert_true(H5Pset_chunk(p, rank, chunk) >= 0);
    }
    hid_t d = H5Dcreate2(f, name, type, s, H5P_DEFAULT, p, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(d);
    H5Pclose(p);
    H5Sclose(s);
}

/* The good file: tracings N x LEN x 12 float32 (or float64), exam_id int64 1001.. */
static void write_good(const char *name, int f64) {
    char path[512];
    path_of(path, sizeof path, name);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    size_t n = (size_t)N_EXAMS * LEN * 12;
    float *x = malloc(n * sizeof *x);
    double *xd = malloc(n * sizeof *xd);
    assert_true(x && xd);
    for (int e = 0; e < N_EXAMS; e++)
        for (size_t t = 0; t < LEN; t++)
            for (int c = 0; c < 12; c++) {
                size_t i = ((size_t)e * LEN + t) * 12 + (size_t)c;
                x[i] = value(e, t, c);
                xd[i] = x[i];
            }
    hsize_t dims[3] = {N_EXAMS, LEN, 12}, nd = N_EXAMS;
    add_dataset(f, "tracings", f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT, 3, dims,
                f64 ? (void *)xd : (void *)x, 1);
    int64_t ids[N_EXAMS] = {1001, 1002, 1003, 1004, 1005};
    add_dataset(f, "exam_id", H5T_NATIVE_INT64, 1, &nd, ids, 0);
    H5Fclose(f);
    free(x);
    free(xd);
}

static void test_read_back(void **state) {
    (void)state;
    write_good("good.h5", 0);
    char path[512];
    path_of(path, sizeof path, "good.h5");
    hdf5_tracings *t;
    ecg_err err = {0};
    if (hdf5_tracings_open(&t, path, NULL, &err)) fail_msg("%s", err.msg);
    assert_int_equal(hdf5_tracings_count(t), N_EXAMS);
    assert_int_equal(hdf5_tracings_length(t), LEN);

    /* A block of three exams, exactly as stored. */
    float *blk = malloc(3 * LEN * 12 * sizeof *blk);
    int64_t ids[3];
    assert_non_null(blk);
    if (hdf5_tracings_read_block(t, 1, 3, blk, ids, &err)) fail_msg("%s", err.msg);
    assert_int_equal(ids[0], 1002);
    assert_int_equal(ids[2], 1004);
    for (int e = 0; e < 3; e++)
        for (size_t t2 = 0; t2 < LEN; t2++)
            for (int c = 0; c < 12; c++)
                assert_true(blk[((size_t)e * LEN + t2) * 12 + (size_t)c] == value(e + 1, t2, c));
    assert_int_equal(hdf5_tracings_read_block(t, 3, 3, blk, ids, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "exams 3..6 past the 5 in the file"));
    free(blk);

    /* One exam as a record: 12 leads in CODE-15% order, 400 Hz, mV. */
    ecg_record r;
    if (hdf5_tracings_read(t, 0, &r, &err)) fail_msg("%s", err.msg);
    assert_string_equal(r.record_name, "1001");
    assert_int_equal(r.n_channels, 12);
    assert_int_equal(r.n_samples, LEN);
    assert_true(r.fs == 400);
    assert_string_equal(r.channels[0].name, "DI");
    assert_string_equal(r.channels[3].name, "AVR");
    for (int c = 0; c < 12; c++) {
        assert_int_equal(r.channels[c].lead, c);
        for (size_t i = 0; i < LEN; i++)
            assert_true(r.signal[(size_t)c * LEN + i] == value(0, i, c));
    }
    record_free(&r);

    /* The padded exam is trimmed to its signal; kept whole on request. */
    if (hdf5_tracings_read(t, 2, &r, &err)) fail_msg("%s", err.msg);
    assert_int_equal(r.n_samples, LEN - PAD_A - PAD_B);
    assert_true(r.signal[0] == value(2, PAD_A, 0));
    assert_true(r.signal[11 * r.n_samples + r.n_samples - 1] == value(2, LEN - PAD_B - 1, 11));
    record_free(&r);
    assert_int_equal(hdf5_tracings_read(t, 4, &r, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "exam 1005: all samples are zero (an empty slot)"));
    hdf5_tracings_close(t);

    hdf5_tracings_options o = {.keep_padding = 1, .mv_per_unit = 0.5, .fs = 500};
    if (hdf5_tracings_open(&t, path, &o, &err)) fail_msg("%s", err.msg);
    if (hdf5_tracings_read(t, 2, &r, &err)) fail_msg("%s", err.msg);
    assert_int_equal(r.n_samples, LEN);
    assert_true(r.fs == 500);
    assert_true(r.signal[5 * LEN + 100] == 0.5f * value(2, 100, 5));
    record_free(&r);
    hdf5_tracings_close(t);

    /* float64 tracings are converted; a file without ids names exams by row. */
    write_good("f64.h5", 1);
    path_of(path, sizeof path, "f64.h5");
    hdf5_tracings_options noid = {.exam_ids = ""};
    if (hdf5_tracings_open(&t, path, &noid, &err)) fail_msg("%s", err.msg);
    if (hdf5_tracings_read(t, 3, &r, &err)) fail_msg("%s", err.msg);
    assert_string_equal(r.record_name, "row3");
    assert_true(r.signal[7 * LEN + 9] == value(3, 9, 7));
    record_free(&r);
    hdf5_tracings_close(t);
}

static size_t progress_calls, progress_done;
static void on_progress(void *ctx, size_t done, size_t total, size_t skipped) {
    (void)ctx;
    (void)skipped;
    assert_int_equal(total, N_EXAMS);
    progress_calls++;
    progress_done = done;
}

static void test_import(void **state) {
    (void)state;
    write_good("import.h5", 0);
    char path[512], dst[512], csv[512];
    path_of(path, sizeof path, "import.h5");
    path_of(dst, sizeof dst, "store");
    path_of(csv, sizeof csv, "exams.csv");
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("exam_id,age,is_male\n1001,56,1\n1003,70,0\n", f);
    fclose(f);
    store_labels *labels;
    ecg_err err = {0};
    const char *cols[] = {"age", "is_male"};
    if (store_labels_load_csv(&labels, csv, "exam_id", cols, 2, &err)) fail_msg("%s", err.msg);

    store_writer *w;
    if (store_writer_open(&w, dst, NULL, &err)) fail_msg("%s", err.msg);
    store_import_opts o = {.progress = on_progress, .labels = labels, .batch = 2};
    store_import_summary sum;
    if (store_import_hdf5(w, path, NULL, &o, &sum, &err)) fail_msg("%s", err.msg);
    assert_int_equal(sum.found, 5);
    assert_int_equal(sum.imported, 4);
    assert_int_equal(sum.skipped, 1);
    assert_int_equal(sum.unlabelled, 2); /* 1002 and 1004 have no row */
    assert_string_equal(sum.skips[0].path, "exam 1005");
    assert_non_null(strstr(sum.skips[0].reason, "all samples are zero"));
    assert_int_equal(progress_calls, 3); /* blocks of 2, 2, 1 */
    assert_int_equal(progress_done, 5);
    store_import_summary_free(&sum);
    if (store_writer_close(w, &err)) fail_msg("%s", err.msg);
    store_labels_free(labels);

    store_dataset *ds;
    if (store_open(&ds, dst, 0, &err)) fail_msg("%s", err.msg);
    assert_int_equal(store_count(ds), 4);
    const char *want_id[] = {"1001", "1002", "1003", "1004"};
    const size_t want_in[] = {LEN, LEN, LEN - PAD_A - PAD_B, LEN};
    const int32_t want_age[] = {56, -1, 70, -1};
    resample_plan plan;
    if (resample_plan_init(&plan, 3, 5, &err)) fail_msg("%s", err.msg); /* 400 -> 240 */
    for (size_t i = 0; i < 4; i++) {
        store_record_info info;
        if (store_info(ds, i, &info, &err)) fail_msg("%s", err.msg);
        assert_int_equal(info.source_id_len, 4);
        assert_memory_equal(info.source_id, want_id[i], 4);
        assert_true(info.orig_fs == 400);
        assert_int_equal(info.n_samples, resample_plan_out_len(&plan, want_in[i]));
        assert_int_equal(info.lead_mask, 0xfff);
        assert_int_equal(info.labels[0], want_age[i]);
    }
    /* Exam 1001 lead V2 read back = the stored samples resampled to 240 Hz (int16 steps). */
    store_record_info info;
    store_info(ds, 0, &info, &err);
    float *x = malloc(12 * info.n_samples * sizeof *x), in[LEN];
    float *y = malloc(info.n_samples * sizeof *y);
    assert_true(x && y);
    if (store_read(ds, 0, x, info.n_samples, &info, &err)) fail_msg("%s", err.msg);
    for (size_t t2 = 0; t2 < LEN; t2++)
        in[t2] = value(0, t2, 7);
    resample_plan_apply(&plan, in, LEN, y);
    for (size_t t2 = 0; t2 < info.n_samples; t2++)
        assert_true(fabsf(x[7 * info.n_samples + t2] - y[t2]) <= info.gain[7] * 0.5f + 1e-6f);
    free(x);
    free(y);
    resample_plan_free(&plan);
    store_close(ds);
}

/* ---- malformed files ---- */

static void write_bad(const char *name, int variant) {
    char path[512];
    path_of(path, sizeof path, name);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    static float x[3 * 64 * 12];
    static int16_t xi[3 * 64 * 12];
    int64_t ids[3] = {1, 2, 3};
    double idd[3] = {1, 2, 3};
    hsize_t d3[3] = {3, 64, 12}, d2[2] = {3, 64 * 12}, d8[3] = {3, 96, 8}, n3 = 3, n2 = 2;
    switch (variant) {
    case 0: /* no tracings */ add_dataset(f, "exam_id", H5T_NATIVE_INT64, 1, &n3, ids, 0); break;
    case 1: /* rank 2 */ add_dataset(f, "tracings", H5T_NATIVE_FLOAT, 2, d2, x, 0); break;
    case 2: /* 8 leads */ add_dataset(f, "tracings", H5T_NATIVE_FLOAT, 3, d8, x, 0); break;
    case 3: /* int16 */ add_dataset(f, "tracings", H5T_NATIVE_INT16, 3, d3, xi, 0); break;
    case 4: /* no exam_id */ add_dataset(f, "tracings", H5T_NATIVE_FLOAT, 3, d3, x, 0); break;
    case 5: /* too few ids */
        add_dataset(f, "tracings", H5T_NATIVE_FLOAT, 3, d3, x, 0);
        add_dataset(f, "exam_id", H5T_NATIVE_INT64, 1, &n2, ids, 0);
        break;
    case 6: /* float ids */
        add_dataset(f, "tracings", H5T_NATIVE_FLOAT, 3, d3, x, 0);
        add_dataset(f, "exam_id", H5T_NATIVE_DOUBLE, 1, &n3, idd, 0);
        break;
    }
    H5Fclose(f);
}

static void test_malformed(void **state) {
    (void)state;
    const struct {
        const char *msg;
    } want[] = {
        {"no dataset 'tracings' (the CODE-15% layout has 'tracings' and 'exam_id')"},
        {"dataset 'tracings' has shape 3 x 768: expected exams x samples x 12 leads"},
        {"dataset 'tracings' has shape 3 x 96 x 8: expected exams x samples x 12 leads"},
        {"dataset 'tracings' holds integers of 2 bytes: expected float32 or float64"},
        {"no dataset 'exam_id' of exam ids"},
        {"dataset 'exam_id' has shape 2: expected 3 exam ids"},
        {"dataset 'exam_id' holds floats: expected integer exam ids"},
    };
    for (int v = 0; v < 7; v++) {
        char name[32], path[512];
        snprintf(name, sizeof name, "bad%d.h5", v);
        write_bad(name, v);
        path_of(path, sizeof path, name);
        hdf5_tracings *t = (hdf5_tracings *)&t;
        ecg_err err = {0};
        ecg_code rc = hdf5_tracings_open(&t, path, NULL, &err);
        if (rc != ECG_EFORMAT || !strstr(err.msg, want[v].msg) || !strstr(err.msg, name))
            fail_msg("variant %d: %s '%s', want '%s'", v, err_code_name(rc), err.msg, want[v].msg);
        assert_null(t);
        /* The import refuses it the same way, leaving the store empty. */
        char dst[512];
        path_of(dst, sizeof dst, "bad_store");
        store_writer *w;
        if (store_writer_open(&w, dst, NULL, &err)) fail_msg("%s", err.msg);
        store_import_summary sum;
        assert_int_equal(store_import_hdf5(w, path, NULL, NULL, &sum, &err), ECG_EFORMAT);
        store_import_summary_free(&sum);
        assert_int_equal(store_writer_count(w), 0);
        store_writer_abort(w);
    }
    /* Variant 4 is fine when told there are no ids. */
    char path[512];
    path_of(path, sizeof path, "bad4.h5");
    hdf5_tracings *t;
    ecg_err err = {0};
    hdf5_tracings_options noid = {.exam_ids = ""};
    if (hdf5_tracings_open(&t, path, &noid, &err)) fail_msg("%s", err.msg);
    assert_int_equal(hdf5_tracings_count(t), 3);
    hdf5_tracings_close(t);

    /* Not HDF5 at all, and no file. */
    path_of(path, sizeof path, "text.h5");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("exam_id,tracings\n1,2\n", f);
    fclose(f);
    assert_int_equal(hdf5_tracings_open(&t, path, NULL, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "text.h5: not an HDF5 file"));
    path_of(path, sizeof path, "missing.h5");
    assert_int_equal(hdf5_tracings_open(&t, path, NULL, &err), ECG_ENOTFOUND);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_back),
        cmocka_unit_test(test_import),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_store.c — the dataset store: round trips of real WFDB records within int16 quantisation,
 * lead masks, labels, nested seeded subsets, crash safety, and corrupted shards refused. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "core/data/resample.h"
#include "core/data/store.h"
#include "core/data/store_impl.h"
#include "core/data/wfdb.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void rm_rf(const char *dir) {
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *make_tmpdir(void) {
    const char *t = getenv("TMPDIR");
    char *d = malloc(4096);
    assert_non_null(d);
    snprintf(d, 4096, "%s/ecgfm_store_XXXXXX", t ? t : "/tmp");
    assert_non_null(mkdtemp(d));
    return d;
}

static void sub_path(char *buf, size_t cap, const char *dir, const char *name) {
    snprintf(buf, cap, "%s/%s", dir, name);
}

static void spit(const char *path, const void *b, size_t n) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

static void copy_file(const char *from, const char *to) {
    size_t n;
    uint8_t *b = tu_slurp(from, &n);
    spit(to, b, n);
    free(b);
}

static int count_files(const char *dir, const char *substr) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, substr)) n++;
    closedir(d);
    return n;
}

/* The independent reference: 12-lead view, NaN -> 0, resample_rate (the resampler's public path,
 * not the store's cached plan). */
static float *reference_240(const ecg_record *r, size_t *n_out, int mask[ECG_N_LEADS]) {
    float *tmp = malloc(ECG_N_LEADS * r->n_samples * sizeof *tmp);
    assert_non_null(tmp);
    record_to_12lead(r, tmp, mask);
    size_t n = resample_out_len(r->n_samples, r->fs, STORE_FS);
    if (r->fs == STORE_FS) n = r->n_samples;
    float *y = calloc(ECG_N_LEADS * n, sizeof *y);
    assert_non_null(y);
    for (int k = 0; k < ECG_N_LEADS; k++) {
        if (!mask[k]) continue;
        float *x = tmp + (size_t)k * r->n_samples;
        for (size_t t = 0; t < r->n_samples; t++)
            if (!isfinite(x[t])) x[t] = 0;
        ecg_err err;
        assert_int_equal(resample_rate(x, r->n_samples, r->fs, STORE_FS, y + (size_t)k * n, &err),
                         ECG_OK);
    }
    free(tmp);
    *n_out = n;
    return y;
}

/* Synthetic [12][n] test signal, leads scaled differently. */
static float *synth(size_t n, uint64_t seed) {
    float *x = tu_randn(ECG_N_LEADS * n, seed, 0.3f);
    for (int k = 0; k < ECG_N_LEADS; k++)
        for (size_t t = 0; t < n; t++)
            x[(size_t)k * n + t] *= 0.5f + 0.2f * (float)k;
    return x;
}

/* ---- CRC ------------------------------------------------------------------------------------ */

static void test_crc32c(void **state) {
    (void)state;
    /* The CRC-32C check value (RFC 3720 appendix B.4 vectors). */
    assert_int_equal(store_crc32c(0, "123456789", 9), 0xE3069283u);
    uint8_t zeros[32] = {0}, ones[32];
    memset(ones, 0xff, sizeof ones);
    assert_int_equal(store_crc32c(0, zeros, 32), 0x8A9136AAu);
    assert_int_equal(store_crc32c(0, ones, 32), 0x62A8AB43u);
    /* Chained over pieces equals one pass, at every split (alignment paths). */
    uint8_t buf[100];
    for (int i = 0; i < 100; i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    uint32_t whole = store_crc32c(0, buf, 100);
    for (int s = 0; s <= 100; s++)
        assert_int_equal(store_crc32c(store_crc32c(0, buf, (size_t)s), buf + s, 100 - (size_t)s),
                         whole);
}

/* ---- round trip of real records -------------------------------------------------------------- */

typedef struct {
    const char *rel;
    uint16_t mask;
} real_rec;

static const real_rec REAL[] = {
    {"ludb/1", 0xfff},                 /* 500 Hz, 12 leads */
    {"cinc2021/HR06000", 0xfff},       /* 500 Hz, .mat */
    {"ptbxl/00001_lr", 0xfff},         /* 100 Hz */
    {"mitdb/100", 1u << 1 | 1u << 10}, /* 360 Hz, MLII -> II, V5 */
    {"cpsc2021/data_8_4", 0x3},        /* 200 Hz, I and II */
};
#define N_REAL (int)(sizeof REAL / sizeof REAL[0])

static void test_round_trip_real(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    ecg_err err;
    store_writer *w;
    assert_int_equal(store_writer_open(&w, dir, NULL, &err), ECG_OK);
    assert_int_equal(store_writer_set_label_name(w, 0, "index", &err), ECG_OK);
    for (int i = 0; i < N_REAL; i++) {
        char path[4096];
        tu_data_path(path, sizeof path, REAL[i].rel);
        ecg_record r;
        assert_int_equal(wfdb_read_record(&r, path, NULL, &err), ECG_OK);
        int32_t labels[STORE_N_LABELS] = {i, -1, 100 + i, -7};
        assert_int_equal(store_import_record(w, &r, labels, REAL[i].rel, &err), ECG_OK);
        record_free(&r);
    }
    assert_int_equal(store_writer_close(w, &err), ECG_OK);

    store_dataset *ds;
    assert_int_equal(store_open(&ds, dir, STORE_OPEN_VERIFY, &err), ECG_OK);
    assert_int_equal(store_count(ds), N_REAL);
    assert_string_equal(store_label_name(ds, 0), "index");
    assert_null(store_label_name(ds, 1));
    double worst_ratio = 0, worst_exact = 0;
    for (int i = 0; i < N_REAL; i++) {
        char path[4096];
        tu_data_path(path, sizeof path, REAL[i].rel);
        ecg_record r;
        assert_int_equal(wfdb_read_record(&r, path, NULL, &err), ECG_OK);
        int mask[ECG_N_LEADS];
        size_t n;
        float *ref = reference_240(&r, &n, mask);
        store_record_info info;
        assert_int_equal(store_info(ds, (size_t)i, &info, &err), ECG_OK);
        assert_int_equal(info.n_samples, n);
        assert_int_equal(info.lead_mask, REAL[i].mask);
        assert_int_equal(info.encoding, STORE_INT16);
        assert_true(info.orig_fs == r.fs);
        assert_string_equal(info.source_id, REAL[i].rel);
        assert_int_equal(info.labels[0], i);
        assert_int_equal(info.labels[1], -1);
        assert_int_equal(info.labels[2], 100 + i);
        assert_int_equal(info.labels[3], -7);
        float *out = malloc(ECG_N_LEADS * n * sizeof *out);
        assert_non_null(out);
        /* Too small a buffer is refused, with the length reported. */
        assert_int_equal(store_read(ds, (size_t)i, out, n - 1, &info, &err), ECG_EINVAL);
        assert_int_equal(info.n_samples, n);
        assert_int_equal(store_read(ds, (size_t)i, out, n, &info, &err), ECG_OK);
        const void *raw;
        store_record_info info2;
        assert_int_equal(store_raw(ds, (size_t)i, &info2, &raw, &err), ECG_OK);
        for (int k = 0; k < ECG_N_LEADS; k++) {
            assert_int_equal(mask[k], (REAL[i].mask >> k) & 1);
            const float *a = out + (size_t)k * n, *b = ref + (size_t)k * n;
            double g = info.gain[k], maxabs = 0, maxerr = 0;
            for (size_t t = 0; t < n; t++) {
                maxabs = fmax(maxabs, fabs(b[t]));
                maxerr = fmax(maxerr, fabs((double)a[t] - b[t]));
            }
            if (!mask[k]) {
                assert_true(maxerr == 0 && maxabs == 0 && g == 0);
                continue;
            }
            /* Gain from the record's max |value|; error within half a step, up to one float32
             * rounding of the product q * gain (|q * gain| <= max|x|: 2^-24 relative). */
            assert_true(fabs(g - maxabs / 32767.0) <= 1e-6 * g);
            assert_true(maxerr <= 0.5 * g + maxabs * 0x1p-24);
            worst_ratio = fmax(worst_ratio, maxerr / g);
            /* The stored int16 codes are within half a step in exact arithmetic. */
            const int16_t *q = (const int16_t *)raw + (size_t)k * n;
            for (size_t t = 0; t < n; t++)
                worst_exact = fmax(worst_exact, fabs(q[t] * g - b[t]) / g);
        }
        /* A window across the end is zero-padded, and equal to the full read inside. */
        size_t len = 700, start = n - 300;
        float *win = malloc(ECG_N_LEADS * len * sizeof *win);
        assert_non_null(win);
        assert_int_equal(store_read_window(ds, (size_t)i, start, len, win, &err), ECG_OK);
        for (int k = 0; k < ECG_N_LEADS; k++)
            for (size_t t = 0; t < len; t++)
                assert_true(win[(size_t)k * len + t] ==
                            (t < 300 ? out[(size_t)k * n + start + t] : 0.0f));
        free(win);
        free(out);
        free(ref);
        record_free(&r);
    }
    printf("round trip: max |read - resampled| = %.4f steps (exact int16 codes %.4f steps)\n",
           worst_ratio, worst_exact);
    assert_true(worst_exact <= 0.5 + 1e-6);
    assert_int_equal(store_read(ds, N_REAL, NULL, 0, NULL, &err), ECG_EINVAL);
    store_close(ds);
    rm_rf(dir);
    free(dir);
}

/* ---- preparing a record ---------------------------------------------------------------------- */

static void test_prepare(void **state) {
    (void)state;
    ecg_err err;
    ecg_record r;
    size_t n = 1000;
    assert_int_equal(record_alloc(&r, 4, n, &err), ECG_OK);
    snprintf(r.record_name, sizeof r.record_name, "made");
    const char *names[4] = {"V2", "RESP", "lead I", "aVF"};
    for (int c = 0; c < 4; c++) {
        snprintf(r.channels[c].name, sizeof r.channels[c].name, "%s", names[c]);
        r.channels[c].lead = record_lead_from_name(names[c]);
        for (size_t t = 0; t < n; t++)
            r.signal[(size_t)c * n + t] = sinf(0.01f * (float)t * (float)(c + 1));
    }
    r.signal[0 * n + 10] = NAN; /* V2: three bad samples */
    r.signal[0 * n + 11] = INFINITY;
    r.signal[0 * n + 500] = -INFINITY;
    for (size_t t = 0; t < n; t++)
        r.signal[3 * n + t] = NAN; /* aVF: all missing */

    /* 240 Hz: copied as is (NaN -> 0). */
    r.fs = 240;
    store_prepared p;
    assert_int_equal(store_prepare(&p, &r, &err), ECG_OK);
    assert_int_equal(p.n, n);
    assert_int_equal(p.lead_mask, 1u << 0 | 1u << 7);
    assert_int_equal(p.nan_filled, 3);
    assert_true(p.x[7 * n + 10] == 0 && p.x[7 * n + 11] == 0 && p.x[7 * n + 12] == r.signal[12]);
    assert_memory_equal(p.x + 0 * n, r.signal + 2 * n, n * sizeof(float)); /* lead I */
    for (size_t t = 0; t < n; t++)
        assert_true(p.x[5 * n + t] == 0); /* aVF */
    store_prepared_free(&p);

    /* 359.7 Hz: no small ratio, the sinc path; equal to resample_rate on the same lead. */
    r.fs = 359.7;
    assert_int_equal(store_prepare(&p, &r, &err), ECG_OK);
    size_t m = resample_out_len(n, r.fs, STORE_FS);
    assert_int_equal(p.n, m);
    float *y = malloc(m * sizeof *y);
    assert_int_equal(resample_rate(r.signal + 2 * n, n, r.fs, STORE_FS, y, &err), ECG_OK);
    assert_memory_equal(p.x, y, m * sizeof *y);
    assert_true(p.orig_fs == 359.7);
    store_prepared_free(&p);
    free(y);

    /* Refusals. */
    r.fs = 0;
    assert_int_equal(store_prepare(&p, &r, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "sampling rate"));
    r.fs = 500;
    for (int c = 0; c < 4; c++)
        r.channels[c].lead = c == 0 ? -1 : r.channels[c].lead;
    r.channels[2].lead = -1;
    assert_int_equal(store_prepare(&p, &r, &err), ECG_EINVAL); /* only aVF left, all NaN */
    assert_non_null(strstr(err.msg, "missing"));
    r.channels[3].lead = -1;
    assert_int_equal(store_prepare(&p, &r, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "none of its 4 channels"));
    r.n_samples = 0;
    assert_int_equal(store_prepare(&p, &r, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "no samples"));
    r.n_samples = n;
    record_free(&r);
}

/* ---- encodings, masks, shards ------------------------------------------------------------------
 */

static void test_float32_and_auto(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    ecg_err err;
    store_writer *w;
    store_writer_opts o = {.encode = STORE_ENCODE_AUTO, .max_step_mv = 0.001f};
    assert_int_equal(store_writer_open(&w, dir, &o, &err), ECG_OK);
    size_t n = 480;
    float *a = synth(n, 1), *b = synth(n, 2);
    b[2 * n + 17] = 80.0f; /* a spike on lead III: int16 steps of 2.4 uV */
    assert_int_equal(store_writer_add(w, a, n, 0xfff, NULL, 500, "small", &err), ECG_OK);
    assert_int_equal(store_writer_add(w, b, n, 0xff7, NULL, 500, "spiky", &err), ECG_OK);
    /* non-finite values are refused */
    float keep = a[5];
    a[5] = NAN;
    assert_int_equal(store_writer_add(w, a, n, 0xfff, NULL, 500, "nan", &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "non-finite"));
    a[5] = keep;
    assert_int_equal(store_writer_add(w, a, n, 0x1fff, NULL, 500, "mask", &err), ECG_EINVAL);
    assert_int_equal(store_writer_add(w, a, 0, 0xfff, NULL, 500, "empty", &err), ECG_EINVAL);
    assert_int_equal(store_writer_close(w, &err), ECG_OK);

    store_dataset *ds;
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_OK);
    assert_int_equal(store_count(ds), 2);
    float *out = malloc(ECG_N_LEADS * n * sizeof *out);
    store_record_info info;
    assert_int_equal(store_read(ds, 0, out, n, &info, &err), ECG_OK);
    assert_int_equal(info.encoding, STORE_INT16);
    assert_int_equal(info.labels[0], STORE_LABEL_MISSING);
    assert_int_equal(store_read(ds, 1, out, n, &info, &err), ECG_OK);
    assert_int_equal(info.encoding, STORE_FLOAT32);
    assert_int_equal(info.lead_mask, 0xff7);
    /* float32 is exact; the masked-out lead aVR is stored as zeros */
    for (int k = 0; k < ECG_N_LEADS; k++)
        for (size_t t = 0; t < n; t++)
            assert_true(out[(size_t)k * n + t] == (k == 3 ? 0.0f : b[(size_t)k * n + t]));
    store_close(ds);
    rm_rf(dir);

    /* STORE_ENCODE_FLOAT32 for everything; a spike on a present lead goes float32 under AUTO */
    o.encode = STORE_ENCODE_FLOAT32;
    assert_int_equal(store_writer_open(&w, dir, &o, &err), ECG_OK);
    assert_int_equal(store_writer_add(w, a, n, 0xfff, NULL, 0, NULL, &err), ECG_OK);
    assert_int_equal(store_writer_close(w, &err), ECG_OK);
    assert_int_equal(store_open(&ds, dir, STORE_OPEN_VERIFY, &err), ECG_OK);
    assert_int_equal(store_read(ds, 0, out, n, &info, &err), ECG_OK);
    assert_int_equal(info.encoding, STORE_FLOAT32);
    assert_string_equal(info.source_id, "");
    assert_memory_equal(out, a, ECG_N_LEADS * n * sizeof *out);
    const void *raw;
    assert_int_equal(store_raw(ds, 0, &info, &raw, &err), ECG_OK);
    assert_int_equal((uintptr_t)raw % 8, 0);
    assert_memory_equal(raw, a, ECG_N_LEADS * n * sizeof *out);
    store_close(ds);
    free(out);
    free(a);
    free(b);
    rm_rf(dir);
    free(dir);
}

static void test_shards_and_masks(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    ecg_err err;
    store_writer *w;
    store_writer_opts o = {.shard_max_records = 3};
    assert_int_equal(store_writer_open(&w, dir, &o, &err), ECG_OK);
    enum { N = 10 };
    float *x[N];
    size_t len[N];
    for (int i = 0; i < N; i++) {
        len[i] = 100 + 37 * (size_t)i;
        x[i] = synth(len[i], 100 + (uint64_t)i);
        char id[32];
        snprintf(id, sizeof id, "rec-%d", i);
        int32_t lab[STORE_N_LABELS] = {i % 3, i, -1, 1000000 * i};
        uint16_t mask = (uint16_t)(0xfff >> (i % 12));
        assert_int_equal(store_writer_add(w, x[i], len[i], mask, lab, 250, id, &err), ECG_OK);
        if (i == 6) { /* a second session appends to the same dataset */
            assert_int_equal(store_writer_close(w, &err), ECG_OK);
            assert_int_equal(store_writer_open(&w, dir, &o, &err), ECG_OK);
            assert_int_equal(store_writer_count(w), 7);
        }
    }
    assert_int_equal(store_writer_close(w, &err), ECG_OK);
    store_dataset *ds;
    assert_int_equal(store_open(&ds, dir, STORE_OPEN_VERIFY, &err), ECG_OK);
    assert_int_equal(store_count(ds), N);
    assert_int_equal(store_shard_total(ds), 4); /* 3 + 3 + 1, then 3 */
    for (int i = 0; i < N; i++) {
        store_record_info info;
        float *out = malloc(ECG_N_LEADS * len[i] * sizeof *out);
        assert_int_equal(store_read(ds, (size_t)i, out, len[i], &info, &err), ECG_OK);
        char id[32];
        snprintf(id, sizeof id, "rec-%d", i);
        assert_string_equal(info.source_id, id);
        assert_int_equal(info.source_id_len, strlen(id));
        assert_int_equal(info.n_samples, len[i]);
        assert_int_equal(info.lead_mask, 0xfff >> (i % 12));
        assert_int_equal(info.labels[0], i % 3);
        assert_int_equal(info.labels[3], 1000000 * i);
        for (int k = 0; k < ECG_N_LEADS; k++)
            for (size_t t = 0; t < len[i]; t++) {
                float v = out[(size_t)k * len[i] + t];
                if (info.lead_mask >> k & 1)
                    assert_true(fabsf(v - x[i][(size_t)k * len[i] + t]) <=
                                0.5f * info.gain[k] * (1 + 32767 * 0x1p-23f));
                else
                    assert_true(v == 0.0f);
            }
        free(out);
        free(x[i]);
    }
    store_close(ds);
    rm_rf(dir);
    free(dir);
}

/* ---- subsets -------------------------------------------------------------------------------- */

static void test_subsets(void **state) {
    (void)state;
    enum { N = 2000 };
    size_t *p = malloc(N * sizeof *p), *q = malloc(N * sizeof *q);
    store_permutation(N, 42, p);
    store_permutation(N, 42, q);
    assert_memory_equal(p, q, N * sizeof *p);
    char *seen = calloc(N, 1);
    for (int i = 0; i < N; i++) {
        assert_true(p[i] < N && !seen[p[i]]);
        seen[p[i]] = 1;
    }
    store_permutation(N, 43, q);
    int same = 0;
    for (int i = 0; i < N; i++)
        same += p[i] == q[i];
    assert_true(same < 20);
    /* Pinned: the same seed gives this on every machine (computed by an independent Python
     * transcription of splitmix64 + xoshiro256** + rng_below + Fisher-Yates). */
    size_t small[10];
    store_permutation(10, 42, small);
    static const size_t want[10] = {7, 3, 8, 9, 5, 6, 4, 1, 0, 2};
    assert_memory_equal(small, want, sizeof want);

    ecg_err err;
    store_split s, s2;
    assert_int_equal(store_split_init(&s, N, 200, 7, &err), ECG_OK);
    assert_int_equal(store_split_init(&s2, N, 200, 7, &err), ECG_OK);
    assert_memory_equal(s.perm, s2.perm, N * sizeof *s.perm);
    const size_t *val = store_split_val(&s), *a, *b;
    assert_int_equal(store_split_subset(&s, 100, &a, &err), ECG_OK);
    assert_int_equal(store_split_subset(&s, 1000, &b, &err), ECG_OK);
    /* nested: the 100 are the first 100 of the 1000; none is in validation */
    memset(seen, 0, N);
    for (int i = 0; i < 200; i++)
        seen[val[i]] = 1;
    for (int i = 0; i < 1000; i++) {
        assert_false(seen[b[i]]);
        if (i < 100) assert_int_equal(a[i], b[i]);
    }
    assert_int_equal(store_split_subset(&s, N - 200, &b, &err), ECG_OK);
    assert_int_equal(store_split_subset(&s, N - 199, &b, &err), ECG_EINVAL);
    store_split s3;
    assert_int_equal(store_split_init(&s3, 5, 6, 1, &err), ECG_EINVAL);
    store_split_free(&s);
    store_split_free(&s2);
    free(p);
    free(q);
    free(seen);
}

/* ---- crash safety ---------------------------------------------------------------------------- */

static void add_n(store_writer *w, int n, uint64_t seed) {
    ecg_err err;
    for (int i = 0; i < n; i++) {
        float *x = synth(240, seed + (uint64_t)i);
        assert_int_equal(store_writer_add(w, x, 240, 0xfff, NULL, 240, "x", &err), ECG_OK);
        free(x);
    }
}

static void test_crash_safety(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    ecg_err err;
    store_writer *w;
    assert_int_equal(store_writer_open(&w, dir, NULL, &err), ECG_OK);
    add_n(w, 5, 1);
    assert_int_equal(store_writer_close(w, &err), ECG_OK);
    char manifest[4096], shard0[4096];
    sub_path(manifest, sizeof manifest, dir, STORE_MANIFEST);
    sub_path(shard0, sizeof shard0, dir, "shard-000000.ecgs");
    size_t mlen;
    uint8_t *before = tu_slurp(manifest, &mlen);

    /* A writer process dies in the middle of a shard: its temp file stays behind. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        store_writer *cw;
        if (store_writer_open(&cw, dir, NULL, &err)) _exit(2);
        for (int i = 0; i < 4; i++) {
            float *x = synth(240, 50 + (uint64_t)i);
            if (store_writer_add(cw, x, 240, 0xfff, NULL, 240, "lost", &err)) _exit(3);
        }
        fflush(NULL);
        _exit(0); /* no flush, no close: a crash */
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(count_files(dir, ".tmp."), 1);
    /* And one that died between publishing a shard and rewriting the manifest. */
    char orphan[4096], stray[4096];
    sub_path(orphan, sizeof orphan, dir, "shard-000007.ecgs");
    sub_path(stray, sizeof stray, dir, "MANIFEST.tmp.abcdef");
    copy_file(shard0, orphan);
    spit(stray, "garbage", 7);

    store_dataset *ds;
    assert_int_equal(store_open(&ds, dir, STORE_OPEN_VERIFY, &err), ECG_OK);
    assert_int_equal(store_count(ds), 5);
    assert_int_equal(store_shard_total(ds), 1);
    store_close(ds);
    size_t mlen2;
    uint8_t *after = tu_slurp(manifest, &mlen2);
    assert_int_equal(mlen, mlen2);
    assert_memory_equal(before, after, mlen);
    free(after);

    /* The next writer deletes the leftovers and appends after the 5. */
    assert_int_equal(store_writer_open(&w, dir, NULL, &err), ECG_OK);
    assert_int_equal(count_files(dir, ".tmp."), 0);
    assert_int_equal(access(orphan, F_OK), -1);
    add_n(w, 3, 9);
    /* A second writer is refused while this one holds the lock. */
    store_writer *w2;
    assert_int_equal(store_writer_open(&w2, dir, NULL, &err), ECG_EIO);
    assert_non_null(strstr(err.msg, "another writer"));
    /* A reader opened now sees the published state only. */
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_OK);
    assert_int_equal(store_count(ds), 5);
    store_close(ds);
    /* Abort discards the open shard like a crash would, minus the temp file. */
    store_writer_abort(w);
    assert_int_equal(count_files(dir, ".tmp."), 0);
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_OK);
    assert_int_equal(store_count(ds), 5);
    store_close(ds);
    assert_int_equal(store_writer_open(&w, dir, NULL, &err), ECG_OK);
    add_n(w, 3, 9);
    assert_int_equal(store_writer_close(w, &err), ECG_OK);
    assert_int_equal(store_open(&ds, dir, STORE_OPEN_VERIFY, &err), ECG_OK);
    assert_int_equal(store_count(ds), 8);
    store_close(ds);
    free(before);
    rm_rf(dir);
    free(dir);
}

/* ---- corrupted shards and manifests ---------------------------------------------------------- */

static uint8_t *small_shard(size_t *n, char **dir_out) {
    char *dir = make_tmpdir();
    ecg_err err;
    store_writer *w;
    store_writer_opts o = {.encode = STORE_ENCODE_AUTO};
    assert_int_equal(store_writer_open(&w, dir, &o, &err), ECG_OK);
    add_n(w, 3, 20);
    float *x = synth(100, 5);
    x[7] = 100; /* float32 record */
    assert_int_equal(store_writer_add(w, x, 100, 0xfff, NULL, 240, "f", &err), ECG_OK);
    free(x);
    assert_int_equal(store_writer_close(w, &err), ECG_OK);
    char path[4096];
    sub_path(path, sizeof path, dir, "shard-000000.ecgs");
    *dir_out = dir;
    return tu_slurp(path, n);
}

static void fix_header_crc(uint8_t *b) {
    store_put_u32(b + 60, store_crc32c(0, b, 60));
}
static void fix_meta_crc(uint8_t *b, size_t n) {
    uint64_t idx = store_get_u64(b + 40);
    store_put_u32(b + n - STORE_FOOTER_SIZE + 16,
                  store_crc32c(0, b + idx, n - STORE_FOOTER_SIZE - idx));
}

/* Parse a modified copy; expect code and a message containing what. */
static void expect_bad(const uint8_t *orig, size_t n, void (*edit)(uint8_t *, size_t *),
                       ecg_code code, const char *what) {
    uint8_t *b = malloc(n);
    memcpy(b, orig, n);
    size_t m = n;
    edit(b, &m);
    store_shard s;
    ecg_err err = {0};
    ecg_code rc = store_shard_parse(&s, b, m, "bad.ecgs", &err);
    if (rc != code || !strstr(err.msg, what))
        fail_msg("want %s '%s', got %s '%s'", err_code_name(code), what, err_code_name(rc),
                 err.msg);
    free(b);
}

static void e_magic(uint8_t *b, size_t *n) {
    (void)n;
    b[0] = 'X';
}
static void e_version(uint8_t *b, size_t *n) {
    (void)n;
    store_put_u32(b + 8, 2);
    fix_header_crc(b);
}
static void e_header_flip(uint8_t *b, size_t *n) {
    (void)n;
    b[33] ^= 0x10;
}
static void e_truncate(uint8_t *b, size_t *n) {
    (void)b;
    *n -= 1000;
}
static void e_truncate_tiny(uint8_t *b, size_t *n) {
    (void)b;
    *n = 40;
}
static void e_index_flip(uint8_t *b, size_t *n) {
    (void)n;
    b[store_get_u64(b + 40) + 9] ^= 1;
}
static void e_string_flip(uint8_t *b, size_t *n) {
    b[*n - STORE_FOOTER_SIZE - 2] ^= 1;
}
static void e_offset_past_end(uint8_t *b, size_t *n) {
    uint64_t idx = store_get_u64(b + 40);
    store_put_u64(b + idx + STORE_INDEX_ENTRY_SIZE, idx + 64); /* record 1's data offset */
    fix_meta_crc(b, *n);
}
static void e_samples_huge(uint8_t *b, size_t *n) {
    uint64_t idx = store_get_u64(b + 40);
    store_put_u64(b + idx + 8, (uint64_t)1 << 62);
    fix_meta_crc(b, *n);
}
static void e_samples_past(uint8_t *b, size_t *n) {
    uint64_t idx = store_get_u64(b + 40);
    store_put_u64(b + idx + 3 * STORE_INDEX_ENTRY_SIZE + 8, 1000000);
    fix_meta_crc(b, *n);
}
static void e_overlap(uint8_t *b, size_t *n) {
    uint64_t idx = store_get_u64(b + 40);
    store_put_u64(b + idx + STORE_INDEX_ENTRY_SIZE, STORE_HEADER_SIZE + 8);
    fix_meta_crc(b, *n);
}
static void e_count_huge(uint8_t *b, size_t *n) {
    (void)n;
    store_put_u64(b + 32, UINT64_MAX / 2);
    fix_header_crc(b);
}
static void e_sid_past(uint8_t *b, size_t *n) {
    uint64_t idx = store_get_u64(b + 40);
    store_put_u32(b + idx + 24, 0xfffffff0u);
    fix_meta_crc(b, *n);
}
static void e_mask(uint8_t *b, size_t *n) {
    uint64_t idx = store_get_u64(b + 40);
    store_put_u32(b + idx + 20, 0x1fff);
    fix_meta_crc(b, *n);
}
static void e_gain_nan(uint8_t *b, size_t *n) {
    uint64_t idx = store_get_u64(b + 40);
    store_put_f32(b + idx + 56, NAN);
    fix_meta_crc(b, *n);
}
static void e_footer(uint8_t *b, size_t *n) {
    b[*n - 1] = 'X';
}
static void e_footer_size(uint8_t *b, size_t *n) {
    store_put_u64(b + *n - STORE_FOOTER_SIZE + 8, *n + 8);
}

static void test_corrupted_shards(void **state) {
    (void)state;
    size_t n;
    char *dir;
    uint8_t *good = small_shard(&n, &dir);
    store_shard s;
    ecg_err err;
    assert_int_equal(store_shard_parse(&s, good, n, "good.ecgs", &err), ECG_OK);
    assert_int_equal(s.n_records, 4);
    assert_int_equal(s.flags, 1);
    assert_int_equal(store_shard_verify(&s, &err), ECG_OK);

    expect_bad(good, n, e_magic, ECG_EVERSION, "bad magic");
    expect_bad(good, n, e_version, ECG_EVERSION, "version 2");
    expect_bad(good, n, e_header_flip, ECG_EFORMAT, "header CRC");
    expect_bad(good, n, e_truncate, ECG_EFORMAT, "truncated");
    expect_bad(good, n, e_truncate_tiny, ECG_EFORMAT, "truncated");
    expect_bad(good, n, e_index_flip, ECG_EFORMAT, "index CRC");
    expect_bad(good, n, e_string_flip, ECG_EFORMAT, "index CRC");
    expect_bad(good, n, e_offset_past_end, ECG_EFORMAT, "outside the data section");
    expect_bad(good, n, e_samples_huge, ECG_EFORMAT, "samples (limit");
    expect_bad(good, n, e_samples_past, ECG_EFORMAT, "outside the data section");
    expect_bad(good, n, e_overlap, ECG_EFORMAT, "overlaps");
    expect_bad(good, n, e_count_huge, ECG_EFORMAT, "do not fit");
    expect_bad(good, n, e_sid_past, ECG_EFORMAT, "source id");
    expect_bad(good, n, e_mask, ECG_EFORMAT, "lead mask");
    expect_bad(good, n, e_gain_nan, ECG_EFORMAT, "bad gain");
    expect_bad(good, n, e_footer, ECG_EFORMAT, "no footer");
    expect_bad(good, n, e_footer_size, ECG_EFORMAT, "torn");

    /* A flipped sample: the shard opens (only metadata is checked), the record read and the full
     * scan refuse it; a window read does not check CRCs. */
    char path[4096];
    sub_path(path, sizeof path, dir, "shard-000000.ecgs");
    uint8_t *b = malloc(n);
    memcpy(b, good, n);
    b[STORE_HEADER_SIZE + 24 * 240 + 100] ^= 4; /* inside record 1 */
    spit(path, b, n);
    store_dataset *ds;
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_OK);
    float *out = malloc(ECG_N_LEADS * 240 * sizeof *out);
    assert_int_equal(store_read(ds, 0, out, 240, NULL, &err), ECG_OK);
    assert_int_equal(store_read(ds, 1, out, 240, NULL, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "record 1: data CRC mismatch"));
    assert_int_equal(store_read_window(ds, 1, 0, 240, out, &err), ECG_OK);
    assert_int_equal(store_verify(ds, &err), ECG_EFORMAT);
    store_close(ds);
    assert_int_equal(store_open(&ds, dir, STORE_OPEN_VERIFY, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "CRC mismatch"));
    assert_int_equal(store_open(&ds, dir, STORE_OPEN_NO_RECORD_CRC, &err), ECG_OK);
    assert_int_equal(store_read(ds, 1, out, 240, NULL, &err), ECG_OK);
    store_close(ds);
    /* Truncated on disk: refused at open. */
    spit(path, good, n - 5);
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "truncated"));
    spit(path, good, n);
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_OK);
    store_close(ds);
    /* Missing shard. */
    unlink(path);
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_ENOTFOUND);
    spit(path, good, n);

    /* Manifest: a flipped byte, a truncation, a wrong total. */
    char mpath[4096];
    sub_path(mpath, sizeof mpath, dir, STORE_MANIFEST);
    size_t ml;
    uint8_t *m = tu_slurp(mpath, &ml), *m2 = malloc(ml + 64);
    memcpy(m2, m, ml);
    m2[3] ^= 1;
    spit(mpath, m2, ml);
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "manifest CRC"));
    spit(mpath, m, ml - 3);
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "truncated manifest"));
    const char *bad = "ecgfm-store 1\nfs 240\nleads 12\nlabels 4\nshard shard-000000.ecgs 4 ";
    char text[512];
    int k = snprintf(text, sizeof text, "%s%zu\nrecords 5\n", bad, n);
    k += snprintf(text + k, sizeof text - (size_t)k, "crc32c %08x\n",
                  store_crc32c(0, text, (size_t)k));
    spit(mpath, text, (size_t)k);
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "records line says 5"));
    k = snprintf(text, sizeof text, "%s%zu\nrecords 4\n", bad, n + 1);
    k += snprintf(text + k, sizeof text - (size_t)k, "crc32c %08x\n",
                  store_crc32c(0, text, (size_t)k));
    spit(mpath, text, (size_t)k);
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "the manifest says"));
    k = snprintf(text, sizeof text, "ecgfm-store 9\nrecords 0\n");
    k += snprintf(text + k, sizeof text - (size_t)k, "crc32c %08x\n",
                  store_crc32c(0, text, (size_t)k));
    spit(mpath, text, (size_t)k);
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_EVERSION);
    /* A bad manifest also stops a writer (it must not guess what the dataset holds). */
    store_writer *w;
    assert_int_equal(store_writer_open(&w, dir, NULL, &err), ECG_EVERSION);
    spit(mpath, m, ml);
    assert_int_equal(store_open(&ds, dir, STORE_OPEN_VERIFY, &err), ECG_OK);
    store_close(ds);
    unlink(mpath);
    assert_int_equal(store_open(&ds, dir, 0, &err), ECG_ENOTFOUND);

    free(m);
    free(m2);
    free(out);
    free(b);
    free(good);
    rm_rf(dir);
    free(dir);
}

/* ---- tree import ----------------------------------------------------------------------------- */

static void write_text(const char *path, const char *text) {
    spit(path, text, strlen(text));
}

typedef struct {
    int calls;
    size_t last_done, last_total, last_skipped;
} progress_log;

static void on_progress(void *ctx, size_t done, size_t total, size_t skipped) {
    progress_log *p = ctx;
    assert_true(done >= p->last_done && done <= total);
    p->calls++;
    p->last_done = done;
    p->last_total = total;
    p->last_skipped = skipped;
}

/* A tree: every real record of tests/data/ecg, a multi-segment record built from LUDB's, and a
 * header whose data file is missing. */
static char *make_tree(void) {
    char *root = make_tmpdir();
    const char *dirs[] = {"ludb", "cinc2021", "ptbxl", "mitdb", "cpsc2021", "wfdb_misc", "multi"};
    char src[4096], dst[4096];
    for (int i = 0; i < 7; i++) {
        snprintf(dst, sizeof dst, "%s/%s", root, dirs[i]);
        assert_int_equal(mkdir(dst, 0755), 0);
        tu_data_path(src, sizeof src, dirs[i]);
        DIR *d = opendir(src);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || strstr(e->d_name, "variant")) continue;
            char a[8192], b[8192];
            snprintf(a, sizeof a, "%s/%s", src, e->d_name);
            snprintf(b, sizeof b, "%s/%s", dst, e->d_name);
            copy_file(a, b);
        }
        closedir(d);
    }
    /* multi/ms: two 5000-sample segments, both LUDB record 1's data under other header names. */
    tu_data_path(src, sizeof src, "ludb/1.dat");
    snprintf(dst, sizeof dst, "%s/multi/1.dat", root);
    copy_file(src, dst);
    size_t hl;
    tu_data_path(src, sizeof src, "ludb/1.hea");
    uint8_t *h = tu_slurp(src, &hl);
    for (int s = 1; s <= 2; s++) {
        char seg[4096];
        snprintf(seg, sizeof seg, "%s/multi/ms_%d.hea", root, s);
        FILE *fp = fopen(seg, "wb");
        fprintf(fp, "ms_%d", s);
        fwrite(h + 1, 1, hl - 1, fp); /* the header without its record name "1" */
        fclose(fp);
    }
    free(h);
    snprintf(dst, sizeof dst, "%s/multi/ms.hea", root);
    write_text(dst, "ms/2 12 500 10000\nms_1 5000\nms_2 5000\n");
    snprintf(dst, sizeof dst, "%s/multi/gone.hea", root);
    write_text(dst, "gone 1 500 10\ngone.dat 16 200 16 0 0 0 0 I\n");
    return root;
}

static void test_import_tree(void **state) {
    (void)state;
    char *root = make_tree();
    char *out1 = make_tmpdir(), *out2 = make_tmpdir();
    char csv[4096];
    snprintf(csv, sizeof csv, "%s/meta.csv", out1);
    write_text(csv, "ecg_id,filename,fold,rhythm,note\n"
                    "1,ludb/1,3,sinus,\"has, a comma\"\n"
                    "2,ptbxl/00001_lr,7,\"sinus\",x\n"
                    "3,mitdb/100,-2,afib,\n"
                    "4,HR06000,1,,\n"
                    "\n");
    ecg_err err;
    store_labels *labels;
    const char *cols[] = {"fold", "rhythm", "note"};
    assert_int_equal(store_labels_load_csv(&labels, csv, "filename", cols, 3, &err), ECG_OK);
    assert_int_equal(store_labels_count(labels), 4);
    int32_t lab[STORE_N_LABELS];
    assert_true(store_labels_lookup(labels, "ludb/1", lab));
    assert_int_equal(lab[0], 3);
    assert_int_equal(lab[1], 1); /* sorted vocabulary: afib 0, sinus 1 */
    assert_string_equal(store_labels_value_name(labels, 2, lab[2]), "has, a comma");
    assert_int_equal(lab[3], STORE_LABEL_MISSING);
    assert_true(store_labels_lookup(labels, "cinc2021/HR06000", lab)); /* by base name */
    assert_int_equal(lab[1], STORE_LABEL_MISSING);
    assert_false(store_labels_lookup(labels, "nowhere/x", lab));
    assert_int_equal(lab[0], STORE_LABEL_MISSING);
    store_labels *l2;
    const char *nocol[] = {"nope"};
    assert_int_equal(store_labels_load_csv(&l2, csv, "filename", nocol, 1, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "no column 'nope'"));

    progress_log pl = {0};
    store_import_opts o = {
        .progress = on_progress, .progress_ctx = &pl, .labels = labels, .batch = 3};
    store_import_summary sum;
    store_writer *w;
    assert_int_equal(store_writer_open(&w, out1, NULL, &err), ECG_OK);
    assert_int_equal(store_import_wfdb_tree(w, root, &o, &sum, &err), ECG_OK);
    assert_int_equal(store_writer_close(w, &err), ECG_OK);
    /* found: cinc x3, cpsc, ludb, mitdb, multi/gone, multi/ms, ptbxl, binformats, 03700181 */
    assert_int_equal(sum.found, 11);
    assert_int_equal(sum.imported, 8);
    assert_int_equal(sum.skipped, 3);
    assert_int_equal(sum.by_code[ECG_ENOTFOUND], 1);
    assert_int_equal(sum.by_code[ECG_EINVAL], 2);
    assert_int_equal(sum.unlabelled, 8 - 4);
    for (size_t i = 0; i < sum.n_skips; i++)
        printf("skipped %s: %s: %s\n", sum.skips[i].path, err_code_name(sum.skips[i].code),
               sum.skips[i].reason);
    assert_string_equal(sum.skips[0].path, "multi/gone");
    assert_non_null(strstr(sum.skips[1].reason, "none of its"));
    assert_int_equal(pl.last_done, 11);
    assert_int_equal(pl.last_total, 11);
    assert_int_equal(pl.last_skipped, 3);
    assert_int_equal(pl.calls, 4);

    store_dataset *ds;
    assert_int_equal(store_open(&ds, out1, STORE_OPEN_VERIFY, &err), ECG_OK);
    assert_int_equal(store_count(ds), 8);
    assert_string_equal(store_label_name(ds, 0), "fold");
    assert_string_equal(store_label_name(ds, 1), "rhythm");
    assert_string_equal(store_label_value_name(ds, 1, 0), "afib");
    assert_string_equal(store_label_value_name(ds, 2, 0), "has, a comma");
    static const char *order[] = {"cinc2021/E07500",   "cinc2021/HR06000", "cinc2021/JS20000",
                                  "cpsc2021/data_8_4", "ludb/1",           "mitdb/100",
                                  "multi/ms",          "ptbxl/00001_lr"};
    for (size_t i = 0; i < 8; i++) {
        store_record_info info;
        assert_int_equal(store_info(ds, i, &info, &err), ECG_OK);
        assert_string_equal(info.source_id, order[i]);
        if (strcmp(order[i], "multi/ms") == 0) assert_int_equal(info.n_samples, 4800);
        if (strcmp(order[i], "mitdb/100") == 0) {
            assert_int_equal(info.labels[0], -2);
            assert_int_equal(info.labels[1], 0);
            assert_int_equal(info.lead_mask, 1u << 1 | 1u << 10);
        }
    }
    /* The multi-segment record is its two segments back to back. */
    float *ms = malloc(ECG_N_LEADS * 4800 * sizeof *ms), *one = malloc(ECG_N_LEADS * 2400 * 4);
    assert_int_equal(store_read(ds, 6, ms, 4800, NULL, &err), ECG_OK);
    assert_int_equal(store_read(ds, 4, one, 2400, NULL, &err), ECG_OK); /* ludb/1 */
    for (int k = 0; k < ECG_N_LEADS; k++)
        for (size_t t = 200; t < 2200; t++) /* away from the joint's filter transients */
            assert_true(fabsf(ms[(size_t)k * 4800 + t] - one[(size_t)k * 2400 + t]) < 1e-2f);
    free(ms);
    free(one);
    store_close(ds);

    /* Same tree, another batch size and no progress: byte-identical shards. */
    store_import_opts o2 = {.labels = labels, .batch = 64};
    store_import_summary sum2;
    assert_int_equal(store_writer_open(&w, out2, NULL, &err), ECG_OK);
    assert_int_equal(store_import_wfdb_tree(w, root, &o2, &sum2, &err), ECG_OK);
    assert_int_equal(store_writer_close(w, &err), ECG_OK);
    char a[4096], b[4096];
    sub_path(a, sizeof a, out1, "shard-000000.ecgs");
    sub_path(b, sizeof b, out2, "shard-000000.ecgs");
    size_t na, nb;
    uint8_t *ba = tu_slurp(a, &na), *bb = tu_slurp(b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(ba, bb, na);
    free(ba);
    free(bb);
    store_import_summary_free(&sum);
    store_import_summary_free(&sum2);
    store_labels_free(labels);
    assert_int_equal(store_import_wfdb_tree(NULL, "/nonexistent/tree", NULL, &sum, &err),
                     ECG_ENOTFOUND);
    store_import_summary_free(&sum);
    rm_rf(root);
    rm_rf(out1);
    rm_rf(out2);
    free(root);
    free(out1);
    free(out2);
}

/* PTB-XL's own metadata layout: filename_lr keys, numeric and text columns, quoted commas. */
static void test_import_ptbxl_csv(void **state) {
    (void)state;
    char csv[4096], src[4096], dst[4096];
    tu_data_path(csv, sizeof csv, "ptbxl/ptbxl_database_rows.csv");
    ecg_err err;
    store_labels *l;
    const char *cols[] = {"strat_fold", "sex", "age", "scp_codes"};
    assert_int_equal(store_labels_load_csv(&l, csv, "filename_lr", cols, 4, &err), ECG_OK);
    assert_int_equal(store_labels_count(l), 1);
    int32_t lab[STORE_N_LABELS];
    assert_true(store_labels_lookup(l, "records100/00000/00001_lr", lab));
    assert_int_equal(lab[0], 3);
    assert_int_equal(lab[1], 1);
    assert_int_equal(lab[2], 56); /* "56.0" */
    assert_int_equal(lab[3], 0);
    assert_string_equal(store_labels_value_name(l, 3, 0),
                        "{'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}");
    assert_null(store_labels_value_name(l, 0, 3)); /* numeric column */

    /* records100/00000/00001_lr as in the PTB-XL tree. */
    char *root = make_tmpdir(), *out = make_tmpdir();
    snprintf(dst, sizeof dst, "%s/records100", root);
    assert_int_equal(mkdir(dst, 0755), 0);
    snprintf(dst, sizeof dst, "%s/records100/00000", root);
    assert_int_equal(mkdir(dst, 0755), 0);
    const char *ext[] = {"hea", "dat"};
    for (int i = 0; i < 2; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "ptbxl/00001_lr.%s", ext[i]);
        tu_data_path(src, sizeof src, rel);
        snprintf(dst, sizeof dst, "%s/records100/00000/00001_lr.%s", root, ext[i]);
        copy_file(src, dst);
    }
    store_writer *w;
    store_import_summary sum;
    store_import_opts o = {.labels = l};
    assert_int_equal(store_writer_open(&w, out, NULL, &err), ECG_OK);
    assert_int_equal(store_import_wfdb_tree(w, root, &o, &sum, &err), ECG_OK);
    assert_int_equal(store_writer_close(w, &err), ECG_OK);
    assert_int_equal(sum.imported, 1);
    assert_int_equal(sum.unlabelled, 0);
    store_dataset *ds;
    assert_int_equal(store_open(&ds, out, 0, &err), ECG_OK);
    store_record_info info;
    assert_int_equal(store_info(ds, 0, &info, &err), ECG_OK);
    assert_string_equal(info.source_id, "records100/00000/00001_lr");
    assert_int_equal(info.n_samples, 2400); /* 1000 samples at 100 Hz */
    assert_int_equal(info.labels[0], 3);
    assert_int_equal(info.labels[2], 56);
    assert_string_equal(store_label_name(ds, 0), "strat_fold");
    assert_string_equal(store_label_name(ds, 3), "scp_codes");
    assert_string_equal(store_label_value_name(ds, 3, 0),
                        "{'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}");
    store_close(ds);
    store_import_summary_free(&sum);
    /* An empty tree imports nothing and leaves the dataset as it was. */
    char *empty = make_tmpdir();
    assert_int_equal(store_writer_open(&w, out, NULL, &err), ECG_OK);
    assert_int_equal(store_import_wfdb_tree(w, empty, &o, &sum, &err), ECG_OK);
    assert_int_equal(store_writer_close(w, &err), ECG_OK);
    assert_int_equal(sum.found, 0);
    assert_int_equal(store_open(&ds, out, 0, &err), ECG_OK);
    assert_int_equal(store_count(ds), 1);
    store_close(ds);
    store_import_summary_free(&sum);
    rm_rf(empty);
    free(empty);
    store_labels_free(l);
    rm_rf(root);
    rm_rf(out);
    free(root);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_round_trip_real),
        cmocka_unit_test(test_prepare),
        cmocka_unit_test(test_float32_and_auto),
        cmocka_unit_test(test_shards_and_masks),
        cmocka_unit_test(test_subsets),
        cmocka_unit_test(test_crash_safety),
        cmocka_unit_test(test_corrupted_shards),
        cmocka_unit_test(test_import_tree),
        cmocka_unit_test(test_import_ptbxl_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

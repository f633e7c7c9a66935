/* test_text_signal.c — the CSV and .npy ECG readers on files numpy and Python's csv module wrote
 * from a real record (tests/parity/gen_text_signal.py), and on crafted bad files. */
#include "testutil.h"

#include "core/data/text_signal.h"

static float *expect; /* [12][1000] mV */
static int16_t raw[12 * 1000];

static int setup(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "text_signal");
    expect = tu_fixture_f32(&f, "x", NULL);
    const st_tensor *t = st_find(&f, "raw");
    assert_non_null(t);
    assert_int_equal(t->nbytes, sizeof raw);
    memcpy(raw, f.payload + t->offset, sizeof raw);
    st_free(&f);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(expect);
    return 0;
}

static const char *fixture_file(const char *name) {
    static char buf[1024];
    const char *dir = getenv("ECGFM_FIXTURES");
    snprintf(buf, sizeof buf, "%s/text_signal/%s", dir ? dir : "build/fixtures", name);
    return buf;
}

/* The record is the expected 12 × 1000 mV within rel (0 = bit for bit), named I..V6 in order. */
static void assert_record(const ecg_record *r, double rel, int check_names) {
    assert_int_equal(r->n_channels, 12);
    assert_int_equal(r->n_samples, 1000);
    assert_true(r->fs == 500.0);
    for (size_t i = 0; i < 12 * 1000; i++)
        if (fabsf(r->signal[i] - expect[i]) > rel * fabsf(expect[i]))
            fail_msg("sample %zu: %g vs %g", i, r->signal[i], expect[i]);
    for (int c = 0; c < 12; c++) {
        assert_int_equal(r->channels[c].lead, c);
        if (check_names) assert_string_equal(r->channels[c].name, ecg_lead_names[c]);
    }
}

static void test_npy_layouts(void **state) {
    (void)state;
    const struct {
        const char *file;
        signal_orientation o;
        double to_mv, rel;
    } cases[] = {
        {"f4_c_leads.npy", SIGNAL_LEADS_BY_SAMPLES, 0, 0},
        {"f8_f_samples.npy", SIGNAL_SAMPLES_BY_LEADS, 0, 0},
        {"f4_f_leads_be.npy", SIGNAL_LEADS_BY_SAMPLES, 0, 0},
        {"f4_v2.npy", SIGNAL_LEADS_BY_SAMPLES, 0, 0},
        {"i2_c_samples.npy", SIGNAL_SAMPLES_BY_LEADS, 1e-3, 1e-7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ecg_record r;
        ecg_err err = {0};
        text_signal_opts o = {.fs = 500, .orientation = cases[i].o, .to_mv = cases[i].to_mv};
        if (npy_read_file(&r, fixture_file(cases[i].file), &o, &err))
            fail_msg("%s: %s", cases[i].file, err.msg);
        assert_record(&r, cases[i].rel, 1);
        assert_string_equal(r.channels[0].units, "mV");
        record_free(&r);
    }
    /* The wrong orientation gives 1000 channels, past the default limit of 256. */
    ecg_record r;
    ecg_err err = {0};
    text_signal_opts o = {.fs = 500, .orientation = SIGNAL_SAMPLES_BY_LEADS};
    assert_int_equal(npy_read_file(&r, fixture_file("f4_c_leads.npy"), &o, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "orientation"));
    /* One dimension: one channel; caller-given names map to leads. */
    const char *names[] = {"MLII"};
    o = (text_signal_opts){.fs = 500, .names = names, .n_names = 1, .units = "mV"};
    assert_int_equal(npy_read_file(&r, fixture_file("f4_lead2.npy"), &o, &err), 0);
    assert_int_equal(r.n_channels, 1);
    assert_int_equal(r.channels[0].lead, 1);
    assert_memory_equal(r.signal, expect + 1000, 1000 * sizeof(float));
    assert_string_equal(r.record_name, "f4_lead2");
    record_free(&r);
    o.n_names = 2;
    assert_int_equal(npy_read_file(&r, fixture_file("f4_lead2.npy"), &o, &err), ECG_EINVAL);
    o = (text_signal_opts){0};
    assert_int_equal(npy_read_file(&r, fixture_file("f4_lead2.npy"), &o, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "fs"));
}

static void test_csv_files(void **state) {
    (void)state;
    ecg_record r;
    ecg_err err = {0};
    /* fs from the time column, names from the header. */
    if (csv_read_file(&r, fixture_file("time_s.csv"), NULL, &err)) fail_msg("%s", err.msg);
    assert_record(&r, 0, 1);
    assert_string_equal(r.record_name, "time_s");
    record_free(&r);
    /* ';', quoted "lead I" names, a "Time (ms)" column, CRLF and a comment line. */
    if (csv_read_file(&r, fixture_file("time_ms.csv"), NULL, &err)) fail_msg("%s", err.msg);
    assert_record(&r, 0, 0);
    assert_string_equal(r.channels[3].name, "lead aVR");
    record_free(&r);
    /* Bare microvolts: the caller gives fs and the scale, names default to the 12 leads. */
    text_signal_opts o = {.fs = 500, .to_mv = 1e-3};
    if (csv_read_file(&r, fixture_file("bare_uv.csv"), &o, &err)) fail_msg("%s", err.msg);
    assert_record(&r, 1e-7, 1);
    record_free(&r);
    /* A caller's fs wins over the time column. */
    o = (text_signal_opts){.fs = 250};
    assert_int_equal(csv_read_file(&r, fixture_file("time_s.csv"), &o, &err), 0);
    assert_true(r.fs == 250);
    record_free(&r);
    o = (text_signal_opts){0};
    assert_int_equal(csv_read_file(&r, fixture_file("bare_uv.csv"), &o, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "no sampling rate"));
    assert_int_equal(csv_read_file(&r, "/nonexistent.csv", NULL, &err), ECG_EIO);
}

static void test_csv_crafted(void **state) {
    (void)state;
    ecg_record r;
    ecg_err err = {0};
    text_signal_opts fs100 = {.fs = 100};
    /* Missing values, tabs, an index column, headerless names. */
    const char *ok = "sample\tV1\tfoo\n0\t1.5\t\n1\tNaN\t-2\n2\t?\t3e-1\n";
    assert_int_equal(csv_parse_buffer(&r, ok, strlen(ok), "x.csv", &fs100, &err), 0);
    assert_int_equal(r.n_channels, 2);
    assert_int_equal(r.n_samples, 3);
    assert_int_equal(r.channels[0].lead, 6);
    assert_int_equal(r.channels[1].lead, -1);
    assert_true(r.signal[0] == 1.5f && isnan(r.signal[1]) && isnan(r.signal[2]));
    assert_true(isnan(r.signal[3]) && r.signal[4] == -2 && r.signal[5] == 0.3f);
    assert_string_equal(r.record_name, "x");
    record_free(&r);
    /* A time column in seconds at 360 Hz with 6-decimal rounding gives 360 exactly. */
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof buf, "t,II\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%.6f,%d\n", i / 360.0, i);
    assert_int_equal(csv_parse_buffer(&r, buf, n, "t.csv", NULL, &err), 0);
    assert_true(r.fs == 360.0);
    record_free(&r);

    const struct {
        const char *text;
        const text_signal_opts *o;
        ecg_code want;
        const char *msg;
    } cases[] = {
        {"", NULL, ECG_EFORMAT, "no rows"},
        {"# only\n", NULL, ECG_EFORMAT, "no rows"},
        {"time,I\n", NULL, ECG_EFORMAT, "c.csv:1: a header but no samples"},
        {"time,I\n0,1\n", NULL, ECG_EINVAL, "one sample"},
        {"time,I\n0,1\n0.01,2\n0.05,3\n", NULL, ECG_EFORMAT, "not uniform"},
        {"time,I\n0,1\n0,2\n", NULL, ECG_EFORMAT, "does not increase"},
        {"time,I\n0,1\nx,2\n", NULL, ECG_EFORMAT, "c.csv:3: time 'x'"},
        {"I,II\n1,2\n3\n", &fs100, ECG_EFORMAT, "c.csv:3: fewer fields, the header has 2"},
        {"I,II\n1,2\n3,4,5\n", &fs100, ECG_EFORMAT, "c.csv:3: more fields"},
        {"I,II\n1,2\n3,abc\n", &fs100, ECG_EFORMAT, "c.csv:3: column 2 'abc' is not a number"},
        {"I,II\n1,2\n3,1e40\n", &fs100, ECG_EFORMAT, "out of float range"},
        {"\"I,II\n1,2\n", &fs100, ECG_EFORMAT, "bad quoting"},
        {"I,II\n\"1\"x,2\n", &fs100, ECG_EFORMAT, "c.csv:2: bad quoting"},
        {"time\n0\n1\n", NULL, ECG_EINVAL, "no sampling rate"},
        {"sample,I\n0,1\n", NULL, ECG_EINVAL, "no sampling rate"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err.msg[0] = 0;
        ecg_code rc =
            csv_parse_buffer(&r, cases[i].text, strlen(cases[i].text), "c.csv", cases[i].o, &err);
        if (rc != cases[i].want || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: got %d '%s', want %d '%s'", i, rc, err.msg, cases[i].want,
                     cases[i].msg);
        assert_null(r.signal);
    }
    /* Channel and sample limits. */
    text_signal_opts lim = {.fs = 100, .max_channels = 2};
    assert_int_equal(csv_parse_buffer(&r, "1,2,3\n", 6, "c", &lim, &err), ECG_EINVAL);
    lim = (text_signal_opts){.fs = 100, .max_samples = 2};
    assert_int_equal(csv_parse_buffer(&r, "1\n2\n3\n", 6, "c", &lim, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "more than 2 samples"));
}

/* An npy file in memory: preamble, header dict padded to 64 bytes, then `data`. */
static size_t make_npy(uint8_t *out, int major, const char *dict, const void *data, size_t nbytes) {
    size_t pre = major == 1 ? 10 : 12, hl = strlen(dict) + 1;
    while ((pre + hl) % 64)
        hl++;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    for (int i = 0; i < (major == 1 ? 2 : 4); i++)
        out[8 + i] = (uint8_t)(hl >> (8 * i));
    memset(out + pre, ' ', hl);
    memcpy(out + pre, dict, strlen(dict));
    out[pre + hl - 1] = '\n';
    memcpy(out + pre + hl, data, nbytes);
    return pre + hl + nbytes;
}

static void test_npy_crafted(void **state) {
    (void)state;
    uint8_t buf[1024];
    float d[6] = {1, 2, 3, 4, 5, 6};
    ecg_record r;
    ecg_err err = {0};
    text_signal_opts o = {.fs = 100};
    size_t n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", d,
                        sizeof d);
    assert_int_equal(npy_parse_buffer(&r, buf, n, "a.npy", &o, &err), 0);
    assert_int_equal(r.n_channels, 2);
    assert_true(r.signal[3] == 4);
    assert_string_equal(r.channels[1].name, "ch2");
    record_free(&r);
    n = make_npy(buf, 3, "{\"descr\":\"<f4\",\"fortran_order\":True,\"shape\":(2,3)}", d, sizeof d);
    assert_int_equal(npy_parse_buffer(&r, buf, n, "a.npy", &o, &err), 0);
    assert_true(r.signal[1] == 3 && r.signal[3] == 2); /* column-major */
    record_free(&r);
    float nan_inf[2] = {NAN, 1};
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", nan_inf, 8);
    assert_int_equal(npy_parse_buffer(&r, buf, n, "a.npy", &o, &err), 0);
    assert_true(isnan(r.signal[0]));
    record_free(&r);

    const struct {
        int major;
        const char *dict;
        size_t nbytes;
        ecg_code want;
        const char *msg;
    } cases[] = {
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20, ECG_EFORMAT,
         "needs 24 bytes"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24 + 4, ECG_EFORMAT,
         "the file has 28"},
        {1, "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", 24, ECG_EFORMAT,
         "dtype '<i4'"},
        {1, "{'descr': '<f', 'fortran_order': False, 'shape': (6,), }", 24, ECG_EFORMAT, "dtype"},
        {1, "{'descr': '|O', 'fortran_order': False, 'shape': (6,), }", 24, ECG_EFORMAT, "dtype"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", 24, ECG_EFORMAT,
         "3-dimensional"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 24, ECG_EFORMAT,
         "0-dimensional"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", 0, ECG_EFORMAT, "empty"},
        {1, "{'descr': '<f4', 'fortran_order': False, }", 24, ECG_EFORMAT, "lacks"},
        {1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", 24,
         ECG_EFORMAT, "repeated"},
        {1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (6,)}", 24, ECG_EFORMAT,
         "not the dict"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} junk", 24, ECG_EFORMAT,
         "not the dict"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 24,
         ECG_EFORMAT, "not the dict"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", 24,
         ECG_EINVAL, "limit"},
        {4, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", 24, ECG_EVERSION,
         "version 4"},
    };
    uint8_t zeros[64] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        n = make_npy(buf, cases[i].major, cases[i].dict, zeros, cases[i].nbytes);
        err.msg[0] = 0;
        ecg_code rc = npy_parse_buffer(&r, buf, n, "a.npy", &o, &err);
        if (rc != cases[i].want || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: got %d '%s', want %d '%s'", i, rc, err.msg, cases[i].want,
                     cases[i].msg);
        assert_null(r.signal);
    }
    float inf[2] = {INFINITY, 1};
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", inf, 8);
    assert_int_equal(npy_parse_buffer(&r, buf, n, "a.npy", &o, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "infinite"));
    double big[1] = {1e300};
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", big, 8);
    assert_int_equal(npy_parse_buffer(&r, buf, n, "a.npy", &o, &err), ECG_EFORMAT);
    assert_int_equal(npy_parse_buffer(&r, (const uint8_t *)"\x93NUMPY", 6, "a", &o, &err),
                     ECG_EFORMAT);
    assert_int_equal(npy_parse_buffer(&r, (const uint8_t *)"PK\3\4zipzipzip", 14, "a", &o, &err),
                     ECG_EFORMAT);
    /* The header length points past the end. */
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", d, 4);
    buf[9] = 0x7f;
    assert_int_equal(npy_parse_buffer(&r, buf, n, "a", &o, &err), ECG_EFORMAT);
    /* Every truncation of a real file is refused without reading past it. */
    uint8_t *file;
    FILE *fp = fopen(fixture_file("i2_c_samples.npy"), "rb");
    assert_non_null(fp);
    file = malloc(24128);
    assert_int_equal(fread(file, 1, 24128, fp), 24128);
    fclose(fp);
    text_signal_opts os = {.fs = 500, .orientation = SIGNAL_SAMPLES_BY_LEADS};
    for (size_t k = 0; k < 24128; k += k < 200 ? 1 : 331) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, file, k);
        assert_int_not_equal(npy_parse_buffer(&r, cut, k, "cut", &os, &err), ECG_OK);
        free(cut);
    }
    free(file);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_layouts),
        cmocka_unit_test(test_csv_files),
        cmocka_unit_test(test_csv_crafted),
        cmocka_unit_test(test_npy_crafted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

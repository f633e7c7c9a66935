/* test_wfdb.c — the WFDB reader on real records (MIT-BIH, PTB-XL, CinC 2021, LUDB, CPSC 2021,
 * MIMIC, wfdb-python's format fixtures), crafted multi-segment records, annotation files, and
 * crafted bad files that must be refused with a message naming the file and the problem.
 *
 * Reference sample values were obtained with an independent numpy decoder written for this test
 * (np.frombuffer '<i2' for format 16; for 212, even = b0 | (b1 & 15) << 8, odd = b2 | (b1 >> 4) <<
 * 8, sign-extended from 12 bits; frames reshaped (n_frames, samples per frame); physical = (adc -
 * baseline) / gain) run over the files in tests/data/ecg, and pasted here as constants. The
 * annotation constants come from a Python decode of the same files (16-bit words, type = word >>
 * 10, step = word & 1023, SKIP/NUM/SUB/CHN/AUX handled as in WFDB's annot.c). */
#include "testutil.h"

#include <sys/stat.h>
#include <unistd.h>

#include "core/data/record.h"
#include "core/data/wfdb.h"

static ecg_record read_ok(const char *rel, const wfdb_options *opt) {
    char path[1024];
    tu_data_path(path, sizeof path, rel);
    ecg_record r;
    ecg_err err = {0};
    if (wfdb_read_record(&r, path, opt, &err) != ECG_OK) fail_msg("%s: %s", path, err.msg);
    return r;
}

static wfdb_header header_ok(const char *rel) {
    char path[1024];
    tu_data_path(path, sizeof path, rel);
    size_t len;
    uint8_t *text = tu_slurp(path, &len);
    wfdb_header h;
    ecg_err err = {0};
    if (wfdb_header_parse(&h, (const char *)text, len, rel, &err) != ECG_OK)
        fail_msg("%s: %s", rel, err.msg);
    free(text);
    return h;
}

static float at(const ecg_record *r, int c, size_t t) {
    return r->signal[(size_t)c * r->n_samples + t];
}

static void expect_near(double got, double want, double tol, const char *what, size_t t) {
    if (!(fabs(got - want) <= tol)) fail_msg("%s[%zu]: got %.9g, want %.9g", what, t, got, want);
}

/* Every channel's first sample is the header's initial value in physical units. */
static void check_first_samples(const ecg_record *r, const wfdb_header *h) {
    assert_int_equal(r->n_channels, h->n_signals);
    for (int c = 0; c < h->n_signals; c++) {
        const wfdb_signal_spec *s = &h->signals[c];
        assert_true(s->has_init);
        if (s->skew) continue; /* a skewed signal's output starts skew frames into the file */
        double want = ((double)s->init_value - s->baseline) / s->gain;
        expect_near(at(r, c, 0), want, 1e-6 * fabs(want) + 1e-7, s->desc, 0);
    }
}

static void put(const char *name, const void *data, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void put_text(const char *name, const char *text) {
    put(name, text, strlen(text));
}

static ecg_code read_tmp(ecg_record *r, const char *rec, const wfdb_options *opt, ecg_err *err) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir, rec);
    return wfdb_read_record(r, path, opt, err);
}

/* A format-16 record `rec` of nsig signals x n frames with initial values and checksums filled in
 * from the data. gains[s] is the gain field ("100/mV"), names[s] the description. */
static void make_rec16(const char *rec, double fs, int nsig, size_t n, const int16_t *frames,
                       const char *const *gains, const char *const *names) {
    char hea[4096], dat[256];
    snprintf(dat, sizeof dat, "%s.dat", rec);
    int k = snprintf(hea, sizeof hea, "%s %d %g %zu\n", rec, nsig, fs, n);
    for (int s = 0; s < nsig; s++) {
        int sum = 0;
        for (size_t t = 0; t < n; t++)
            sum += frames[t * (size_t)nsig + (size_t)s];
        k += snprintf(hea + k, sizeof hea - (size_t)k, "%s 16 %s 16 0 %d %d 0 %s\n", dat, gains[s],
                      n ? frames[s] : 0, sum & 0xffff, names[s]);
    }
    char name[256];
    snprintf(name, sizeof name, "%s.hea", rec);
    put_text(name, hea);
    uint8_t *b = malloc(2 * n * (size_t)nsig + 1);
    assert_non_null(b);
    for (size_t i = 0; i < n * (size_t)nsig; i++) {
        b[2 * i] = (uint8_t)(frames[i] & 0xff);
        b[2 * i + 1] = (uint8_t)((uint16_t)frames[i] >> 8);
    }
    put(dat, b, 2 * n * (size_t)nsig);
    free(b);
}

/* ---- real records ---- */

static void test_mitdb_100(void **state) {
    (void)state;
    ecg_record r = read_ok("mitdb/100", NULL);
    wfdb_header h = header_ok("mitdb/100.hea");
    assert_string_equal(r.record_name, "100");
    assert_int_equal(r.n_channels, 2);
    assert_int_equal(r.n_samples, 650000);
    assert_true(r.fs == 360);
    assert_string_equal(r.channels[0].name, "MLII");
    assert_int_equal(r.channels[0].lead, 1); /* MLII -> II */
    assert_string_equal(r.channels[1].name, "V5");
    assert_int_equal(r.channels[1].lead, 10);
    assert_string_equal(r.channels[0].units, "mV"); /* absent in the header: WFDB's default */
    /* 212, gain 200 (no units), ADC zero 1024 = baseline, checksums -22131 and 20052. */
    assert_int_equal(h.signals[0].format, 212);
    assert_true(h.signals[0].gain == 200);
    assert_int_equal(h.signals[0].baseline, 1024);
    assert_int_equal(h.signals[0].adc_res, 11);
    assert_int_equal(h.signals[0].checksum, -22131);
    assert_int_equal(h.signals[1].checksum, 20052);
    check_first_samples(&r, &h);
    const size_t idx[] = {0, 1, 1000, 325000, 649999};
    const double mlii[] = {-0.145, -0.145, -0.395, -0.355, -1.28};
    const double v5[] = {-0.065, -0.065, -0.27, -0.225, 0};
    for (int i = 0; i < 5; i++) {
        expect_near(at(&r, 0, idx[i]), mlii[i], 1e-6, "MLII", idx[i]);
        expect_near(at(&r, 1, idx[i]), v5[i], 1e-6, "V5", idx[i]);
    }
    assert_non_null(strstr(r.comments, "69 M 1085 1629 x1\nAldomet, Inderal"));
    assert_null(strstr(r.comments, "wfdb:")); /* both channels are standard leads */
    wfdb_header_free(&h);
    record_free(&r);
}

/* wfdb-python's variant: a leading comment, mixed CRLF/LF endings and a lone "\r" line. */
static void test_mitdb_100_crlf_variant(void **state) {
    (void)state;
    wfdb_header a = header_ok("mitdb/100.hea");
    wfdb_header b = header_ok("mitdb/100.hea.wfdb-python-test-variant");
    assert_string_equal(b.name, "100");
    assert_int_equal(b.n_signals, 2);
    assert_true(b.fs == 360);
    assert_int_equal(b.n_samples, 650000);
    for (int s = 0; s < 2; s++) {
        assert_string_equal(a.signals[s].file, b.signals[s].file);
        assert_string_equal(a.signals[s].desc, b.signals[s].desc); /* no '\r' left on "V5" */
        assert_int_equal(a.signals[s].format, b.signals[s].format);
        assert_int_equal(a.signals[s].init_value, b.signals[s].init_value);
        assert_int_equal(a.signals[s].checksum, b.signals[s].checksum);
        assert_int_equal(a.signals[s].baseline, b.signals[s].baseline);
    }
    assert_string_equal(b.signals[1].desc, "V5");
    assert_string_equal(b.comments, "unnecessary comment\n69 M 1085 1629 x1\nAldomet, Inderal");
    assert_int_equal(b.signals[1].line, 5); /* the blank "\r" line still counts */

    /* Decoded through the in-memory source, the variant gives the canonical record. */
    char hp[1024], dp[1024];
    tu_data_path(hp, sizeof hp, "mitdb/100.hea.wfdb-python-test-variant");
    tu_data_path(dp, sizeof dp, "mitdb/100.dat");
    size_t hl, dl;
    uint8_t *ht = tu_slurp(hp, &hl), *dt = tu_slurp(dp, &dl);
    wfdb_blob files[] = {{"100.hea", ht, hl}, {"100.dat", dt, dl}};
    ecg_record m, d = read_ok("mitdb/100", NULL);
    ecg_err err = {0};
    assert_int_equal(wfdb_read_record_mem(&m, "100", files, 2, NULL, &err), ECG_OK);
    assert_int_equal(m.n_samples, d.n_samples);
    assert_memory_equal(m.signal, d.signal, 2 * d.n_samples * sizeof(float));
    assert_non_null(strstr(m.comments, "unnecessary comment"));
    record_free(&m);
    /* A missing blob is ECG_ENOTFOUND, naming the file and who asked for it. */
    assert_int_equal(wfdb_read_record_mem(&m, "100", files, 1, NULL, &err), ECG_ENOTFOUND);
    assert_string_equal(err.msg,
                        "100.hea: line 3: file '100.dat' not found"); /* after the comment */
    free(ht);
    free(dt);
    record_free(&d);
    wfdb_header_free(&a);
    wfdb_header_free(&b);
}

static void test_ptbxl(void **state) {
    (void)state;
    ecg_record r = read_ok("ptbxl/00001_lr.hea", NULL);
    wfdb_header h = header_ok("ptbxl/00001_lr.hea");
    assert_int_equal(r.n_channels, 12);
    assert_int_equal(r.n_samples, 1000);
    assert_true(r.fs == 100);
    /* "AVR", "AVL", "AVF" map to aVR.. ; the channels are in standard order. */
    for (int c = 0; c < 12; c++)
        assert_int_equal(r.channels[c].lead, c);
    assert_string_equal(r.channels[3].name, "AVR");
    /* PTB-XL writes checksums unsigned: 64758 is -778 mod 65536 and must match. */
    assert_int_equal(h.signals[2].checksum, 64758);
    assert_true(h.signals[2].gain == 1000);
    check_first_samples(&r, &h);
    const size_t idx[] = {0, 1, 2, 3, 4, 500, 999};
    const double lead_i[] = {-0.119, -0.116, -0.12, -0.117, -0.103, -0.075, 0.022};
    for (int i = 0; i < 7; i++)
        expect_near(at(&r, 0, idx[i]), lead_i[i], 1e-7, "I", idx[i]);
    expect_near(at(&r, 11, 500), -0.083, 1e-7, "V6", 500);
    expect_near(at(&r, 11, 999), -0.12, 1e-7, "V6", 999);
    assert_null(r.comments);

    float *out = malloc(12 * r.n_samples * sizeof *out);
    int mask[12];
    assert_int_equal(record_to_12lead(&r, out, mask), 12);
    for (int k = 0; k < 12; k++)
        assert_int_equal(mask[k], 1);
    expect_near(out[3 * r.n_samples], 0.086, 1e-7, "aVR", 0);
    free(out);

    /* The same bytes from memory give the same record. */
    char hp[1024], dp[1024];
    tu_data_path(hp, sizeof hp, "ptbxl/00001_lr.hea");
    tu_data_path(dp, sizeof dp, "ptbxl/00001_lr.dat");
    size_t hl, dl;
    uint8_t *ht = tu_slurp(hp, &hl), *dt = tu_slurp(dp, &dl);
    wfdb_blob files[] = {{"00001_lr.dat", dt, dl}, {"00001_lr.hea", ht, hl}};
    ecg_record m;
    ecg_err err = {0};
    assert_int_equal(wfdb_read_record_mem(&m, "00001_lr", files, 2, NULL, &err), ECG_OK);
    assert_memory_equal(m.signal, r.signal, 12 * 1000 * sizeof(float));
    record_free(&m);
    /* Every truncation of the .dat is refused as a format error naming the file. */
    const size_t cuts[] = {0, 1, 2, 12000, 23998, 23999};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        files[0].len = cuts[i];
        assert_int_equal(wfdb_read_record_mem(&m, "00001_lr", files, 2, NULL, &err), ECG_EFORMAT);
        assert_non_null(strstr(err.msg, "00001_lr.dat: truncated"));
        assert_null(m.signal);
    }
    /* Every prefix of the header parses or is refused; none crashes (ASan in make sanitize). */
    for (size_t n = 0; n <= hl; n++) {
        wfdb_header p;
        ecg_code rc = wfdb_header_parse(&p, (const char *)ht, n, "00001_lr.hea", &err);
        assert_true(rc == ECG_OK || rc == ECG_EFORMAT);
        if (rc == ECG_OK) wfdb_header_free(&p);
    }
    free(ht);
    free(dt);
    wfdb_header_free(&h);
    record_free(&r);
}

static void test_cinc2021_mat(void **state) {
    (void)state;
    /* "16x1+24": format 16 after the 24-byte MATLAB v4 header. */
    const char *recs[] = {"cinc2021/HR06000", "cinc2021/E07500", "cinc2021/JS20000"};
    for (int i = 0; i < 3; i++) {
        char hea[256];
        snprintf(hea, sizeof hea, "%s.hea", recs[i]);
        ecg_record r = read_ok(recs[i], NULL);
        wfdb_header h = header_ok(hea);
        assert_int_equal(r.n_channels, 12);
        assert_int_equal(r.n_samples, 5000);
        assert_true(r.fs == 500);
        assert_int_equal(h.signals[0].byte_offset, 24);
        assert_int_equal(h.signals[0].spf, 1);
        for (int c = 0; c < 12; c++)
            assert_int_equal(r.channels[c].lead, c);
        check_first_samples(&r, &h);
        assert_non_null(strstr(r.comments, "Dx: "));
        if (i == 0) {
            assert_string_equal(r.channels[0].units, "mv"); /* as written; still millivolts */
            assert_non_null(strstr(r.comments, "Dx: 164934002,426783006"));
            const double s2500[] = {-0.05, -0.085, -0.035, 0.068, -0.007, -0.06,
                                    0.065, 0.04,   0.05,   0.09,  -0.13,  -0.275};
            for (int c = 0; c < 12; c++)
                expect_near(at(&r, c, 2500), s2500[c], 1e-7, ecg_lead_names[c], 2500);
        } else if (i == 1) {
            expect_near(at(&r, 0, 1234), -0.078, 1e-7, "I", 1234);
            expect_near(at(&r, 0, 4999), -0.131, 1e-7, "I", 4999);
            expect_near(at(&r, 11, 1234), -0.136, 1e-7, "V6", 1234);
            expect_near(at(&r, 11, 4999), 0.039, 1e-7, "V6", 4999);
        } else {
            expect_near(at(&r, 6, 1234), 0.078, 1e-7, "V1", 1234);
            expect_near(at(&r, 6, 4999), 0.015, 1e-7, "V1", 4999);
        }
        wfdb_header_free(&h);
        record_free(&r);
    }
}

static void test_ludb(void **state) {
    (void)state;
    ecg_record r = read_ok("ludb/1", NULL);
    wfdb_header h = header_ok("ludb/1.hea");
    assert_int_equal(r.n_channels, 12);
    assert_int_equal(r.n_samples, 5000);
    for (int c = 0; c < 12; c++)
        assert_int_equal(r.channels[c].lead, c); /* "i".."v6" */
    /* "1206(2)/mV": gain 1206, baseline 2 (not the ADC zero 0). */
    assert_true(h.signals[1].gain == 1206);
    assert_int_equal(h.signals[1].baseline, 2);
    check_first_samples(&r, &h);
    const double ii[] = {0.0190713101, 0.0787728027, 0.160033167, 0.232172471, 0.288557214};
    for (size_t t = 0; t < 5; t++)
        expect_near(at(&r, 1, t), ii[t], 1e-7, "ii", t);
    expect_near(at(&r, 1, 4999), -0.0199004975, 1e-7, "ii", 4999);
    expect_near(at(&r, 0, 2500), -0.0174825175, 1e-7, "i", 2500);
    assert_non_null(strstr(r.comments, "Rhythm: Sinus bradycardia."));
    wfdb_header_free(&h);
    record_free(&r);
}

static void test_cpsc2021_float_gain(void **state) {
    (void)state;
    /* Gains like 38777.46675997201 with baselines outside the 16-bit range. */
    ecg_record r = read_ok("cpsc2021/data_8_4", NULL);
    wfdb_header h = header_ok("cpsc2021/data_8_4.hea");
    assert_int_equal(r.n_samples, 8235);
    assert_true(r.fs == 200);
    assert_int_equal(h.signals[0].baseline, -199006);
    check_first_samples(&r, &h);
    expect_near(at(&r, 0, 100), 4.83502445, 1e-5, "I", 100);
    expect_near(at(&r, 0, 8234), 5.07201776, 1e-5, "I", 8234);
    expect_near(at(&r, 1, 100), 4.28500214, 1e-5, "II", 100);
    expect_near(at(&r, 1, 8234), 4.97699515, 1e-5, "II", 8234);
    assert_string_equal(r.comments, "persistent atrial fibrillation");
    wfdb_header_free(&h);
    record_free(&r);
}

/* binformats: the same synthetic signal written in every format, with checksums in the header.
 * The reader verifies checksums and initial values itself (test_bad_files shows a mismatch is an
 * error), so a successful read means all ten match; the values are checked here as well. */
static void test_binformats(void **state) {
    (void)state;
    wfdb_header h = header_ok("wfdb_misc/binformats.hea");
    ecg_record r = read_ok("wfdb_misc/binformats", NULL);
    assert_int_equal(r.n_channels, 10);
    assert_int_equal(r.n_samples, 499);
    check_first_samples(&r, &h);
    const int fmts[10] = {8, 16, 61, 80, 160, 212, 310, 311, 24, 32};
    const size_t idx[4] = {0, 1, 250, 498};
    const double raw[10][4] = {
        {-2047, -1920, 274, 110},
        {-32766, -32242, 32699, 31581},
        {-32765, -32241, 32700, 31582},
        {-124, -110, 61, -37},
        {-32763, -32239, 32702, 31584},
        {-2042, -1758, -657, 160},
        {-505, -158, 313, 437},
        {-504, -157, 314, 438},
        {-8388599, -8322795, 8062401, 7604578},
        {-2147483638, -2130640619, 2063271112, 1945372529},
    };
    for (int s = 0; s < 10; s++) {
        assert_int_equal(h.signals[s].format, fmts[s]);
        for (int i = 0; i < 4; i++)
            expect_near(at(&r, s, idx[i]), raw[s][i] / 200.0, 1e-6 * fabs(raw[s][i] / 200.0) + 1e-9,
                        h.signals[s].desc, idx[i]);
        if (s < 8) { /* up to 16 bits a float holds adc/200 exactly enough to recover adc */
            uint32_t sum = 0;
            for (size_t t = 0; t < 499; t++)
                sum += (uint32_t)(int32_t)lrint(at(&r, s, t) * 200.0);
            assert_int_equal(sum & 0xffff, (uint32_t)h.signals[s].checksum & 0xffff);
        }
    }
    /* One signal per file and one sample per frame: averaging changes nothing. */
    wfdb_options avg = {0, 0, WFDB_FRAMES_AVERAGE};
    ecg_record a = read_ok("wfdb_misc/binformats", &avg);
    assert_memory_equal(a.signal, r.signal, 10 * 499 * sizeof(float));
    record_free(&a);
    wfdb_header_free(&h);
    record_free(&r);
}

/* 03700181: MCL1 "212x4" (4 samples per frame), ABP at 1, RESP "212:4" (skew 4). */
static void test_multifrequency_skew(void **state) {
    (void)state;
    wfdb_header h = header_ok("wfdb_misc/03700181.hea");
    assert_int_equal(h.signals[0].spf, 4);
    assert_int_equal(h.signals[2].skew, 4);
    assert_string_equal(h.signals[1].units, "mmHg");
    assert_int_equal(h.signals[1].baseline, -1605);
    assert_string_equal(h.base_time, "17:27:45");
    assert_string_equal(h.base_date, "15/08/1994");

    /* Default: every signal at 4 x 125 Hz, slower samples repeated. */
    ecg_record r = read_ok("wfdb_misc/03700181", NULL);
    assert_int_equal(r.n_samples, 300000);
    assert_true(r.fs == 500);
    check_first_samples(&r, &h);
    const double mcl1[4] = {-1227, -1205, -1139, -1095}; /* frame 1000 */
    for (int j = 0; j < 4; j++) {
        expect_near(at(&r, 0, 4000 + (size_t)j), mcl1[j] / 2963.77, 1e-6, "MCL1", 4000 + (size_t)j);
        expect_near(at(&r, 1, 4000 + (size_t)j), (-1206 + 1605) / 12.84, 1e-4, "ABP",
                    4000 + (size_t)j);
        /* RESP output frame 1000 is stored frame 1004. */
        expect_near(at(&r, 2, 4000 + (size_t)j), -214 / 2000.0, 1e-7, "RESP", 4000 + (size_t)j);
    }
    expect_near(at(&r, 0, 299999), 418 / 2963.77, 1e-6, "MCL1", 299999);
    expect_near(at(&r, 2, 4 * 74995), 550 / 2000.0, 1e-7, "RESP", 4 * 74995);
    /* The last 4 frames of RESP lie past the end of the file: missing, not invented. */
    for (size_t t = 4 * 74996; t < 300000; t++)
        assert_true(isnan(at(&r, 2, t)));
    assert_false(isnan(at(&r, 2, 4 * 74996 - 1)));
    assert_false(isnan(at(&r, 0, 299999)));
    record_free(&r);

    /* WFDB_FRAMES_AVERAGE: the base rate, MCL1 averaged over each frame. */
    wfdb_options avg = {0, 0, WFDB_FRAMES_AVERAGE};
    r = read_ok("wfdb_misc/03700181", &avg);
    assert_int_equal(r.n_samples, 75000);
    assert_true(r.fs == 125);
    expect_near(at(&r, 0, 1000), -1166.5 / 2963.77, 1e-6, "MCL1 mean", 1000);
    expect_near(at(&r, 2, 1000), -214 / 2000.0, 1e-7, "RESP", 1000);
    assert_true(isnan(at(&r, 2, 74996)));
    assert_non_null(strstr(r.comments, "'MCL1' is not one of the 12 standard leads"));
    assert_non_null(strstr(r.comments, "'ABP' is not one of the 12 standard leads"));
    record_free(&r);
    wfdb_header_free(&h);
}

static void test_header_fields(void **state) {
    (void)state;
    const char *text = "rec 2 360/720(5) 1000 12:30:00 01/02/2003\r\n"
                       "rec.dat 16x2:3+512 200(500)/uV 12 2048 10 1234 7 Channel A  \n"
                       "\n"
                       "# a comment\n"
                       "rec.dat 16x2:3+512 100\n"
                       "#another\n";
    wfdb_header h;
    ecg_err err = {0};
    assert_int_equal(wfdb_header_parse(&h, text, strlen(text), "rec.hea", &err), ECG_OK);
    assert_string_equal(h.name, "rec");
    assert_int_equal(h.n_segments, 0);
    assert_true(h.fs == 360 && h.counter_freq == 720 && h.base_counter == 5);
    assert_int_equal(h.n_samples, 1000);
    assert_true(h.has_n_samples);
    assert_string_equal(h.base_time, "12:30:00");
    assert_string_equal(h.base_date, "01/02/2003");
    const wfdb_signal_spec *a = &h.signals[0], *b = &h.signals[1];
    assert_string_equal(a->file, "rec.dat");
    assert_int_equal(a->format, 16);
    assert_int_equal(a->spf, 2);
    assert_int_equal(a->skew, 3);
    assert_int_equal(a->byte_offset, 512);
    assert_true(a->gain == 200 && a->gain_given);
    assert_int_equal(a->baseline, 500);
    assert_string_equal(a->units, "uV");
    assert_int_equal(a->adc_res, 12);
    assert_int_equal(a->adc_zero, 2048);
    assert_int_equal(a->init_value, 10);
    assert_true(a->has_init && a->has_checksum);
    assert_int_equal(a->checksum, 1234);
    assert_int_equal(a->block_size, 7);
    assert_string_equal(a->desc, "Channel A");
    assert_int_equal(a->line, 2);
    /* Absent fields take WFDB's defaults. */
    assert_true(b->gain == 100);
    assert_string_equal(b->units, "mV");
    assert_int_equal(b->baseline, 0);
    assert_false(b->has_init);
    assert_false(b->has_checksum);
    assert_string_equal(b->desc, "");
    assert_int_equal(b->line, 5);
    assert_string_equal(h.comments, "a comment\nanother");
    wfdb_header_free(&h);

    /* Minimal record line: fs defaults to 250, no length. Gain 0 means uncalibrated: 200. */
    text = "m 1\nm.dat 16 0\n";
    assert_int_equal(wfdb_header_parse(&h, text, strlen(text), "m.hea", &err), ECG_OK);
    assert_true(h.fs == 250);
    assert_false(h.has_n_samples);
    assert_true(h.signals[0].gain == 200 && !h.signals[0].gain_given);
    wfdb_header_free(&h);

    /* Multi-segment master header. */
    text = "ms/3 2 100 12\nms_layout 0\nseg1 5\n~ 7\n";
    assert_int_equal(wfdb_header_parse(&h, text, strlen(text), "ms.hea", &err), ECG_OK);
    assert_int_equal(h.n_segments, 3);
    assert_int_equal(h.n_signals, 2);
    assert_null(h.signals);
    assert_string_equal(h.segments[2].name, "~");
    assert_int_equal(h.segments[1].n_samples, 5);
    assert_int_equal(h.n_samples, 12);
    wfdb_header_free(&h);
    text = "ms/2 2 100 13\nseg1 5\n~ 7\n";
    assert_int_equal(wfdb_header_parse(&h, text, strlen(text), "ms.hea", &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "add up to 12 samples but the record line says 13"));
}

/* Several signals interleaved in one format-16 file, one skewed, one with a baseline, with the
 * invalid code: each sample is (v - baseline) / gain in float, NaN for the code and past the
 * skewed end. The same file read with a second file of 2 samples per frame (every frame's value
 * repeated) goes through the general decoder and must give the same values. */
static void test_interleaved16(void **state) {
    (void)state;
    enum { N = 300, S = 3 };
    int16_t v[N * S];
    uint64_t x = 12345;
    for (size_t i = 0; i < N * S; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (int16_t)(x >> 48);
    }
    v[7 * S + 0] = -32768;
    v[9 * S + 1] = -32768;
    uint8_t b[2 * N * S];
    for (size_t i = 0; i < N * S; i++) {
        b[2 * i] = (uint8_t)(v[i] & 0xff);
        b[2 * i + 1] = (uint8_t)((uint16_t)v[i] >> 8);
    }
    put("m.dat", b, sizeof b);
    const int skew[S] = {0, 2, 0}, base[S] = {0, 0, -7};
    const double gain[S] = {200, 1000, 37.5};
    int sum[S] = {0};
    for (size_t t = 0; t < N; t++)
        for (int s = 0; s < S; s++)
            sum[s] += v[t * S + (size_t)s];
    /* m: the three signals; m2: the same plus a signal of 2 samples per frame in its own file
     * (all zero); mb: m with the second signal's checksum off by one. */
    uint8_t z[4 * N] = {0};
    put("m2b.dat", z, sizeof z);
    const char *recs[4] = {"m", "m2", "mb", "mn"}; /* mn: m without the skew */
    for (int h = 0; h < 4; h++) {
        char hea[2048], name[16];
        int k = snprintf(hea, sizeof hea, "%s %d 250 %d\n", recs[h], h == 1 ? 4 : 3, N);
        for (int s = 0; s < S; s++)
            k += snprintf(hea + k, sizeof hea - (size_t)k,
                          "m.dat 16%s %g(%d)/mV 16 0 %d %d 0 s%d\n", skew[s] && h != 3 ? ":2" : "",
                          gain[s], base[s], v[s], (sum[s] + (h == 2 && s == 1)) & 0xffff, s);
        if (h == 1) snprintf(hea + k, sizeof hea - (size_t)k, "m2b.dat 16x2 200/mV 16 0 0 0 0 z\n");
        snprintf(name, sizeof name, "%s.hea", recs[h]);
        put_text(name, hea);
    }
    ecg_record r, r2, rn;
    ecg_err err = {0};
    assert_int_equal(read_tmp(&r, "m", NULL, &err), ECG_OK);
    assert_int_equal(read_tmp(&r2, "m2", NULL, &err), ECG_OK);
    assert_int_equal(read_tmp(&rn, "mn", NULL, &err), ECG_OK);
    assert_int_equal(r.n_samples, N);
    assert_int_equal(r2.n_samples, 2 * N);
    assert_int_equal(rn.n_samples, N);
    for (int s = 0; s < S; s++)
        for (size_t t = 0; t < N; t++)
            for (int unskewed = 0; unskewed < 2; unskewed++) {
                size_t src = t + (unskewed ? 0 : (size_t)skew[s]);
                float want = NAN;
                if (src < N && v[src * S + (size_t)s] != -32768)
                    want = (float)(((double)v[src * S + (size_t)s] - base[s]) * (1.0 / gain[s]));
                float got[3] = {at(&rn, s, t), NAN, NAN};
                if (!unskewed) {
                    got[0] = at(&r, s, t);
                    got[1] = at(&r2, s, 2 * t);
                    got[2] = at(&r2, s, 2 * t + 1);
                }
                for (int i = 0; i < (unskewed ? 1 : 3); i++) {
                    if (isnan(want))
                        assert_true(isnan(got[i]));
                    else
                        assert_memory_equal(&got[i], &want, sizeof want);
                }
            }
    record_free(&r);
    record_free(&r2);
    record_free(&rn);
    /* A checksum off by one in the second signal is refused. */
    assert_int_equal(read_tmp(&r, "mb", NULL, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "checksum mismatch for signal 1 's1'"));
    wfdb_options warn = {0};
    warn.warn_only = 1;
    assert_int_equal(read_tmp(&r, "mb", &warn, &err), ECG_OK);
    assert_non_null(strstr(r.comments, "mb.hea line 3 (s1): checksum"));
    record_free(&r);
}

static void test_units_and_invalid(void **state) {
    (void)state;
    /* Voltages come back in mV; other units stay as they are. */
    const int16_t f[] = {0, 0, 0, 0, 100, 100, 100, 100, -50, -50, -50, -50};
    const char *gains[] = {"100/uV", "100/V", "100/mmHg", "100"};
    const char *names[] = {"A", "B", "C", "D"};
    make_rec16("u", 100, 4, 3, f, gains, names);
    ecg_record r;
    ecg_err err = {0};
    assert_int_equal(read_tmp(&r, "u", NULL, &err), ECG_OK);
    const double scale[4] = {1e-3, 1e3, 1, 1};
    for (int c = 0; c < 4; c++) {
        expect_near(at(&r, c, 1), scale[c], 1e-6 * scale[c], names[c], 1);
        expect_near(at(&r, c, 2), -0.5 * scale[c], 1e-6 * scale[c], names[c], 2);
    }
    assert_string_equal(r.channels[0].units, "uV");
    assert_string_equal(r.channels[3].units, "mV");
    record_free(&r);

    /* A legal but absurd gain saturates to infinity rather than overflowing a float. */
    const int16_t big[] = {0, 1000, -1000};
    const char *gbig[] = {"1e-300"};
    const char *nbig[] = {"I"};
    make_rec16("tiny", 100, 1, 3, big, gbig, nbig);
    assert_int_equal(read_tmp(&r, "tiny", NULL, &err), ECG_OK);
    assert_true(at(&r, 0, 0) == 0);
    assert_true(isinf(at(&r, 0, 1)) && at(&r, 0, 1) > 0);
    assert_true(isinf(at(&r, 0, 2)) && at(&r, 0, 2) < 0);
    record_free(&r);

    /* -32768 is format 16's "no sample" code: NaN, still counted in the checksum. */
    const int16_t g[] = {0, -32768, 400};
    const char *g1[] = {"200/mV"};
    const char *n1[] = {"II"};
    make_rec16("nan", 100, 1, 3, g, g1, n1);
    assert_int_equal(read_tmp(&r, "nan", NULL, &err), ECG_OK);
    assert_true(at(&r, 0, 0) == 0);
    assert_true(isnan(at(&r, 0, 1)));
    assert_true(at(&r, 0, 2) == 2);
    record_free(&r);

    /* No length in the header: taken from the file (an odd trailing byte is not a sample). */
    put_text("nolen.hea", "nolen 1 100\nnolen.dat 16 200/mV 16 0 0\n");
    const uint8_t d[15] = {0, 0, 200, 0, 144, 1, 0, 0, 0, 0, 0, 0, 56, 255, 9};
    put("nolen.dat", d, sizeof d);
    assert_int_equal(read_tmp(&r, "nolen", NULL, &err), ECG_OK);
    assert_int_equal(r.n_samples, 7);
    assert_true(at(&r, 0, 1) == 1 && at(&r, 0, 2) == 2 && at(&r, 0, 6) == -1);
    record_free(&r);

    /* A null signal ("~", format 0) has no samples: all NaN. */
    put_text("nul.hea", "nul 2 100 3\nnul.dat 16 200 16 0 0 600 0 I\n~ 0 200 16 0 0 0 0 II\n");
    const uint8_t e[6] = {0, 0, 200, 0, 144, 1};
    put("nul.dat", e, sizeof e);
    assert_int_equal(read_tmp(&r, "nul", NULL, &err), ECG_OK);
    for (size_t t = 0; t < 3; t++)
        assert_true(isnan(at(&r, 1, t)));
    assert_true(at(&r, 0, 2) == 2);
    record_free(&r);
}

static void test_multisegment(void **state) {
    (void)state;
    /* Variable layout: a layout header, two real segments and a null one. */
    put_text("ms.hea", "ms/4 2 100 12\nms_layout 0\nseg1 5\n~ 3\nseg2 4\n# master comment\n");
    put_text("ms_layout.hea", "ms_layout 2 100 0\n~ 0 100/mV 16 0 0 0 0 II\n"
                              "~ 0 100/mV 16 0 0 0 0 V1\n# layout comment\n");
    const int16_t s1[] = {10, -10, 20, -20, 30, -30, 40, -40, 50, -50};
    const char *g1[] = {"100/mV", "100/mV"};
    const char *n1[] = {"II", "V1"};
    make_rec16("seg1", 100, 2, 5, s1, g1, n1);
    /* seg2 has V1 in microvolts and a channel the layout lacks, but no II. */
    const int16_t s2[] = {2000, 1, 4000, 2, 6000, 3, 8000, 4};
    const char *g2[] = {"200/uV", "100"};
    const char *n2[] = {"V1", "PLETH"};
    make_rec16("seg2", 100, 2, 4, s2, g2, n2);
    ecg_record r;
    ecg_err err = {0};
    assert_int_equal(read_tmp(&r, "ms", NULL, &err), ECG_OK);
    assert_string_equal(r.record_name, "ms");
    assert_int_equal(r.n_channels, 2);
    assert_int_equal(r.n_samples, 12);
    assert_true(r.fs == 100);
    assert_string_equal(r.channels[0].name, "II");
    assert_int_equal(r.channels[0].lead, 1);
    assert_int_equal(r.channels[1].lead, 6);
    const double ii[12] = {0.1, 0.2, 0.3, 0.4, 0.5, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    const double v1[12] = {-0.1, -0.2, -0.3, -0.4, -0.5, NAN, NAN, NAN, 0.01, 0.02, 0.03, 0.04};
    for (size_t t = 0; t < 12; t++) {
        if (isnan(ii[t]))
            assert_true(isnan(at(&r, 0, t)));
        else
            expect_near(at(&r, 0, t), ii[t], 1e-7, "II", t);
        if (isnan(v1[t]))
            assert_true(isnan(at(&r, 1, t)));
        else
            expect_near(at(&r, 1, t), v1[t], 1e-7, "V1", t);
    }
    assert_non_null(strstr(r.comments, "master comment\nlayout comment"));
    assert_non_null(strstr(r.comments, "segment 'seg2': signal 'PLETH' is not in the layout"));
    record_free(&r);

    /* Fixed layout: no layout header, segments with the same signals (own gains). */
    put_text("fx.hea", "fx/2 1 100 6\nfa 3\nfb 3\n");
    const int16_t a[] = {1, 2, 3}, b[] = {4, 5, 6};
    const char *ga[] = {"100"}, *gb[] = {"50"}, *ni[] = {"I"};
    make_rec16("fa", 100, 1, 3, a, ga, ni);
    make_rec16("fb", 100, 1, 3, b, gb, ni);
    assert_int_equal(read_tmp(&r, "fx", NULL, &err), ECG_OK);
    assert_int_equal(r.n_samples, 6);
    const double want[6] = {0.01, 0.02, 0.03, 0.08, 0.1, 0.12};
    for (size_t t = 0; t < 6; t++)
        expect_near(at(&r, 0, t), want[t], 1e-7, "I", t);
    record_free(&r);

    /* Broken multi-segment records. */
    struct {
        const char *hea;
        ecg_code want;
        const char *needle;
    } bad[] = {
        {"mb/1 1 100 4\nfa 4\n", ECG_EFORMAT, "fa.hea: 3 samples, but mb.hea: line 2 says 4"},
        {"mb/1 1 100 6\nfx 6\n", ECG_EFORMAT, "itself multi-segment"},
        {"mb/1 1 100 3\nnosuch 3\n", ECG_ENOTFOUND, "file 'nosuch.hea' not found"},
        {"mb/2 1 100 6\n~ 3\n~ 3\n", ECG_EFORMAT, "every segment is empty or null"},
        {"mb/1 1 100 3\n../fa 3\n", ECG_EFORMAT, "not a plain name"},
        {"mb/1 1 200 3\nfa 3\n", ECG_EFORMAT,
         "sampling frequency 100 differs from the record's 200"},
        {"mb/1 2 100 3\nfa 3\n", ECG_EFORMAT,
         "the record line says 2 signals but segment 'fa' has 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put_text("mb.hea", bad[i].hea);
        err.msg[0] = 0;
        ecg_code rc = read_tmp(&r, "mb", NULL, &err);
        if (rc != bad[i].want || !strstr(err.msg, bad[i].needle))
            fail_msg("case %zu: got %d '%s', want %d '%s'", i, rc, err.msg, bad[i].want,
                     bad[i].needle);
        assert_null(r.signal);
    }
}

/* Crafted bad files: each refused, with a message naming the file and the problem. */
static void test_bad_files(void **state) {
    (void)state;
    /* bad.dat: format 16 samples 0..9 (checksum 45, initial value 0). */
    uint8_t dat[20];
    for (int i = 0; i < 10; i++)
        dat[2 * i] = (uint8_t)i, dat[2 * i + 1] = 0;
    put("bad.dat", dat, sizeof dat);
    struct {
        const char *hea;
        ecg_code want;
        const char *needle;
    } cases[] = {
        {"bad 1 100 10\nbad.dat 16 200/mV 16 0 0 45 0 II\n", ECG_OK, ""},
        {"bad 1 100 10\nbad.dat 16 0/mV 16 0 0 45 0 II\n", ECG_OK, ""},
        {"bad 1 100 10\nbad.dat 16:1073741824 200 16 0 0 45 0 II\n", ECG_OK, ""},
        {"bad 1 100 12\nbad.dat 16 200/mV 16 0 0 45 0 II\n", ECG_EFORMAT,
         "bad.dat: truncated: the header (bad.hea: line 2) says 12 samples per signal, 24 bytes "
         "from offset 0, but the file has 20 bytes"},
        {"bad 1 100 1000000000000000\nbad.dat 16 200/mV 16 0 0 45 0 II\n", ECG_EFORMAT,
         "bad.dat: truncated"},
        {"bad 1 100 99999999999999999999\nbad.dat 16 200\n", ECG_EFORMAT,
         "bad.hea: line 1: bad sample count '99999999999999999999'"},
        {"bad 1 100 10\nbad.dat 16+4 200/mV 16 0 2 45 0 II\n", ECG_EFORMAT, "truncated"},
        {"bad 1 100 10\nbad.dat 999 200/mV 16 0 0 45 0 II\n", ECG_EFORMAT,
         "bad.hea: line 2: unsupported signal format 999"},
        {"bad 1 100 10\nbad.dat 16x 200\n", ECG_EFORMAT, "line 2: bad signal format '16x'"},
        {"bad 1 100 10\nbad.dat 16x0 200\n", ECG_EFORMAT, "line 2: bad signal format '16x0'"},
        {"bad 1 100 10\nbad.dat 16+4:1 200\n", ECG_EFORMAT, "line 2: bad signal format"},
        {"bad 1 100 10\nbad.dat 16x70000 200\n", ECG_EFORMAT, "line 2: bad signal format"},
        {"bad 1 100 10\nbad.dat\n", ECG_EFORMAT,
         "line 2: signal line needs a file name and a format"},
        {"bad\n", ECG_EFORMAT,
         "line 1: record line needs at least a record name and a signal count"},
        {"bad 2 100 10\nbad.dat 16 200/mV 16 0 0 45 0 II\n", ECG_EFORMAT,
         "header ends after 1 of 2 signal lines"},
        {"bad 1 100 10\nbad.dat 16 200/mV 16 0 0 45 0 II\nbad.dat 16 200\n", ECG_EFORMAT,
         "line 3: more signal lines than the record line's count"},
        {"bad 1 100 10\nbad.dat 16 -200/mV 16 0 0 45 0 II\n", ECG_EFORMAT,
         "line 2: negative gain '-200'"},
        {"bad 1 100 10\nbad.dat 16 abc/mV\n", ECG_EFORMAT, "line 2: bad gain 'abc'"},
        {"bad 1 100 10\nbad.dat 16 200(x)/mV\n", ECG_EFORMAT, "line 2: bad baseline 'x'"},
        {"bad 1 100 10\nbad.dat 16 200(5/mV\n", ECG_EFORMAT, "line 2: bad baseline in gain"},
        {"bad 1 100 10\nbad.dat 16 200/\n", ECG_EFORMAT, "line 2: empty units"},
        {"bad 1 100 10\nbad.dat 16 200/mV 16 0 0 46 0 II\n", ECG_EFORMAT,
         "bad.dat: checksum mismatch for signal 0 'II' (bad.hea line 2): header says 46, samples "
         "sum to 45"},
        {"bad 1 100 10\nbad.dat 16 200/mV 16 0 3 45 0 II\n", ECG_EFORMAT,
         "bad.dat: initial value mismatch for signal 0 'II' (bad.hea line 2): header says 3, "
         "first sample is 0"},
        {"bad 1 100 10\nbad.dat 16 200/mV 16 0 0 x45 0 II\n", ECG_EFORMAT,
         "line 2: bad checksum 'x45'"},
        {"bad 1 100 10\nbad.dat 16 200/mV 16 0 99999999999 45\n", ECG_EFORMAT,
         "line 2: bad initial value"},
        {"bad 1 100 10\nbad.dat 16 200/mV 40\n", ECG_EFORMAT, "line 2: bad ADC resolution '40'"},
        {"bad 1 100 10\nbad.dat 16 200/mV 16 zero\n", ECG_EFORMAT, "line 2: bad ADC zero 'zero'"},
        {"bad 1 0 10\nbad.dat 16 200\n", ECG_EFORMAT, "line 1: bad sampling frequency '0'"},
        {"bad 1 -360 10\nbad.dat 16 200\n", ECG_EFORMAT, "bad sampling frequency '-360'"},
        {"bad 1 nan 10\nbad.dat 16 200\n", ECG_EFORMAT, "bad sampling frequency 'nan'"},
        {"bad 1 inf 10\nbad.dat 16 200\n", ECG_EFORMAT, "bad sampling frequency 'inf'"},
        {"bad 1 1e999 10\nbad.dat 16 200\n", ECG_EFORMAT, "bad sampling frequency '1e999'"},
        {"bad 1 0x10 10\nbad.dat 16 200\n", ECG_EFORMAT, "bad sampling frequency '0x10'"},
        {"bad 1 100/0 10\nbad.dat 16 200\n", ECG_EFORMAT, "bad counter frequency '0'"},
        {"bad 5000 100 10\n", ECG_EFORMAT, "line 1: bad signal count '5000'"},
        {"bad -1 100 10\n", ECG_EFORMAT, "line 1: bad signal count '-1'"},
        {"bad 0 100 10\n", ECG_EFORMAT, "bad.hea: record has no signals"},
        {"bad/0 1 100 10\n", ECG_EFORMAT, "line 1: bad segment count '0'"},
        {"bad 1 100 10 12:xx\n", ECG_EFORMAT, "line 1: bad base time '12:xx'"},
        {"bad 1 100 10 12:00:00 1/1/2000 more\n", ECG_EFORMAT,
         "line 1: record line has unexpected text"},
        {"bad 1 100 10\n../bad.dat 16 200\n", ECG_EFORMAT,
         "bad.hea: line 2: file name '../bad.dat' is not a plain name"},
        {"bad 1 100 10\n/etc/passwd 16 200\n", ECG_EFORMAT, "is not a plain name"},
        {"bad 1 100 10\nnothere.dat 16 200\n", ECG_ENOTFOUND,
         "bad.hea: line 2: file 'nothere.dat' not found"},
        {"bad 2 100 5\nbad.dat 16 200\nbad.dat 212 200\n", ECG_EFORMAT,
         "line 3: signal in 'bad.dat' has format 212 but the previous signal in the same file has "
         "16"},
        {"", ECG_EFORMAT, "bad.hea: no record line"},
        {"# only a comment\n\r\n", ECG_EFORMAT, "bad.hea: no record line"},
    };
    ecg_record r;
    ecg_err err;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put_text("bad.hea", cases[i].hea);
        memset(&err, 0, sizeof err);
        ecg_code rc = read_tmp(&r, "bad", NULL, &err);
        if (rc != cases[i].want || !strstr(err.msg, cases[i].needle))
            fail_msg("case %zu: got %d '%s', want %d '%s'", i, rc, err.msg, cases[i].want,
                     cases[i].needle);
        if (rc == ECG_OK)
            record_free(&r);
        else
            assert_null(r.signal);
    }
    /* A FIFO or a directory where the signal file should be: refused, and never waited on. */
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s/fifo.dat", tu_tmpdir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    put_text("bad.hea", "bad 1 100 10\nfifo.dat 16 200\n");
    assert_int_equal(read_tmp(&r, "bad", NULL, &err), ECG_EIO);
    assert_non_null(strstr(err.msg, "fifo.dat: not a regular file"));
    snprintf(fifo, sizeof fifo, "%s/dir.dat", tu_tmpdir);
    assert_int_equal(mkdir(fifo, 0700), 0);
    put_text("bad.hea", "bad 1 100 10\ndir.dat 16 200\n");
    assert_int_equal(read_tmp(&r, "bad", NULL, &err), ECG_EIO);
    assert_non_null(strstr(err.msg, "dir.dat: not a regular file"));

    /* A NUL byte in the header text. */
    put("bad.hea", "bad 1 100 10\n\0bad.dat 16 200\n", 29);
    assert_int_equal(read_tmp(&r, "bad", NULL, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "bad.hea: line 2: NUL byte"));

    /* warn_only: the mismatches become notes and the samples are returned. */
    put_text("bad.hea", "bad 1 100 10\nbad.dat 16 200/mV 16 0 3 46 0 II\n");
    wfdb_options warn = {0, 1, WFDB_FRAMES_UPSAMPLE};
    assert_int_equal(read_tmp(&r, "bad", &warn, &err), ECG_OK);
    assert_non_null(strstr(
        r.comments, "wfdb: bad.hea line 2 (II): checksum 46 in the header, samples sum to 45"));
    assert_non_null(strstr(
        r.comments, "wfdb: bad.hea line 2 (II): initial value 3 in the header, first sample 0"));
    assert_true(at(&r, 0, 9) == 9 / 200.0f);
    record_free(&r);

    /* A record within the format but past the configured sample limit. */
    wfdb_options small = {1000, 0, WFDB_FRAMES_UPSAMPLE};
    char path[1024];
    tu_data_path(path, sizeof path, "mitdb/100");
    assert_int_equal(wfdb_read_record(&r, path, &small, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "100.hea: 2 signals x 650000 samples (x1 per frame) is more "
                                    "than the 1000 samples allowed"));
    assert_null(r.signal);
    tu_data_path(path, sizeof path, "nonexistent/rec");
    assert_int_equal(wfdb_read_record(&r, path, NULL, &err), ECG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "rec.hea"));
}

/* ---- annotations ---- */

static void test_annot_mitdb_100(void **state) {
    (void)state;
    char path[1024];
    tu_data_path(path, sizeof path, "mitdb/100.atr");
    wfdb_annotations a;
    ecg_err err = {0};
    assert_int_equal(wfdb_annot_read(&a, path, &err), ECG_OK);
    assert_int_equal(a.n, 2274);
    /* The rhythm annotation '+' "(N" at 18, then the beats. */
    assert_int_equal(a.items[0].sample, 18);
    assert_int_equal(a.items[0].code, 28);
    assert_string_equal(a.items[0].symbol, "+");
    assert_string_equal(a.items[0].aux, "(N");
    const int64_t pos[] = {77, 370, 662, 946, 1231, 1515, 1809};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(a.items[1 + i].sample, pos[i]);
        assert_string_equal(a.items[1 + i].symbol, "N");
        assert_null(a.items[1 + i].aux);
    }
    size_t n_n = 0, n_a = 0, n_v = 0, n_plus = 0;
    for (size_t i = 0; i < a.n; i++) {
        n_n += a.items[i].code == 1;
        n_a += a.items[i].code == 8;
        n_v += a.items[i].code == 5;
        n_plus += a.items[i].code == 28;
        if (i) assert_true(a.items[i].sample >= a.items[i - 1].sample);
    }
    assert_int_equal(n_n, 2239);
    assert_int_equal(n_a, 33);
    assert_int_equal(n_v, 1);
    assert_int_equal(n_plus, 1);
    assert_int_equal(n_n + n_a + n_v, 2273); /* MIT-BIH 100's beat count */
    assert_int_equal(a.items[a.n - 1].sample, 649991);
    wfdb_annot_free(&a);
}

static void test_annot_ludb_cpsc(void **state) {
    (void)state;
    char path[1024];
    wfdb_annotations a;
    ecg_err err = {0};
    /* LUDB per-lead delineation: wave onsets '(' and offsets ')' around p, N and t peaks. */
    tu_data_path(path, sizeof path, "ludb/1.ii");
    assert_int_equal(wfdb_annot_read(&a, path, &err), ECG_OK);
    assert_int_equal(a.n, 48);
    const char *sym[] = {"(", "N", ")", "(", "t", ")", "(", "p"};
    const int64_t pos[] = {644, 662, 682, 776, 843, 878, 1250, 1278};
    for (int i = 0; i < 8; i++) {
        assert_string_equal(a.items[i].symbol, sym[i]);
        assert_int_equal(a.items[i].sample, pos[i]);
    }
    size_t count[50] = {0};
    for (size_t i = 0; i < a.n; i++)
        count[a.items[i].code]++;
    assert_int_equal(count[39], 16);
    assert_int_equal(count[40], 16);
    assert_int_equal(count[1], 6);
    assert_int_equal(count[27], 5);
    assert_int_equal(count[24], 5);
    assert_int_equal(a.items[47].sample, 3996);
    wfdb_annot_free(&a);

    /* CPSC 2021: "(AFIB" at 0, "(N" at the end, every beat with aux "None". */
    tu_data_path(path, sizeof path, "cpsc2021/data_8_4.atr");
    assert_int_equal(wfdb_annot_read(&a, path, &err), ECG_OK);
    assert_int_equal(a.n, 53);
    assert_int_equal(a.items[0].sample, 0);
    assert_string_equal(a.items[0].symbol, "+");
    assert_string_equal(a.items[0].aux, "(AFIB");
    assert_int_equal(a.items[1].sample, 30);
    assert_string_equal(a.items[1].aux, "None");
    assert_int_equal(a.items[52].sample, 8234);
    assert_string_equal(a.items[52].aux, "(N");
    wfdb_annot_free(&a);

    tu_data_path(path, sizeof path, "ludb/nonexistent.i");
    assert_int_equal(wfdb_annot_read(&a, path, &err), ECG_ENOTFOUND);
}

static void word(uint8_t *b, size_t *n, unsigned code, unsigned step) {
    unsigned w = code << 10 | (step & 0x3ff);
    b[(*n)++] = (uint8_t)(w & 0xff);
    b[(*n)++] = (uint8_t)(w >> 8);
}

static void test_annot_crafted(void **state) {
    (void)state;
    uint8_t b[64];
    size_t n = 0;
    word(b, &n, 60, 7); /* NUM before any annotation: carried */
    word(b, &n, 1, 100);
    word(b, &n, 61, 1021); /* SUB -3 */
    word(b, &n, 62, 2);    /* CHN 2 */
    word(b, &n, 63, 5);    /* AUX, 5 bytes + pad */
    memcpy(b + n, "(AFIB", 5);
    n += 5;
    b[n++] = 0;
    word(b, &n, 59, 0); /* SKIP 70000 = 0x00011170: high word first */
    b[n++] = 0x01, b[n++] = 0x00, b[n++] = 0x70, b[n++] = 0x11;
    word(b, &n, 5, 10);
    word(b, &n, 45, 1);
    word(b, &n, 0, 0); /* end of file; what follows is ignored */
    word(b, &n, 1, 5);
    wfdb_annotations a;
    ecg_err err = {0};
    assert_int_equal(wfdb_annot_parse(&a, b, n, "crafted", &err), ECG_OK);
    assert_int_equal(a.n, 3);
    assert_int_equal(a.items[0].sample, 100);
    assert_string_equal(a.items[0].symbol, "N");
    assert_int_equal(a.items[0].subtype, -3);
    assert_int_equal(a.items[0].chan, 2);
    assert_int_equal(a.items[0].num, 7);
    assert_string_equal(a.items[0].aux, "(AFIB");
    assert_int_equal(a.items[1].sample, 70110);
    assert_string_equal(a.items[1].symbol, "V");
    assert_int_equal(a.items[1].subtype, 0); /* SUB does not carry over */
    assert_int_equal(a.items[1].chan, 2);    /* CHN and NUM do */
    assert_int_equal(a.items[1].num, 7);
    assert_null(a.items[1].aux);
    assert_int_equal(a.items[2].code, 45);
    assert_string_equal(a.items[2].symbol, "[45]");
    wfdb_annot_free(&a);

    /* Cut short: a SKIP without its interval, an AUX without its text. */
    size_t m = 0;
    word(b, &m, 1, 1);
    word(b, &m, 59, 0);
    b[m++] = 0;
    assert_int_equal(wfdb_annot_parse(&a, b, m, "cut.atr", &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "cut.atr: byte 2: SKIP cut off"));
    m = 0;
    word(b, &m, 1, 1);
    word(b, &m, 63, 9);
    memcpy(b + m, "(N", 2);
    m += 2;
    assert_int_equal(wfdb_annot_parse(&a, b, m, "cut.atr", &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "aux string of 9 bytes cut off"));
    /* A negative SKIP before time 0. */
    m = 0;
    word(b, &m, 59, 0);
    b[m++] = 0xff, b[m++] = 0xff, b[m++] = 0xf0, b[m++] = 0xff; /* -16 */
    word(b, &m, 1, 1);
    assert_int_equal(wfdb_annot_parse(&a, b, m, "neg.atr", &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "SKIP of -16"));
    /* Empty and odd-length files. */
    assert_int_equal(wfdb_annot_parse(&a, b, 0, "empty", &err), ECG_OK);
    assert_int_equal(a.n, 0);
    wfdb_annot_free(&a);
    m = 0;
    word(b, &m, 12, 3);
    b[m++] = 0x55;
    assert_int_equal(wfdb_annot_parse(&a, b, m, "odd", &err), ECG_OK);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.items[0].symbol, "/");
    wfdb_annot_free(&a);

    assert_string_equal(wfdb_annot_symbol(5), "V");
    assert_string_equal(wfdb_annot_symbol(39), "(");
    assert_string_equal(wfdb_annot_symbol(0), "");
    assert_string_equal(wfdb_annot_symbol(15), "");
    assert_string_equal(wfdb_annot_symbol(99), "");
    assert_int_equal(wfdb_annot_code("N"), 1);
    assert_int_equal(wfdb_annot_code("+"), 28);
    assert_int_equal(wfdb_annot_code(")"), 40);
    assert_int_equal(wfdb_annot_code("zz"), -1);
    assert_int_equal(wfdb_annot_code(""), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mitdb_100),
        cmocka_unit_test(test_mitdb_100_crlf_variant),
        cmocka_unit_test(test_ptbxl),
        cmocka_unit_test(test_cinc2021_mat),
        cmocka_unit_test(test_ludb),
        cmocka_unit_test(test_cpsc2021_float_gain),
        cmocka_unit_test(test_binformats),
        cmocka_unit_test(test_multifrequency_skew),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_interleaved16),
        cmocka_unit_test(test_units_and_invalid),
        cmocka_unit_test(test_multisegment),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_annot_mitdb_100),
        cmocka_unit_test(test_annot_ludb_cpsc),
        cmocka_unit_test(test_annot_crafted),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}

/* test_edf.c — the EDF reader on EDFlib's generator file (checked against its WFDB twin), an EDF+
 * annotation-only file, crafted 12-lead files, crafted bad headers (each refused with its
 * message), and the import of a folder of EDF files into the store.
 *
 * test_generator_2.edf and test_generator_2.hea/.dat hold the same 16-bit samples. EDF maps
 * digital -32768..32767 onto -1000..1000 uV (0.0305185 uV per step, digital 0 at +1000/65535 uV);
 * the WFDB header says gain 32.7675/uV with baseline 0, so the two decodings differ by exactly
 * 1000/65535 uV = 1.52590e-5 mV on every sample of every uV channel: that is the cross-check. */
#include "testutil.h"

#include <sys/stat.h>
#include <unistd.h>

#include "core/data/edf.h"
#include "core/data/record.h"
#include "core/data/store.h"
#include "core/data/wfdb.h"

static void put(const char *name, const void *data, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static float at(const ecg_record *r, int c, size_t t) {
    return r->signal[(size_t)c * r->n_samples + t];
}

/* ---- a small EDF writer for crafted files ---- */

typedef struct {
    const char *label, *dim;
    double pmin, pmax;
    int dmin, dmax, spr;
} sig;

static void fld(uint8_t *dst, size_t w, const char *text) {
    size_t n = strlen(text);
    assert_true(n <= w);
    memset(dst, ' ', w);
    memcpy(dst, text, n);
}

/* Digital sample t of signal s: deterministic, inside -32768..32767. */
static int16_t dig(int s, size_t t) {
    return (int16_t)((int)((t * 37 + (size_t)s * 1009) % 20001) - 10000);
}

/* A plain EDF file (EDF+ when plus) of ns signals and nrec one-second records. */
static uint8_t *make_edf(const sig *S, int ns, int nrec, int plus, size_t *len) {
    size_t hdr = 256 * (size_t)(ns + 1), rec = 0;
    for (int i = 0; i < ns; i++)
        rec += 2 * (size_t)S[i].spr;
    *len = hdr + (size_t)nrec * rec;
    uint8_t *b = calloc(1, *len);
    assert_non_null(b);
    char t[96];
    fld(b, 8, "0");
    fld(b + 8, 80, plus ? "X X X X" : "test patient");
    fld(b + 88, 80, plus ? "Startdate 01-JAN-2020 X X X" : "test recording");
    fld(b + 168, 8, "01.01.20");
    fld(b + 176, 8, "10.00.00");
    snprintf(t, sizeof t, "%zu", hdr);
    fld(b + 184, 8, t);
    fld(b + 192, 44, plus ? "EDF+C" : "");
    snprintf(t, sizeof t, "%d", nrec);
    fld(b + 236, 8, t);
    fld(b + 244, 8, "1");
    snprintf(t, sizeof t, "%d", ns);
    fld(b + 252, 4, t);
    uint8_t *h = b + 256;
    size_t n = (size_t)ns;
    for (size_t i = 0; i < n; i++) {
        fld(h + 16 * i, 16, S[i].label);
        fld(h + 16 * n + 80 * i, 80, "");
        fld(h + 96 * n + 8 * i, 8, S[i].dim);
        snprintf(t, sizeof t, "%g", S[i].pmin);
        fld(h + 104 * n + 8 * i, 8, t);
        snprintf(t, sizeof t, "%g", S[i].pmax);
        fld(h + 112 * n + 8 * i, 8, t);
        snprintf(t, sizeof t, "%d", S[i].dmin);
        fld(h + 120 * n + 8 * i, 8, t);
        snprintf(t, sizeof t, "%d", S[i].dmax);
        fld(h + 128 * n + 8 * i, 8, t);
        fld(h + 136 * n + 80 * i, 80, "");
        snprintf(t, sizeof t, "%d", S[i].spr);
        fld(h + 216 * n + 8 * i, 8, t);
        fld(h + 224 * n + 32 * i, 32, "");
    }
    uint8_t *p = b + hdr;
    for (int r = 0; r < nrec; r++)
        for (int i = 0; i < ns; i++) {
            int annot = strcmp(S[i].label, "EDF Annotations") == 0;
            for (int k = 0; k < S[i].spr; k++) {
                int16_t v = annot ? 0 : dig(i, (size_t)r * (size_t)S[i].spr + (size_t)k);
                p[0] = (uint8_t)(v & 0xff);
                p[1] = (uint8_t)((uint16_t)v >> 8);
                p += 2;
            }
            if (annot) { /* the record's time-keeping annotation: "+<r>\x14\x14\0" */
                char tal[32];
                int m = snprintf(tal, sizeof tal, "+%d\x14\x14", r);
                memcpy(p - 2 * S[i].spr, tal, (size_t)m + 1);
            }
        }
    return b;
}

/* The 12 leads at 500 Hz in mV (digital / 1000) plus a respiration channel at 25 Hz. */
static const sig twelve[] = {
    {"ECG I", "mV", -32.768, 32.767, -32768, 32767, 500},
    {"ECG II", "mV", -32.768, 32.767, -32768, 32767, 500},
    {"ECG III", "mV", -32.768, 32.767, -32768, 32767, 500},
    {"ECG aVR", "mV", -32.768, 32.767, -32768, 32767, 500},
    {"ECG aVL", "mV", -32.768, 32.767, -32768, 32767, 500},
    {"ECG aVF", "mV", -32.768, 32.767, -32768, 32767, 500},
    {"ECG V1", "uV", -32768, 32767, -32768, 32767, 500}, /* uV: values / 1000 in mV */
    {"ECG V2", "mV", -32.768, 32.767, -32768, 32767, 500},
    {"ECG V3", "mV", -32.768, 32.767, -32768, 32767, 500},
    {"ECG V4", "mV", -32.768, 32.767, -32768, 32767, 500},
    {"ECG V5", "mV", -32.768, 32.767, -32768, 32767, 500},
    {"ECG V6", "mV", -32.768, 32.767, -32768, 32767, 500},
    {"Resp", "Ohm", -100, 100, -32768, 32767, 25},
};

/* ---- real files ---- */

static void test_generator(void **state) {
    (void)state;
    char path[1024], wpath[1024];
    tu_data_path(path, sizeof path, "edf/test_generator_2.edf");
    tu_data_path(wpath, sizeof wpath, "edf/test_generator_2");
    ecg_record r, w;
    ecg_err err = {0};
    edf_options opt = {0, 1};
    if (edf_read_record(&r, path, &opt, &err)) fail_msg("%s", err.msg);
    assert_string_equal(r.record_name, "test_generator_2");
    assert_int_equal(r.n_channels, 11); /* 12 EDF signals, one of them "EDF Annotations" */
    assert_int_equal(r.n_samples, 120000);
    assert_true(r.fs == 200); /* 200 samples per 1 s record */
    const char *names[] = {"squarewave", "ramp",       "pulse",     "ECG",
                           "noise",      "sine 1 Hz",  "sine 8 Hz", "sine 8.5 Hz",
                           "sine 15 Hz", "sine 17 Hz", "sine 50 Hz"};
    for (int c = 0; c < 11; c++) {
        assert_string_equal(r.channels[c].name, names[c]);
        assert_int_equal(r.channels[c].lead, -1); /* no standard lead among them */
        /* "sine 15 Hz" and "sine 17 Hz" have a Latin-1 degree sign as unit, repaired to '?' */
        assert_string_equal(r.channels[c].units, c == 8 || c == 9 ? "?" : "uV");
    }
    assert_non_null(strstr(r.comments, "edf: 2 non-ASCII header bytes replaced"));
    assert_non_null(strstr(r.comments, "edf: annotation +0 s - RECORD START"));
    assert_non_null(strstr(r.comments, "edf: annotation +600 s - REC STOP"));
    /* Square wave: +-100 uV; first sample digital 3276 -> (3276 + 0.5) * 2000 / 65535 uV. */
    assert_true(fabs(at(&r, 0, 0) - (3276 + 0.5) * 2000.0 / 65535 / 1000) < 1e-8);

    if (wfdb_read_record(&w, wpath, NULL, &err)) fail_msg("%s", err.msg);
    assert_int_equal(w.n_channels, 12);
    assert_int_equal(w.n_samples, r.n_samples);
    const double off_uv = 1000.0 / 65535; /* EDF's half step, see the top of the file */
    for (int c = 0; c < 11; c++) {
        assert_string_equal(w.channels[c].name, names[c]);
        int volts = c != 8 && c != 9; /* the degree-sign channels stay in file units in both */
        double off = volts ? off_uv / 1000 : off_uv, tol = volts ? 2e-8 : 2e-5, worst = 0;
        for (size_t t = 0; t < r.n_samples; t++) {
            double d = fabs((double)at(&r, c, t) - at(&w, c, t) - off);
            if (d > worst) worst = d;
        }
        if (!(worst <= tol))
            fail_msg("%s: EDF vs WFDB off by %g beyond the half step", names[c], worst);
    }
    record_free(&w);

    /* From memory: the same record. */
    size_t len;
    uint8_t *bytes = tu_slurp(path, &len);
    ecg_record m;
    if (edf_read_record_mem(&m, "upload.edf", bytes, len, NULL, &err)) fail_msg("%s", err.msg);
    assert_string_equal(m.record_name, "upload");
    assert_int_equal(m.n_channels, 11);
    assert_memory_equal(m.signal, r.signal, 11 * r.n_samples * sizeof(float));
    assert_null(strstr(m.comments, "annotation +")); /* not asked for */
    record_free(&m);
    free(bytes);
    record_free(&r);
}

static void test_annotation_file(void **state) {
    (void)state;
    char path[1024];
    tu_data_path(path, sizeof path, "edf/test_edfann.edf");
    ecg_record r;
    ecg_err err = {0};
    edf_options opt = {0, 1};
    assert_int_equal(edf_read_record(&r, path, &opt, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "test_edfann.edf: no signals, only EDF+ annotations (856)"));
    assert_int_equal(edf_read_record(&r, path, NULL, &err), ECG_EFORMAT);
    assert_non_null(strstr(err.msg, "an annotation file, not an ECG"));
    assert_null(r.signal);

    edf_annotations a;
    if (edf_read_annotations(&a, path, &err)) fail_msg("%s", err.msg);
    assert_int_equal(a.n, 856);
    assert_int_equal(a.items[0].onset, 0);
    assert_int_equal(a.items[0].duration, 300000000); /* 30 s in 100 ns units */
    assert_string_equal(a.items[0].text, "Sleep stage W");
    assert_int_equal(a.items[2].onset, 334300000); /* 33.43 s */
    assert_int_equal(a.items[2].duration, 0);
    assert_string_equal(a.items[2].text, "Lights off@@EEG F4-A1");
    edf_annotations_free(&a);

    tu_data_path(path, sizeof path, "edf/test_generator_2.edf");
    if (edf_read_annotations(&a, path, &err)) fail_msg("%s", err.msg);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.items[1].text, "REC STOP");
    assert_int_equal(a.items[1].onset, 6000000000LL);
    assert_int_equal(a.items[1].duration, -1);
    edf_annotations_free(&a);
}

/* ---- crafted files ---- */

static void test_twelve_leads(void **state) {
    (void)state;
    size_t len;
    uint8_t *b = make_edf(twelve, 13, 3, 0, &len);
    put("twelve.edf", b, len);
    char path[512];
    snprintf(path, sizeof path, "%s/twelve.edf", tu_tmpdir);
    ecg_record r;
    ecg_err err = {0};
    if (edf_read_record(&r, path, NULL, &err)) fail_msg("%s", err.msg);
    assert_int_equal(r.n_channels, 12); /* Resp at 25 Hz dropped */
    assert_true(r.fs == 500);
    assert_int_equal(r.n_samples, 1500);
    for (int c = 0; c < 12; c++)
        assert_int_equal(r.channels[c].lead, c); /* "ECG aVR" -> aVR, ... */
    assert_non_null(strstr(r.comments, "edf: signal 'Resp' at 25 Hz dropped (record at 500 Hz)"));
    assert_non_null(
        strstr(r.comments, "edf: patient: test patient\nedf: recording: test recording\n"));
    for (int c = 0; c < 12; c++)
        for (size_t t = 0; t < r.n_samples; t += 7) {
            double want = dig(c, t) / 1000.0; /* mV, and uV / 1000 for V1 */
            if (!(fabs(at(&r, c, t) - want) < 1e-6))
                fail_msg("lead %d sample %zu: %g, want %g", c, t, at(&r, c, t), want);
        }
    record_free(&r);

    /* EDF+ with an annotation signal, and a UTF-8 micro sign in a unit. */
    sig s2[3] = {twelve[0], twelve[6], {"EDF Annotations", "", -1, 1, -32768, 32767, 30}};
    s2[1].dim = "\xc2\xb5V";
    free(b);
    b = make_edf(s2, 3, 2, 1, &len);
    if (edf_read_record_mem(&r, "plus.edf", b, len, NULL, &err)) fail_msg("%s", err.msg);
    assert_int_equal(r.n_channels, 2);
    assert_string_equal(r.channels[1].units, "uV");
    assert_true(fabs(at(&r, 1, 5) - dig(1, 5) / 1000.0) < 1e-6);
    assert_non_null(strstr(r.comments, "edf: EDF+,"));
    record_free(&r);
    free(b);

    /* A channel limit below what the file holds. */
    b = make_edf(twelve, 13, 3, 0, &len);
    edf_options small = {1000, 0};
    assert_int_equal(edf_read_record_mem(&r, "big.edf", b, len, &small, &err), ECG_EINVAL);
    assert_string_equal(err.msg, "big.edf: 12 signals x 1500 samples exceed the limit of 1000");
    free(b);
}

/* Overwrite a field of a fresh copy and expect the error. */
typedef struct {
    size_t off, w;
    const char *text; /* NULL: truncate the file to w bytes */
    ecg_code code;
    const char *msg; /* a substring of the message */
} mutation;

static void test_bad_headers(void **state) {
    (void)state;
    size_t len;
    sig s1[2] = {twelve[0], twelve[1]};
    uint8_t *good = make_edf(s1, 2, 2, 0, &len); /* header 768 bytes, records of 2000 bytes */
    const size_t H = 256, n = 2;
    const mutation muts[] = {
        {0, 100, NULL, ECG_EFORMAT, "bad.edf: 100 bytes: shorter than the 256-byte EDF header"},
        {0, 8, "1", ECG_EFORMAT, "not an EDF or BDF file"},
        {252, 4, "-3", ECG_EFORMAT, "bad.edf: -3 signals (must be 1..640)"},
        {252, 4, "9999", ECG_EFORMAT, "bad.edf: 9999 signals (must be 1..640)"},
        {252, 4, "x", ECG_EFORMAT, "bad.edf: number of signals is not a number"},
        {184, 8, "512", ECG_EFORMAT, "bad.edf: header size 512, but 2 signals need 768"},
        {236, 8, "-1", ECG_EFORMAT, "not closed by its writer"},
        {236, 8, "-7", ECG_EFORMAT, "bad.edf: -7 data records"},
        {236, 8, "0", ECG_EFORMAT, "bad.edf: 0 data records"},
        {236, 8, "3", ECG_EFORMAT,
         "bad.edf: truncated: the header announces 3 records of 2000 bytes (6768 bytes with the "
         "header), the file has 4768"},
        {236, 8, "99999999", ECG_EFORMAT, "truncated: the header announces 99999999 records"},
        {244, 8, "-1", ECG_EFORMAT, "data record duration is not a number >= 0"},
        {244, 8, "nan", ECG_EFORMAT, "data record duration is not a number >= 0"},
        {H + 216 * n + 8, 8, "-5", ECG_EFORMAT,
         "bad.edf: signal 2 ('ECG II'): -5 samples per record"},
        {H + 216 * n, 8, "99999999", ECG_EFORMAT,
         "bad.edf: signal 1 ('ECG I'): 99999999 samples per record"},
        {H + 216 * n, 8, "5242880", ECG_EFORMAT,
         "one data record holds 10486760 bytes (limit 10485760)"},
        {H + 120 * n, 8, "40000", ECG_EFORMAT,
         "signal 1 ('ECG I'): digital range 40000..32767 (must be increasing inside "
         "-32768..32767)"},
        {H + 128 * n + 8, 8, "-32768", ECG_EFORMAT, "signal 2 ('ECG II'): digital range"},
        {H + 112 * n, 8, "-32.768", ECG_EFORMAT,
         "signal 1 ('ECG I'): physical minimum equals maximum (-32.768)"},
        {H + 104 * n + 8, 8, "1e", ECG_EFORMAT,
         "signal 2 ('ECG II'): physical minimum is not a number"},
        {H + 120 * n, 8, "", ECG_EFORMAT, "signal 1 ('ECG I'): digital minimum is not a number"},
        {0, 700, NULL, ECG_EFORMAT, "truncated header: 2 signals need 768 bytes, 700 present"},
        {0, 4000, NULL, ECG_EFORMAT, "truncated: the header announces 2 records"},
        {236, 8, "1", ECG_EFORMAT,
         "bad.edf: 2000 bytes after the 1 records the header announces (an EDF file ends with "
         "its last record)"},
        {168, 8, "1.1.2020", ECG_EFORMAT, "EDFlib refuses the file"}, /* passes our check */
    };
    for (size_t i = 0; i < sizeof muts / sizeof *muts; i++) {
        const mutation *m = &muts[i];
        uint8_t *b = malloc(len);
        assert_non_null(b);
        memcpy(b, good, len);
        size_t blen = len;
        if (m->text)
            fld(b + m->off, m->w, m->text);
        else
            blen = m->w;
        ecg_record r;
        ecg_err err = {0};
        ecg_code rc = edf_read_record_mem(&r, "bad.edf", b, blen, NULL, &err);
        if (rc != m->code || !strstr(err.msg, m->msg))
            fail_msg("mutation %zu: got %s '%s', want %s '%s'", i, err_code_name(rc), err.msg,
                     err_code_name(m->code), m->msg);
        assert_null(r.signal);
        /* The same from a file. */
        put("bad.edf", b, blen);
        char path[512];
        snprintf(path, sizeof path, "%s/bad.edf", tu_tmpdir);
        rc = edf_read_record(&r, path, NULL, &err);
        assert_int_equal(rc, m->code);
        assert_non_null(strstr(err.msg, "/bad.edf"));
        free(b);
    }
    /* The unmutated file is fine, from memory and from disk. */
    ecg_record r;
    ecg_err err = {0};
    if (edf_read_record_mem(&r, "good.edf", good, len, NULL, &err)) fail_msg("%s", err.msg);
    record_free(&r);
    free(good);
    char path[512];
    snprintf(path, sizeof path, "%s/missing.edf", tu_tmpdir);
    assert_int_equal(edf_read_record(&r, path, NULL, &err), ECG_ENOTFOUND);
    /* No temp copies left behind by any of the above. */
    const char *tmp = getenv("TMPDIR");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s/ecgfm-edf-* >/dev/null 2>&1", tmp && *tmp ? tmp : "/tmp");
    (void)system(cmd); /* other processes may use the same directory: informational only */
}

/* ---- a folder into the store ---- */

static void test_import_tree(void **state) {
    (void)state;
    char root[512], sub[512], dst[512], src[1024], cmd[2048];
    snprintf(root, sizeof root, "%s/tree", tu_tmpdir);
    snprintf(sub, sizeof sub, "%s/tree/site1", tu_tmpdir);
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(mkdir(sub, 0755), 0);
    size_t len;
    uint8_t *b = make_edf(twelve, 13, 10, 0, &len);
    put("tree/site1/a.EDF", b, len);
    put("tree/broken.edf", b, 300);
    free(b);
    tu_data_path(src, sizeof src, "edf/test_edfann.edf");
    snprintf(cmd, sizeof cmd, "cp %s %s/tree/ann.edf", src, tu_tmpdir);
    assert_int_equal(system(cmd), 0);
    tu_data_path(src, sizeof src, "edf/test_generator_2.edf");
    snprintf(cmd, sizeof cmd, "cp %s %s/tree/site1/gen.edf && touch %s/tree/notes.txt", src, tu_tmpdir,
             tu_tmpdir);
    assert_int_equal(system(cmd), 0);

    snprintf(dst, sizeof dst, "%s/store", tu_tmpdir);
    store_writer *w;
    ecg_err err = {0};
    if (store_writer_open(&w, dst, NULL, &err)) fail_msg("%s", err.msg);
    store_import_summary sum;
    if (store_import_edf_tree(w, root, NULL, &sum, &err)) fail_msg("%s", err.msg);
    assert_int_equal(sum.found, 4);
    assert_int_equal(sum.imported, 1);
    assert_int_equal(sum.skipped, 3);
    assert_int_equal(sum.n_skips, 3);
    /* sorted paths: ann.edf, broken.edf, site1/a.EDF, site1/gen.edf */
    assert_string_equal(sum.skips[0].path, "ann.edf");
    assert_int_equal(sum.skips[0].code, ECG_EFORMAT);
    assert_string_equal(sum.skips[1].path, "broken.edf");
    assert_non_null(strstr(sum.skips[1].reason, "truncated header"));
    assert_string_equal(sum.skips[2].path, "site1/gen.edf");
    assert_int_equal(sum.skips[2].code, ECG_EINVAL);
    assert_non_null(strstr(sum.skips[2].reason, "none of its 11 channels is one of the 12 leads"));
    store_import_summary_free(&sum);
    if (store_writer_close(w, &err)) fail_msg("%s", err.msg);

    store_dataset *ds;
    if (store_open(&ds, dst, 0, &err)) fail_msg("%s", err.msg);
    assert_int_equal(store_count(ds), 1);
    store_record_info info;
    if (store_info(ds, 0, &info, &err)) fail_msg("%s", err.msg);
    assert_int_equal(info.source_id_len, strlen("site1/a"));
    assert_memory_equal(info.source_id, "site1/a", info.source_id_len);
    assert_true(info.orig_fs == 500);
    assert_int_equal(info.n_samples, 2400); /* 10 s at 240 Hz */
    assert_int_equal(info.lead_mask, 0xfff);
    store_close(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator),    cmocka_unit_test(test_annotation_file),
        cmocka_unit_test(test_twelve_leads), cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_import_tree),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}

/* test_taskfmt.c — the UCR, .ts and ARFF task readers on real archive files (tests/data/ucr_uea):
 * counts, values against the file text, one split read from three formats, and crafted bad files.
 */
#include "testutil.h"

#include "core/data/arff.h"
#include "core/data/sktime_ts.h"
#include "core/data/ucr.h"

static const char *data_path(const char *rel) {
    static char buf[4][1024];
    static int k;
    const char *root = getenv("ECGFM_TESTDATA");
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/ucr_uea/%s", root ? root : "tests/data", rel);
    return buf[k];
}

typedef ecg_code (*reader_fn)(task_split *, const char *, const task_limits *, ecg_err *);
typedef ecg_code (*parser_fn)(task_split *, const char *, size_t, const char *, const task_limits *,
                              ecg_err *);

static void load(task_split *t, reader_fn fn, const char *rel) {
    ecg_err err = {0};
    if (fn(t, data_path(rel), NULL, &err) != ECG_OK) fail_msg("%s: %s", rel, err.msg);
}

static float value(const task_split *t, int series, int dim, size_t i) {
    return t->values[t->offset[series] + (size_t)dim * t->length[series] + i];
}

static const char *label_name(const task_split *t, int series) {
    return t->class_names[t->label[series]];
}

/* Same series, same values bit for bit, same class name for every series. */
static void assert_same_split(const task_split *a, const task_split *b) {
    assert_int_equal(a->n_series, b->n_series);
    assert_int_equal(a->n_dims, b->n_dims);
    for (int i = 0; i < a->n_series; i++) {
        assert_int_equal(a->length[i], b->length[i]);
        assert_memory_equal(a->values + a->offset[i], b->values + b->offset[i],
                            a->length[i] * (size_t)a->n_dims * sizeof(float));
        assert_string_equal(label_name(a, i), label_name(b, i));
    }
}

static void test_gunpoint_three_formats(void **state) {
    (void)state;
    task_split ts, te, arff, tsv;
    load(&ts, ts_read_file, "GunPoint/GunPoint_TRAIN.ts");
    load(&te, ts_read_file, "GunPoint/GunPoint_TEST.ts");
    load(&arff, arff_read_file, "GunPoint/GunPoint_TRAIN.arff");
    load(&tsv, ucr_read_file, "GunPoint/GunPoint_TRAIN.tsv");
    assert_int_equal(ts.n_series, 50);
    assert_int_equal(te.n_series, 150);
    assert_int_equal(ts.n_dims, 1);
    assert_int_equal(ts.n_classes, 2);
    assert_string_equal(ts.class_names[0], "1");
    assert_string_equal(ts.class_names[1], "2");
    assert_string_equal(ts.name, "GunPoint");
    assert_string_equal(arff.name, "Gun_Point");
    assert_string_equal(tsv.name, "GunPoint");
    for (int i = 0; i < 50; i++)
        assert_int_equal(ts.length[i], 150);
    /* From the file text: first case "-0.6478854,...,-0.63865722:2"; case 50 value 11 -1.4296726.
     */
    assert_true(value(&ts, 0, 0, 0) == -0.6478854f);
    assert_true(value(&ts, 0, 0, 149) == -0.63865722f);
    assert_string_equal(label_name(&ts, 0), "2");
    assert_true(value(&ts, 49, 0, 10) == -1.4296726f);
    assert_true(value(&te, 0, 0, 0) == -1.1250133f);
    assert_same_split(&ts, &arff);
    assert_same_split(&ts, &tsv);
    /* The UCR file declares nothing: classes come in order of appearance ("2" first). Aligned to
     * the .ts split, the label indices agree too. */
    assert_string_equal(tsv.class_names[0], "2");
    ecg_err err = {0};
    assert_int_equal(task_split_align_classes(&tsv, &ts, &err), 0);
    assert_int_equal(tsv.n_classes, 2);
    assert_memory_equal(tsv.label, ts.label, 50 * sizeof(int));
    assert_memory_equal(arff.label, ts.label, 50 * sizeof(int));
    task_split_free(&ts);
    task_split_free(&te);
    task_split_free(&arff);
    task_split_free(&tsv);
}

static void test_basicmotions(void **state) {
    (void)state;
    task_split tr, te, arff;
    load(&tr, ts_read_file, "BasicMotions/BasicMotions_TRAIN.ts");
    load(&te, ts_read_file, "BasicMotions/BasicMotions_TEST.ts");
    load(&arff, arff_read_file, "BasicMotions/BasicMotions_TRAIN.arff");
    assert_int_equal(tr.n_series, 40);
    assert_int_equal(te.n_series, 40);
    assert_int_equal(tr.n_dims, 6);
    assert_int_equal(tr.n_classes, 4);
    const char *names[] = {"Standing", "Running", "Walking", "Badminton"};
    for (int c = 0; c < 4; c++)
        assert_string_equal(tr.class_names[c], names[c]);
    for (int i = 0; i < 40; i++)
        assert_int_equal(tr.length[i], 100);
    /* First values of the six dimensions of case 1, and one of case 40 (Badminton). */
    const float first[6] = {0.079106f, 0.394032f, 0.551444f, 0.351565f, 0.02397f, 0.633883f};
    for (int d = 0; d < 6; d++)
        assert_true(value(&tr, 0, d, 0) == first[d]);
    assert_true(value(&tr, 0, 5, 99) == -0.03196f);
    assert_string_equal(label_name(&tr, 0), "Standing");
    assert_string_equal(label_name(&tr, 39), "Badminton");
    assert_true(value(&tr, 39, 2, 50) == -1.380971f);
    assert_true(value(&te, 0, 0, 0) == -0.740653f);
    assert_same_split(&tr, &arff);
    assert_memory_equal(tr.label, arff.label, 40 * sizeof(int));
    assert_string_equal(arff.name, "BasicMotions");
    task_split_free(&tr);
    task_split_free(&te);
    task_split_free(&arff);
}

static void test_japanese_vowels_unequal(void **state) {
    (void)state;
    task_split t;
    load(&t, ts_read_file, "JapaneseVowels/JapaneseVowels_TRAIN.ts");
    assert_int_equal(t.n_series, 270);
    assert_int_equal(t.n_dims, 12);
    assert_int_equal(t.n_classes, 9);
    size_t lo = SIZE_MAX, hi = 0;
    for (int i = 0; i < t.n_series; i++) {
        lo = t.length[i] < lo ? t.length[i] : lo;
        hi = t.length[i] > hi ? t.length[i] : hi;
        if (i > 0) assert_int_equal(t.offset[i], t.offset[i - 1] + 12 * t.length[i - 1]);
    }
    /* The train split runs 7..26; the archive's 29 is in the test split. */
    assert_int_equal(lo, 7);
    assert_int_equal(hi, 26);
    assert_int_equal(t.length[0], 20);
    assert_true(value(&t, 0, 0, 0) == 1.860936f);
    assert_true(value(&t, 0, 11, 19) == -0.175986f);
    assert_string_equal(label_name(&t, 269), "9");
    for (size_t k = 0; k < t.offset[269] + 12 * t.length[269]; k++)
        assert_false(isnan(t.values[k]));
    task_split_free(&t);
}

static void test_italy_arrowhead_beef_coffee(void **state) {
    (void)state;
    task_split a, b;
    load(&a, ts_read_file, "ItalyPowerDemand/ItalyPowerDemand_TRAIN.ts");
    load(&b, arff_read_file, "ItalyPowerDemand/ItalyPowerDemand_TRAIN.arff");
    assert_int_equal(a.n_series, 67);
    assert_int_equal(a.length[0], 24);
    assert_same_split(&a, &b);
    task_split_free(&a);
    task_split_free(&b);
    load(&a, ts_read_file, "ItalyPowerDemand/ItalyPowerDemand_TEST.ts");
    assert_int_equal(a.n_series, 1029);
    assert_true(value(&a, 1028, 0, 23) == -0.0025421181f);
    assert_string_equal(label_name(&a, 1028), "2");
    task_split_free(&a);

    load(&a, ts_read_file, "ArrowHead/ArrowHead_TRAIN.ts");
    load(&b, arff_read_file, "ArrowHead/ArrowHead_TRAIN.arff");
    assert_int_equal(a.n_series, 36);
    assert_int_equal(a.n_classes, 3);
    assert_int_equal(a.length[35], 251);
    assert_same_split(&a, &b);
    task_split_free(&a);
    task_split_free(&b);

    /* Beef: .ts writes -0.36292248, the UCR .txt -3.6292248e-01; same float either way. */
    load(&a, ts_read_file, "Beef/Beef_TRAIN.ts");
    load(&b, ucr_read_file, "Beef/Beef_TRAIN.txt");
    assert_int_equal(a.n_series, 30);
    assert_int_equal(a.n_classes, 5);
    assert_int_equal(a.length[0], 470);
    assert_same_split(&a, &b);
    task_split_free(&a);
    task_split_free(&b);

    load(&a, ucr_read_file, "Coffee/Coffee_TRAIN.txt");
    assert_int_equal(a.n_series, 28);
    assert_int_equal(a.length[0], 286);
    assert_int_equal(a.n_classes, 2);
    assert_string_equal(a.class_names[0], "0"); /* written 0.0000000e+00 */
    assert_string_equal(label_name(&a, 27), "1");
    assert_true(value(&a, 27, 0, 0) == -0.69637574f);
    assert_true(value(&a, 27, 0, 285) == -1.7804869f);
    assert_string_equal(a.name, "Coffee");
    task_split_free(&a);
}

/* ---- crafted input ------------------------------------------------------------------------------
 */

static ecg_code parse(parser_fn fn, const char *text, task_split *t, ecg_err *err) {
    return fn(t, text, strlen(text), "crafted", NULL, err);
}

static void test_ts_features(void **state) {
    (void)state;
    task_split t;
    ecg_err err = {0};
    /* Comments, mixed-case tags, CRLF, a BOM, missing values, unequal dimensions (padded). */
    const char *text = "\xef\xbb\xbf# comment\r\n@problemName  Toy Problem\r\n@TIMESTAMPS false\r\n"
                       "@missing true\r\n@univariate false\r\n@dimensions 2\r\n"
                       "@equalLength false\r\n@classLabel true b a\r\n@data\r\n"
                       "1,2,3:4,?,NaN:a\r\n\r\n# between cases\r\n 5 , 6 :7,8,9,10: b \r\n";
    assert_int_equal(parse(ts_parse_buffer, text, &t, &err), 0);
    assert_string_equal(t.name, "Toy Problem");
    assert_int_equal(t.n_series, 2);
    assert_int_equal(t.n_dims, 2);
    assert_int_equal(t.n_classes, 2);
    assert_string_equal(t.class_names[0], "b"); /* declared order, not sorted */
    assert_int_equal(t.label[0], 1);
    assert_int_equal(t.label[1], 0);
    assert_int_equal(t.length[0], 3);
    assert_true(value(&t, 0, 1, 0) == 4 && isnan(value(&t, 0, 1, 1)) && isnan(value(&t, 0, 1, 2)));
    assert_int_equal(t.length[1], 4);
    assert_true(value(&t, 1, 0, 1) == 6 && isnan(value(&t, 1, 0, 2)) && isnan(value(&t, 1, 0, 3)));
    assert_true(value(&t, 1, 1, 3) == 10);
    task_split_free(&t);
    /* No classes: every label is -1. */
    assert_int_equal(parse(ts_parse_buffer, "@classLabel false\n@data\n1,2\n3\n", &t, &err), 0);
    assert_int_equal(t.n_classes, 0);
    assert_int_equal(t.label[0], -1);
    assert_int_equal(t.length[1], 1);
    task_split_free(&t);
}

static void test_ucr_arff_features(void **state) {
    (void)state;
    task_split t;
    ecg_err err = {0};
    /* Separators per line, padding dropped, labels canonical, string labels kept. */
    assert_int_equal(parse(ucr_parse_buffer,
                           "1,0.5,0.25,NaN,NaN\n  -1.0e+00  1 2 3\n"
                           "1.0\t7\t8\n\ncat,1\n",
                           &t, &err),
                     0);
    assert_int_equal(t.n_series, 4);
    assert_int_equal(t.n_classes, 3);
    assert_string_equal(t.class_names[0], "1");
    assert_string_equal(t.class_names[1], "-1");
    assert_string_equal(t.class_names[2], "cat");
    assert_int_equal(t.label[2], 0);
    assert_int_equal(t.length[0], 2);
    assert_int_equal(t.length[1], 3);
    assert_true(value(&t, 2, 0, 1) == 8);
    task_split_free(&t);

    /* ARFF: quoted names and nominal values, relational with an unequal-length tail, '?' class. */
    const char *rel = "% c\n@RELATION \"my data\"\n@attribute 'series' relational\n"
                      "  @attribute t0 numeric\n  @attribute t1 REAL\n  @attribute t2 numeric\n"
                      "@end 'series'\n@attribute class {'sit down', up}\n\n@DATA\n"
                      "'1,2,?\\n4,5,?',up\n\"1,2,3\\n4,5,6\\n\",'sit down'\n'7,8,9\\n1,2,3',?\n";
    assert_int_equal(parse(arff_parse_buffer, rel, &t, &err), 0);
    assert_string_equal(t.name, "my data");
    assert_int_equal(t.n_series, 3);
    assert_int_equal(t.n_dims, 2);
    assert_string_equal(t.class_names[0], "sit down");
    assert_int_equal(t.label[0], 1);
    assert_int_equal(t.label[1], 0);
    assert_int_equal(t.label[2], -1);
    assert_int_equal(t.length[0], 2); /* the '?' column was padding */
    assert_true(value(&t, 0, 1, 1) == 5);
    assert_int_equal(t.length[1], 3);
    assert_true(value(&t, 1, 1, 2) == 6);
    task_split_free(&t);
}

static void test_bad_files(void **state) {
    (void)state;
    const struct {
        parser_fn fn;
        const char *text;
        ecg_code want;
        const char *msg; /* must appear in the message */
    } cases[] = {
        {ts_parse_buffer, "", ECG_EFORMAT, "no @data"},
        {ts_parse_buffer, "@classLabel true 1 2\n", ECG_EFORMAT, "no @data"},
        {ts_parse_buffer, "@classLabel true 1 2\n@data\n", ECG_EFORMAT, "no series"},
        {ts_parse_buffer, "@data\n1,2:1\n", ECG_EFORMAT, "crafted:1: @data without @classLabel"},
        {ts_parse_buffer, "1,2:1\n@data\n", ECG_EFORMAT, "crafted:1: data before"},
        {ts_parse_buffer, "@classLabel true 1 2\n@data\n1,2:3\n", ECG_EFORMAT,
         "crafted:3: class '3'"},
        {ts_parse_buffer, "@classLabel true 1 1\n@data\n", ECG_EFORMAT, "declared twice"},
        {ts_parse_buffer, "@classLabel true\n@data\n", ECG_EFORMAT, "lists no classes"},
        {ts_parse_buffer, "@classLabel true 1\n@data\n1,x:1\n", ECG_EFORMAT,
         "crafted:3: value 'x'"},
        {ts_parse_buffer, "@classLabel true 1\n@data\n1,,2:1\n", ECG_EFORMAT, "empty value"},
        {ts_parse_buffer, "@classLabel true 1\n@data\n:1\n", ECG_EFORMAT, "dimension 1 is empty"},
        {ts_parse_buffer, "@classLabel true 1\n@data\n1,2\n", ECG_EFORMAT, "no ':'"},
        {ts_parse_buffer, "@classLabel true 1\n@data\n1e39:1\n", ECG_EFORMAT, "out of float range"},
        {ts_parse_buffer, "@classLabel true 1\n@data\ninf:1\n", ECG_EFORMAT, "not a number"},
        {ts_parse_buffer, "@classLabel true 1\n@data\n0x10:1\n", ECG_EFORMAT, "not a number"},
        {ts_parse_buffer, "@classLabel true 1\n@data\n1:1\n1:2:1\n", ECG_EFORMAT,
         "crafted:4: 2 dimensions where earlier series have 1"},
        {ts_parse_buffer, "@dimensions 2\n@classLabel true 1\n@data\n1:1\n", ECG_EFORMAT,
         "@dimensions says 2"},
        {ts_parse_buffer, "@univariate true\n@classLabel true 1\n@data\n1:2:1\n", ECG_EFORMAT,
         "@univariate true"},
        {ts_parse_buffer, "@equalLength true\n@classLabel true 1\n@data\n1,2:1\n1:1\n", ECG_EFORMAT,
         "crafted:5: dimension 1 has 1 values"},
        {ts_parse_buffer, "@seriesLength 3\n@equalLength true\n@classLabel true 1\n@data\n1,2:1\n",
         ECG_EFORMAT, "length 3"},
        {ts_parse_buffer, "@timeStamps true\n", ECG_EFORMAT, "timestamped"},
        {ts_parse_buffer, "@timeStamps maybe\n", ECG_EFORMAT, "true or false"},
        {ts_parse_buffer, "@targetLabel true\n", ECG_EFORMAT, "regression"},
        {ts_parse_buffer, "@dimensions 0\n", ECG_EFORMAT, "positive"},
        {ts_parse_buffer, "@dimensions 99999999\n", ECG_EINVAL, "limit"},
        {ts_parse_buffer, "@classLabel true 1\n@data\n1:1\n@data\n", ECG_EFORMAT,
         "tag after @data"},
        {ucr_parse_buffer, "", ECG_EFORMAT, "no series"},
        {ucr_parse_buffer, "1\n", ECG_EFORMAT, "crafted:1: a label without values"},
        {ucr_parse_buffer, "1,NaN,?\n", ECG_EFORMAT, "without values"},
        {ucr_parse_buffer, "1,2\n1,2,,3\n", ECG_EFORMAT, "crafted:2: empty field"},
        {ucr_parse_buffer, "1\t2\n,2\n", ECG_EFORMAT, "crafted:2: empty class label"},
        {ucr_parse_buffer, "label,a,b\n", ECG_EFORMAT, "crafted:1: value 1 'a'"},
        {arff_parse_buffer, "@relation x\n", ECG_EFORMAT, "no @data"},
        {arff_parse_buffer, "@relation x\n@attribute a numeric\n@data\n", ECG_EFORMAT,
         "crafted:3: the last attribute must be the nominal class"},
        {arff_parse_buffer, "@attribute a numeric\n@attribute c {x,y}\n@data\n1,z\n", ECG_EFORMAT,
         "crafted:4: class 'z'"},
        {arff_parse_buffer, "@attribute a numeric\n@attribute c {x,y}\n@data\n1\n", ECG_EFORMAT,
         "no class value"},
        {arff_parse_buffer, "@attribute a numeric\n@attribute c {x,y}\n@data\n1,x,3\n", ECG_EFORMAT,
         "more values"},
        {arff_parse_buffer, "@attribute a numeric\n@attribute c {x,y}\n@data\n{0 1,1 x}\n",
         ECG_EFORMAT, "sparse"},
        {arff_parse_buffer, "@attribute a string\n@attribute c {x,y}\n@data\n", ECG_EFORMAT,
         "string or date"},
        {arff_parse_buffer, "@attribute a numeric\n@attribute c {x,x}\n@data\n", ECG_EFORMAT,
         "declared twice"},
        {arff_parse_buffer, "@attribute a numeric\n@attribute c {x,y\n@data\n", ECG_EFORMAT,
         "closing"},
        {arff_parse_buffer, "@attribute r relational\n@attribute a numeric\n@data\n", ECG_EFORMAT,
         "crafted:3: relational attribute without @end"},
        {arff_parse_buffer, "@attribute r relational\n@attribute c {x}\n", ECG_EFORMAT,
         "crafted:2: only numeric attributes"},
        {arff_parse_buffer,
         "@attribute r relational\n@attribute a numeric\n@end r\n"
         "@attribute c {x}\n@data\n'1,2',x\n",
         ECG_EFORMAT, "crafted:6: dimension 1 has more than 1 values"},
        {arff_parse_buffer,
         "@attribute r relational\n@attribute a numeric\n@end r\n"
         "@attribute c {x}\n@data\n'1,x\n",
         ECG_EFORMAT, "quoted string"},
        {arff_parse_buffer,
         "@attribute r relational\n@attribute a numeric\n@end r\n"
         "@attribute c {x}\n@data\n1,x\n",
         ECG_EFORMAT, "quoted string"},
        {arff_parse_buffer, "@attribute a numeric\n@attribute c {x}\n@data\n?,x\n", ECG_EFORMAT,
         "every value of the instance is missing"},
        {arff_parse_buffer, "@end r\n", ECG_EFORMAT, "@end outside"},
        {arff_parse_buffer, "hello\n", ECG_EFORMAT, "crafted:1: expected @relation"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        task_split t;
        ecg_err err = {0};
        ecg_code rc = parse(cases[i].fn, cases[i].text, &t, &err);
        if (rc != cases[i].want || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: got %d '%s', want %d '%s'", i, rc, err.msg, cases[i].want,
                     cases[i].msg);
        assert_null(t.values); /* nothing left allocated on failure */
        assert_null(t.class_names);
    }
}

static void test_limits(void **state) {
    (void)state;
    task_split t;
    ecg_err err = {0};
    task_limits lim = {.max_series = 10};
    assert_int_equal(ts_read_file(&t, data_path("GunPoint/GunPoint_TRAIN.ts"), &lim, &err),
                     ECG_EINVAL);
    assert_non_null(strstr(err.msg, "GunPoint_TRAIN.ts:30: more than 10 series"));
    lim = (task_limits){.max_length = 100};
    assert_int_equal(ucr_read_file(&t, data_path("GunPoint/GunPoint_TRAIN.tsv"), &lim, &err),
                     ECG_EINVAL);
    assert_non_null(strstr(err.msg, "GunPoint_TRAIN.tsv:1: series longer than 100"));
    lim = (task_limits){.max_values = 1000};
    assert_int_equal(
        arff_read_file(&t, data_path("BasicMotions/BasicMotions_TRAIN.arff"), &lim, &err),
        ECG_EINVAL);
    assert_non_null(strstr(err.msg, "more than 1000 values"));
    lim = (task_limits){.max_dims = 3};
    assert_int_equal(ts_read_file(&t, data_path("BasicMotions/BasicMotions_TRAIN.ts"), &lim, &err),
                     ECG_EINVAL);
    lim = (task_limits){.max_classes = 3};
    assert_int_equal(ts_read_file(&t, data_path("BasicMotions/BasicMotions_TRAIN.ts"), &lim, &err),
                     ECG_EINVAL);
    assert_non_null(strstr(err.msg, "more than 3 classes"));
    lim = (task_limits){.max_file_bytes = 1000};
    assert_int_equal(ts_read_file(&t, data_path("GunPoint/GunPoint_TRAIN.ts"), &lim, &err),
                     ECG_EINVAL);
    assert_int_equal(ts_read_file(&t, "/nonexistent/x.ts", NULL, &err), ECG_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.ts"));
}

/* Every prefix of a real multivariate file either parses or is refused; none crashes or leaks
 * (run under the sanitizer build). */
static void test_truncations(void **state) {
    (void)state;
    char *buf;
    size_t len;
    ecg_err err = {0};
    assert_int_equal(
        tb_read_file(data_path("BasicMotions/BasicMotions_TRAIN.arff"), 1 << 24, &buf, &len, &err),
        0);
    size_t ok = 0;
    for (size_t n = 0; n < len; n += 97) {
        task_split t;
        if (arff_parse_buffer(&t, buf, n, "cut", NULL, &err) == ECG_OK) {
            ok++;
            task_split_free(&t);
        }
    }
    assert_true(ok > 0);
    free(buf);
    assert_int_equal(tb_read_file(data_path("JapaneseVowels/JapaneseVowels_TRAIN.ts"), 1 << 24,
                                  &buf, &len, &err),
                     0);
    for (size_t n = 0; n < len; n += 89) {
        task_split t;
        if (ts_parse_buffer(&t, buf, n, "cut", NULL, &err) == ECG_OK) task_split_free(&t);
    }
    free(buf);
}

static void test_name_from_path(void **state) {
    (void)state;
    char name[16];
    tb_name_from_path("/a/b/GunPoint_TRAIN.tsv", name, sizeof name);
    assert_string_equal(name, "GunPoint");
    tb_name_from_path("x_test.ts", name, sizeof name);
    assert_string_equal(name, "x");
    tb_name_from_path("dir.v2/VeryLongProblemName_TEST", name, sizeof name);
    assert_string_equal(name, "VeryLongProblem");
    tb_name_from_path(".hidden", name, sizeof name);
    assert_string_equal(name, ".hidden");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gunpoint_three_formats),
        cmocka_unit_test(test_basicmotions),
        cmocka_unit_test(test_japanese_vowels_unequal),
        cmocka_unit_test(test_italy_arrowhead_beef_coffee),
        cmocka_unit_test(test_ts_features),
        cmocka_unit_test(test_ucr_arff_features),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_name_from_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

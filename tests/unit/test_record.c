/* test_record.c — the ecg_record contract: lead names as files spell them, allocation limits, and
 * the 12-lead view (order, mask, first channel wins, absent leads zero). */
#include "testutil.h"

#include "core/data/record.h"

static void test_lead_names(void **state) {
    (void)state;
    struct {
        const char *name;
        int lead;
    } cases[] = {
        {"I", 0},
        {"II", 1},
        {"III", 2},
        {"aVR", 3},
        {"aVL", 4},
        {"aVF", 5},
        {"V1", 6},
        {"V2", 7},
        {"V3", 8},
        {"V4", 9},
        {"V5", 10},
        {"V6", 11},
        {"i", 0},
        {"ii", 1},
        {"iii", 2},
        {"AVR", 3},
        {"avr", 3},
        {"AVL", 4},
        {"avf", 5},
        {"v1", 6},
        {"v6", 11},
        {"lead I", 0},
        {"Lead II", 1},
        {"LEAD_III", 2},
        {"lead-aVR", 3},
        {"leadV2", 7},
        {"MLII", 1},
        {"MLI", 0},
        {"ML II", 1},
        {"MLIII", 2},
        {"ECG II", 1},
        {"ECG lead V1", 6},
        {"DI", 0},
        {"DII", 1},
        {"DIII", 2},
        {"  V5 ", 10},
        {"II\r", 1},
        /* Not one of the 12: */
        {"PLETH", -1},
        {"ABP", -1},
        {"vx", -1},
        {"vy", -1},
        {"RESP", -1},
        {"ECG", -1},
        {"ECG1", -1},
        {"MCL1", -1},
        {"V7", -1},
        {"V4R", -1},
        {"IV", -1},
        {"", -1},
        {"   ", -1},
        {"lead", -1},
        {"ML", -1},
        {"-aVR", -1},
        {"V", -1},
        {"1", -1},
        {"aVRx", -1},
        {"D", -1},
        {"sig 0, fmt 8", -1},
        {"a very long channel name that does not fit in the buffer V1", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = record_lead_from_name(cases[i].name);
        if (got != cases[i].lead)
            fail_msg("'%s': got %d, want %d", cases[i].name, got, cases[i].lead);
    }
    assert_int_equal(record_lead_from_name(NULL), -1);
    /* Each standard name maps to its own index, and back. */
    for (int k = 0; k < ECG_N_LEADS; k++)
        assert_int_equal(record_lead_from_name(ecg_lead_names[k]), k);
    assert_string_equal(ecg_lead_names[3], "aVR");
    assert_string_equal(ecg_lead_names[11], "V6");
}

static void test_alloc(void **state) {
    (void)state;
    ecg_record r;
    ecg_err err = {0};
    assert_int_equal(record_alloc(&r, 3, 10, &err), ECG_OK);
    assert_int_equal(r.n_channels, 3);
    assert_int_equal(r.n_samples, 10);
    assert_non_null(r.signal);
    for (int c = 0; c < 3; c++)
        assert_int_equal(r.channels[c].lead, -1);
    assert_null(r.comments);
    for (int i = 0; i < 30; i++)
        r.signal[i] = (float)i; /* the whole block is ours */
    record_free(&r);
    assert_null(r.signal);
    record_free(&r); /* twice is harmless */

    assert_int_equal(record_alloc(&r, 2, SIZE_MAX / 4, &err), ECG_ENOMEM);
    assert_non_null(strstr(err.msg, "overflow"));
    assert_null(r.signal);
    assert_int_equal(record_alloc(&r, -1, 10, &err), ECG_EINVAL);
    assert_int_equal(record_alloc(&r, 0, 0, &err), ECG_OK);
    record_free(&r);
}

static void test_to_12lead(void **state) {
    (void)state;
    ecg_record r;
    ecg_err err = {0};
    const size_t n = 4;
    assert_int_equal(record_alloc(&r, 4, n, &err), ECG_OK);
    r.channels[0].lead = 10; /* V5 */
    r.channels[1].lead = -1; /* PLETH */
    r.channels[2].lead = 1;  /* II */
    r.channels[3].lead = 10; /* a second V5: the first wins */
    for (int c = 0; c < 4; c++)
        for (size_t t = 0; t < n; t++)
            r.signal[c * n + t] = (float)(100 * c + t);
    float out[ECG_N_LEADS * 4];
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
        out[i] = 7; /* must be overwritten */
    int mask[ECG_N_LEADS];
    assert_int_equal(record_to_12lead(&r, out, mask), 2);
    for (int k = 0; k < ECG_N_LEADS; k++) {
        assert_int_equal(mask[k], k == 1 || k == 10);
        for (size_t t = 0; t < n; t++) {
            float want = k == 10 ? (float)t : k == 1 ? (float)(200 + t) : 0.0f;
            assert_true(out[k * n + t] == want);
        }
    }
    /* The mask is optional. */
    assert_int_equal(record_to_12lead(&r, out, NULL), 2);
    record_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lead_names),
        cmocka_unit_test(test_alloc),
        cmocka_unit_test(test_to_12lead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

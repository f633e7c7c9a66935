/* test_safetensors.c — the safetensors reader and writer: round trips, a file written by Python,
 * and hostile files that must be refused with a clear error rather than read. */
#include "testutil.h"

#include <unistd.h>

static void test_round_trip(void **state) {
    (void)state;
    float w[6] = {1, 2, 3, 4, 5, 6};
    int64_t steps = 42;
    st_entry e[] = {
        {"layer.weight", ST_F32, 2, {2, 3}, w},
        {"layer.steps", ST_I64, 0, {0}, &steps},
    };
    const char *meta[] = {"config.d_model", "64", "note", "a \"quoted\"\nline"};
    char path[512];
    snprintf(path, sizeof path, "%s/rt.safetensors", tu_tmpdir);
    ecg_err err = {0};
    assert_int_equal(st_write_file(path, e, 2, meta, 2, &err), ECG_OK);
    st_file f;
    assert_int_equal(st_read_file(&f, path, &err), ECG_OK);
    assert_int_equal(f.n_tensors, 2);
    assert_string_equal(st_meta_get(&f, "format"), "pt");
    assert_string_equal(st_meta_get(&f, "config.d_model"), "64");
    assert_string_equal(st_meta_get(&f, "note"), "a \"quoted\"\nline");
    float back[6];
    assert_int_equal(st_get_f32(&f, "layer.weight", back, 6, &err), ECG_OK);
    assert_memory_equal(back, w, sizeof w);
    assert_int_equal(st_get_f32(&f, "layer.weight", back, 5, &err), ECG_EFORMAT);
    assert_int_equal(st_get_f32(&f, "layer.steps", back, 2, &err), ECG_EFORMAT);
    assert_int_equal(st_get_f32(&f, "missing", back, 1, &err), ECG_ENOTFOUND);
    const st_tensor *t = st_find(&f, "layer.steps");
    assert_non_null(t);
    assert_int_equal(t->ndim, 0);
    assert_int_equal(*(const int64_t *)(f.payload + t->offset), 42);
    assert_int_equal((8 + (f.payload - f.buf - 8)) % 8, 0);
    st_free(&f);
}

static void test_python_written(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "safetensors");
    assert_int_equal(f.n_tensors, 5);
    assert_string_equal(st_meta_get(&f, "note"), "quote \" backslash \\ tab \t");
    const st_tensor *t = st_find(&f, "c\xc3\xa9.bias");
    assert_non_null(t);
    float b[2];
    ecg_err err = {0};
    assert_int_equal(st_get_f32(&f, "c\xc3\xa9.bias", b, 2, &err), ECG_OK);
    assert_true(b[0] == 1.5f && b[1] == -2.25f);
    t = st_find(&f, "d.empty");
    assert_non_null(t);
    assert_int_equal(t->nbytes, 0);
    assert_int_equal(t->shape[0], 0);
    t = st_find(&f, "e.i16");
    assert_int_equal(t->dtype, ST_I16);
    st_free(&f);
}

/* Parse a header string with a payload of `payload` zero bytes. */
static ecg_code parse_header_text(const char *json, size_t payload, ecg_err *err) {
    size_t n = strlen(json);
    size_t len = 8 + n + payload;
    uint8_t *buf = calloc(1, len);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, json, n);
    st_file f;
    ecg_code rc = st_parse(&f, buf, len, err);
    if (rc == ECG_OK) st_free(&f);
    return rc;
}

static void test_hostile(void **state) {
    (void)state;
    ecg_err err = {0};
    struct {
        const char *json;
        size_t payload;
        ecg_code want;
    } cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, ECG_OK},
        {"{}", 0, ECG_OK},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,80]}}", 8, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
         "\"data_offsets\":[0,4]}}", 4, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", 4,
         ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 4, ECG_EFORMAT},
        {"{\"__metadata__\":{\"k\":1}}", 0, ECG_EFORMAT},
        {"{\"__metadata__\":{\"k\":\"\\ud800\"}}", 0, ECG_EFORMAT},
        {"{\"__metadata__\":{\"k\":\"\\u0000\"}}", 0, ECG_EFORMAT},
        {"{\"__metadata__\":{\"k\":\"v\"},\"__metadata__\":{}}", 0, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, ECG_EFORMAT},
        {"[1,2]", 0, ECG_EFORMAT},
        {"{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,2,3,4,5,6,7,8,9],\"data_offsets\":[0,4]}}", 4,
         ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4, ECG_EFORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, ECG_EFORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err.msg[0] = 0;
        ecg_code rc = parse_header_text(cases[i].json, cases[i].payload, &err);
        if (rc != cases[i].want) fail_msg("case %zu: got %d (%s), want %d", i, rc, err.msg, cases[i].want);
        if (rc != ECG_OK) assert_true(strlen(err.msg) > 0);
    }
    /* A header length larger than the file, and larger than the cap. */
    uint8_t *buf = calloc(1, 16);
    buf[0] = 200;
    st_file f;
    assert_int_equal(st_parse(&f, buf, 16, &err), ECG_EFORMAT);
    buf = calloc(1, 4);
    assert_int_equal(st_parse(&f, buf, 4, &err), ECG_EFORMAT);
    buf = calloc(1, 16);
    buf[7] = 0xff;
    assert_int_equal(st_parse(&f, buf, 16, &err), ECG_EFORMAT);
    assert_int_equal(st_read_file(&f, "/nonexistent/x.safetensors", &err), ECG_EIO);
}

/* Every truncation of a valid file is refused, and none crashes. */
static void test_truncations(void **state) {
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/rt.safetensors", tu_tmpdir);
    st_file whole;
    ecg_err err = {0};
    assert_int_equal(st_read_file(&whole, path, &err), ECG_OK);
    for (size_t cut = 0; cut < whole.size; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, whole.buf, cut);
        st_file f;
        assert_int_not_equal(st_parse(&f, copy, cut, &err), ECG_OK);
    }
    st_free(&whole);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_python_written),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_truncations),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}

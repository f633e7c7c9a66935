/* test_resample.c — resampling against scipy.signal.resample_poly on real ECG channels (fixture
 * resample.safetensors from tests/parity/gen_resample.py), the sinc path, filters and windows. */
#include "testutil.h"

#include "core/data/resample.h"

/* Largest |a - ref| over [lo, hi) divided by the largest |ref| of the whole row. */
static double max_rel(const float *a, const float *ref, size_t n, size_t lo, size_t hi) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++)
        den = fmax(den, fabs((double)ref[i]));
    for (size_t i = lo; i < hi && i < n; i++)
        num = fmax(num, fabs((double)a[i] - ref[i]));
    return den > 0 ? num / den : num;
}

static const struct {
    const char *name;
    double fs_in, fs_out;
    int up, down;
} RATIOS[] = {
    {"500_240", 500, 240, 12, 25}, {"400_240", 400, 240, 3, 5},  {"1000_240", 1000, 240, 6, 25},
    {"250_240", 250, 240, 24, 25}, {"128_240", 128, 240, 15, 8}, {"360_240", 360, 240, 2, 3},
};

static void test_ratio_reduction(void **state) {
    (void)state;
    int up, down;
    for (size_t i = 0; i < sizeof RATIOS / sizeof RATIOS[0]; i++) {
        assert_true(resample_ratio(RATIOS[i].fs_in, RATIOS[i].fs_out, &up, &down));
        assert_int_equal(up, RATIOS[i].up);
        assert_int_equal(down, RATIOS[i].down);
    }
    assert_true(resample_ratio(257.5, 240, &up, &down));
    assert_int_equal(up, 96);
    assert_int_equal(down, 103);
    assert_false(resample_ratio(359.7, 240, &up, &down)); /* 800/1199: sinc path */
    assert_false(resample_ratio(0, 240, &up, &down));
    assert_false(resample_ratio(NAN, 240, &up, &down));
    assert_false(resample_ratio(240.0001234, 240, &up, &down));
    assert_int_equal(resample_out_len(5000, 500, 240), 2400);
    assert_int_equal(resample_out_len(5001, 500, 240), 2401); /* ceil, as scipy */
    assert_int_equal(resample_out_len(5000, 359.7, 240), 3337);
    assert_int_equal(resample_out_len(1, 128, 240), 2);
}

/* The filter taps are scipy's firwin(2*10*max+1, 1/max, ('kaiser', 5.0)) * up. */
static void test_taps_match_firwin(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "resample");
    for (size_t i = 0; i < sizeof RATIOS / sizeof RATIOS[0]; i++) {
        resample_plan p;
        ecg_err err = {0};
        assert_int_equal(resample_plan_init(&p, RATIOS[i].up * 3, RATIOS[i].down * 3, &err), 0);
        assert_int_equal(p.up, RATIOS[i].up);
        char name[32];
        snprintf(name, sizeof name, "h_%d_%d", p.up, p.down);
        size_t n;
        float *h = tu_fixture_f32(&f, name, &n);
        assert_int_equal(n, 2 * (size_t)p.half_len + 1);
        double worst = 0, big = 0;
        for (size_t k = 0; k < n; k++) {
            worst = fmax(worst, fabs(p.h[k] - h[k]));
            big = fmax(big, fabs(h[k]));
        }
        assert_true(worst / big < 1e-6);
        free(h);
        resample_plan_free(&p);
    }
    st_free(&f);
}

/* Every ratio the service uses, on a real channel, over the whole output (edges included, since
 * the zero padding is scipy's) and away from the edges. */
static void test_poly_matches_scipy(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "resample");
    for (size_t i = 0; i < sizeof RATIOS / sizeof RATIOS[0]; i++) {
        int is360 = RATIOS[i].fs_in == 360;
        size_t nx, ny;
        float *x = tu_fixture_f32(&f, is360 ? "x360" : "x500", &nx);
        char name[32];
        snprintf(name, sizeof name, "y_%s", RATIOS[i].name);
        float *ref = tu_fixture_f32(&f, name, &ny);
        size_t rows = is360 ? 1 : 2, n_in = nx / rows, n_out = ny / rows;
        assert_int_equal(resample_out_len(n_in, RATIOS[i].fs_in, 240), n_out);
        float *y = tu_zeros(n_out);
        double all = 0, mid = 0, nmse = 0;
        size_t edge = (size_t)(RESAMPLE_HALF_ZEROS *
                               (RATIOS[i].up > RATIOS[i].down ? RATIOS[i].up : RATIOS[i].down) /
                               RATIOS[i].down) +
                      1;
        for (size_t r = 0; r < rows; r++) {
            ecg_err err = {0};
            assert_int_equal(resample_rate(x + r * n_in, n_in, RATIOS[i].fs_in, 240, y, &err), 0);
            all = fmax(all, max_rel(y, ref + r * n_out, n_out, 0, n_out));
            mid = fmax(mid, max_rel(y, ref + r * n_out, n_out, edge, n_out - edge));
            nmse = fmax(nmse, tu_nmse(y, ref + r * n_out, n_out));
        }
        print_message("poly %-8s max rel err %.2e (interior %.2e), nmse %.2e\n", RATIOS[i].name,
                      all, mid, nmse);
        assert_true(all < 1e-5);
        assert_true(nmse < 1e-10);
        free(x);
        free(ref);
        free(y);
    }
    st_free(&f);
}

/* 359.7 Hz -> 240 Hz has no small rational form: the sinc path evaluates the kernel scipy would
 * build for 800/1199 at the exact positions, so it agrees with resample_poly(800, 1199). The sinc
 * path forced on 500 -> 240 agrees with the polyphase result the same way. */
static void test_sinc_matches_scipy(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "resample");
    size_t nx, ny;
    float *x = tu_fixture_f32(&f, "x500", &nx);
    size_t n_in = nx / 2;
    const struct {
        const char *ref;
        double fs_in;
        int forced;
    } cases[] = {{"y_3597_2400", 359.7, 0}, {"y_500_240", 500, 1}};
    for (size_t c = 0; c < 2; c++) {
        float *ref = tu_fixture_f32(&f, cases[c].ref, &ny);
        size_t n_out = ny / 2;
        assert_int_equal(resample_out_len(n_in, cases[c].fs_in, 240), n_out);
        float *y = tu_zeros(n_out);
        double all = 0, mid = 0;
        size_t edge = (size_t)(RESAMPLE_HALF_ZEROS * cases[c].fs_in / 240.0) + 1;
        for (size_t r = 0; r < 2; r++) {
            ecg_err err = {0};
            ecg_code rc = cases[c].forced
                              ? resample_rate_sinc(x + r * n_in, n_in, cases[c].fs_in, 240, y, &err)
                              : resample_rate(x + r * n_in, n_in, cases[c].fs_in, 240, y, &err);
            assert_int_equal(rc, 0);
            all = fmax(all, max_rel(y, ref + r * n_out, n_out, 0, n_out));
            mid = fmax(mid, max_rel(y, ref + r * n_out, n_out, edge, n_out - edge));
        }
        print_message("sinc %.1f->240 max rel err %.2e (interior %.2e)\n", cases[c].fs_in, all,
                      mid);
        assert_true(mid < 1e-5);
        assert_true(all < 1e-5);
        free(ref);
        free(y);
    }
    free(x);
    st_free(&f);
}

static double tone(double t) {
    return sin(2 * M_PI * 0.013 * t) + 0.5 * cos(2 * M_PI * 0.071 * t + 0.3) + 0.25;
}

/* Band-limited input (tones well inside both bands) through the sinc path at an arbitrary
 * ratio, against the analytic values; and linear interpolation on the same signal. */
static void test_sinc_analytic(void **state) {
    (void)state;
    size_t n = 4000;
    float *x = tu_zeros(n);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)tone((double)i);
    const double outs[] = {240.0, 480.3, 600.0}; /* fs_in = 359.7: down and up */
    for (int k = 0; k < 3; k++) {
        double fs_in = 359.7, fs_out = outs[k];
        size_t m = resample_out_len(n, fs_in, fs_out);
        float *y = tu_zeros(m), *ref = tu_zeros(m);
        for (size_t i = 0; i < m; i++)
            ref[i] = (float)tone((double)i * fs_in / fs_out);
        ecg_err err = {0};
        assert_int_equal(resample_rate_sinc(x, n, fs_in, fs_out, y, &err), 0);
        size_t edge =
            (size_t)(RESAMPLE_HALF_ZEROS * fmax(1.0, fs_in / fs_out) * fs_out / fs_in) + 2;
        double e = max_rel(y, ref, m, edge, m - edge);
        print_message("sinc 359.7->%.1f analytic max rel err %.2e\n", fs_out, e);
        assert_true(e < 2e-3);
        free(y);
        free(ref);
    }
    /* Linear resize of the same tones, for the accuracy statement in the header. */
    size_t m = 1111;
    float *y = tu_zeros(m), *ref = tu_zeros(m);
    for (size_t i = 0; i < m; i++)
        ref[i] = (float)tone((i + 0.5) * (double)n / m - 0.5);
    ecg_err err = {0};
    assert_int_equal(resample_length(x, n, y, m, RESAMPLE_LINEAR, &err), 0);
    double e = max_rel(y, ref, m, 2, m - 2);
    print_message("linear 4000->1111 analytic max rel err %.2e\n", e);
    assert_true(e < 2e-2);
    assert_int_equal(resample_length(x, n, y, m, RESAMPLE_SINC, &err), 0);
    e = max_rel(y, ref, m, 40, m - 40);
    print_message("sinc length 4000->1111 analytic max rel err %.2e\n", e);
    assert_true(e < 2e-3);
    free(y);
    free(ref);
    free(x);
}

static void test_length_resize(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "resample");
    size_t nx, ny;
    float *x = tu_fixture_f32(&f, "lin_in", &nx);
    float *ref = tu_fixture_f32(&f, "lin_150_600", &ny);
    float y[600];
    ecg_err err = {0};
    for (int r = 0; r < 2; r++) {
        assert_int_equal(resample_length(x + r * 150, 150, y, 600, RESAMPLE_LINEAR, &err), 0);
        assert_true(max_rel(y, ref + r * 600, 600, 0, 600) < 1e-6);
    }
    /* Mirror padding: a constant stays constant to the last sample, up and down. */
    float c[37], out[300];
    for (int i = 0; i < 37; i++)
        c[i] = 2.5f;
    assert_int_equal(resample_length(c, 37, out, 300, RESAMPLE_SINC, &err), 0);
    for (int i = 0; i < 300; i++)
        assert_true(fabsf(out[i] - 2.5f) < 2.5f * 3e-3f);
    assert_int_equal(resample_length(out, 300, c, 37, RESAMPLE_SINC, &err), 0);
    for (int i = 0; i < 37; i++)
        assert_true(fabsf(c[i] - 2.5f) < 2.5f * 5e-3f);
    /* One sample in, and identity. */
    float one = 3.0f;
    assert_int_equal(resample_length(&one, 1, out, 5, RESAMPLE_SINC, &err), 0);
    assert_int_equal(resample_length(&one, 1, out, 5, RESAMPLE_LINEAR, &err), 0);
    for (int i = 0; i < 5; i++)
        assert_true(out[i] == 3.0f);
    assert_int_equal(resample_length(x, 150, y, 150, RESAMPLE_SINC, &err), 0);
    assert_memory_equal(y, x, 150 * sizeof *y);
    assert_int_equal(resample_length(x, 0, y, 5, RESAMPLE_LINEAR, &err), ECG_EINVAL);
    assert_int_equal(resample_length(x, 5, y, 5, (resample_method)7, &err), 0); /* identity */
    assert_int_equal(resample_length(x, 5, y, 6, (resample_method)7, &err), ECG_EINVAL);
    free(x);
    free(ref);
    st_free(&f);
}

static void test_filters_match_scipy(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "resample");
    size_t nx, n;
    float *x = tu_fixture_f32(&f, "x500", &nx);
    const char *names[2][2] = {{"hp_ba", "hp_500"}, {"notch_ba", "notch_500"}};
    for (int k = 0; k < 2; k++) {
        float *ba = tu_fixture_f32(&f, names[k][0], &n);
        double b[3], a[3];
        ecg_err err = {0};
        if (k == 0)
            assert_int_equal(resample_design_highpass(500, 0.5, b, a, &err), 0);
        else
            assert_int_equal(resample_design_notch(500, 50, 30, b, a, &err), 0);
        for (int i = 0; i < 3; i++) {
            assert_true(fabs(b[i] - ba[i]) < 1e-6 * fmax(1, fabs(ba[i])));
            assert_true(fabs(a[i] - ba[3 + i]) < 1e-6 * fmax(1, fabs(ba[3 + i])));
        }
        float *ref = tu_fixture_f32(&f, names[k][1], &n);
        float *y = tu_zeros(nx);
        memcpy(y, x, nx * sizeof *y);
        if (k == 0)
            assert_int_equal(resample_highpass(y, 2, nx / 2, 500, 0.5, &err), 0);
        else
            assert_int_equal(resample_notch(y, 2, nx / 2, 500, 50, 0, &err), 0);
        double e = max_rel(y, ref, nx, 0, nx);
        print_message("%s max rel err %.2e\n", names[k][1], e);
        assert_true(e < 1e-5);
        free(ba);
        free(ref);
        free(y);
    }
    free(x);
    st_free(&f);
}

/* Amplitude of the f Hz component of x (least squares on sin and cos) over [lo, hi). */
static double amplitude(const float *x, size_t lo, size_t hi, double fs, double f) {
    double ss = 0, sc = 0, s2 = 0, c2 = 0;
    for (size_t i = lo; i < hi; i++) {
        double w = 2 * M_PI * f * (double)i / fs, s = sin(w), c = cos(w);
        ss += x[i] * s;
        sc += x[i] * c;
        s2 += s * s;
        c2 += c * c;
    }
    return hypot(ss / s2, sc / c2);
}

/* A synthetic ECG-like mixture: baseline wander at 0.1 Hz, signal at 1.2 and 10 Hz, mains at 50
 * Hz. The filters are off by default; each removes its band and keeps the others. Amplitudes are
 * measured over 10 s in the middle (whole periods of every component, so no leakage). */
static void test_filters_synthetic(void **state) {
    (void)state;
    double fs = 500;
    size_t n = 20 * 500; /* 20 s */
    float *x = tu_zeros(n), *y = tu_zeros(n);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / fs;
        x[i] = (float)(0.8 * sin(2 * M_PI * 0.1 * t) + 1.0 * sin(2 * M_PI * 1.2 * t) +
                       0.5 * sin(2 * M_PI * 10 * t) + 0.3 * sin(2 * M_PI * 50 * t));
    }
    ecg_err err = {0};
    memcpy(y, x, n * sizeof *y);
    resample_filter_opts off = {0};
    assert_int_equal(resample_filter(y, 1, n, fs, &off, &err), 0);
    assert_int_equal(resample_filter(y, 1, n, fs, NULL, &err), 0);
    assert_memory_equal(x, y, n * sizeof *y);

    size_t lo = 2500, hi = 7500; /* 5 s away from the ends */
    resample_filter_opts hp = {.highpass_hz = 0.5};
    assert_int_equal(resample_filter(y, 1, n, fs, &hp, &err), 0);
    double a01 = amplitude(y, lo, hi, fs, 0.1), a12 = amplitude(y, lo, hi, fs, 1.2);
    double a10 = amplitude(y, lo, hi, fs, 10), a50 = amplitude(y, lo, hi, fs, 50);
    print_message("highpass 0.5 Hz: 0.1 Hz x%.2e, 1.2 Hz x%.4f, 10 Hz x%.4f, 50 Hz x%.4f\n",
                  a01 / 0.8, a12, a10 / 0.5, a50 / 0.3);
    assert_true(a01 / 0.8 < 3e-3);       /* (0.1/0.5)^4 = 1.6e-3 for the squared response */
    assert_true(fabs(a12 - 1.0) < 0.04); /* 1.2 Hz: (1 + (0.5/1.2)^4)^-1 = 0.97 */
    assert_true(fabs(a10 / 0.5 - 1.0) < 1e-3);
    assert_true(fabs(a50 / 0.3 - 1.0) < 1e-3);

    memcpy(y, x, n * sizeof *y);
    resample_filter_opts notch = {.notch_hz = 50};
    assert_int_equal(resample_filter(y, 1, n, fs, &notch, &err), 0);
    a50 = amplitude(y, lo, hi, fs, 50);
    a10 = amplitude(y, lo, hi, fs, 10);
    a12 = amplitude(y, lo, hi, fs, 1.2);
    print_message("notch 50 Hz: 50 Hz x%.2e, 10 Hz x%.4f, 1.2 Hz x%.4f\n", a50 / 0.3, a10 / 0.5,
                  a12);
    assert_true(a50 / 0.3 < 1e-3); /* more than 60 dB at the notch */
    assert_true(fabs(a10 / 0.5 - 1.0) < 1e-3);
    assert_true(fabs(a12 - 1.0) < 1e-3);

    /* 60 Hz mains: the 50 Hz component passes a 60 Hz notch almost untouched. */
    memcpy(y, x, n * sizeof *y);
    assert_int_equal(resample_notch(y, 1, n, fs, 60, 30, &err), 0);
    assert_true(fabs(amplitude(y, lo, hi, fs, 50) / 0.3 - 1.0) < 0.02);

    assert_int_equal(resample_highpass(y, 1, n, fs, 0, &err), ECG_EINVAL);
    assert_int_equal(resample_highpass(y, 1, n, fs, 300, &err), ECG_EINVAL);
    assert_int_equal(resample_notch(y, 1, n, 100, 50, 30, &err), ECG_EINVAL);
    assert_int_equal(resample_notch(y, 1, n, fs, 50, -1, &err), ECG_EINVAL);
    assert_true(strlen(err.msg) > 0);
    /* Short records (at most the 9-sample padding) are filtered too, without reading outside. */
    float tiny[3] = {1, 2, 3};
    assert_int_equal(resample_highpass(tiny, 1, 3, fs, 0.5, &err), 0);
    assert_int_equal(resample_highpass(tiny, 1, 1, fs, 0.5, &err), 0);
    assert_true(isfinite(tiny[0]) && isfinite(tiny[2]));
    free(x);
    free(y);
}

static void test_windows(void **state) {
    (void)state;
    assert_int_equal(resample_window_count(0, 600), 0);
    assert_int_equal(resample_window_count(100, 600), 1);
    assert_int_equal(resample_window_count(600, 600), 1);
    assert_int_equal(resample_window_count(2400, 600), 4);
    assert_int_equal(resample_window_count(2999, 600), 4);
    size_t n = 2400;
    float *x = tu_zeros(2 * n), out[2 * 600];
    for (size_t i = 0; i < 2 * n; i++)
        x[i] = (float)i;
    resample_window_extract(x, 2, n, 600, 600, out);
    assert_true(out[0] == 600 && out[599] == 1199 && out[600] == 2400 + 600);
    resample_window_extract(x, 2, n, 2000, 600, out);
    assert_true(out[399] == 2399 && out[400] == 0 && out[599] == 0 && out[600] == 4400);
    assert_true(out[1000] == 0);
    /* Random crops: inside the record, reproducible from the seed, covering the range. */
    rng_state r1, r2;
    rng_seed(&r1, 7);
    rng_seed(&r2, 7);
    size_t lo = n, hi = 0;
    for (int k = 0; k < 200; k++) {
        size_t s1 = resample_crop_random(x, 2, n, 600, &r1, out);
        size_t s2 = resample_crop_random(x, 2, n, 600, &r2, out);
        assert_int_equal(s1, s2);
        assert_true(s1 + 600 <= n);
        assert_true(out[0] == (float)s1 && out[600] == (float)(n + s1));
        lo = s1 < lo ? s1 : lo;
        hi = s1 > hi ? s1 : hi;
    }
    assert_true(lo < 100 && hi > 1700);
    /* Exactly one window: start 0, one draw; shorter: start 0, zero padded, no draw. */
    rng_seed(&r1, 7);
    rng_seed(&r2, 7);
    assert_int_equal(resample_crop_random(x, 1, 600, 600, &r1, out), 0);
    rng_below(&r2, 1);
    assert_memory_equal(&r1, &r2, sizeof r1);
    assert_int_equal(resample_crop_random(x, 1, 100, 600, &r1, out), 0);
    assert_memory_equal(&r1, &r2, sizeof r1);
    assert_true(out[99] == 99 && out[100] == 0);
    free(x);
}

static void test_record(void **state) {
    (void)state;
    ecg_record in = {0}, out;
    ecg_err err = {0};
    assert_int_equal(record_alloc(&in, 3, 1000, &err), 0);
    in.fs = 500;
    snprintf(in.record_name, sizeof in.record_name, "synthetic");
    for (int c = 0; c < 3; c++) {
        snprintf(in.channels[c].name, sizeof in.channels[c].name, "V%d", c + 1);
        in.channels[c].lead = 6 + c;
        for (size_t i = 0; i < 1000; i++)
            in.signal[c * 1000 + i] = (float)sin(0.01 * i * (c + 1));
    }
    in.comments = strdup("# Dx: test");
    const double rates[] = {240, 359.7, 500};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(resample_record(&out, &in, rates[k], &err), 0);
        size_t m = resample_out_len(1000, 500, rates[k]);
        assert_int_equal(out.n_samples, m);
        assert_int_equal(out.n_channels, 3);
        assert_true(out.fs == rates[k]);
        assert_string_equal(out.channels[2].name, "V3");
        assert_int_equal(out.channels[2].lead, 8);
        assert_string_equal(out.record_name, "synthetic");
        assert_string_equal(out.comments, "# Dx: test");
        float *y = tu_zeros(m);
        assert_int_equal(resample_rate(in.signal + 2000, 1000, 500, rates[k], y, &err), 0);
        assert_memory_equal(y, out.signal + 2 * m, m * sizeof *y);
        free(y);
        record_free(&out);
    }
    assert_int_equal(resample_record(&out, &in, 0, &err), ECG_EINVAL);
    assert_int_equal(resample_record(&out, &in, 1e9, &err), ECG_EINVAL);
    record_free(&in);
}

/* The definition the fast layouts must reproduce bit for bit: per output, a float sum in
 * increasing input index of x[j] * (float)tap over the taps that meet the record. */
static float poly_reference(const resample_plan *p, const float *x, size_t n, size_t k) {
    int64_t t = (int64_t)k * p->down + p->half_len, hi = t / p->up;
    int r = (int)(t - hi * p->up), len = p->poly_len[r];
    float acc = 0;
    for (int i = 0; i < len; i++) {
        int64_t j = hi - len + 1 + i;
        if (j >= 0 && j < (int64_t)n) acc += x[j] * (float)p->poly[(size_t)r * p->stride + i];
    }
    return acc;
}

/* Rows side by side (more than one vector of lanes, absent rows, short records where every
 * output is an edge, a ratio too wide for the blocked path) equal each row alone, which equals
 * the scalar definition. */
static void test_rows_match_single(void **state) {
    (void)state;
    const int ratios[][2] = {{12, 25}, {3, 5}, {24, 25}, {15, 8}, {1, 640}, {640, 1}};
    const size_t lens[] = {5000, 37, 1, 600};
    enum { ROWS = 19 };
    for (size_t i = 0; i < sizeof ratios / sizeof ratios[0]; i++)
        for (size_t L = 0; L < sizeof lens / sizeof lens[0]; L++) {
            resample_plan p;
            ecg_err err = {0};
            assert_int_equal(resample_plan_init(&p, ratios[i][0], ratios[i][1], &err), 0);
            size_t n = lens[L], m = resample_plan_out_len(&p, n);
            if (m > 100000) { /* 640x up of 5000 samples: the short lengths cover that path */
                resample_plan_free(&p);
                continue;
            }
            float *x = tu_randn(ROWS * n, 7 + i * 10 + L, 1.0f), *y = tu_zeros(ROWS * m),
                  *one = tu_zeros(m);
            const float *rows[ROWS];
            float *outs[ROWS];
            for (int c = 0; c < ROWS; c++) {
                rows[c] = c % 7 == 3 ? NULL : x + (size_t)c * n;
                outs[c] = y + (size_t)c * m;
                outs[c][0] = NAN; /* must be overwritten, zero for an absent row */
            }
            resample_plan_apply_rows(&p, rows, ROWS, n, outs);
            for (int c = 0; c < ROWS; c++) {
                if (!rows[c]) {
                    for (size_t k = 0; k < m; k++)
                        assert_true(outs[c][k] == 0.0f);
                    continue;
                }
                resample_plan_apply(&p, rows[c], n, one);
                assert_memory_equal(one, outs[c], m * sizeof *one);
                for (size_t k = 0; k < m; k += (m > 3000 ? 7 : 1)) {
                    float want = poly_reference(&p, rows[c], n, k);
                    assert_memory_equal(&want, &one[k], sizeof want);
                }
            }
            free(x);
            free(y);
            free(one);
            resample_plan_free(&p);
        }
}

static void test_bad_arguments(void **state) {
    (void)state;
    resample_plan p;
    ecg_err err = {0};
    assert_int_equal(resample_plan_init(&p, 0, 3, &err), ECG_EINVAL);
    assert_int_equal(resample_plan_init(&p, 1000, 1001, &err), ECG_EINVAL);
    assert_true(strstr(err.msg, "1000/1001") != NULL);
    float x[4] = {1, 2, 3, 4}, y[16];
    assert_int_equal(resample_rate(x, 4, -1, 240, y, &err), ECG_EINVAL);
    assert_int_equal(resample_rate(x, 4, INFINITY, 240, y, &err), ECG_EINVAL);
    assert_int_equal(resample_rate(x, 4, 240, 240, y, &err), 0);
    assert_memory_equal(x, y, sizeof x);
    /* Upsampling a 1-sample signal reads nothing outside it. */
    assert_int_equal(resample_rate(x, 1, 128, 240, y, &err), 0);
    assert_int_equal(resample_rate_sinc(x, 1, 128, 240, y, &err), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratio_reduction),
        cmocka_unit_test(test_taps_match_firwin),
        cmocka_unit_test(test_poly_matches_scipy),
        cmocka_unit_test(test_sinc_matches_scipy),
        cmocka_unit_test(test_sinc_analytic),
        cmocka_unit_test(test_length_resize),
        cmocka_unit_test(test_filters_match_scipy),
        cmocka_unit_test(test_filters_synthetic),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_record),
        cmocka_unit_test(test_rows_match_single),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

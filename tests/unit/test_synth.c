/* test_synth.c — the synthetic corpus: records are a pure function of (seed, index), limb leads
 * obey Einthoven exactly, and each class shows its signature to a simple R-peak detector. */

#include "testutil.h"

#include "core/data/record.h"
#include "core/data/synth.h"

/* ---- measurement helpers ----------------------------------------------------------------------
 */

/* Every test draws from seed 0 unless ECGFM_SYNTH_SEED says otherwise (to probe other corpora). */
static void defaults(synth_config *c) {
    synth_config_default(c);
    const char *s = getenv("ECGFM_SYNTH_SEED");
    if (s) c->seed = strtoull(s, NULL, 10);
}

static void quiet(synth_config *c) {
    c->baseline_mv = c->powerline_mv = c->muscle_mv = c->motion_mv = 0;
    c->motion_prob = 0;
}

static void only_class(synth_config *c, int label) {
    for (int k = 0; k < SYNTH_N_CLASSES; k++)
        c->class_weight[k] = k == label;
}

static void make(const synth_config *c, uint64_t index, ecg_record *r, synth_info *info) {
    ecg_err err = {0};
    if (synth_record_info(c, index, r, info, &err) != ECG_OK) fail_msg("synth: %s", err.msg);
}

static const float *lead(const ecg_record *r, int l) {
    return r->signal + (size_t)l * r->n_samples;
}

/* 2nd-order Butterworth low- or high-pass (bilinear), forward then backward so the result has no
 * delay; the ends are extended by odd reflection (as scipy's filtfilt) so no transient shows. */
static void filtfilt2(float *x, size_t n, double fs, double fc, int highpass) {
    size_t p = (size_t)(0.5 * fs) < n - 1 ? (size_t)(0.5 * fs) : n - 1, m = n + 2 * p;
    double *y = malloc(m * sizeof *y);
    assert_non_null(y);
    for (size_t k = 0; k < p; k++) {
        y[k] = 2.0 * x[0] - x[p - k];
        y[p + n + k] = 2.0 * x[n - 1] - x[n - 2 - k];
    }
    for (size_t k = 0; k < n; k++)
        y[p + k] = x[k];
    double k = tan(M_PI * fc / fs), q = sqrt(2.0), norm = 1 / (1 + q * k + k * k);
    double b0 = highpass ? norm : k * k * norm, b1 = highpass ? -2 * b0 : 2 * b0, b2 = b0;
    double a1 = 2 * (k * k - 1) * norm, a2 = (1 - q * k + k * k) * norm;
    for (int pass = 0; pass < 2; pass++) {
        double x1 = y[0], x2 = y[0], y1 = highpass ? 0 : y[0], y2 = y1;
        for (size_t i = 0; i < m; i++) {
            double v = b0 * y[i] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
            x2 = x1, x1 = y[i], y2 = y1, y1 = v;
            y[i] = v;
        }
        for (size_t i = 0; i < m / 2; i++) {
            double t = y[i];
            y[i] = y[m - 1 - i];
            y[m - 1 - i] = t;
        }
    }
    for (size_t i = 0; i < n; i++)
        x[i] = (float)y[p + i];
    free(y);
}

/* A Pan–Tompkins-like detector on the leads in `mask` (bit l = lead l): each lead band-passed to
 * 8–25 Hz, the absolute central difference summed over those leads and over ±20 ms, peaks above
 * 30% of its maximum that are the largest within ±160 ms. Returns the peak count. */
#define LEAD_II (1u << 1)
#define ALL_LEADS 0xfffu
static size_t detect_band(const ecg_record *r, unsigned mask, double f_lo, double f_hi, double half,
                          size_t *peaks, size_t max) {
    size_t n = r->n_samples;
    float *d = calloc(n, sizeof *d), *e = calloc(n, sizeof *e), *y = malloc(n * sizeof *y);
    assert_true(d && e && y);
    for (int l = 0; l < ECG_N_LEADS; l++) {
        if (!(mask >> l & 1)) continue;
        memcpy(y, lead(r, l), n * sizeof *y);
        filtfilt2(y, n, r->fs, f_lo, 1);
        filtfilt2(y, n, r->fs, f_hi, 0);
        for (size_t k = 1; k + 1 < n; k++)
            d[k] += fabsf(y[k + 1] - y[k - 1]);
    }
    size_t w = (size_t)(half * r->fs);
    float emax = 0;
    for (size_t k = 0; k < n; k++) {
        size_t lo = k > w ? k - w : 0, hi = k + w < n ? k + w : n - 1;
        float s = 0;
        for (size_t j = lo; j <= hi; j++)
            s += d[j];
        e[k] = s;
        if (s > emax) emax = s;
    }
    size_t ref = (size_t)(0.16 * r->fs), count = 0;
    for (size_t k = 0; k < n && count < max; k++) {
        if (e[k] < 0.3f * emax) continue;
        size_t lo = k > ref ? k - ref : 0, hi = k + ref < n ? k + ref : n - 1;
        int is_max = 1;
        for (size_t j = lo; j <= hi && is_max; j++)
            is_max = j < k ? e[j] < e[k] : e[j] <= e[k];
        /* Pan–Tompkins' T-wave rule: within 330 ms of a beat, a peak under half its size is
         * that beat's T wave. */
        if (is_max && count > 0 && k - peaks[count - 1] < (size_t)(0.33 * r->fs) &&
            2 * e[k] < e[peaks[count - 1]])
            is_max = 0;
        if (is_max) peaks[count++] = k;
    }
    free(d);
    free(e);
    free(y);
    return count;
}

static size_t detect_r(const ecg_record *r, unsigned mask, size_t *peaks, size_t max) {
    return detect_band(r, mask, 8, 25, 0.02, peaks, max);
}

/* For records with ventricular ectopy: all 12 leads, 5–20 Hz (where a wide complex still has its
 * energy), slopes summed over ±60 ms so a slow complex counts as much as a sharp one. */
static size_t detect_wide(const ecg_record *r, size_t *peaks, size_t max) {
    return detect_band(r, ALL_LEADS, 5, 20, 0.06, peaks, max);
}

/* RR intervals (s) between consecutive detections; returns their count. */
static size_t rr_series(const ecg_record *r, unsigned mask, double *rr, size_t max) {
    size_t peaks[512];
    size_t np = detect_r(r, mask, peaks, 512);
    size_t m = 0;
    for (size_t i = 1; i < np && m < max; i++)
        rr[m++] = (double)(peaks[i] - peaks[i - 1]) / r->fs;
    return m;
}

static double mean_of(const double *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return n ? s / n : 0;
}

static double cv_of(const double *x, size_t n) {
    double m = mean_of(x, n), v = 0;
    for (size_t i = 0; i < n; i++)
        v += (x[i] - m) * (x[i] - m);
    return n > 1 ? sqrt(v / (n - 1)) / m : 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(const double *x, size_t n) {
    double *t = malloc(n * sizeof *t);
    assert_non_null(t);
    memcpy(t, x, n * sizeof *t);
    qsort(t, n, sizeof *t, cmp_double);
    double m = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    free(t);
    return m;
}

/* QRS width (ms) of the beat detected at p: the spatial velocity (sum over the 12 leads of
 * |central difference|) around its peak within p ± 150 ms, extended both ways while it stays above
 * 20% of that peak, bridging dips (notches) shorter than 20 ms. */
static double qrs_width_ms(const ecg_record *r, size_t p) {
    size_t n = r->n_samples, w = (size_t)(0.15 * r->fs), gap = (size_t)(0.02 * r->fs);
    size_t lo = p > w + 1 ? p - w : 1, hi = p + w + 1 < n ? p + w : n - 2;
    double sv[8192], peak = 0;
    size_t at = lo;
    assert_true(hi - lo < 8192);
    for (size_t k = lo; k <= hi; k++) {
        double s = 0;
        for (int l = 0; l < ECG_N_LEADS; l++)
            s += fabsf(lead(r, l)[k + 1] - lead(r, l)[k - 1]);
        sv[k - lo] = s;
        if (s > peak) peak = s, at = k;
    }
    size_t first = at, last = at;
    for (size_t k = at; k >= lo && k + gap >= first; k--) {
        if (sv[k - lo] >= 0.2 * peak) first = k;
        if (k == lo) break;
    }
    for (size_t k = at; k <= hi && k <= last + gap; k++)
        if (sv[k - lo] >= 0.2 * peak) last = k;
    return (double)(last - first) * 1000.0 / r->fs;
}

/* Mean QRS width over the beats detected on lead II at least 200 ms from either end. */
static double mean_qrs_width_ms(const ecg_record *r) {
    size_t peaks[512];
    size_t np = detect_r(r, LEAD_II, peaks, 512), m = 0;
    double s = 0, edge = 0.2 * r->fs;
    for (size_t i = 0; i < np; i++) {
        if (peaks[i] < edge || peaks[i] + edge > r->n_samples) continue;
        s += qrs_width_ms(r, peaks[i]);
        m++;
    }
    assert_true(m > 0);
    return s / m;
}

/* |DFT|^2 of x at frequency f (Goertzel). */
static double goertzel(const float *x, size_t n, double fs, double f) {
    double w = 2 * M_PI * f / fs, c = 2 * cos(w), s1 = 0, s2 = 0;
    for (size_t k = 0; k < n; k++) {
        double s = x[k] + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/* Power at f over the largest power at f ± 1..8 Hz (in steps of the frequency resolution): the
 * ECG's own spectrum near mains is a comb of heart-rate harmonics, so a bin that stands above
 * all of them is a line that is not the heart's. */
static double line_ratio(const float *x, size_t n, double fs, double f) {
    double ref = 0, step = fs / (double)n;
    for (double d = 1; d <= 8; d += step) {
        double a = goertzel(x, n, fs, f - d), b = goertzel(x, n, fs, f + d);
        if (a > ref) ref = a;
        if (b > ref) ref = b;
    }
    return goertzel(x, n, fs, f) / ref;
}

/* ---- tests ------------------------------------------------------------------------------------
 */

static void test_config_and_layout(void **state) {
    (void)state;
    synth_config c;
    defaults(&c);
    ecg_err err = {0};
    assert_int_equal(synth_config_check(&c, &err), ECG_OK);
    for (int i = 0; i < 12; i++) {
        synth_config b = c;
        switch (i) {
        case 0: b.fs = 10; break;
        case 1: b.seconds = 0; break;
        case 2: b.seconds = NAN; break;
        case 3: memset(b.class_weight, 0, sizeof b.class_weight); break;
        case 4: b.class_weight[2] = -1; break;
        case 5: b.hr_min = 120, b.hr_max = 60; break;
        case 6: b.hr_max = 400; break;
        case 7: b.powerline_hz = 55; break;
        case 8: b.motion_prob = 1.5; break;
        case 9: b.muscle_mv = -0.1; break;
        case 10: b.fs = 100; break; /* 60 Hz mains cannot be represented */
        case 11: b.seconds = 1e9; break;
        }
        err.code = ECG_OK;
        assert_int_equal(synth_config_check(&b, &err), ECG_EINVAL);
        ecg_record r = {0};
        int label = -1;
        assert_int_equal(synth_record(&b, 0, &r, &label, &err), ECG_EINVAL);
        assert_null(r.signal);
    }
    /* 100 Hz is fine once mains is off. */
    synth_config low = c;
    low.fs = 100;
    low.powerline_mv = 0;
    assert_int_equal(synth_config_check(&low, &err), ECG_OK);

    ecg_record r;
    synth_info info;
    make(&c, 3, &r, &info);
    assert_int_equal(r.n_channels, ECG_N_LEADS);
    assert_int_equal(r.n_samples, 2400);
    assert_true(r.fs == 240.0);
    for (int l = 0; l < ECG_N_LEADS; l++) {
        assert_string_equal(r.channels[l].name, ecg_lead_names[l]);
        assert_string_equal(r.channels[l].units, "mV");
        assert_int_equal(r.channels[l].lead, l);
        assert_int_equal(record_lead_from_name(r.channels[l].name), l);
    }
    for (size_t k = 0; k < 12 * r.n_samples; k++)
        assert_true(isfinite(r.signal[k]));
    char want[64];
    snprintf(want, sizeof want, "class=%s label=%d", synth_class_name(info.label), info.label);
    assert_non_null(r.comments);
    assert_non_null(strstr(r.comments, want));
    assert_int_equal(synth_class_from_name(synth_class_name(info.label)), info.label);
    assert_null(synth_class_name(SYNTH_N_CLASSES));
    assert_int_equal(synth_class_from_name("vt"), -1);
    record_free(&r);

    synth_config hi = c;
    hi.fs = 500;
    hi.seconds = 2.5;
    make(&hi, 3, &r, NULL);
    assert_int_equal(r.n_samples, 1250);
    assert_true(r.fs == 500.0);
    record_free(&r);
}

static void test_determinism(void **state) {
    (void)state;
    synth_config c;
    defaults(&c);
    c.seed = 42;
    c.motion_prob = 1; /* every noise source on */
    ecg_record a, b;
    synth_info ia, ib;
    make(&c, 17, &a, &ia);
    make(&c, 3, &b, NULL); /* something else in between: no hidden state */
    record_free(&b);
    make(&c, 17, &b, &ib);
    size_t bytes = 12 * a.n_samples * sizeof(float);
    assert_memory_equal(a.signal, b.signal, bytes);
    assert_int_equal(ia.label, ib.label);
    record_free(&b);
    make(&c, 18, &b, NULL);
    assert_true(memcmp(a.signal, b.signal, bytes) != 0);
    record_free(&b);
    synth_config c2 = c;
    c2.seed = 43;
    make(&c2, 17, &b, NULL);
    assert_true(memcmp(a.signal, b.signal, bytes) != 0);
    record_free(&b);
    record_free(&a);

    /* In parallel, any order: the same bits as one by one. */
    enum { N = 32 };
    uint64_t serial[N], parallel[N];
    for (int i = 0; i < N; i++) {
        ecg_record r;
        make(&c, (uint64_t)i, &r, NULL);
        serial[i] = 1469598103934665603ULL;
        const unsigned char *p = (const unsigned char *)r.signal;
        for (size_t k = 0; k < 12 * r.n_samples * sizeof(float); k++)
            serial[i] = (serial[i] ^ p[k]) * 1099511628211ULL;
        record_free(&r);
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(2)
    for (int i = N - 1; i >= 0; i--) {
        ecg_record r;
        ecg_err err;
        parallel[i] = 0;
        if (synth_record(&c, (uint64_t)i, &r, NULL, &err) != ECG_OK) continue;
        uint64_t h = 1469598103934665603ULL;
        const unsigned char *p = (const unsigned char *)r.signal;
        for (size_t k = 0; k < 12 * r.n_samples * sizeof(float); k++)
            h = (h ^ p[k]) * 1099511628211ULL;
        parallel[i] = h;
        record_free(&r);
    }
    assert_memory_equal(serial, parallel, sizeof serial);
    for (int i = 0; i < N; i++) /* and every index is its own record */
        for (int j = 0; j < i; j++)
            assert_true(serial[i] != serial[j]);
}

static void test_einthoven(void **state) {
    (void)state;
    synth_config c;
    defaults(&c);
    c.motion_prob = 1;
    for (uint64_t i = 0; i < 8; i++) {
        ecg_record r;
        make(&c, i, &r, NULL);
        const float *l1 = lead(&r, 0), *l2 = lead(&r, 1);
        for (size_t k = 0; k < r.n_samples; k++) {
            assert_true(lead(&r, 2)[k] == l2[k] - l1[k]);
            assert_true(lead(&r, 3)[k] == -(l1[k] + l2[k]) / 2);
            assert_true(lead(&r, 4)[k] == l1[k] - l2[k] / 2);
            assert_true(lead(&r, 5)[k] == l2[k] - l1[k] / 2);
        }
        record_free(&r);
    }
}

/* Sinus records at a fixed requested rate, with baseline wander, mains and light muscle noise:
 * the detector on lead II recovers the rate within 3 bpm. */
static void test_heart_rate(void **state) {
    (void)state;
    const double rates[] = {48, 72, 100, 140};
    const double fss[] = {240, 240, 500, 240};
    for (int q = 0; q < 4; q++) {
        synth_config c;
        defaults(&c);
        only_class(&c, SYNTH_SINUS);
        c.hr_min = c.hr_max = rates[q];
        c.fs = fss[q];
        c.muscle_mv = 0.01;
        c.motion_prob = 0;
        for (uint64_t i = 0; i < 10; i++) {
            ecg_record r;
            synth_info info;
            make(&c, i, &r, &info);
            assert_int_equal(info.label, SYNTH_SINUS);
            assert_true(info.hr_bpm == rates[q]);
            double rr[512];
            size_t m = rr_series(&r, LEAD_II, rr, 512);
            assert_true(m >= 5);
            double hr = 60.0 / mean_of(rr, m);
            if (fabs(hr - rates[q]) > 3)
                fail_msg("record %d at %g bpm, %g Hz: measured %.2f bpm", (int)i, rates[q], c.fs,
                         hr);
            record_free(&r);
        }
    }
    /* Over the default range, the rate the record reports is the rate it has. */
    synth_config c;
    defaults(&c);
    only_class(&c, SYNTH_SINUS);
    quiet(&c);
    for (uint64_t i = 0; i < 20; i++) {
        ecg_record r;
        synth_info info;
        make(&c, i, &r, &info);
        assert_true(info.hr_bpm >= 45 && info.hr_bpm <= 150);
        double rr[512];
        size_t m = rr_series(&r, LEAD_II, rr, 512);
        assert_true(fabs(60.0 / mean_of(rr, m) - info.hr_bpm) < 3);
        assert_true(abs((int)m + 1 - info.n_beats) <= 1);
        record_free(&r);
    }
}

/* RR coefficient of variation: AF's i.i.d. intervals against sinus HRV. */
static void test_af_irregular(void **state) {
    (void)state;
    synth_config c;
    defaults(&c);
    quiet(&c);
    enum { N = 20 };
    double cv[2][N];
    for (int k = 0; k < 2; k++) {
        only_class(&c, k == 0 ? SYNTH_SINUS : SYNTH_AF);
        for (int i = 0; i < N; i++) {
            ecg_record r;
            synth_info info;
            make(&c, (uint64_t)i, &r, &info);
            double rr[512];
            size_t m = rr_series(&r, LEAD_II, rr, 512);
            assert_true(m >= 5);
            cv[k][i] = cv_of(rr, m);
            record_free(&r);
        }
    }
    double max_sinus = 0, min_af = 1;
    for (int i = 0; i < N; i++) {
        if (cv[0][i] > max_sinus) max_sinus = cv[0][i];
        if (cv[1][i] < min_af) min_af = cv[1][i];
    }
    int low_af = 0;
    for (int i = 0; i < N; i++)
        low_af += cv[1][i] < 0.1;
    print_message("RR CV: sinus mean %.3f max %.3f, AF mean %.3f min %.3f\n", mean_of(cv[0], N),
                  max_sinus, mean_of(cv[1], N), min_af);
    assert_true(mean_of(cv[1], N) > 3 * mean_of(cv[0], N));
    assert_true(max_sinus < 0.1);
    /* Ten i.i.d. intervals can look regular by chance, as in real AF: allow two in twenty. */
    assert_true(low_af <= 2);
}

/* Early beats (detect_wide, 300 ms clear of the ends): a beat whose interval is under 85% of the
 * one before and is followed by a pause at least 1.3 times as long. Sinus variability never does
 * that; a missed beat does not either. */
static int early_beats(const ecg_record *r, size_t *where, int max) {
    size_t all[512], peaks[512], np = 0;
    size_t na = detect_wide(r, all, 512), edge = (size_t)(0.3 * r->fs);
    for (size_t i = 0; i < na; i++) /* near the ends a T wave may lack its beat */
        if (all[i] >= edge && all[i] + edge <= r->n_samples) peaks[np++] = all[i];
    double rr[512];
    for (size_t i = 1; i < np; i++)
        rr[i - 1] = (double)(peaks[i] - peaks[i - 1]) / r->fs;
    size_t m = np ? np - 1 : 0;
    int count = 0;
    for (size_t i = 0; i + 1 < m; i++) {
        if (rr[i + 1] < 1.3 * rr[i] || (i > 0 && rr[i] >= 0.85 * rr[i - 1])) continue;
        if (count < max) where[count] = peaks[i + 1];
        count++;
    }
    return count;
}

/* PVC records show early beats with a compensatory pause, wider than their normal beats; sinus
 * records show none. Rates 50–110 bpm keep the simple detector's T-wave rule (330 ms) clear of
 * the coupling interval. */
static void test_pvc(void **state) {
    (void)state;
    synth_config c;
    defaults(&c);
    quiet(&c);
    c.hr_min = 50;
    c.hr_max = 110;
    only_class(&c, SYNTH_SINUS);
    for (uint64_t i = 0; i < 20; i++) {
        ecg_record r;
        size_t where[64];
        make(&c, i, &r, NULL);
        assert_int_equal(early_beats(&r, where, 64), 0);
        record_free(&r);
    }
    only_class(&c, SYNTH_PVC);
    double ratio_sum = 0;
    int n_ratio = 0;
    for (uint64_t i = 0; i < 20; i++) {
        ecg_record r;
        synth_info info;
        size_t where[64];
        make(&c, i, &r, &info);
        assert_true(info.n_ectopic >= 1);
        int found = early_beats(&r, where, 64);
        if (found < 1)
            fail_msg("PVC record %d: no early beat (%d PVCs drawn)", (int)i, info.n_ectopic);
        assert_true(found <= info.n_ectopic);
        /* The early beats are the wide ones. */
        size_t peaks[512];
        size_t np = detect_wide(&r, peaks, 512);
        double normal[512];
        size_t nn = 0;
        for (size_t k = 0; k < np; k++) {
            int early = 0;
            for (int j = 0; j < found && j < 64; j++)
                early |= peaks[k] == where[j];
            if (!early && peaks[k] > 0.2 * r.fs && peaks[k] + 0.2 * r.fs < r.n_samples)
                normal[nn++] = qrs_width_ms(&r, peaks[k]);
        }
        for (int j = 0; j < found && j < 64; j++) {
            if (where[j] < 0.2 * r.fs || where[j] + 0.2 * r.fs > r.n_samples) continue;
            ratio_sum += qrs_width_ms(&r, where[j]) / median_of(normal, nn);
            n_ratio++;
        }
        record_free(&r);
    }
    print_message("PVC/normal QRS width ratio: mean %.2f over %d early beats\n",
                  ratio_sum / n_ratio, n_ratio);
    assert_true(n_ratio >= 10);
    assert_true(ratio_sum / n_ratio > 1.5);
}

static void test_wide_qrs(void **state) {
    (void)state;
    synth_config c;
    defaults(&c);
    quiet(&c);
    enum { N = 20 };
    double w[2][N];
    for (int k = 0; k < 2; k++) {
        only_class(&c, k == 0 ? SYNTH_SINUS : SYNTH_WIDE_QRS);
        for (int i = 0; i < N; i++) {
            ecg_record r;
            make(&c, (uint64_t)i, &r, NULL);
            w[k][i] = mean_qrs_width_ms(&r);
            record_free(&r);
        }
    }
    double max_sinus = 0, min_wide = 1e9;
    for (int i = 0; i < N; i++) {
        if (w[0][i] > max_sinus) max_sinus = w[0][i];
        if (w[1][i] < min_wide) min_wide = w[1][i];
    }
    print_message("QRS width: sinus mean %.0f ms max %.0f, wide mean %.0f min %.0f\n",
                  mean_of(w[0], N), max_sinus, mean_of(w[1], N), min_wide);
    assert_true(mean_of(w[0], N) > 40 && mean_of(w[0], N) < 100);
    assert_true(mean_of(w[1], N) > 1.5 * mean_of(w[0], N));
    assert_true(min_wide > max_sinus);
}

/* Lead II R peaks of noise-free sinus records: mostly 0.3–2.5 mV, median near 1 mV. */
static void test_amplitude(void **state) {
    (void)state;
    synth_config c;
    defaults(&c);
    quiet(&c);
    only_class(&c, SYNTH_SINUS);
    enum { N = 100 };
    double peak[N];
    int in_range = 0;
    for (int i = 0; i < N; i++) {
        ecg_record r;
        make(&c, (uint64_t)i, &r, NULL);
        float mx = 0, all = 0;
        for (size_t k = 0; k < r.n_samples; k++)
            if (lead(&r, 1)[k] > mx) mx = lead(&r, 1)[k];
        for (size_t k = 0; k < 12 * r.n_samples; k++)
            if (fabsf(r.signal[k]) > all) all = fabsf(r.signal[k]);
        peak[i] = mx;
        in_range += mx >= 0.3 && mx <= 2.5;
        assert_true(all < 5.0f);
        record_free(&r);
    }
    print_message("lead II R: median %.2f mV, %d%% in [0.3, 2.5]\n", median_of(peak, N), in_range);
    assert_true(median_of(peak, N) > 0.6 && median_of(peak, N) < 1.6);
    assert_true(in_range >= 90);
}

static void test_powerline(void **state) {
    (void)state;
    const double fss[] = {240, 500};
    double min_on = 1e300, max_off = 0;
    for (int q = 0; q < 2; q++)
        for (int f = 50; f <= 60; f += 10) {
            synth_config c;
            defaults(&c);
            quiet(&c);
            c.fs = fss[q];
            c.powerline_mv = 0.2;
            c.powerline_hz = f;
            for (uint64_t i = 0; i < 4; i++) {
                ecg_record on, off;
                synth_info info;
                make(&c, i, &on, &info);
                assert_true(info.powerline_hz == f);
                synth_config c0 = c;
                c0.powerline_mv = 0;
                make(&c0, i, &off, &info);
                assert_true(info.powerline_hz == 0);
                /* The leads mains enters independently (the derived limb leads may cancel it). */
                static const int indep[] = {0, 1, 6, 7, 8, 9, 10, 11};
                for (int j = 0; j < 8; j++) {
                    int l = indep[j];
                    double r_on = line_ratio(lead(&on, l), on.n_samples, c.fs, f);
                    double r_other = line_ratio(lead(&on, l), on.n_samples, c.fs, 110 - f);
                    double r_off = line_ratio(lead(&off, l), off.n_samples, c.fs, f);
                    if (r_on < min_on) min_on = r_on;
                    if (r_other > max_off) max_off = r_other;
                    if (r_off > max_off) max_off = r_off;
                    if (r_on < 10 || r_other > 3 || r_off > 3)
                        fail_msg("fs %g, %d Hz, record %d lead %d: on %.3g other %.3g off %.3g",
                                 c.fs, f, (int)i, l, r_on, r_other, r_off);
                }
                record_free(&on);
                record_free(&off);
            }
        }
    print_message("line/neighbour power: with mains >= %.3g, without <= %.3g\n", min_on, max_off);
    /* Drawn per record when not fixed: both 50 and 60 Hz occur. */
    synth_config c;
    defaults(&c);
    int seen50 = 0, seen60 = 0;
    for (uint64_t i = 0; i < 20; i++) {
        ecg_record r;
        synth_info info;
        make(&c, i, &r, &info);
        seen50 += info.powerline_hz == 50;
        seen60 += info.powerline_hz == 60;
        record_free(&r);
    }
    assert_true(seen50 > 0 && seen60 > 0 && seen50 + seen60 == 20);
}

/* Each noise source has its own stream: switching mains off changes a record by exactly a
 * sinusoid at the mains frequency, nothing else. */
static void test_noise_sources_independent(void **state) {
    (void)state;
    synth_config c;
    defaults(&c);
    c.motion_prob = 1;
    c.powerline_hz = 60;
    synth_config c0 = c;
    c0.powerline_mv = 0;
    for (uint64_t i = 0; i < 4; i++) {
        ecg_record a, b;
        make(&c, i, &a, NULL);
        make(&c0, i, &b, NULL);
        size_t n = a.n_samples;
        float *d = malloc(n * sizeof *d);
        assert_non_null(d);
        for (int l = 6; l < 12; l++) {
            double e = 0;
            for (size_t k = 0; k < n; k++) {
                d[k] = lead(&a, l)[k] - lead(&b, l)[k];
                e += (double)d[k] * d[k];
            }
            double line = 2.0 / n * goertzel(d, n, a.fs, 60);
            assert_true(e > 0);
            assert_true(line / e > 0.999);
        }
        free(d);
        record_free(&a);
        record_free(&b);
    }
}

static void test_class_weights(void **state) {
    (void)state;
    synth_config c;
    defaults(&c);
    c.seconds = 0.5; /* labels only */
    int count[SYNTH_N_CLASSES] = {0};
    enum { N = 800 };
    for (uint64_t i = 0; i < N; i++) {
        ecg_record r;
        int label = -1;
        ecg_err err;
        assert_int_equal(synth_record(&c, i, &r, &label, &err), ECG_OK);
        assert_true(label >= 0 && label < SYNTH_N_CLASSES);
        count[label]++;
        record_free(&r);
    }
    for (int k = 0; k < SYNTH_N_CLASSES; k++)
        assert_true(fabs(count[k] / (double)N - 0.25) < 0.05);

    memset(count, 0, sizeof count);
    c.class_weight[0] = 3, c.class_weight[1] = 1, c.class_weight[2] = 0, c.class_weight[3] = 0;
    for (uint64_t i = 0; i < N; i++) {
        ecg_record r;
        int label = -1;
        ecg_err err;
        assert_int_equal(synth_record(&c, i, &r, &label, &err), ECG_OK);
        count[label]++;
        record_free(&r);
    }
    assert_int_equal(count[2] + count[3], 0);
    assert_true(fabs(count[0] / (double)N - 0.75) < 0.05);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_and_layout), cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_einthoven),         cmocka_unit_test(test_heart_rate),
        cmocka_unit_test(test_af_irregular),      cmocka_unit_test(test_pvc),
        cmocka_unit_test(test_wide_qrs),          cmocka_unit_test(test_amplitude),
        cmocka_unit_test(test_powerline),         cmocka_unit_test(test_noise_sources_independent),
        cmocka_unit_test(test_class_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

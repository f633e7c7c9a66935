/* test_masking.c — the shared pieces of the masked objectives: span and JEPA masks, exact EMA of
 * parameters and BN statistics, the mask vector, layer-normed targets, SmoothL1 by FD. */
#include "tests/unit/testutil.h"

#include "core/model/encoder.h"
#include "core/ssl/masking.h"
#include "core/ssl/teacher.h"

/* ---- span masking ---- */

static void test_span_fraction(void **state) {
    (void)state;
    const int B = 2000, T = 300;
    uint8_t *m = malloc((size_t)B * T);
    assert_non_null(m);
    rng_state r;
    rng_seed(&r, 7);
    int n = mask_draw_spans(m, B, T, 0.065f, 10, &r);
    double frac = (double)n / ((double)B * T), want = mask_span_expected_frac(T, 0.065f, 10);
    /* (1/T) sum_t 1 - (1 - 0.0065)^min(t+1, 10) */
    double direct = 0;
    for (int t = 0; t < T; t++)
        direct += 1 - pow(1 - 0.0065, t + 1 < 10 ? t + 1 : 10);
    direct /= T;
    print_message("span masking: masked fraction %.5f, expected %.5f (SPEC reading: start p = "
                  "0.065/10, span 10)\n",
                  frac, want);
    assert_true(fabs(want - direct) < 1e-6);
    assert_true(fabs(want - 0.0623) < 0.001);
    assert_true(fabs(frac - want) < 0.004); /* ~3900 spans: sd of the fraction ~0.001 */
    /* sequences without any masked token: (1 - p)^T = 0.142 */
    int empty = 0;
    for (int b = 0; b < B; b++) {
        int any = 0;
        for (int t = 0; t < T; t++)
            any |= m[(size_t)b * T + t];
        empty += !any;
    }
    double pe = pow(1 - 0.0065, T);
    assert_true(fabs((double)empty / B - pe) < 0.03);
    free(m);
}

static void test_span_structure(void **state) {
    (void)state;
    const int B = 2000, T = 97, span = 7;
    uint8_t *m = malloc((size_t)B * T), *m2 = malloc((size_t)B * T);
    assert_non_null(m);
    assert_non_null(m2);
    rng_state r, r2;
    rng_seed(&r, 3);
    r2 = r;
    int n = mask_draw_spans(m, B, T, 0.3f, span, &r);
    int n2 = mask_draw_spans(m2, B, T, 0.3f, span, &r2);
    assert_int_equal(n, n2);
    assert_memory_equal(m, m2, (size_t)B * T);
    assert_memory_equal(&r, &r2, sizeof r);
    /* every maximal run is at least a span long unless the sequence cuts it */
    int runs = 0, cut = 0, cnt = 0;
    for (int b = 0; b < B; b++) {
        const uint8_t *row = m + (size_t)b * T;
        for (int t = 0; t < T;) {
            if (!row[t]) {
                t++;
                continue;
            }
            int s = t;
            while (t < T && row[t])
                t++;
            runs++;
            if (t == T)
                cut++;
            else
                assert_true(t - s >= span);
        }
        for (int t = 0; t < T; t++)
            cnt += row[t];
    }
    assert_int_equal(cnt, n);
    assert_true(runs > 100 && cut > 0);
    double frac = (double)n / (B * T), want = mask_span_expected_frac(T, 0.3f, span);
    print_message("span masking p=0.3/7: fraction %.4f expected %.4f\n", frac, want);
    assert_true(fabs(frac - want) < 0.02);
    /* the stream advances by exactly B * T draws */
    rng_state r3;
    rng_seed(&r3, 3);
    for (int i = 0; i < B * T; i++)
        rng_uniform(&r3);
    assert_memory_equal(&r, &r3, sizeof r);
    free(m);
    free(m2);
}

/* ---- JEPA blocks ---- */

static void jepa_case(int T, int nb, int bl, float cmin, float cmax) {
    const int B = 1000;
    uint8_t *tg = malloc((size_t)B * T), *cx = malloc((size_t)B * T);
    assert_non_null(tg);
    assert_non_null(cx);
    rng_state r;
    rng_seed(&r, 11);
    int n = mask_draw_jepa(tg, cx, B, T, nb, bl, cmin, cmax, &r);
    const int lo = (int)lrintf(cmin * T), hi = (int)lrintf(cmax * T);
    int at0 = 0, atend = 0, total = 0;
    double ctx_frac = 0, ctx_only = 0;
    for (int b = 0; b < B; b++) {
        const uint8_t *t = tg + (size_t)b * T, *c = cx + (size_t)b * T;
        int nt = 0, nc = 0, first = -1, last = -1;
        for (int i = 0; i < T; i++) {
            assert_false(t[i] && c[i]); /* context and targets are disjoint */
            nt += t[i];
            nc += c[i];
            if (c[i]) {
                if (first < 0) first = i;
                last = i;
            }
        }
        /* blocks inside the sequence: the union has bl .. nb * bl tokens in runs of >= bl */
        assert_true(nt >= bl && nt <= nb * bl);
        total += nt;
        for (int i = 0; i < T;) {
            if (!t[i]) {
                i++;
                continue;
            }
            int s = i;
            while (i < T && t[i])
                i++;
            assert_true(i - s >= bl);
        }
        at0 += t[0];
        atend += t[T - 1];
        /* the context lies in one block of lo..hi tokens, of which only targets are missing */
        int tin = 0;
        if (nc) {
            assert_true(last - first + 1 <= hi);
            for (int i = first; i <= last; i++) {
                assert_true(c[i] || t[i]);
                tin += t[i];
            }
        }
        assert_true(nc <= hi && nc + nt >= lo);
        ctx_frac += (double)(nc + tin) / T;
        ctx_only += (double)nc / T;
    }
    assert_int_equal(n, total);
    ctx_frac /= B;
    ctx_only /= B;
    const double frac = (double)total / ((double)B * T),
                 want = mask_jepa_expected_target_frac(T, nb, bl);
    print_message("jepa T=%d %dx%d: targets %.4f of tokens (expected %.4f), context %.3f, context "
                  "block seen %.3f (drawn %.2f-%.2f)\n",
                  T, nb, bl, frac, want, ctx_only, ctx_frac, cmin, cmax);
    assert_true(fabs(frac - want) < 0.01);
    assert_true(ctx_frac <= cmax + 1e-9);
    assert_true(at0 > 0 && atend > 0);
    free(tg);
    free(cx);
}

static void test_jepa_blocks(void **state) {
    (void)state;
    jepa_case(300, 4, 64, 0.85f, 1.0f); /* the study's defaults */
    jepa_case(300, 4, 10, 0.5f, 0.7f);
    jepa_case(50, 3, 5, 0.6f, 0.6f);
}

/* ---- EMA teacher ---- */

static struct encoder_config tiny_config(enc_backbone bb) {
    struct encoder_config c;
    encoder_config_small(&c, bb);
    c.d_model = 16;
    c.in_samples = 64;
    c.n_layers = 3;
    c.dropout = 0;
    return c;
}

static void test_teacher_ema(void **state) {
    (void)state;
    for (int bb = 0; bb < 3; bb++) {
        struct encoder_config c = tiny_config((enc_backbone)bb);
        encoder *s;
        ecg_err err = {0};
        assert_int_equal(encoder_create(&s, &c, 2, 5, 0, &err), ECG_OK);
        rng_state r;
        rng_seed(&r, 1);
        int mv = maskvec_add(s, "ssl.mask_emb", &r, &err);
        assert_true(mv >= 0);
        ssl_teacher *t;
        assert_int_equal(teacher_create(&t, s, 2, &err), ECG_OK);
        param_set *sp = encoder_params(s), *tp = encoder_params(teacher_encoder(t));
        assert_int_equal(tp->n_views, sp->n_views - 1);
        assert_true(tp->n_bviews > 0 && tp->n_bviews == sp->n_bviews);
        assert_memory_equal(tp->data, sp->data, tp->n_floats * sizeof(float));
        assert_memory_equal(tp->buf, sp->buf, tp->n_buf * sizeof(float));
        /* move the student (parameters and BN statistics) and the teacher apart */
        for (size_t i = 0; i < sp->n_floats; i++)
            sp->data[i] += 0.3f * rng_normal(&r);
        for (size_t i = 0; i < sp->n_buf; i++)
            sp->buf[i] += 0.2f + 0.1f * rng_normal(&r);
        for (size_t i = 0; i < tp->n_floats; i++)
            tp->data[i] -= 0.1f * rng_normal(&r);
        float *want = tu_zeros(tp->n_floats), *wantb = tu_zeros(tp->n_buf);
        const float m = 0.9996f, om = 1.0f - m;
        for (size_t i = 0; i < tp->n_floats; i++)
            want[i] = m * tp->data[i] + om * sp->data[i];
        for (size_t i = 0; i < tp->n_buf; i++)
            wantb[i] = m * tp->buf[i] + om * sp->buf[i];
        teacher_update_ema(t, s, m);
        assert_memory_equal(tp->data, want, tp->n_floats * sizeof(float));
        assert_memory_equal(tp->buf, wantb, tp->n_buf * sizeof(float));
        /* the update really moved the running statistics */
        int moved = 0;
        for (size_t i = 0; i < tp->n_buf; i++)
            moved += tp->buf[i] != sp->buf[i];
        assert_true(moved == (int)tp->n_buf);
        /* m = 0 copies, m = 1 keeps */
        teacher_update_ema(t, s, 1.0f);
        assert_memory_equal(tp->data, want, tp->n_floats * sizeof(float));
        teacher_update_ema(t, s, 0.0f);
        assert_memory_equal(tp->data, sp->data, tp->n_floats * sizeof(float));
        assert_memory_equal(tp->buf, sp->buf, tp->n_buf * sizeof(float));
        /* state tensors: every parameter and buffer, by name, pointing into the teacher */
        int ns = teacher_state_count(t);
        assert_int_equal(ns, tp->n_views + tp->n_bviews);
        ssl_state_tensor *st = calloc((size_t)ns, sizeof *st);
        assert_non_null(st);
        assert_int_equal(teacher_state_tensors(t, st, ns), ns);
        assert_string_equal(st[0].name, "teacher.stem.0.conv.weight");
        assert_ptr_equal(st[0].data, tp->data);
        int found = 0;
        for (int i = 0; i < ns; i++)
            if (!strcmp(st[i].name, "teacher.stem.0.bn.running_var")) {
                found = 1;
                assert_ptr_equal(
                    st[i].data, params_buffer(tp, params_find_buffer(tp, "stem.0.bn.running_var")));
            }
        assert_true(found);
        free(st);
        /* teacher forward is eval mode: same as the student's eval forward after a full copy */
        float *x = tu_randn((size_t)2 * 12 * c.in_samples, 9, 1.0f);
        assert_int_equal(teacher_forward(t, x, 2, &err), ECG_OK);
        assert_int_equal(encoder_forward(s, x, 2, ENC_EVAL, &err), ECG_OK);
        const size_t nt = (size_t)2 * encoder_tokens(s) * c.d_model;
        assert_memory_equal(encoder_out(teacher_encoder(t)), encoder_out(s), nt * sizeof(float));
        /* data2vec targets: mean of per-token layer norms of the last two layers */
        float *tg = tu_zeros(nt), *ref = tu_zeros(nt);
        assert_int_equal(teacher_layer_targets(tg, t, 2, &err), ECG_OK);
        assert_int_equal(teacher_layer_targets(tg, t, 3, &err), ECG_EINVAL); /* not kept */
        assert_int_equal(teacher_layer_targets(tg, t, 2, &err), ECG_OK);
        for (int l = c.n_layers - 2; l < c.n_layers; l++) {
            const float *y = encoder_layer_out(s, l);
            for (size_t row = 0; row < nt / c.d_model; row++) {
                double mu = 0, v = 0;
                for (int k = 0; k < c.d_model; k++)
                    mu += y[row * c.d_model + k];
                mu /= c.d_model;
                for (int k = 0; k < c.d_model; k++)
                    v += (y[row * c.d_model + k] - mu) * (y[row * c.d_model + k] - mu);
                v /= c.d_model;
                for (int k = 0; k < c.d_model; k++)
                    ref[row * c.d_model + k] +=
                        (float)(0.5 * (y[row * c.d_model + k] - mu) / sqrt(v + c.ln_eps));
            }
        }
        double e = tu_nmse(tg, ref, nt);
        assert_true(e < 1e-12);
        free(tg), free(ref), free(x), free(want), free(wantb);
        teacher_free(t);
        encoder_free(s);
    }
}

/* ---- mask vector ---- */

static void test_maskvec(void **state) {
    (void)state;
    const int n = 5, d = 3;
    const uint8_t mask[5] = {0, 1, 0, 1, 1};
    float rows[15], vec[3] = {7, 8, 9}, dvec[3] = {1, 1, 1}, drows[15];
    for (int i = 0; i < 15; i++)
        rows[i] = drows[i] = (float)i;
    maskvec_apply(rows, mask, vec, n, d);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < d; c++)
            assert_true(rows[i * d + c] == (mask[i] ? vec[c] : (float)(i * d + c)));
    maskvec_backward(dvec, drows, mask, n, d);
    for (int c = 0; c < d; c++)
        assert_true(dvec[c] == 1.0f + (3 + c) + (9 + c) + (12 + c));
    for (int i = 0; i < n; i++)
        for (int c = 0; c < d; c++)
            assert_true(drows[i * d + c] == (mask[i] ? 0.0f : (float)(i * d + c)));
}

/* ---- SmoothL1 by finite differences (the layer-norm targets carry no gradient: they are checked
 * against a double-precision reference in test_teacher_ema) ---- */

static void test_smooth_l1_fd(void **state) {
    (void)state;
    const size_t n = 400;
    float *a = tu_randn(n, 1, 1.5f), *b = tu_randn(n, 2, 1.0f), *da = tu_zeros(n);
    double l = ssl_smooth_l1(da, a, b, n, 1.0f);
    double ref = 0;
    for (size_t i = 0; i < n; i++) {
        double x = (double)a[i] - b[i];
        ref += fabs(x) < 1 ? 0.5 * x * x : fabs(x) - 0.5;
    }
    assert_true(fabs(l - ref) < 1e-9 * (1 + fabs(ref)));
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double x = (double)a[i] - b[i];
        if (fabs(fabs(x) - 1) < 1e-2) continue; /* the kink of the second derivative */
        float keep = a[i];
        a[i] = keep + 1e-3f;
        double lp = ssl_smooth_l1(NULL, a, b, n, 1.0f);
        a[i] = keep - 1e-3f;
        double lm = ssl_smooth_l1(NULL, a, b, n, 1.0f);
        a[i] = keep;
        double fd = (lp - lm) / 2e-3, e = fabs(fd - da[i]) / fmax(fabs(fd) + fabs(da[i]), 1e-3);
        if (e > worst) worst = e;
    }
    print_message("smooth_l1: FD worst relative error %.2e\n", worst);
    assert_true(worst < 1e-3);
    free(a), free(b), free(da);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_span_fraction), cmocka_unit_test(test_span_structure),
        cmocka_unit_test(test_jepa_blocks),   cmocka_unit_test(test_teacher_ema),
        cmocka_unit_test(test_maskvec),       cmocka_unit_test(test_smooth_l1_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

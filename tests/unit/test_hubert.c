/* test_hubert.c — HuBERT++: a step against PyTorch with fixed masks (loss, gradients, prototype
 * EMA), finite differences with the Sinkhorn targets fixed, temperatures, determinism, backbones.
 */
#include "tests/unit/testssl.h"

#include "core/ssl/cluster.h"

/* The fixture's student, teacher and objective state, with this objective's fixture config. */
static void load_fixture_objective(const st_file *f, int B, encoder **pe, ssl_objective **po) {
    ssl_config c;
    ssl_config_default(&c, SSL_HUBERT);
    c.hubert_warmup_steps = 0; /* the final temperatures, 0.07 and 0.1, as the fixture */
    tssl_load_fixture_objective(f, B, &c, pe, po);
}

static void test_parity(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "ssl_hubert");
    const st_tensor *xt = st_find(&f, "x");
    assert_non_null(xt);
    const int B = (int)xt->shape[0];
    encoder *e;
    ssl_objective *o;
    load_fixture_objective(&f, B, &e, &o);
    float *x = tu_fixture_f32(&f, "x", NULL);
    const uint8_t *mask = tssl_fixture_raw(&f, "mask", ST_U8);
    ssl_metrics m;
    ecg_err err = {0};
    encoder_zero_grad(e);
    if (hubert_step_masked(o, x, B, 1, mask, &m, &err)) fail_msg("step: %s", err.msg);
    float *ref_loss = tu_fixture_f32(&f, "loss", NULL);
    double rel = fabs(m.loss - ref_loss[0]) / fabs(ref_loss[0]);
    param_set *ps = encoder_params(e);
    double worst = 0, heads = 0, memb = 0;
    const char *wname = "";
    for (int i = 0; i < ps->n_views; i++) {
        char name[128];
        snprintf(name, sizeof name, "g.%s", ps->views[i].name);
        size_t cnt;
        float *g = tu_fixture_f32(&f, name, &cnt);
        assert_int_equal(cnt, ps->views[i].count);
        double nm = tu_nmse(params_grad(ps, i), g, cnt);
        free(g);
        if (strncmp(ps->views[i].name, "ssl.hubert.head", 15) == 0 && nm > heads) heads = nm;
        if (strcmp(ps->views[i].name, SSL_MASK_EMB) == 0) memb = nm;
        if (nm > worst) worst = nm, wname = ps->views[i].name;
    }
    printf("HuBERT++ vs PyTorch: loss %.7f (ref %.7f, rel err %.2e); grad nmse worst head %.2e "
           "mask_emb %.2e, worst of all %zu params %.2e (%s)\n",
           m.loss, ref_loss[0], rel, heads, memb, (size_t)ps->n_views, worst, wname);
    for (int i = 0; i < m.n; i++)
        printf("  %s %.4f", m.m[i].name, m.m[i].value);
    printf("\n");
    assert_true(rel < 1e-6);
    assert_true(worst < 1e-6);
    assert_string_equal(m.m[0].name, "cluster_entropy_128");
    assert_string_equal(m.m[4].name, "cluster_usage_256");

    /* the prototypes' EMA after the update, with the step's tokens and soft targets */
    ssl_after_update(o, 1);
    ssl_state_tensor st[512];
    int n = ssl_state_tensors(o, st, 512);
    const char *const names[2] = {"ssl.hubert.proto0", "ssl.hubert.proto1"};
    tssl_check_state_after(&f, st, n, names, 2, 18);
    assert_float_equal(tssl_find_state(st, n, "ssl.hubert.step")->data[0], 1.0f, 0);
    free(x), free(ref_loss);
    ssl_free(o);
    encoder_free(e);
    st_free(&f);
}

/* ---- finite differences through the whole objective (small S4, dropout 0, fixed masks) ---- */

typedef tssl_small fd_ctx;

static double loss_of(void *p) {
    fd_ctx *c = p;
    ssl_metrics m;
    ecg_err err = {0};
    /* a training step (train-mode BatchNorm, as the gradient's); its gradients are not used */
    if (hubert_step_masked(c->o, c->x, c->B, 1, c->mask, &m, &err)) fail_msg("%s", err.msg);
    return m.loss;
}

static void small_setup(fd_ctx *c, enc_backbone bb, int warmup, uint64_t seed) {
    ssl_config sc;
    ssl_config_default(&sc, SSL_HUBERT);
    sc.hubert_k[0] = 8;
    sc.hubert_k[1] = 16;
    sc.hubert_warmup_steps = warmup;
    sc.mask_prob = 0.4f; /* T = 48: the study's 0.065 would leave most small batches unmasked */
    tssl_small_setup(c, bb, &sc, seed);
}

static void test_fd(void **state) {
    (void)state;
    fd_ctx c;
    small_setup(&c, ENC_BACKBONE_S4, 1000, 100); /* tau_s 0.5: smooth enough for float FD */
    tssl_small_fd(loss_of, &c, "ssl.hubert.head0.weight", "ssl.hubert.head1.bias", "HuBERT++",
                  ", targets fixed by construction");
    tssl_small_free(&c);
}

/* ---- drawn masks: determinism, validation leaves the training stream and the update alone ---- */

static void test_determinism_and_state(void **state) {
    (void)state;
    fd_ctx a, b;
    small_setup(&a, ENC_BACKBONE_S4, 2, 200);
    small_setup(&b, ENC_BACKBONE_S4, 2, 200);
    ssl_metrics ma;
    int na = tssl_check_validation_apart(&a, &b, "ssl.hubert.proto1", &ma);
    printf("HuBERT++: 3 steps bit-identical with a validation step in between; loss %.5f, "
           "%s %.3f, %d state tensors\n",
           ma.loss, ma.m[7].name, ma.m[7].value, na);
    tssl_small_free(&a), tssl_small_free(&b);
}

static void test_backbones(void **state) {
    (void)state;
    const enc_backbone bbs[] = {ENC_BACKBONE_TRANSFORMER, ENC_BACKBONE_CNN};
    for (int i = 0; i < 2; i++) {
        fd_ctx c;
        small_setup(&c, bbs[i], 0, 300 + i);
        ssl_metrics m;
        ecg_err err = {0};
        encoder_zero_grad(c.e);
        assert_int_equal(hubert_step_masked(c.o, c.x, c.B, 1, c.mask, &m, &err), ECG_OK);
        param_set *ps = encoder_params(c.e);
        double gn = tu_dot(ps->grad, ps->grad, ps->n_floats);
        printf("HuBERT++ on %s: loss %.4f, |grad|^2 %.3e\n", encoder_backbone_name(bbs[i]), m.loss,
               gn);
        assert_true(isfinite(m.loss) && m.loss > 0 && gn > 0 && isfinite(gn));
        ssl_after_update(c.o, 1);
        tssl_small_free(&c);
    }
}

/* The temperature schedule: cosine from 0.15 / 0.5 to 0.07 / 0.1 over the warm-up, driven by the
 * update count the objective keeps (and saves). */
static void test_temperatures(void **state) {
    (void)state;
    ssl_config c;
    ssl_config_default(&c, SSL_HUBERT);
    c.hubert_warmup_steps = 100;
    float tt, ts;
    hubert_temperatures(&c, 0, &tt, &ts);
    assert_float_equal(tt, 0.15f, 0), assert_float_equal(ts, 0.5f, 0);
    hubert_temperatures(&c, 50, &tt, &ts);
    assert_float_equal(tt, 0.11f, 1e-6), assert_float_equal(ts, 0.3f, 1e-6);
    hubert_temperatures(&c, 100, &tt, &ts);
    assert_float_equal(tt, 0.07f, 0), assert_float_equal(ts, 0.1f, 0);
    hubert_temperatures(&c, 5000, &tt, &ts);
    assert_float_equal(tt, 0.07f, 0), assert_float_equal(ts, 0.1f, 0);
    /* through the objective: the reported teacher temperature follows the updates */
    fd_ctx o;
    small_setup(&o, ENC_BACKBONE_S4, 2, 400);
    ssl_metrics m;
    ecg_err err = {0};
    const float want[3] = {0.15f, 0.11f, 0.07f};
    for (int s = 0; s < 3; s++) {
        assert_int_equal(hubert_step_masked(o.o, o.x, o.B, 1, o.mask, &m, &err), ECG_OK);
        assert_string_equal(m.m[7].name, "teacher_temp");
        assert_float_equal(m.m[7].value, want[s], 1e-6);
        ssl_after_update(o.o, s + 1);
    }
    tssl_small_free(&o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity),
        cmocka_unit_test(test_fd),
        cmocka_unit_test(test_determinism_and_state),
        cmocka_unit_test(test_backbones),
        cmocka_unit_test(test_temperatures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

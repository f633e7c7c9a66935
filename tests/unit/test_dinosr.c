/* test_dinosr.c — DinoSR: a step against PyTorch with fixed masks (loss, gradients, codebook EMA),
 * finite differences through the objective, determinism, state tensors, every backbone. */
#include "tests/unit/testssl.h"

#include "core/ssl/cluster.h"

/* The fixture's student, teacher and objective state, with this objective's fixture config. */
static void load_fixture_objective(const st_file *f, int B, encoder **pe, ssl_objective **po) {
    ssl_config c;
    ssl_config_default(&c, SSL_DINOSR);
    tssl_load_fixture_objective(f, B, &c, pe, po);
}

static void test_parity(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "ssl_dinosr");
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
    if (dinosr_step_masked(o, x, B, 1, mask, &m, &err)) fail_msg("step: %s", err.msg);
    float *ref_loss = tu_fixture_f32(&f, "loss", NULL), *ref_acc = tu_fixture_f32(&f, "acc", NULL);
    double rel = fabs(m.loss - ref_loss[0]) / fabs(ref_loss[0]);
    param_set *ps = encoder_params(e);
    double worst = 0, head_w = 0, head_b = 0, memb = 0;
    const char *wname = "";
    for (int i = 0; i < ps->n_views; i++) {
        char name[128];
        snprintf(name, sizeof name, "g.%s", ps->views[i].name);
        size_t cnt;
        float *g = tu_fixture_f32(&f, name, &cnt);
        assert_int_equal(cnt, ps->views[i].count);
        double nm = tu_nmse(params_grad(ps, i), g, cnt);
        free(g);
        if (strcmp(ps->views[i].name, DINOSR_HEAD_W) == 0) head_w = nm;
        if (strcmp(ps->views[i].name, DINOSR_HEAD_B) == 0) head_b = nm;
        if (strcmp(ps->views[i].name, SSL_MASK_EMB) == 0) memb = nm;
        if (nm > worst) worst = nm, wname = ps->views[i].name;
    }
    printf("DinoSR vs PyTorch: loss %.7f (ref %.7f, rel err %.2e), acc %.4f (ref %.4f); grad nmse "
           "head.weight %.2e head.bias %.2e mask_emb %.2e, worst of all %zu params %.2e (%s)\n",
           m.loss, ref_loss[0], rel, m.m[1].value, ref_acc[0], head_w, head_b, memb,
           (size_t)ps->n_views, worst, wname);
    assert_true(rel < 1e-6);
    assert_true(worst < 1e-6);
    assert_float_equal(m.m[1].value, ref_acc[0], 1e-6);
    assert_string_equal(m.m[0].name, "codebook_usage");
    /* usage: the distinct nearest codewords of the reference's teacher tokens */
    const int32_t *ref_assign = tssl_fixture_raw(&f, "assign", ST_I32);
    const int nt = B * encoder_tokens(e);
    int used = cluster_count_used((const int *)ref_assign, nt, 256);
    assert_float_equal(m.m[0].value, used / 256.0, 1e-12);
    assert_string_equal(m.m[1].name, "dinosr_acc");

    /* the codebook's EMA step after the update, with the step's tokens and assignments */
    ssl_after_update(o, 1);
    ssl_state_tensor st[512];
    int n = ssl_state_tensors(o, st, 512);
    const char *const names[3] = {"ssl.dinosr.codebook", "ssl.dinosr.code_sum",
                                  "ssl.dinosr.code_cnt"};
    tssl_check_state_after(&f, st, n, names, 3, 20);
    free(x), free(ref_loss), free(ref_acc);
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
    if (dinosr_step_masked(c->o, c->x, c->B, 1, c->mask, &m, &err)) fail_msg("%s", err.msg);
    return m.loss;
}

static void small_setup(fd_ctx *c, enc_backbone bb, int K, uint64_t seed) {
    ssl_config sc;
    ssl_config_default(&sc, SSL_DINOSR);
    sc.dinosr_codebook = K;
    sc.mask_prob = 0.4f; /* T = 48: the study's 0.065 would leave most small batches unmasked */
    tssl_small_setup(c, bb, &sc, seed);
}

static void test_fd(void **state) {
    (void)state;
    fd_ctx c;
    small_setup(&c, ENC_BACKBONE_S4, 16, 100);
    tssl_small_fd(loss_of, &c, DINOSR_HEAD_W, DINOSR_HEAD_B, "DinoSR", "");
    tssl_small_free(&c);
}

/* ---- drawn masks: determinism, validation leaves the training stream and the update alone ---- */

static void test_determinism_and_state(void **state) {
    (void)state;
    fd_ctx a, b;
    small_setup(&a, ENC_BACKBONE_S4, 16, 200);
    small_setup(&b, ENC_BACKBONE_S4, 16, 200);
    ssl_metrics ma;
    int na = tssl_check_validation_apart(&a, &b, "ssl.dinosr.codebook", &ma);
    printf(
        "DinoSR: 3 steps bit-identical with a validation step in between; loss %.5f, usage %.3f, "
        "%d state tensors\n",
        ma.loss, ma.m[0].value, na);
    tssl_small_free(&a), tssl_small_free(&b);
}

static void test_backbones(void **state) {
    (void)state;
    const enc_backbone bbs[] = {ENC_BACKBONE_TRANSFORMER, ENC_BACKBONE_CNN};
    for (int i = 0; i < 2; i++) {
        fd_ctx c;
        small_setup(&c, bbs[i], 16, 300 + i);
        ssl_metrics m;
        ecg_err err = {0};
        encoder_zero_grad(c.e);
        assert_int_equal(dinosr_step_masked(c.o, c.x, c.B, 1, c.mask, &m, &err), ECG_OK);
        param_set *ps = encoder_params(c.e);
        double gn = tu_dot(ps->grad, ps->grad, ps->n_floats);
        printf("DinoSR on %s: loss %.4f, |grad|^2 %.3e\n", encoder_backbone_name(bbs[i]), m.loss,
               gn);
        assert_true(isfinite(m.loss) && m.loss > 0 && gn > 0 && isfinite(gn));
        ssl_after_update(c.o, 1);
        tssl_small_free(&c);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity),
        cmocka_unit_test(test_fd),
        cmocka_unit_test(test_determinism_and_state),
        cmocka_unit_test(test_backbones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

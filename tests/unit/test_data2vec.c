/* test_data2vec.c — data2vec: PyTorch parity on fixed weights and masks, finite differences of
 * every gradient, determinism, validation masks, EMA after the update, every backbone. */
#include "tests/unit/testssl.h"

#include "core/ssl/masking.h"
#include "core/ssl/teacher.h"

#define LOSS_REL 1e-6
#define NMSE_GRAD 1e-6

static void test_parity(void **state) {
    (void)state;
    st_file f;
    ssl_config sc;
    ssl_config_default(&sc, SSL_DATA2VEC);
    sc.d2v_top_layers = 2;
    int B;
    encoder *e;
    ssl_objective *o;
    tssl_open_teacher_fixture(&f, "ssl_data2vec", &sc, &B, &e, &o);
    ecg_err err = {0};
    size_t nm;
    uint8_t *mask = tssl_fixture_mask(&f, "mask", &nm);
    assert_int_equal(nm, (size_t)B * encoder_tokens(e));
    float *x = tu_fixture_f32(&f, "x", NULL), *ref = tu_fixture_f32(&f, "loss", NULL);
    encoder_zero_grad(e);
    ssl_metrics m;
    if (data2vec_step_masked(o, x, B, 1, mask, &m, &err) != ECG_OK) fail_msg("step: %s", err.msg);
    const double rel = fabs(m.loss - ref[0]) / fabs(ref[0]);
    /* every gradient the reference has: heads, mask vector and the whole encoder */
    param_set *ps = encoder_params(e);
    double worst, head_worst;
    const char *wname;
    int checked = tssl_grad_parity(&f, ps, &worst, &wname, &head_worst);
    print_message("data2vec parity: loss %.9f vs %.9f (rel err %.2e); %d gradients, worst nmse "
                  "%.2e (%s), heads and mask vector %.2e\n",
                  m.loss, ref[0], rel, checked, worst, wname, head_worst);
    assert_int_equal(checked, ps->n_views);
    assert_true(rel < LOSS_REL);
    assert_true(worst < NMSE_GRAD);
    /* validation path: eval mode with the fixture's running statistics (restored: the train-mode
     * forward above moved them) */
    if (checkpoint_load_tensors(&f, "p.", e, 1, &err) != ECG_OK) fail_msg("load: %s", err.msg);
    float *ref_eval = tu_fixture_f32(&f, "loss_eval", NULL);
    if (data2vec_step_masked(o, x, B, 0, mask, &m, &err) != ECG_OK) fail_msg("step: %s", err.msg);
    const double rel_eval = fabs(m.loss - ref_eval[0]) / fabs(ref_eval[0]);
    print_message("  eval mode: loss %.9f vs %.9f (rel err %.2e)\n", m.loss, ref_eval[0], rel_eval);
    assert_true(rel_eval < LOSS_REL);
    free(ref_eval);
    free(x), free(ref), free(mask);
    ssl_free(o);
    encoder_free(e);
    st_free(&f);
}

/* ---- finite differences ---- */

typedef struct {
    ssl_objective *o;
    encoder *e;
    const float *x;
    const uint8_t *mask;
    int B;
} fd_ctx;

static double fd_loss(void *p) {
    fd_ctx *c = p;
    ssl_metrics m;
    ecg_err err = {0};
    if (data2vec_step_masked(c->o, c->x, c->B, 1, c->mask, &m, &err) != ECG_OK)
        fail_msg("%s", err.msg);
    return m.loss;
}

static void test_fd(void **state) {
    (void)state;
    struct encoder_config cfg = tssl_tiny_config();
    const int B = 2, T = encoder_config_tokens(&cfg), d = cfg.d_model;
    encoder *e;
    ecg_err err = {0};
    assert_int_equal(encoder_create(&e, &cfg, B, 4, 0, &err), ECG_OK);
    ssl_config sc;
    ssl_config_default(&sc, SSL_DATA2VEC);
    ssl_objective *o;
    assert_int_equal(ssl_create(&o, &sc, e, 5, &err), ECG_OK);
    tssl_shake_teacher(o, 6);
    uint8_t *mask = malloc((size_t)B * T);
    assert_non_null(mask);
    rng_state r;
    rng_seed(&r, 8);
    int nm = mask_draw_spans(mask, B, T, 0.4f, 4, &r);
    assert_true(nm > 8 && nm < B * T);
    float *x = tu_randn((size_t)B * 12 * cfg.in_samples, 9, 0.3f);
    fd_ctx c = {o, e, x, mask, B};
    param_set *ps = encoder_params(e);
    encoder_zero_grad(e);
    double l0 = fd_loss(&c);
    float *g = malloc(ps->n_floats * sizeof *g);
    assert_non_null(g);
    memcpy(g, ps->grad, ps->n_floats * sizeof *g);
    const float eps = 3e-3f;
    const double tol = 2e-2;
    int checked = 0;
    const char *wname;
    double worst = tssl_fd_all_views(fd_loss, &c, c.e, ps, g, eps, &checked, &wname);
    print_message("data2vec FD: loss %.5f, %d coordinates in %d tensors (heads, mask vector, "
                  "encoder), worst rel err %.2e (%s)\n",
                  l0, checked, ps->n_views, worst, wname);
    assert_true(worst < tol);
    /* a wrong mask-vector gradient is caught */
    tssl_fd_catches_wrong(fd_loss, &c, c.e, ps, g, "ssl.mask_emb", d, eps, tol);
    free(g), free(x), free(mask);
    ssl_free(o);
    encoder_free(e);
}

/* ---- contract: determinism, validation masks, EMA, state ---- */

static void test_contract(void **state) {
    (void)state;
    struct encoder_config cfg = tssl_tiny_config();
    const int B = 3;
    ecg_err err = {0};
    encoder *e[2];
    ssl_objective *o[2];
    ssl_config sc;
    ssl_config_default(&sc, SSL_DATA2VEC);
    sc.mask_prob = 0.3f; /* some masked tokens in a 32-token window */
    sc.mask_span = 4;
    sc.ema_momentum = 0.9f;
    float *x = tu_randn((size_t)B * 12 * cfg.in_samples, 19, 0.3f);
    ssl_metrics m[2];
    tssl_twin_steps(&cfg, &sc, B, x, e, o, m);
    param_set *p1 = encoder_params(e[1]);
    const char *const want[] = {"masked_frac", "target_std", "pred_std"};
    tssl_assert_metrics(&m[0], want, 3);
    print_message("data2vec step: loss %.5f masked_frac %.3f target_std %.3f pred_std %.3f\n",
                  m[0].loss, m[0].m[0].value, m[0].m[1].value, m[0].m[2].value);
    /* validation: masks from the batch alone; the training stream does not move; EMA */
    tssl_check_validation_and_ema(o[0], e[0], x, B);
    ssl_metrics m2;
    /* nothing masked: loss 0 and no gradient at all */
    uint8_t *none = calloc((size_t)B * encoder_tokens(e[1]), 1);
    assert_non_null(none);
    encoder_zero_grad(e[1]);
    assert_int_equal(data2vec_step_masked(o[1], x, B, 1, none, &m2, &err), ECG_OK);
    assert_true(m2.loss == 0.0);
    for (size_t j = 0; j < p1->n_floats; j++)
        assert_true(p1->grad[j] == 0.0f);
    free(none);
    for (int k = 0; k < 2; k++) {
        ssl_free(o[k]);
        encoder_free(e[k]);
    }
    free(x);
}

/* every backbone: one training step, a finite loss, gradients reach the first stem conv */
static void test_backbones(void **state) {
    (void)state;
    ssl_config sc;
    ssl_config_default(&sc, SSL_DATA2VEC);
    sc.mask_prob = 0.5f;
    sc.mask_span = 4;
    tssl_check_backbones(&sc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity),
        cmocka_unit_test(test_fd),
        cmocka_unit_test(test_contract),
        cmocka_unit_test(test_backbones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

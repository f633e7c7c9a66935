/* test_jepa.c — JEPA: PyTorch parity on fixed weights and target/context masks, finite
 * differences of every gradient, determinism, EMA after the update, every backbone. */
#include "tests/unit/testssl.h"

#include "core/ssl/masking.h"
#include "core/ssl/teacher.h"

#define LOSS_REL 1e-6
#define NMSE_GRAD 1e-6

static void test_parity(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "ssl_jepa");
    struct encoder_config cfg;
    ecg_err err = {0};
    if (checkpoint_config_of(&f, &cfg, &err) != ECG_OK) fail_msg("config: %s", err.msg);
    const st_tensor *xt = st_find(&f, "x");
    assert_non_null(xt);
    const int B = (int)xt->shape[0];
    encoder *e;
    assert_int_equal(encoder_create(&e, &cfg, B, 1, 0, &err), ECG_OK);
    ssl_config sc;
    ssl_config_default(&sc, SSL_JEPA);
    sc.jepa_predictor_state = 16; /* as the fixture's predictor */
    ssl_objective *o;
    if (ssl_create(&o, &sc, e, 3, &err) != ECG_OK) fail_msg("ssl_create: %s", err.msg);
    if (checkpoint_load_tensors(&f, "p.", e, 1, &err) != ECG_OK) fail_msg("load: %s", err.msg);
    tssl_load_teacher(o, &f);
    size_t nm, nc;
    uint8_t *mask = tssl_fixture_mask(&f, "target", &nm),
            *ctx = tssl_fixture_mask(&f, "context", &nc);
    assert_int_equal(nm, (size_t)B * encoder_tokens(e));
    assert_int_equal(nc, nm);
    float *x = tu_fixture_f32(&f, "x", NULL), *ref = tu_fixture_f32(&f, "loss", NULL);
    encoder_zero_grad(e);
    ssl_metrics m;
    if (jepa_step_masked(o, x, B, 1, mask, ctx, &m, &err) != ECG_OK) fail_msg("step: %s", err.msg);
    const double rel = fabs(m.loss - ref[0]) / fabs(ref[0]);
    /* every gradient the reference has: heads, mask vector and the whole encoder */
    param_set *ps = encoder_params(e);
    double worst = 0, head_worst = 0;
    const char *wname = "";
    int checked = 0;
    for (int i = 0; i < ps->n_views; i++) {
        char name[128];
        snprintf(name, sizeof name, "g.%s", ps->views[i].name);
        if (!st_find(&f, name)) continue;
        size_t cnt;
        float *g = tu_fixture_f32(&f, name, &cnt);
        assert_int_equal(cnt, ps->views[i].count);
        double err2 = tu_nmse(params_grad(ps, i), g, cnt);
        if (!strncmp(ps->views[i].name, "ssl.", 4) && err2 > head_worst) head_worst = err2;
        if (err2 > worst) worst = err2, wname = ps->views[i].name;
        checked++;
        free(g);
    }
    print_message("jepa parity: loss %.9f vs %.9f (rel err %.2e); %d gradients, worst nmse "
                  "%.2e (%s), predictor and mask vectors %.2e\n",
                  m.loss, ref[0], rel, checked, worst, wname, head_worst);
    assert_int_equal(checked, ps->n_views);
    assert_true(rel < LOSS_REL);
    assert_true(worst < NMSE_GRAD);
    /* validation path: eval mode with the fixture's running statistics (restored: the train-mode
     * forward above moved them) */
    if (checkpoint_load_tensors(&f, "p.", e, 1, &err) != ECG_OK) fail_msg("load: %s", err.msg);
    float *ref_eval = tu_fixture_f32(&f, "loss_eval", NULL);
    if (jepa_step_masked(o, x, B, 0, mask, ctx, &m, &err) != ECG_OK) fail_msg("step: %s", err.msg);
    const double rel_eval = fabs(m.loss - ref_eval[0]) / fabs(ref_eval[0]);
    print_message("  eval mode: loss %.9f vs %.9f (rel err %.2e)\n", m.loss, ref_eval[0], rel_eval);
    assert_true(rel_eval < LOSS_REL);
    free(ref_eval);
    free(x), free(ref), free(mask), free(ctx);
    ssl_free(o);
    encoder_free(e);
    st_free(&f);
}

/* ---- finite differences ---- */

typedef struct {
    ssl_objective *o;
    encoder *e;
    const float *x;
    const uint8_t *mask, *ctx;
    int B;
} fd_ctx;

static double fd_loss(void *p) {
    fd_ctx *c = p;
    ssl_metrics m;
    ecg_err err = {0};
    if (jepa_step_masked(c->o, c->x, c->B, 1, c->mask, c->ctx, &m, &err) != ECG_OK)
        fail_msg("%s", err.msg);
    return m.loss;
}

static void jepa_tiny(ssl_config *sc) {
    ssl_config_default(sc, SSL_JEPA);
    sc->jepa_target_blocks = 2;
    sc->jepa_block_len = 5;
    sc->jepa_context_min = 0.6f;
    sc->jepa_context_max = 0.9f;
    sc->jepa_predictor_state = 8;
}

static void test_fd(void **state) {
    (void)state;
    struct encoder_config cfg = tssl_tiny_config();
    const int B = 2, T = encoder_config_tokens(&cfg), d = cfg.d_model;
    encoder *e;
    ecg_err err = {0};
    assert_int_equal(encoder_create(&e, &cfg, B, 4, 0, &err), ECG_OK);
    ssl_config sc;
    jepa_tiny(&sc);
    ssl_objective *o;
    assert_int_equal(ssl_create(&o, &sc, e, 5, &err), ECG_OK);
    tssl_shake_teacher(o, 6);
    uint8_t *mask = malloc((size_t)B * T), *ctx = malloc((size_t)B * T);
    assert_non_null(mask);
    assert_non_null(ctx);
    rng_state r;
    rng_seed(&r, 8);
    int nm = mask_draw_jepa(mask, ctx, B, T, 2, 5, 0.6f, 0.9f, &r);
    assert_true(nm >= 2 * 5 && nm <= 2 * 2 * 5);
    float *x = tu_randn((size_t)B * 12 * cfg.in_samples, 9, 0.3f);
    fd_ctx c = {o, e, x, mask, ctx, B};
    param_set *ps = encoder_params(e);
    encoder_zero_grad(e);
    double l0 = fd_loss(&c);
    float *g = malloc(ps->n_floats * sizeof *g);
    assert_non_null(g);
    memcpy(g, ps->grad, ps->n_floats * sizeof *g);
    const float eps = 3e-3f;
    const double tol = 2e-2;
    double worst = 0;
    const char *wname = "";
    int checked = 0;
    for (int i = 0; i < ps->n_views; i++) {
        int before = checked;
        double w = tssl_fd_smooth(fd_loss, &c, c.e, params_data(ps, i), g + ps->views[i].offset,
                                  ps->views[i].count, 4, eps, 0.05, &checked);
        if (checked == before) fail_msg("%s: no smooth coordinate", ps->views[i].name);
        if (w > worst) worst = w, wname = ps->views[i].name;
    }
    print_message("jepa FD: loss %.5f, %d coordinates in %d tensors (predictor, mask vectors, "
                  "encoder), worst rel err %.2e (%s)\n",
                  l0, checked, ps->n_views, worst, wname);
    assert_true(worst < tol);
    /* a wrong predictor mask-token gradient is caught */
    int v = params_find(ps, "ssl.jepa.pred.mask_emb");
    assert_true(v >= 0);
    for (int j = 0; j < d; j++)
        g[ps->views[v].offset + j] *= 1.2f;
    int k = 0;
    assert_true(tssl_fd_smooth(fd_loss, &c, c.e, params_data(ps, v), g + ps->views[v].offset, d, 4,
                               eps, 0.05, &k) > tol);
    free(g), free(x), free(mask), free(ctx);
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
    jepa_tiny(&sc);
    sc.ema_momentum = 0.9f;
    float *x = tu_randn((size_t)B * 12 * cfg.in_samples, 19, 0.3f);
    ssl_metrics m[2];
    for (int k = 0; k < 2; k++) {
        assert_int_equal(encoder_create(&e[k], &cfg, B, 4, 0, &err), ECG_OK);
        assert_int_equal(ssl_create(&o[k], &sc, e[k], 5, &err), ECG_OK);
        encoder_zero_grad(e[k]);
        assert_int_equal(ssl_step(o[k], x, B, 1, &m[k], &err), ECG_OK);
    }
    param_set *p0 = encoder_params(e[0]), *p1 = encoder_params(e[1]);
    assert_true(m[0].loss > 0 && isfinite(m[0].loss));
    assert_memory_equal(&m[0].loss, &m[1].loss, sizeof(double));
    assert_memory_equal(p0->grad, p1->grad, p0->n_floats * sizeof(float));
    assert_memory_equal(p0->data, p1->data, p0->n_floats * sizeof(float));
    const char *want[] = {"masked_frac", "target_frac", "target_std", "pred_std"};
    for (int i = 0; i < 4; i++) {
        int found = 0;
        for (int j = 0; j < m[0].n; j++)
            if (!strcmp(m[0].m[j].name, want[i])) found = 1;
        assert_true(found);
    }
    print_message("jepa step: loss %.5f masked_frac %.3f target_frac %.3f target_std %.3f "
                  "pred_std %.3f\n",
                  m[0].loss, m[0].m[0].value, m[0].m[1].value, m[0].m[2].value, m[0].m[3].value);
    /* validation: masks from the batch alone; the training stream does not move */
    rng_state before = *ssl_rng(o[0]);
    ssl_metrics v1, v2;
    assert_int_equal(ssl_step(o[0], x, B, 0, &v1, &err), ECG_OK);
    assert_int_equal(ssl_step(o[0], x, B, 0, &v2, &err), ECG_OK);
    assert_memory_equal(&v1.loss, &v2.loss, sizeof(double));
    assert_memory_equal(&before, ssl_rng(o[0]), sizeof before);
    /* a second training step draws new masks */
    ssl_metrics m2;
    assert_int_equal(ssl_step(o[0], x, B, 1, &m2, &err), ECG_OK);
    assert_true(memcmp(&before, ssl_rng(o[0]), sizeof before) != 0);
    /* after the update the teacher moves by (1 - m) toward the student, BN statistics too */
    ssl_state_tensor st[256];
    int n = ssl_state_tensors(o[0], st, 256);
    assert_true(n > 0);
    for (size_t j = 0; j < p0->n_floats; j++)
        p0->data[j] += 0.01f;
    float t_before = st[0].data[0], s_now = p0->data[0];
    int rv = -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(st[i].name, "teacher.stem.0.bn.running_var")) rv = i;
    assert_true(rv >= 0);
    float rv_before = st[rv].data[0];
    float rv_student = params_buffer(p0, params_find_buffer(p0, "stem.0.bn.running_var"))[0];
    ssl_after_update(o[0], 1);
    assert_true(st[0].data[0] == 0.9f * t_before + (1.0f - 0.9f) * s_now);
    assert_true(st[rv].data[0] == 0.9f * rv_before + (1.0f - 0.9f) * rv_student);
    assert_true(st[rv].data[0] != rv_before);
    /* nothing masked: loss 0 and no gradient at all */
    uint8_t *none = calloc((size_t)B * encoder_tokens(e[1]), 1);
    assert_non_null(none);
    encoder_zero_grad(e[1]);
    assert_int_equal(jepa_step_masked(o[1], x, B, 1, none, none, &m2, &err), ECG_OK);
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
    for (int bb = 0; bb < 3; bb++) {
        struct encoder_config cfg = tssl_tiny_config();
        cfg.backbone = (enc_backbone)bb;
        cfg.n_heads = 2;
        cfg.ff_dim = 32;
        const int B = 2;
        ecg_err err = {0};
        encoder *e;
        assert_int_equal(encoder_create(&e, &cfg, B, 4, 0, &err), ECG_OK);
        ssl_config sc;
        jepa_tiny(&sc);
        sc.mask_prob = 0.5f;
        sc.mask_span = 4;
        ssl_objective *o;
        if (ssl_create(&o, &sc, e, 5, &err) != ECG_OK) fail_msg("%s", err.msg);
        float *x = tu_randn((size_t)B * 12 * cfg.in_samples, 29, 0.3f);
        ssl_metrics m;
        encoder_zero_grad(e);
        if (ssl_step(o, x, B, 1, &m, &err) != ECG_OK) fail_msg("%s", err.msg);
        param_set *ps = encoder_params(e);
        double gn = tu_dot(params_grad(ps, 0), params_grad(ps, 0), ps->views[0].count);
        print_message("%s backbone: loss %.5f, |grad stem.0.conv.weight|^2 %.3e\n",
                      encoder_backbone_name(cfg.backbone), m.loss, gn);
        assert_true(isfinite(m.loss) && m.loss > 0 && gn > 0);
        ssl_after_update(o, 1);
        free(x);
        ssl_free(o);
        encoder_free(e);
    }
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

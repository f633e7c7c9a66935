/* test_adamw.c — AdamW against torch.optim.AdamW with two parameter groups (fixture adamw from
 * tests/parity/gen_encoder.py), parameter-set bookkeeping, and the learning-rate schedules. */
#include "tests/unit/testutil.h"

#include "core/model/adamw.h"
#include "core/model/params.h"
#include "core/model/schedule.h"

static const char *names[4] = {"a.w", "a.b", "h.w", "h.b"};

static void test_adamw_vs_torch(void **state) {
    (void)state;
    st_file f;
    tu_fixture_open(&f, "adamw");
    const int steps = atoi(st_meta_get(&f, "steps"));
    assert_int_equal(steps, 6);
    param_set ps;
    params_init(&ps);
    ecg_err err = {0};
    int idx[4];
    for (int i = 0; i < 4; i++) {
        char key[64];
        snprintf(key, sizeof key, "init.%s", names[i]);
        const st_tensor *t = st_find(&f, key);
        assert_non_null(t);
        int shape[2] = {(int)t->shape[0], t->ndim > 1 ? (int)t->shape[1] : 0};
        /* group 0 of the fixture is the backbone, group 1 the head */
        idx[i] = params_add(&ps, names[i], t->ndim, shape, i < 2 ? PG_BACKBONE : PG_HEAD, 1, &err);
        assert_true(idx[i] >= 0);
        assert_int_equal(
            st_get_f32(&f, key, params_data(&ps, idx[i]), ps.views[idx[i]].count, &err), ECG_OK);
    }
    float *lr = tu_fixture_f32(&f, "lr", NULL), *fac = tu_fixture_f32(&f, "factors", NULL);
    float *wd = tu_fixture_f32(&f, "wd", NULL);
    adamw_config cfg;
    adamw_config_default(&cfg);
    cfg.lr_factor[PG_BACKBONE] = fac[0], cfg.lr_factor[PG_HEAD] = fac[1];
    cfg.weight_decay[PG_BACKBONE] = wd[0], cfg.weight_decay[PG_HEAD] = wd[1];
    adamw opt;
    assert_int_equal(adamw_init(&opt, &cfg, &ps, &err), ECG_OK);
    double worst_p = 0, worst_m = 0, worst_v = 0;
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < 4; i++) {
            char key[64];
            snprintf(key, sizeof key, "grad.%d.%s", s, names[i]);
            assert_int_equal(
                st_get_f32(&f, key, params_grad(&ps, idx[i]), ps.views[idx[i]].count, &err),
                ECG_OK);
        }
        assert_int_equal(adamw_step(&opt, &ps, lr[s], &err), ECG_OK);
        for (int i = 0; i < 4; i++) {
            const param_view *v = &ps.views[idx[i]];
            const char *what[3] = {"param", "m", "v"};
            const float *got[3] = {params_data(&ps, idx[i]), opt.m + v->offset, opt.v + v->offset};
            double *worst[3] = {&worst_p, &worst_m, &worst_v};
            for (int k = 0; k < 3; k++) {
                char key[64];
                snprintf(key, sizeof key, "%s.%d.%s", what[k], s, names[i]);
                float *ref = tu_fixture_f32(&f, key, NULL);
                double e = tu_nmse(got[k], ref, v->count);
                free(ref);
                if (!(e < 1e-12)) fail_msg("step %d %s: nmse %.3e", s, key, e);
                if (e > *worst[k]) *worst[k] = e;
            }
        }
    }
    printf("AdamW vs torch over %d steps, 2 groups: worst nmse params %.2e, exp_avg %.2e, "
           "exp_avg_sq %.2e\n",
           steps, worst_p, worst_m, worst_v);
    assert_int_equal(opt.step, steps);
    free(lr), free(fac), free(wd);
    adamw_free(&opt);
    params_free(&ps);
    st_free(&f);
}

/* Frozen tensors are left alone; a head added after init gets fresh zero moments. */
static void test_adamw_frozen_and_late_head(void **state) {
    (void)state;
    param_set ps;
    params_init(&ps);
    ecg_err err = {0};
    int a = params_add(&ps, "a", 1, (int[]){5}, PG_STEM, 1, &err);
    int fz = params_add(&ps, "frozen", 1, (int[]){3}, PG_BACKBONE, 0, &err);
    assert_true(a >= 0 && fz >= 0);
    for (int i = 0; i < 5; i++)
        params_data(&ps, a)[i] = 1.0f, params_grad(&ps, a)[i] = 0.5f;
    for (int i = 0; i < 3; i++)
        params_data(&ps, fz)[i] = 2.0f, params_grad(&ps, fz)[i] = 1.0f;
    adamw_config cfg;
    adamw_config_default(&cfg);
    adamw opt;
    assert_int_equal(adamw_init(&opt, &cfg, &ps, &err), ECG_OK);
    assert_int_equal(adamw_step(&opt, &ps, 1e-2f, &err), ECG_OK);
    for (int i = 0; i < 3; i++)
        assert_true(params_data(&ps, fz)[i] == 2.0f);
    /* first step of Adam moves by lr * factor (sign of the gradient), plus decay */
    float want = 1.0f * (1.0f - 1e-2f * 0.01f * 1e-3f) - 1e-2f * 0.01f;
    assert_float_equal(params_data(&ps, a)[0], want, 1e-7);
    int h = params_add(&ps, "head.weight", 2, (int[]){2, 2}, PG_HEAD, 1, &err);
    assert_true(h >= 0);
    for (int i = 0; i < 4; i++)
        params_grad(&ps, h)[i] = -1.0f;
    assert_int_equal(adamw_step(&opt, &ps, 1e-2f, &err), ECG_OK);
    assert_int_equal(opt.n, ps.n_floats);
    /* moments of the late head: m = 0.1 * g after one update, bias-corrected with step 2 */
    assert_float_equal(opt.m[ps.views[h].offset], -0.1f, 1e-7);
    assert_true(params_data(&ps, h)[0] > 0.0f);
    /* duplicate names and bad groups are refused */
    assert_int_equal(params_add(&ps, "a", 1, (int[]){1}, PG_HEAD, 1, &err), -1);
    assert_non_null(strstr(err.msg, "already used"));
    assert_int_equal(params_add(&ps, "b", 1, (int[]){1}, 7, 1, &err), -1);
    adamw_free(&opt);
    params_free(&ps);
}

static void test_schedules(void **state) {
    (void)state;
    lr_schedule c = {.kind = SCHED_CONSTANT, .lr = 3e-3f};
    ecg_err err = {0};
    assert_int_equal(schedule_validate(&c, &err), ECG_OK);
    assert_true(schedule_lr(&c, 0) == 3e-3f && schedule_lr(&c, 123456) == 3e-3f);
    c.warmup_steps = 4;
    assert_float_equal(schedule_lr(&c, 0), 3e-3f / 4, 1e-9);
    assert_float_equal(schedule_lr(&c, 3), 3e-3f, 1e-9);
    assert_true(schedule_lr(&c, 4) == 3e-3f);
    lr_schedule s = {
        .kind = SCHED_COSINE, .lr = 1.0f, .min_lr = 0.1f, .warmup_steps = 10, .total_steps = 110};
    assert_int_equal(schedule_validate(&s, &err), ECG_OK);
    assert_float_equal(schedule_lr(&s, 0), 0.1f, 1e-7);
    assert_float_equal(schedule_lr(&s, 9), 1.0f, 1e-7);
    assert_float_equal(schedule_lr(&s, 10), 1.0f, 1e-7);
    assert_float_equal(schedule_lr(&s, 60), 0.55f, 1e-6); /* halfway: min + (max - min) / 2 */
    assert_float_equal(schedule_lr(&s, 110), 0.1f, 1e-7);
    assert_float_equal(schedule_lr(&s, 1000), 0.1f, 1e-7);
    for (int64_t t = 11; t < 110; t++)
        assert_true(schedule_lr(&s, t) <= schedule_lr(&s, t - 1));
    s.total_steps = 5;
    assert_int_equal(schedule_validate(&s, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "total_steps"));
    sched_kind k;
    assert_int_equal(schedule_kind_parse("cosine", &k, &err), ECG_OK);
    assert_int_equal(k, SCHED_COSINE);
    assert_int_equal(schedule_kind_parse("linear", &k, &err), ECG_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adamw_vs_torch),
        cmocka_unit_test(test_adamw_frozen_and_late_head),
        cmocka_unit_test(test_schedules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* testssl.h — what the SSL objective tests share: fixture tensors and masks, loading a fixture's
 * teacher/state into an objective, tiny encoders, and finite differences that skip ReLU kinks. */
#ifndef ECGFM_TESTSSL_H
#define ECGFM_TESTSSL_H

#include "tests/unit/testutil.h"

#include "core/model/checkpoint.h"
#include "core/model/encoder.h"
#include "core/model/encoder_impl.h" /* encoder_relu_signature: skip FD coordinates at kinks */
#include "core/ssl/cluster.h"        /* SSL_MASK_EMB */
#include "core/ssl/objective.h"

/* A fixture tensor's raw payload, failing the test unless it exists with dtype dt. */
static inline const void *tssl_fixture_raw(const st_file *f, const char *name, st_dtype dt) {
    const st_tensor *t = st_find(f, name);
    if (!t) fail_msg("fixture tensor %s missing", name);
    if (t->dtype != dt) fail_msg("fixture tensor %s has another dtype", name);
    return f->payload + t->offset;
}

/* A fixture mask stored as float32, as bytes (nonzero -> 1); malloc'd, *n its length. */
static inline uint8_t *tssl_fixture_mask(const st_file *f, const char *name, size_t *n) {
    float *m = tu_fixture_f32(f, name, n);
    uint8_t *u = malloc(*n);
    assert_non_null(u);
    for (size_t i = 0; i < *n; i++)
        u[i] = m[i] != 0.0f;
    free(m);
    return u;
}

static inline ssl_state_tensor *tssl_find_state(ssl_state_tensor *st, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(st[i].name, name) == 0) return &st[i];
    fail_msg("state tensor %s missing", name);
    return NULL;
}

/* The teacher's tensors from fixture names "teacher.<name>", through ssl_state_tensors. */
static inline void tssl_load_teacher(ssl_objective *o, const st_file *f) {
    ssl_state_tensor st[256];
    int n = ssl_state_tensors(o, st, 256);
    assert_true(n > 0 && n < 256);
    for (int i = 0; i < n; i++) {
        size_t cnt;
        float *v = tu_fixture_f32(f, st[i].name, &cnt);
        assert_int_equal(cnt, st[i].count);
        memcpy(st[i].data, v, cnt * sizeof *v);
        free(v);
    }
}

/* Student from the fixture's weights (config from the fixture, batch B), the objective made with
 * c (seed 7), the teacher its exact copy ("teacher.X" from "p.X"), the rest of its state from s.*
 */
static inline void tssl_load_fixture_objective(const st_file *f, int B, const ssl_config *c,
                                               encoder **pe, ssl_objective **po) {
    struct encoder_config ec;
    ecg_err err = {0};
    if (checkpoint_config_of(f, &ec, &err)) fail_msg("config: %s", err.msg);
    encoder *e;
    if (encoder_create(&e, &ec, B, 1, 0, &err)) fail_msg("encoder: %s", err.msg);
    ssl_objective *o;
    if (ssl_create(&o, c, e, 7, &err)) fail_msg("ssl_create: %s", err.msg);
    if (checkpoint_load_tensors(f, "p.", e, 1, &err)) fail_msg("load: %s", err.msg);
    ssl_state_tensor st[512];
    int n = ssl_state_tensors(o, st, 512);
    assert_true(n > 3 && n < 512);
    for (int i = 0; i < n; i++) {
        char name[128];
        if (strncmp(st[i].name, "teacher.", 8) == 0)
            snprintf(name, sizeof name, "p.%.96s", st[i].name + 8);
        else
            snprintf(name, sizeof name, "s.%.96s", st[i].name);
        size_t cnt;
        float *v = tu_fixture_f32(f, name, &cnt);
        assert_int_equal(cnt, st[i].count);
        memcpy(st[i].data, v, cnt * sizeof *v);
        free(v);
    }
    *pe = e, *po = o;
}

/* A tiny S4 encoder: d_model 16, 2 layers, 64 samples, no dropout. */
static inline struct encoder_config tssl_tiny_config(void) {
    struct encoder_config c;
    encoder_config_small(&c, ENC_BACKBONE_S4);
    c.d_model = 16;
    c.in_samples = 64;
    c.n_layers = 2;
    c.dropout = 0;
    return c;
}

/* Move the teacher away from the student so the targets are not the student's own outputs. */
static inline void tssl_shake_teacher(ssl_objective *o, uint64_t seed) {
    ssl_state_tensor st[256];
    int n = ssl_state_tensors(o, st, 256);
    rng_state r;
    rng_seed(&r, seed);
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < st[i].count; j++)
            st[i].data[j] *= 1.0f + 0.1f * rng_normal(&r);
}

/* Central differences of loss(ctx) in up to want of the n coordinates of x (gradient g), skipping
 * coordinates where a ReLU of the student e flips (a kink); worst relative error, *n_ok += used. */
static inline double tssl_fd_smooth(double (*loss)(void *ctx), void *ctx, encoder *e, float *x,
                                    const float *g, size_t n, int want, float eps, double floor,
                                    int *n_ok) {
    double worst = 0;
    size_t step = n <= 32 ? 1 : n / 32;
    int ok = 0;
    for (size_t i = 0; i < n && ok < want; i += step) {
        float keep = x[i];
        loss(ctx);
        uint64_t s0 = encoder_relu_signature(e);
        x[i] = keep + eps;
        double lp = loss(ctx);
        uint64_t sp = encoder_relu_signature(e);
        x[i] = keep - eps;
        double lm = loss(ctx);
        uint64_t sm = encoder_relu_signature(e);
        x[i] = keep;
        if (sp != s0 || sm != s0) continue;
        ok++;
        double fd = (lp - lm) / (2.0 * eps), den = fabs(fd) + fabs((double)g[i]);
        double err = fabs(fd - g[i]) / (den > floor ? den : floor);
        if (err > worst) worst = err;
    }
    *n_ok += ok;
    return worst;
}

/* A small objective on random input with a fixed mask pattern (token i masked when i % 11 < 4). */
typedef struct {
    ssl_objective *o;
    encoder *e;
    float *x;
    uint8_t *mask;
    int B;
} tssl_small;

/* Backbone bb at d_model 16, 2 layers, 2 heads, ff 32, 96 samples, B = 2, with objective sc;
 * seeds seed (encoder), seed + 1 (objective), seed + 2 (input). */
static inline void tssl_small_setup(tssl_small *c, enc_backbone bb, const ssl_config *sc,
                                    uint64_t seed) {
    struct encoder_config ec;
    encoder_config_small(&ec, bb);
    ec.d_model = 16;
    ec.n_layers = 2;
    ec.n_heads = 2;
    ec.ff_dim = 32;
    ec.in_samples = 96;
    ec.dropout = 0;
    ecg_err err = {0};
    c->B = 2;
    if (encoder_create(&c->e, &ec, c->B, seed, 0, &err)) fail_msg("%s", err.msg);
    if (ssl_create(&c->o, sc, c->e, seed + 1, &err)) fail_msg("%s", err.msg);
    const int T = encoder_tokens(c->e);
    c->x = tu_randn((size_t)c->B * 12 * ec.in_samples, seed + 2, 0.2f);
    c->mask = malloc((size_t)c->B * T);
    assert_non_null(c->mask);
    for (int i = 0; i < c->B * T; i++)
        c->mask[i] = (i % 11) < 4;
}

static inline void tssl_small_free(tssl_small *c) {
    ssl_free(c->o);
    encoder_free(c->e);
    free(c->x), free(c->mask);
}

/* Three training steps of a and b, built alike, b with a validation step before each update: the
 * validation step leaves b's stream alone and has a finite loss, the training losses are
 * bit-identical, and so is every state tensor afterwards, among them own and the teacher's
 * BatchNorm statistics. *ma: a's last metrics; returns the number of state tensors. */
static inline int tssl_check_validation_apart(tssl_small *a, tssl_small *b, const char *own,
                                              ssl_metrics *ma) {
    ssl_metrics mb;
    ecg_err err = {0};
    for (int s = 1; s <= 3; s++) {
        encoder_zero_grad(a->e), encoder_zero_grad(b->e);
        assert_int_equal(ssl_step(a->o, a->x, a->B, 1, ma, &err), ECG_OK);
        /* b also runs a validation step between its training step and the update */
        assert_int_equal(ssl_step(b->o, b->x, b->B, 1, &mb, &err), ECG_OK);
        rng_state keep = *ssl_rng(b->o);
        ssl_metrics mv;
        assert_int_equal(ssl_step(b->o, b->x, b->B, 0, &mv, &err), ECG_OK);
        assert_memory_equal(&keep, ssl_rng(b->o), sizeof keep);
        assert_true(isfinite(mv.loss));
        assert_memory_equal(&ma->loss, &mb.loss, sizeof ma->loss);
        ssl_after_update(a->o, s), ssl_after_update(b->o, s);
    }
    ssl_state_tensor sa[512], sb[512];
    int na = ssl_state_tensors(a->o, sa, 512), nb = ssl_state_tensors(b->o, sb, 512);
    assert_int_equal(na, nb);
    int has_own = 0, has_teacher = 0;
    for (int i = 0; i < na; i++) {
        assert_string_equal(sa[i].name, sb[i].name);
        assert_memory_equal(sa[i].data, sb[i].data, sa[i].count * sizeof(float));
        has_own |= strcmp(sa[i].name, own) == 0;
        has_teacher |= strcmp(sa[i].name, "teacher.stem.0.bn.running_var") == 0;
    }
    assert_true(has_own && has_teacher);
    return na;
}

/* tssl_fd_smooth over every parameter tensor of ps (gradient copy g), failing for a tensor with no
 * smooth coordinate; *checked += coordinates used; the worst relative error and its tensor. */
static inline double tssl_fd_all_views(double (*loss)(void *ctx), void *ctx, encoder *e,
                                       param_set *ps, const float *g, float eps, int *checked,
                                       const char **wname) {
    double worst = 0;
    *wname = "";
    for (int i = 0; i < ps->n_views; i++) {
        int before = *checked;
        double w = tssl_fd_smooth(loss, ctx, e, params_data(ps, i), g + ps->views[i].offset,
                                  ps->views[i].count, 4, eps, 0.05, checked);
        if (*checked == before) fail_msg("%s: no smooth coordinate", ps->views[i].name);
        if (w > worst) worst = w, *wname = ps->views[i].name;
    }
    return worst;
}

/* A wrong gradient is caught: the first d entries of tensor name in g scaled by 1.2 make the
 * finite differences disagree by more than tol. */
static inline void tssl_fd_catches_wrong(double (*loss)(void *ctx), void *ctx, encoder *e,
                                         param_set *ps, float *g, const char *name, int d,
                                         float eps, double tol) {
    int v = params_find(ps, name);
    assert_true(v >= 0);
    for (int j = 0; j < d; j++)
        g[ps->views[v].offset + j] *= 1.2f;
    int k = 0;
    assert_true(tssl_fd_smooth(loss, ctx, e, params_data(ps, v), g + ps->views[v].offset, d, 4, eps,
                               0.05, &k) > tol);
}

/* Two objectives made alike (tiny encoder cfg seed 4, sc seed 5, batch B) take one training step
 * on x: a positive finite loss, and the two agree bit for bit in loss, gradients and weights. */
static inline void tssl_twin_steps(const struct encoder_config *cfg, const ssl_config *sc, int B,
                                   const float *x, encoder *e[2], ssl_objective *o[2],
                                   ssl_metrics m[2]) {
    ecg_err err = {0};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(encoder_create(&e[k], cfg, B, 4, 0, &err), ECG_OK);
        assert_int_equal(ssl_create(&o[k], sc, e[k], 5, &err), ECG_OK);
        encoder_zero_grad(e[k]);
        assert_int_equal(ssl_step(o[k], x, B, 1, &m[k], &err), ECG_OK);
    }
    param_set *p0 = encoder_params(e[0]), *p1 = encoder_params(e[1]);
    assert_true(m[0].loss > 0 && isfinite(m[0].loss));
    assert_memory_equal(&m[0].loss, &m[1].loss, sizeof(double));
    assert_memory_equal(p0->grad, p1->grad, p0->n_floats * sizeof(float));
    assert_memory_equal(p0->data, p1->data, p0->n_floats * sizeof(float));
}

/* Every name in want (n of them) is among m's metrics. */
static inline void tssl_assert_metrics(const ssl_metrics *m, const char *const *want, int n) {
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int j = 0; j < m->n; j++)
            if (!strcmp(m->m[j].name, want[i])) found = 1;
        assert_true(found);
    }
}

/* o (made with ema_momentum 0.9 on student e): validation steps draw their masks from the batch
 * alone and leave the training stream where it was, a training step moves it; after the update
 * the teacher moves by 0.1 toward the student, BatchNorm statistics too. */
static inline void tssl_check_validation_and_ema(ssl_objective *o, encoder *e, const float *x,
                                                 int B) {
    ecg_err err = {0};
    param_set *p0 = encoder_params(e);
    rng_state before = *ssl_rng(o);
    ssl_metrics v1, v2;
    assert_int_equal(ssl_step(o, x, B, 0, &v1, &err), ECG_OK);
    assert_int_equal(ssl_step(o, x, B, 0, &v2, &err), ECG_OK);
    assert_memory_equal(&v1.loss, &v2.loss, sizeof(double));
    assert_memory_equal(&before, ssl_rng(o), sizeof before);
    /* a second training step draws new masks */
    ssl_metrics m2;
    assert_int_equal(ssl_step(o, x, B, 1, &m2, &err), ECG_OK);
    assert_true(memcmp(&before, ssl_rng(o), sizeof before) != 0);
    ssl_state_tensor st[256];
    int n = ssl_state_tensors(o, st, 256);
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
    ssl_after_update(o, 1);
    assert_true(st[0].data[0] == 0.9f * t_before + (1.0f - 0.9f) * s_now);
    assert_true(st[rv].data[0] == 0.9f * rv_before + (1.0f - 0.9f) * rv_student);
    assert_true(st[rv].data[0] != rv_before);
}

/* Every backbone with objective sc: one training step, a finite loss, gradients reach the first
 * stem conv. */
static inline void tssl_check_backbones(const ssl_config *sc) {
    for (int bb = 0; bb < 3; bb++) {
        struct encoder_config cfg = tssl_tiny_config();
        cfg.backbone = (enc_backbone)bb;
        cfg.n_heads = 2;
        cfg.ff_dim = 32;
        const int B = 2;
        ecg_err err = {0};
        encoder *e;
        assert_int_equal(encoder_create(&e, &cfg, B, 4, 0, &err), ECG_OK);
        ssl_objective *o;
        if (ssl_create(&o, sc, e, 5, &err) != ECG_OK) fail_msg("%s", err.msg);
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

/* A parity fixture with a student "p.*" and its teacher "teacher.*": the student made from the
 * fixture's config with batch B = the rows of "x" (seed 1), the objective from sc (seed 3). */
static inline void tssl_open_teacher_fixture(st_file *f, const char *fixture, const ssl_config *sc,
                                             int *B, encoder **pe, ssl_objective **po) {
    tu_fixture_open(f, fixture);
    struct encoder_config cfg;
    ecg_err err = {0};
    if (checkpoint_config_of(f, &cfg, &err) != ECG_OK) fail_msg("config: %s", err.msg);
    const st_tensor *xt = st_find(f, "x");
    assert_non_null(xt);
    *B = (int)xt->shape[0];
    assert_int_equal(encoder_create(pe, &cfg, *B, 1, 0, &err), ECG_OK);
    if (ssl_create(po, sc, *pe, 3, &err) != ECG_OK) fail_msg("ssl_create: %s", err.msg);
    if (checkpoint_load_tensors(f, "p.", *pe, 1, &err) != ECG_OK) fail_msg("load: %s", err.msg);
    tssl_load_teacher(*po, f);
}

/* Every gradient the fixture has ("g.<name>", with the tensor's size) against ps: returns how many;
 * the worst nmse and its tensor, and the worst among the objective's own "ssl." tensors. */
static inline int tssl_grad_parity(const st_file *f, param_set *ps, double *worst,
                                   const char **wname, double *head_worst) {
    int checked = 0;
    *worst = 0, *head_worst = 0, *wname = "";
    for (int i = 0; i < ps->n_views; i++) {
        char name[128];
        snprintf(name, sizeof name, "g.%s", ps->views[i].name);
        if (!st_find(f, name)) continue;
        size_t cnt;
        float *g = tu_fixture_f32(f, name, &cnt);
        assert_int_equal(cnt, ps->views[i].count);
        double err2 = tu_nmse(params_grad(ps, i), g, cnt);
        if (!strncmp(ps->views[i].name, "ssl.", 4) && err2 > *head_worst) *head_worst = err2;
        if (err2 > *worst) *worst = err2, *wname = ps->views[i].name;
        checked++;
        free(g);
    }
    return checked;
}

/* Finite differences through the whole objective of c (loss: its training-step loss): tu_fd_check
 * (12 coordinates, floor 1e-3) on the objective's head_w and head_b (eps 1e-3), the mask vector and
 * four encoder tensors, each below 1e-2. Printed as "<what> FD (loss L<note>): name err ...". */
static inline void tssl_small_fd(double (*loss)(void *ctx), tssl_small *c, const char *head_w,
                                 const char *head_b, const char *what, const char *note) {
    param_set *ps = encoder_params(c->e);
    encoder_zero_grad(c->e);
    double l0 = loss(c);
    float *g = malloc(ps->n_floats * sizeof *g);
    assert_non_null(g);
    memcpy(g, ps->grad, ps->n_floats * sizeof *g);
    const char *names[] = {head_w,
                           head_b,
                           SSL_MASK_EMB,
                           "backbone.layers.1.out.weight",
                           "backbone.layers.0.s4.C",
                           "backbone.layers.0.s4.log_dt",
                           "stem.3.bn.weight"};
    printf("%s FD (loss %.5f%s):", what, l0, note);
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        int v = params_find(ps, names[k]);
        assert_true(v >= 0);
        /* Encoder parameters behind the stem's ReLUs (its convolutions) are left to the PyTorch
         * parity: a float step there crosses ReLU kinks, which makes FD noise of a few 1e-2. */
        const float eps = k < 2 ? 1e-3f : k == 5 ? 3e-3f : 1e-2f;
        double e = tu_fd_check(loss, c, params_data(ps, v), g + ps->views[v].offset,
                               ps->views[v].count, 12, eps, 1e-3);
        printf(" %s %.1e", names[k], e);
        assert_true(e < 1e-2);
    }
    printf("\n");
    free(g);
}

/* Each of the count named state tensors of st (n of them) against the fixture's
 * "s_after.<name>": nmse below 1e-10 (printed with the names padded to width). */
static inline void tssl_check_state_after(const st_file *f, ssl_state_tensor *st, int n,
                                          const char *const *names, int count, int width) {
    for (int i = 0; i < count; i++) {
        ssl_state_tensor *t = tssl_find_state(st, n, names[i]);
        char rn[128];
        snprintf(rn, sizeof rn, "s_after.%s", names[i]);
        float *ref = tu_fixture_f32(f, rn, NULL);
        double e2 = tu_nmse(t->data, ref, t->count);
        printf("  after the update: %-*s nmse %.2e\n", width, names[i], e2);
        assert_true(e2 < 1e-10);
        free(ref);
    }
}

#endif

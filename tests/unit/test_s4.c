/* test_s4.c — the S4 layer: LegS init against numpy, finite differences of the kernel and
 * convolution backwards, the FFT path against the O(L^2) definition, PyTorch parity, same bits
 * whatever the thread count. */
#include "core/nn/s4.h"

#include <complex.h>
#include <omp.h>

#include "testutil.h"

/* FD tolerance on max |fd - g| / max(|fd| + |g|, floor). The forward is float; the central
 * difference of the loss (O(10)) carries ~2e-6 / eps of noise. The kernel is smooth in its
 * parameters, so eps = 1e-2 balances that noise against truncation (~eps^2). The convolution is
 * linear in u, k and D, so its central difference has no truncation error and a large step only
 * shrinks the noise: this matters for k1[L-1], which the convolution never uses (gradient 0). */
#define FD_EPS 1e-2f
#define FD_EPS_LINEAR 0.25f
#define FD_FLOOR 1e-2
#define FD_TOL 5e-3

/* ---------------------------------------------------------------------------------------------
 * Reference: the definition of s4.h, in double. */

static void direct_kernel(double *k, const s4_params *p, int H, int N, int ch, int L) {
    int M = N / 2;
    for (int c = 0; c < ch; c++)
        for (int h = 0; h < H; h++)
            for (int l = 0; l < L; l++) {
                double s = 0;
                for (int m = 0; m < M; m++) {
                    size_t i = (size_t)h * M + m;
                    double dt = exp((double)p->log_dt[h]);
                    double complex A = -exp((double)p->log_A_real[i]) + I * (double)p->A_imag[i];
                    double complex dA = (1 + dt * A / 2) / (1 - dt * A / 2);
                    double complex dB = dt / (1 - dt * A / 2);
                    const float *z = p->C + (((size_t)c * H + h) * M + m) * 2;
                    s += creal(((double)z[0] + I * (double)z[1]) * dB * cpow(dA, l));
                }
                k[((size_t)c * H + h) * L + l] = 2 * s;
            }
}

static void direct_conv(double *y, const float *u, const float *k, const float *D, int B, int L,
                        int H, int ch) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < L; t++)
            for (int h = 0; h < H; h++) {
                const float *uh = u + (size_t)b * L * H + h;
                double s = (double)D[h] * uh[(size_t)t * H];
                for (int q = 0; q <= t; q++)
                    s += (double)k[(size_t)h * L + t - q] * uh[(size_t)q * H];
                if (ch == 2)
                    for (int q = t + 1; q < L; q++)
                        s += (double)k[((size_t)H + h) * L + q - t - 1] * uh[(size_t)q * H];
                y[((size_t)b * L + t) * H + h] = s;
            }
}

static double nmse_d(const float *a, const double *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - ref[i]) * (a[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return den > 0 ? num / den : num;
}

static float *new_params(s4_params *p, int H, int N, int ch, uint64_t seed) {
    float *buf = tu_zeros(s4_param_floats(H, N, ch));
    s4_params_view(p, buf, H, N, ch);
    rng_state r;
    rng_seed(&r, seed);
    ecg_err err = {0};
    assert_int_equal(s4_init(p, H, N, ch, 1e-3f, 1e-1f, &r, &err), ECG_OK);
    /* Move A off its init values so no gradient term vanishes by symmetry. */
    for (int i = 0; i < H * (N / 2); i++) {
        p->log_A_real[i] += 0.3f * rng_normal(&r);
        p->A_imag[i] *= 1.0f + 0.05f * rng_normal(&r);
    }
    return buf;
}

/* ---------------------------------------------------------------------------------------------
 * Init. */

static void check_init(int N) {
    int H = 3, ch = 2, M = N / 2;
    float dt_min = 1e-3f, dt_max = 1e-1f;
    s4_params p, q;
    float *buf = tu_zeros(s4_param_floats(H, N, ch)), *buf2 = tu_zeros(s4_param_floats(H, N, ch));
    s4_params_view(&p, buf, H, N, ch);
    s4_params_view(&q, buf2, H, N, ch);
    rng_state r;
    ecg_err err = {0};
    rng_seed(&r, 77);
    assert_int_equal(s4_init(&p, H, N, ch, dt_min, dt_max, &r, &err), ECG_OK);
    rng_seed(&r, 77);
    assert_int_equal(s4_init(&q, H, N, ch, dt_min, dt_max, &r, &err), ECG_OK);
    assert_memory_equal(buf, buf2, s4_param_floats(H, N, ch) * sizeof *buf);

    st_file f;
    tu_fixture_open(&f, "s4");
    char name[64];
    snprintf(name, sizeof name, "legs%d.w", N);
    float *w = tu_fixture_f32(&f, name, NULL);
    snprintf(name, sizeof name, "legs%d.b", N);
    float *b = tu_fixture_f32(&f, name, NULL);

    /* Replay the documented draw order to recover B from C. */
    rng_seed(&r, 77);
    double worst_w = 0, worst_b = 0;
    for (int h = 0; h < H; h++) {
        double lo = log(dt_min), hi = log(dt_max), v = lo + (hi - lo) * rng_uniform(&r);
        assert_true(fabs(p.log_dt[h] - v) < 1e-6);
    }
    for (int c = 0; c < ch; c++)
        for (int h = 0; h < H; h++)
            for (int m = 0; m < M; m++) {
                double re = rng_normal(&r), im = rng_normal(&r);
                const float *z = p.C + (((size_t)c * H + h) * M + m) * 2;
                double bm = hypot(z[0], z[1]) / (hypot(re, im) * M_SQRT1_2);
                double e = fabs(bm - b[m]) / b[m];
                if (e > worst_b) worst_b = e;
                /* The phase of C is the phase of the draw: B is real and positive. */
                assert_true(fabs(z[0] * im - z[1] * re) <=
                            1e-5 * (fabs(z[0] * im) + fabs(z[1] * re) + 1e-12));
            }
    for (int h = 0; h < H; h++)
        assert_true(fabs(p.D[h] - rng_normal(&r)) < 1e-7);
    for (int h = 0; h < H; h++)
        for (int m = 0; m < M; m++) {
            assert_true(fabs(p.log_A_real[h * M + m] - log(0.5)) < 1e-7);
            double e = fabs(p.A_imag[h * M + m] - w[m]) / w[m];
            if (e > worst_w) worst_w = e;
        }
    printf("init N=%d: A_imag vs numpy max rel err %.3g, |B| max rel err %.3g\n", N, worst_w,
           worst_b);
    assert_true(worst_w < 1e-5);
    assert_true(worst_b < 1e-5);
    free(w);
    free(b);
    st_free(&f);
    free(buf);
    free(buf2);
}

static void test_init_legs8(void **state) {
    (void)state;
    check_init(8);
}

static void test_init_legs64(void **state) {
    (void)state;
    check_init(64);
}

static void test_init_rejects(void **state) {
    (void)state;
    float buf[64];
    s4_params p;
    s4_params_view(&p, buf, 1, 4, 1);
    rng_state r;
    rng_seed(&r, 1);
    ecg_err err = {0};
    assert_int_equal(s4_init(&p, 1, 3, 1, 1e-3f, 1e-1f, &r, &err), ECG_EINVAL);
    assert_int_equal(s4_init(&p, 1, 4, 3, 1e-3f, 1e-1f, &r, &err), ECG_EINVAL);
    assert_int_equal(s4_init(&p, 1, 4, 1, 0.0f, 1e-1f, &r, &err), ECG_EINVAL);
    assert_int_equal(s4_init(&p, 1, 4, 1, 1e-1f, 1e-3f, &r, &err), ECG_EINVAL);
}

/* ---------------------------------------------------------------------------------------------
 * Kernel. */

static void test_kernel_direct(void **state) {
    (void)state;
    int cases[][3] = {{8, 1, 40}, {8, 2, 300}, {64, 2, 300}};
    for (int ci = 0; ci < 3; ci++) {
        int H = 4, N = cases[ci][0], ch = cases[ci][1], L = cases[ci][2];
        s4_params p;
        float *buf = new_params(&p, H, N, ch, 10 + ci);
        size_t nk = (size_t)ch * H * L;
        float *k = tu_zeros(nk);
        double *ref = malloc(nk * sizeof *ref);
        assert_non_null(ref);
        s4_kernel_forward(k, &p, H, N, ch, L);
        direct_kernel(ref, &p, H, N, ch, L);
        double e = nmse_d(k, ref, nk);
        printf("kernel N=%d ch=%d L=%d vs cpow: nmse %.3g\n", N, ch, L, e);
        assert_true(e < 1e-13);
        free(k);
        free(ref);
        free(buf);
    }
}

typedef struct {
    s4_params p;
    int H, N, ch, L;
    float *k, *w;
} kcase;

static double kcase_loss(void *ctx) {
    kcase *c = ctx;
    s4_kernel_forward(c->k, &c->p, c->H, c->N, c->ch, c->L);
    return tu_dot(c->k, c->w, (size_t)c->ch * c->H * c->L);
}

/* Worst FD error over every parameter; with train_A = 0 the A gradients must stay as they were.
 * log_dt gets a smaller step: the kernel is strongly curved in it (truncation error ~ eps^2 was
 * 7e-3 at eps = 1e-2 and 4e-5 at 1e-3), while the other parameters are limited by float noise. */
static double fd_kernel(int H, int N, int ch, int L, int train_A) {
    kcase c = {.H = H, .N = N, .ch = ch, .L = L};
    size_t np = s4_param_floats(H, N, ch), nk = (size_t)ch * H * L, M = (size_t)N / 2;
    float *buf = new_params(&c.p, H, N, ch, 100 + N + ch + L);
    c.k = tu_zeros(nk);
    c.w = tu_randn(nk, 200 + L, 1.0f);
    float *gbuf = tu_randn(np, 300, 1.0f), *g0 = malloc(np * sizeof *g0);
    assert_non_null(g0);
    memcpy(g0, gbuf, np * sizeof *g0); /* backward accumulates onto whatever is there */
    s4_params g;
    s4_params_view(&g, gbuf, H, N, ch);
    s4_kernel_backward(&g, c.w, &c.p, H, N, ch, L, train_A);
    for (size_t i = 0; i < np; i++)
        gbuf[i] -= g0[i];
    for (int i = 0; i < H; i++)
        assert_true(g.D[i] == 0.0f);
    float *pv[4] = {c.p.log_dt, c.p.C, c.p.log_A_real, c.p.A_imag};
    float *gv[4] = {g.log_dt, g.C, g.log_A_real, g.A_imag};
    size_t pn[4] = {(size_t)H, (size_t)ch * H * M * 2, (size_t)H * M, (size_t)H * M};
    float eps[4] = {1e-3f, FD_EPS, FD_EPS, FD_EPS};
    double worst = 0, e[4] = {0};
    for (int q = 0; q < (train_A ? 4 : 2); q++) {
        e[q] = tu_fd_check(kcase_loss, &c, pv[q], gv[q], pn[q], SIZE_MAX, eps[q], FD_FLOOR);
        if (e[q] > worst) worst = e[q];
    }
    if (!train_A)
        for (size_t i = 0; i < 2 * (size_t)H * M; i++)
            assert_true(g.log_A_real[i] == 0.0f);
    printf("fd kernel H=%d N=%d ch=%d L=%d train_A=%d: log_dt %.2g C %.2g log_A_real %.2g "
           "A_imag %.2g\n",
           H, N, ch, L, train_A, e[0], e[1], e[2], e[3]);
    free(buf);
    free(c.k);
    free(c.w);
    free(gbuf);
    free(g0);
    return worst;
}

static void test_fd_kernel(void **state) {
    (void)state;
    assert_true(fd_kernel(3, 8, 1, 16, 1) < FD_TOL);
    assert_true(fd_kernel(3, 8, 2, 40, 1) < FD_TOL);
    assert_true(fd_kernel(2, 64, 2, 24, 1) < FD_TOL);
    assert_true(fd_kernel(3, 8, 2, 33, 0) < FD_TOL);
}

/* The check can fail: a gradient of the wrong parameter is caught. */
static void test_fd_kernel_detects(void **state) {
    (void)state;
    kcase c = {.H = 2, .N = 8, .ch = 1, .L = 20};
    size_t np = s4_param_floats(2, 8, 1), nk = 40;
    float *buf = new_params(&c.p, 2, 8, 1, 5);
    c.k = tu_zeros(nk);
    c.w = tu_randn(nk, 6, 1.0f);
    float *gbuf = tu_zeros(np);
    s4_params g;
    s4_params_view(&g, gbuf, 2, 8, 1);
    s4_kernel_backward(&g, c.w, &c.p, 2, 8, 1, 20, 1);
    float t = g.A_imag[0];
    g.A_imag[0] = g.A_imag[1];
    g.A_imag[1] = t;
    assert_true(tu_fd_check(kcase_loss, &c, buf, gbuf, np, SIZE_MAX, FD_EPS, FD_FLOOR) > 0.1);
    free(buf);
    free(c.k);
    free(c.w);
    free(gbuf);
}

/* ---------------------------------------------------------------------------------------------
 * Convolution. */

typedef struct {
    int B, L, H, ch;
    s4_fft *f;
    float *u, *k, *D, *w, *y, *cache;
} ccase;

static void ccase_init(ccase *c, int B, int L, int H, int ch, uint64_t seed) {
    *c = (ccase){.B = B, .L = L, .H = H, .ch = ch};
    ecg_err err = {0};
    assert_int_equal(s4_fft_init(&c->f, L, &err), ECG_OK);
    size_t nu = (size_t)B * L * H;
    c->u = tu_randn(nu, seed, 1.0f);
    c->k = tu_randn((size_t)ch * H * L, seed + 1, 0.3f);
    c->D = tu_randn((size_t)H, seed + 2, 1.0f);
    c->w = tu_randn(nu, seed + 3, 1.0f);
    c->y = tu_zeros(nu);
    c->cache = tu_zeros(s4_conv_cache_floats(B, L, H, ch));
}

static void ccase_free(ccase *c) {
    s4_fft_free(c->f);
    free(c->u);
    free(c->k);
    free(c->D);
    free(c->w);
    free(c->y);
    free(c->cache);
}

static double ccase_loss(void *ctx) {
    ccase *c = ctx;
    s4_conv_forward(c->y, c->cache, c->u, c->k, c->D, c->B, c->L, c->H, c->ch, c->f);
    return tu_dot(c->y, c->w, (size_t)c->B * c->L * c->H);
}

static void test_conv_direct(void **state) {
    (void)state;
    /* B, L, H, ch: odd and even B, tiles full and partial, the encoder's L. */
    int cases[][4] = {{2, 16, 3, 1},   {3, 37, 5, 2}, {1, 40, 3, 2}, {3, 300, 70, 1},
                      {2, 300, 67, 2}, {2, 1, 3, 2},  {3, 2, 5, 1}};
    for (int ci = 0; ci < 7; ci++) {
        ccase c;
        ccase_init(&c, cases[ci][0], cases[ci][1], cases[ci][2], cases[ci][3], 40 + ci);
        size_t nu = (size_t)c.B * c.L * c.H;
        double *ref = malloc(nu * sizeof *ref);
        assert_non_null(ref);
        ccase_loss(&c);
        direct_conv(ref, c.u, c.k, c.D, c.B, c.L, c.H, c.ch);
        double e = nmse_d(c.y, ref, nu);
        printf("conv B=%d L=%d H=%d ch=%d FFT vs direct: nmse %.3g\n", c.B, c.L, c.H, c.ch, e);
        assert_true(e < 1e-12);
        free(ref);
        ccase_free(&c);
    }
}

static double fd_conv(int B, int L, int H, int ch) {
    ccase c;
    ccase_init(&c, B, L, H, ch, 500 + L + ch);
    size_t nu = (size_t)B * L * H, nk = (size_t)ch * H * L;
    float *du = tu_zeros(nu), *dk = tu_randn(nk, 7, 1.0f), *dD = tu_randn((size_t)H, 8, 1.0f);
    float *dk0 = malloc(nk * sizeof *dk0), *dD0 = malloc((size_t)H * sizeof *dD0);
    assert_non_null(dk0);
    assert_non_null(dD0);
    memcpy(dk0, dk, nk * sizeof *dk);
    memcpy(dD0, dD, (size_t)H * sizeof *dD);
    ccase_loss(&c);
    s4_conv_backward(du, dk, dD, c.w, c.u, c.cache, c.k, c.D, B, L, H, ch, c.f);
    for (size_t i = 0; i < nk; i++)
        dk[i] -= dk0[i];
    for (int i = 0; i < H; i++)
        dD[i] -= dD0[i];
    double eu = tu_fd_check(ccase_loss, &c, c.u, du, nu, SIZE_MAX, FD_EPS_LINEAR, FD_FLOOR);
    double ek = tu_fd_check(ccase_loss, &c, c.k, dk, nk, SIZE_MAX, FD_EPS_LINEAR, FD_FLOOR);
    double ed = tu_fd_check(ccase_loss, &c, c.D, dD, (size_t)H, SIZE_MAX, FD_EPS_LINEAR, FD_FLOOR);
    printf("fd conv B=%d L=%d H=%d ch=%d: du %.3g dk %.3g dD %.3g\n", B, L, H, ch, eu, ek, ed);

    /* du may be NULL: dk and dD come out the same. */
    float *dk2 = tu_zeros(nk), *dD2 = tu_zeros((size_t)H);
    s4_conv_backward(NULL, dk2, dD2, c.w, c.u, c.cache, c.k, c.D, B, L, H, ch, c.f);
    for (size_t i = 0; i < nk; i++)
        assert_true(fabsf(dk2[i] - dk[i]) <= 1e-5f * (1 + fabsf(dk[i])));
    for (int i = 0; i < H; i++)
        assert_true(fabsf(dD2[i] - dD[i]) <= 1e-5f * (1 + fabsf(dD[i])));
    free(dk2);
    free(dD2);
    free(du);
    free(dk);
    free(dD);
    free(dk0);
    free(dD0);
    ccase_free(&c);
    double worst = eu > ek ? eu : ek;
    return worst > ed ? worst : ed;
}

static void test_fd_conv_causal(void **state) {
    (void)state;
    assert_true(fd_conv(2, 16, 3, 1) < FD_TOL);
    assert_true(fd_conv(3, 25, 3, 1) < FD_TOL);
}

static void test_fd_conv_bidir(void **state) {
    (void)state;
    assert_true(fd_conv(2, 16, 3, 2) < FD_TOL);
    assert_true(fd_conv(3, 40, 3, 2) < FD_TOL);
}

/* Same bits for 1, 2 and 3 threads, forward and backward (H = 150 spans three channel tiles). */
static void test_conv_threads(void **state) {
    (void)state;
    int B = 3, L = 300, H = 150, nt = omp_get_max_threads();
    for (int ch = 1; ch <= 2; ch++) {
        size_t nu = (size_t)B * L * H, nk = (size_t)ch * H * L;
        float *ref[4] = {NULL, NULL, NULL, NULL};
        for (int r = 0; r < 3; r++) {
            omp_set_num_threads(r + 1);
            ccase c;
            ccase_init(&c, B, L, H, ch, 900);
            float *du = tu_zeros(nu), *dk = tu_zeros(nk), *dD = tu_zeros((size_t)H);
            ccase_loss(&c);
            s4_conv_backward(du, dk, dD, c.w, c.u, c.cache, c.k, c.D, B, L, H, ch, c.f);
            float *got[4] = {c.y, du, dk, dD};
            size_t len[4] = {nu, nu, nk, (size_t)H};
            c.y = NULL;
            for (int i = 0; i < 4; i++) {
                if (r == 0) {
                    ref[i] = got[i];
                    continue;
                }
                assert_memory_equal(ref[i], got[i], len[i] * sizeof(float));
                free(got[i]);
            }
            ccase_free(&c);
        }
        for (int i = 0; i < 4; i++)
            free(ref[i]);
    }
    omp_set_num_threads(nt);
}

static void test_fft_init_rejects(void **state) {
    (void)state;
    s4_fft *f = (s4_fft *)1;
    ecg_err err = {0};
    assert_int_equal(s4_fft_init(&f, 0, &err), ECG_EINVAL);
    assert_null(f);
    assert_int_equal(s4_fft_init(&f, 8193, &err), ECG_EINVAL);
    assert_int_equal(s4_fft_init(&f, 8192, &err), ECG_OK);
    s4_fft_free(f);
    s4_fft_free(NULL);
}

/* ---------------------------------------------------------------------------------------------
 * PyTorch parity: kernel, output and every gradient (train_A = 1) on the fixture's parameters. */

static const char *const PNAMES[5] = {"log_dt", "C", "log_A_real", "A_imag", "D"};

static void parity_case(const char *name, int B, int L, int H, int N, int ch) {
    st_file f;
    tu_fixture_open(&f, "s4");
    char key[128];
    size_t np = s4_param_floats(H, N, ch), nu = (size_t)B * L * H, nk = (size_t)ch * H * L;
    float *buf = tu_zeros(np), *gbuf = tu_zeros(np);
    s4_params p, g;
    s4_params_view(&p, buf, H, N, ch);
    s4_params_view(&g, gbuf, H, N, ch);
    float *pv[5] = {p.log_dt, p.C, p.log_A_real, p.A_imag, p.D};
    float *gv[5] = {g.log_dt, g.C, g.log_A_real, g.A_imag, g.D};
    size_t pn[5] = {(size_t)H, (size_t)ch * H * (N / 2) * 2, (size_t)H * (N / 2),
                    (size_t)H * (N / 2), (size_t)H};
    ecg_err err = {0};
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "%s.%s", name, PNAMES[i]);
        assert_int_equal(st_get_f32(&f, key, pv[i], pn[i], &err), ECG_OK);
    }
#define FIX(var, suffix)                                                                           \
    snprintf(key, sizeof key, "%s." suffix, name);                                                 \
    float *var = tu_fixture_f32(&f, key, NULL)
    FIX(u, "u");
    FIX(dy, "dy");
    FIX(k_ref, "k");
    FIX(y_ref, "y");
    FIX(du_ref, "du");
    FIX(dk_ref, "dk");
    FIX(dD_ref, "dD");
#undef FIX
    s4_fft *fft;
    assert_int_equal(s4_fft_init(&fft, L, &err), ECG_OK);
    float *k = tu_zeros(nk), *y = tu_zeros(nu), *du = tu_zeros(nu), *dk = tu_zeros(nk);
    float *cache = tu_zeros(s4_conv_cache_floats(B, L, H, ch));
    s4_kernel_forward(k, &p, H, N, ch, L);
    s4_conv_forward(y, cache, u, k, p.D, B, L, H, ch, fft);
    s4_conv_backward(du, dk, g.D, dy, u, cache, k, p.D, B, L, H, ch, fft);
    s4_kernel_backward(&g, dk, &p, H, N, ch, L, 1);

    double ek = tu_nmse(k, k_ref, nk), ey = tu_nmse(y, y_ref, nu);
    double edu = tu_nmse(du, du_ref, nu), edk = tu_nmse(dk, dk_ref, nk);
    double edD = tu_nmse(g.D, dD_ref, (size_t)H);
    printf("parity %s: nmse k %.3g y %.3g du %.3g dk %.3g dD %.3g", name, ek, ey, edu, edk, edD);
    assert_true(ek < 1e-8);
    assert_true(ey < 1e-8);
    assert_true(edu < 1e-6);
    assert_true(edk < 1e-6);
    assert_true(edD < 1e-6);
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "%s.g_%s", name, PNAMES[i]);
        float *ref = tu_fixture_f32(&f, key, NULL);
        double e = tu_nmse(gv[i], ref, pn[i]);
        printf(" g_%s %.3g", PNAMES[i], e);
        assert_true(e < 1e-6);
        free(ref);
    }
    printf("\n");
    s4_fft_free(fft);
    free(k);
    free(y);
    free(du);
    free(dk);
    free(cache);
    free(u);
    free(dy);
    free(k_ref);
    free(y_ref);
    free(du_ref);
    free(dk_ref);
    free(dD_ref);
    free(buf);
    free(gbuf);
    st_free(&f);
}

static void test_parity(void **state) {
    (void)state;
    parity_case("causal", 3, 40, 6, 8, 1);
    parity_case("bidir", 2, 37, 5, 8, 2);
    parity_case("bidir64", 2, 50, 3, 64, 2);
    parity_case("enc_causal", 3, 300, 70, 8, 1);
    parity_case("enc_bidir", 2, 300, 69, 8, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_legs8),       cmocka_unit_test(test_init_legs64),
        cmocka_unit_test(test_init_rejects),     cmocka_unit_test(test_kernel_direct),
        cmocka_unit_test(test_fd_kernel),        cmocka_unit_test(test_fd_kernel_detects),
        cmocka_unit_test(test_conv_direct),      cmocka_unit_test(test_fd_conv_causal),
        cmocka_unit_test(test_fd_conv_bidir),    cmocka_unit_test(test_conv_threads),
        cmocka_unit_test(test_fft_init_rejects), cmocka_unit_test(test_parity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_study.c — the scaling study's statistics (power-law fit, bootstrap, t-interval, correlation,
 * CKA against numpy), its SVG, and the CI study run end to end through the real `ecgfm study`. */
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "tests/api/testserver.h"

#include "core/study/fit.h"
#include "core/study/plot.h"

static char tmpdir[] = "/tmp/ecgfm-test-study-XXXXXX";
static char bin[PATH_MAX];

/* ---- fit ---- */

static void test_fit_noiseless(void **state) {
    (void)state;
    const double E = 0.12, A = 3.0, alpha = 0.42;
    double N[5] = {1000, 3000, 10000, 30000, 100000}, y[5];
    for (int i = 0; i < 5; i++)
        y[i] = E + A * pow(N[i], -alpha);
    fit_power f;
    ecg_err err = {0};
    assert_int_equal(fit_power_law(N, y, 5, &f, &err), ECG_OK);
    assert_true(fabs(f.alpha - alpha) < 1e-5);
    assert_true(fabs(f.E - E) < 1e-6);
    assert_true(fabs(f.A - A) / A < 1e-4);
    assert_true(f.rmse < 1e-8);
    assert_false(f.flat);
    /* E = 0 on the boundary: pure power law */
    for (int i = 0; i < 5; i++)
        y[i] = 2.0 * pow(N[i], -0.3);
    assert_int_equal(fit_power_law(N, y, 5, &f, &err), ECG_OK);
    assert_true(fabs(f.alpha - 0.3) < 1e-4 && f.E >= 0 && f.E < 1e-6);
    /* points with N = 0 are ignored; fewer than 3 distinct sizes is refused */
    double N2[4] = {0, 100, 100, 1000}, y2[4] = {0.5, 0.3, 0.31, 0.2};
    assert_int_equal(fit_power_law(N2, y2, 4, &f, &err), ECG_EINVAL);
    assert_non_null(strstr(err.msg, "3 distinct"));
}

static void test_fit_flat_and_constraints(void **state) {
    (void)state;
    /* error rising with N: the best constrained fit has A = 0 and E = mean */
    double N[4] = {100, 300, 1000, 3000}, y[4] = {0.10, 0.12, 0.15, 0.2};
    fit_power f;
    ecg_err err = {0};
    assert_int_equal(fit_power_law(N, y, 4, &f, &err), ECG_OK);
    assert_true(f.flat);
    assert_true(f.A == 0);
    assert_true(fabs(f.E - 0.1425) < 1e-12);
    /* negative targets: E and A never go negative */
    double y2[4] = {-0.1, -0.2, -0.3, -0.4};
    assert_int_equal(fit_power_law(N, y2, 4, &f, &err), ECG_OK);
    assert_true(f.E >= 0 && f.A >= 0 && f.alpha > 0);
}

static void test_fit_noisy_bootstrap(void **state) {
    (void)state;
    const double E = 0.2, A = 1.5, alpha = 0.5;
    enum { G = 5, K = 4 };
    double N[G] = {300, 1000, 3000, 10000, 30000}, y[G * K], Nf[G * K];
    int counts[G];
    rng_state r;
    rng_seed(&r, 42);
    for (int g = 0; g < G; g++) {
        counts[g] = K;
        for (int k = 0; k < K; k++) {
            Nf[g * K + k] = N[g];
            y[g * K + k] = E + A * pow(N[g], -alpha) + 0.003 * rng_normal(&r);
        }
    }
    fit_power f;
    ecg_err err = {0};
    assert_int_equal(fit_power_law(Nf, y, G * K, &f, &err), ECG_OK);
    assert_true(fabs(f.alpha - alpha) < 0.15);
    assert_true(fabs(f.E - E) < 0.02);
    double lo, hi, lo2, hi2;
    int flat;
    assert_int_equal(fit_bootstrap_alpha(N, counts, y, G, 400, 7, &lo, &hi, &flat, &err), ECG_OK);
    assert_true(lo <= alpha && alpha <= hi);
    assert_true(lo < f.alpha && f.alpha < hi);
    assert_true(hi - lo < 1.0); /* informative, not the whole search range */
    /* seeded: the same interval again */
    assert_int_equal(fit_bootstrap_alpha(N, counts, y, G, 400, 7, &lo2, &hi2, NULL, &err), ECG_OK);
    assert_true(lo == lo2 && hi == hi2);
    /* noiseless: every replicate is the same data, the interval collapses onto the truth */
    for (int g = 0; g < G; g++)
        for (int k = 0; k < K; k++)
            y[g * K + k] = E + A * pow(N[g], -alpha);
    assert_int_equal(fit_bootstrap_alpha(N, counts, y, G, 50, 1, &lo, &hi, &flat, &err), ECG_OK);
    assert_true(fabs(lo - alpha) < 1e-4 && fabs(hi - alpha) < 1e-4 && flat == 0);
}

static void test_interval_and_correlation(void **state) {
    (void)state;
    double x[3] = {1, 2, 3}, m, lo, hi;
    int n;
    fit_mean_ci95(x, 3, &m, &lo, &hi, &n);
    assert_int_equal(n, 3);
    assert_true(fabs(m - 2) < 1e-15);
    assert_true(fabs(hi - m - 4.303 / sqrt(3)) < 1e-12); /* s = 1, t(0.975, 2) = 4.303 */
    fit_mean_ci95(x, 1, &m, &lo, &hi, NULL);
    assert_true(m == 1 && isnan(lo) && isnan(hi));
    double nanx[3] = {1, NAN, 3};
    fit_mean_ci95(nanx, 3, &m, &lo, &hi, &n);
    assert_true(n == 2 && m == 2);
    /* scipy.stats: spearmanr(x, y).correlation = 0.9015094183400432 (ties: average ranks),
     * pearsonr(x, y)[0] = 0.93509984296191 */
    double a[8] = {1, 2, 2, 3, 5, 5, 5, 8}, b[8] = {2, 1, 4, 3, 7, 6, 6, 9};
    assert_true(fabs(fit_spearman(a, b, 8) - 0.9015094183400432) < 1e-12);
    assert_true(fabs(fit_pearson(a, b, 8) - 0.93509984296191) < 1e-12);
    double c[5] = {1, 2, 3, 4, 5}, d[5] = {1, 8, 27, 64, 125}, e[5] = {5, 5, 5, 5, 5};
    assert_true(fabs(fit_spearman(c, d, 5) - 1) < 1e-15);
    assert_true(isnan(fit_pearson(c, e, 5)));
}

/* ---- CKA ---- */

static void fill_xy(float *X, float *Y, int n, int p, int q) {
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < p; j++)
            X[i * p + j] = (float)sin(0.37 * i * (j + 1) + 0.11 * j);
        for (int j = 0; j < q; j++) {
            double xv = X[i * p + j];
            Y[i * q + j] = (float)(cos(0.23 * i * (j + 2)) + 0.5 * xv * xv);
        }
    }
}

static void test_cka(void **state) {
    (void)state;
    enum { n = 50, p = 6, q = 4 };
    float X[n * p], Y[n * q], Z[n * p];
    fill_xy(X, Y, n, p, q);
    double v;
    ecg_err err = {0};
    /* numpy (float32 inputs as float64):
     *   i = np.arange(50)[:, None]
     *   X = np.sin(0.37*i*(np.arange(6)[None, :]+1) + 0.11*np.arange(6)[None,
     * :]).astype(np.float32) Y = (np.cos(0.23*i*(np.arange(4)[None, :]+2)) + 0.5*X64[:,
     * :4]**2).astype(np.float32) Xc, Yc = X - X.mean(0), Y - Y.mean(0) norm(Yc.T @ Xc)**2 /
     * (norm(Xc.T @ Xc) * norm(Yc.T @ Yc)) = 0.2089261122704963 */
    assert_int_equal(fit_linear_cka(X, p, Y, q, n, &v, &err), ECG_OK);
    assert_true(fabs(v - 0.2089261122704963) < 1e-6);
    assert_int_equal(fit_linear_cka(Y, q, X, p, n, &v, &err), ECG_OK); /* symmetric */
    assert_true(fabs(v - 0.2089261122704963) < 1e-6);
    assert_int_equal(fit_linear_cka(X, p, X, p, n, &v, &err), ECG_OK);
    assert_true(fabs(v - 1) < 1e-12);
    /* orthogonal transform (a product of Givens rotations) and isotropic scaling by 3.7 */
    memcpy(Z, X, sizeof Z);
    for (int a = 0; a + 1 < p; a++) {
        double th = 0.3 + a, cs = cos(th), sn = sin(th);
        for (int i = 0; i < n; i++) {
            double u = Z[i * p + a], w = Z[i * p + a + 1];
            Z[i * p + a] = (float)(cs * u - sn * w);
            Z[i * p + a + 1] = (float)(sn * u + cs * w);
        }
    }
    for (int i = 0; i < n * p; i++)
        Z[i] *= 3.7f;
    assert_int_equal(fit_linear_cka(X, p, Z, p, n, &v, &err), ECG_OK);
    assert_true(fabs(v - 1) < 1e-6);
    assert_int_equal(fit_linear_cka(Z, p, Y, q, n, &v, &err), ECG_OK);
    assert_true(fabs(v - 0.2089261122704963) < 1e-5);
    /* a constant matrix has nothing after centring */
    for (int i = 0; i < n * p; i++)
        Z[i] = 1;
    assert_int_equal(fit_linear_cka(X, p, Z, p, n, &v, &err), ECG_OK);
    assert_true(isnan(v));
}

/* ---- SVG ---- */

/* Well-formed XML with an <svg> root, by Debian's python3 (xml.dom.minidom). */
static int svg_parses_q(const char *path, int quiet) {
    char cmd[PATH_MAX + 256];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import sys, xml.dom.minidom as m; "
             "d = m.parse(sys.argv[1]); sys.exit(d.documentElement.tagName != \"svg\")' %s%s",
             path, quiet ? " 2>/dev/null" : "");
    return system(cmd) == 0;
}
static int svg_parses(const char *path) {
    return svg_parses_q(path, 0);
}

static int count(const char *s, const char *needle) {
    int c = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        c++;
    return c;
}

static void test_svg(void **state) {
    (void)state;
    double x[4] = {0, 1000, 3000, 10000}, y1[4] = {0.5, 0.3, 0.25, 0.22}, lo[4], hi[4];
    double y2[4] = {0.6, NAN, 0.4, 0.35};
    for (int i = 0; i < 4; i++)
        lo[i] = y1[i] - 0.02, hi[i] = y1[i] + 0.02;
    plot_series s[2] = {{.label = "cpc GunPoint & <co>",
                         .n = 4,
                         .x = x,
                         .y = y1,
                         .lo = lo,
                         .hi = hi,
                         .has_fit = 1,
                         .E = 0.2,
                         .A = 3,
                         .alpha = 0.4},
                        {.label = "jepa GunPoint", .n = 4, .x = x, .y = y2}};
    plot_opts o = {.title = "t \"q\"", .x_label = "N", .y_label = "error"};
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/plot.svg", tmpdir);
    ecg_err err = {0};
    assert_int_equal(plot_svg_save(path, &o, s, 2, &err), ECG_OK);
    assert_true(svg_parses(path));
    char *t = ts_slurp(path, NULL);
    assert_non_null(t);
    assert_int_equal(count(t, "<g class=\"series\""), 2);
    assert_non_null(strstr(t, "data-label=\"cpc GunPoint &amp; &lt;co&gt;\""));
    assert_non_null(strstr(t, "data-label=\"jepa GunPoint\""));
    assert_int_equal(count(t, "class=\"fit\""), 1);
    assert_int_equal(count(t, "class=\"bar\""), 4);
    assert_int_equal(count(t, "<circle"), 7); /* the NaN point is left out */
    assert_non_null(strstr(t, "(random init)"));
    assert_non_null(strstr(t, ">10k<"));
    free(t);
    /* a broken document must fail the check (the check can fail) */
    snprintf(path, sizeof path, "%s/bad.svg", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("<svg><g></svg>", f);
    fclose(f);
    assert_false(svg_parses_q(path, 1));
}

/* ---- the CI study through the real binary ---- */

/* Start bin with argv (NULL-terminated, argv[0] ignored), output to log. */
static pid_t spawn(char *const argv[], const char *log) {
    return ts_spawn(&(ts_spawn_opts){.bin = bin, .log = log}, argv + 1);
}
static void run_ok(char *const argv[], const char *log) {
    int st;
    pid_t pid = spawn(argv, log);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char *t = ts_slurp(log, NULL);
        fprintf(stderr, "%s\n", t ? t : "(no log)");
        free(t);
        fail_msg("%s %s exited with status %d", bin, argv[1], st);
    }
}

static double jmean(json_t *row, const char *key) {
    json_t *v = json_object_get(json_object_get(row, key), "mean");
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static void test_study_e2e(void **state) {
    (void)state;
    char data[PATH_MAX], out[PATH_MAX], log[PATH_MAX], path[PATH_MAX + 64];
    snprintf(data, sizeof data, "%s/synth", tmpdir);
    snprintf(out, sizeof out, "%s/study", tmpdir);
    snprintf(log, sizeof log, "%s/study.log", tmpdir);
    char *synth[] = {"ecgfm", "synth", "--out", data, "--n", "200", "--seed", "5", NULL};
    run_ok(synth, log);
    char *study[] = {"ecgfm",     "study", "--config", "configs/studies/ci_tiny.json",
                     "--dataset", data,    "--out",    out,
                     NULL};
    double t0 = ts_now_s();
    run_ok(study, log);
    double t1 = ts_now_s();
    fprintf(stderr, "CI study: %.1f s\n", t1 - t0);

    const char *files[] = {"table.csv",       "table.json", "fit.json",  "scaling.svg",
                           "scaling_knn.svg", "loss.svg",   "README.md", "scaling_finetune.svg"};
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
        snprintf(path, sizeof path, "%s/%s", out, files[k]);
        assert_true(access(path, R_OK) == 0);
        if (strstr(files[k], ".svg")) assert_true(svg_parses(path));
    }
    /* CSV and JSON: same rows in the same order, same numbers */
    snprintf(path, sizeof path, "%s/table.csv", out);
    char *csv = ts_slurp(path, NULL);
    assert_non_null(csv);
    snprintf(path, sizeof path, "%s/table.json", out);
    json_error_t je;
    json_t *tj = json_load_file(path, 0, &je);
    assert_non_null(tj);
    json_t *rows = json_object_get(tj, "rows");
    /* sizes 0, 32, 64, 128 × one objective × one task */
    assert_int_equal(json_array_size(rows), 4);
    char *line = strchr(csv, '\n');
    assert_non_null(line);
    line++;
    int n_lines = 0;
    const int64_t sizes[4] = {0, 32, 64, 128};
    for (char *nl; (nl = strchr(line, '\n')); line = nl + 1, n_lines++) {
        *nl = 0;
        long long n;
        char obj[32], task[64];
        int seeds;
        double v[13];
        int got = sscanf(
            line, "%lld,%31[^,],%63[^,],%d,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &n,
            obj, task, &seeds, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
            &v[10], &v[11], &v[12]);
        assert_int_equal(got, 17); /* every field present: two seeds give intervals */
        json_t *row = json_array_get(rows, (size_t)n_lines);
        assert_non_null(row);
        assert_int_equal(n, sizes[n_lines]);
        assert_int_equal(json_integer_value(json_object_get(row, "n")), n);
        assert_string_equal(obj, "cpc");
        assert_string_equal(task, "GunPoint");
        assert_int_equal(seeds, 2);
        assert_true(fabs(v[0] - jmean(row, "logreg_acc")) < 1e-8);
        assert_true(fabs(v[3] - jmean(row, "knn_acc")) < 1e-8);
        assert_true(fabs(v[6] - jmean(row, "val_loss")) < 1e-6 * fabs(v[6]));
        assert_true(v[1] <= v[0] && v[0] <= v[2]);
        assert_true(fabs(v[10] - jmean(row, "finetune_acc")) < 1e-8);
        assert_true(v[0] > 0.3 && v[0] <= 1 && v[3] > 0.3 && v[3] <= 1 && v[10] > 0.2);
        assert_string_equal(json_string_value(json_object_get(row, "encoder")),
                            n == 0 ? "random_init" : "pretrained");
    }
    assert_int_equal(n_lines, 4);
    free(csv);
    /* N = 0 is the random init each seed's runs start from: no run directory, and its validation
     * loss is the step-0 loss of that seed's runs */
    snprintf(path, sizeof path, "%s/runs/cpc-n0-s0", out);
    assert_true(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/runs/cpc-n32-s0/checkpoint.safetensors", out);
    assert_true(access(path, F_OK) == 0);
    json_t *runs = json_object_get(tj, "runs");
    assert_int_equal(json_array_size(runs), 8);
    for (int k = 0; k < 2; k++) {
        json_t *r0 = json_array_get(runs, (size_t)k), *r1 = json_array_get(runs, (size_t)(2 + k));
        assert_int_equal(json_integer_value(json_object_get(r0, "n")), 0);
        assert_int_equal(json_integer_value(json_object_get(r0, "n_train")), 0);
        assert_int_equal(json_integer_value(json_object_get(r1, "n_train")), 32);
        assert_true(json_number_value(json_object_get(r0, "val_loss")) ==
                    json_number_value(json_object_get(r1, "first_val_loss")));
    }
    /* ... and its accuracies are those of `ecgfm transfer`'s random-init baseline built from the
     * initialisation seed pretrain_run derives from the training seed (core/train/pretrain.c:
     * rng_next_u64 of rng_fork(rng_seed(seed), 1)), with the CPC encoder (small.json, causal) */
    char model[PATH_MAX + 16], tlog[PATH_MAX + 16];
    snprintf(model, sizeof model, "%s/small_causal.json", tmpdir);
    json_t *mj = json_load_file("configs/models/small.json", 0, &je);
    assert_non_null(mj);
    assert_int_equal(json_object_set_new(mj, "causal", json_true()), 0);
    assert_int_equal(json_dump_file(mj, model, 0), 0);
    json_decref(mj);
    snprintf(tlog, sizeof tlog, "%s/transfer.json", tmpdir);
    for (int k = 0; k < 2; k++) {
        rng_state base;
        rng_seed(&base, (uint64_t)k);
        rng_state w = rng_fork(&base, 1);
        char rseed[32];
        snprintf(rseed, sizeof rseed, "%llu", (unsigned long long)rng_next_u64(&w));
        char *tr[] = {"ecgfm",         "transfer",
                      "--model",       model,
                      "--train",       "tests/data/ucr_uea/GunPoint/GunPoint_TRAIN.ts",
                      "--test",        "tests/data/ucr_uea/GunPoint/GunPoint_TEST.ts",
                      "--random-seed", rseed,
                      "--threads",     "2",
                      "--json",        NULL};
        run_ok(tr, tlog);
        json_t *rep = json_load_file(tlog, 0, &je);
        assert_non_null(rep);
        json_t *scores = json_object_get(json_object_get(rep, "random_init"), "scores");
        json_t *acc = json_object_get(json_object_get(json_array_get(runs, (size_t)k), "accuracy"),
                                      "GunPoint");
        int matched = 0;
        for (size_t i = 0; i < json_array_size(scores); i++) {
            json_t *sc = json_array_get(scores, i);
            const char *name = json_string_value(json_object_get(sc, "classifier"));
            json_t *mine = json_object_get(acc, name);
            if (!mine) continue; /* nearest centroid is not in the study */
            assert_true(fabs(json_number_value(mine) -
                             json_number_value(json_object_get(sc, "accuracy"))) < 1e-9);
            matched++;
        }
        assert_int_equal(matched, 2); /* logreg and knn_cosine */
        json_decref(rep);
    }
    /* fit.json: one curve per objective × task × method (probe, k-NN, fine-tuning), CKA of each
     * size with itself 1 */
    snprintf(path, sizeof path, "%s/fit.json", out);
    json_t *fj = json_load_file(path, 0, &je);
    assert_non_null(fj);
    json_t *curves = json_object_get(fj, "curves");
    assert_int_equal(json_array_size(curves), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *c = json_array_get(curves, i);
        assert_true(json_is_true(json_object_get(c, "ok")));
        double e0 = json_number_value(json_object_get(c, "error_n0"));
        json_t *row0 = json_array_get(rows, 0);
        const char *key = i == 0 ? "logreg_acc" : i == 1 ? "knn_acc" : "finetune_acc";
        assert_true(fabs(e0 - (1 - jmean(row0, key))) < 1e-9);
    }
    json_t *m = json_object_get(json_array_get(json_object_get(fj, "cka"), 0), "size_matrix");
    for (size_t i = 0; i < 4; i++)
        assert_true(fabs(json_number_value(json_array_get(json_array_get(m, i), i)) - 1) < 1e-9);
    json_decref(fj);
    /* the scaling plot has the series of the table */
    snprintf(path, sizeof path, "%s/scaling.svg", out);
    char *svg = ts_slurp(path, NULL);
    assert_non_null(svg);
    assert_int_equal(count(svg, "<g class=\"series\""), 1);
    assert_non_null(strstr(svg, "data-label=\"cpc GunPoint"));
    free(svg);

    /* resume: a second run keeps every finished run and its evaluations, and writes the same
     * table */
    snprintf(path, sizeof path, "%s/table.csv", out);
    char *before = ts_slurp(path, NULL);
    run_ok(study, log);
    char *after = ts_slurp(path, NULL);
    char *text = ts_slurp(log, NULL);
    assert_non_null(after);
    assert_string_equal(before, after);
    assert_non_null(
        strstr(text, "0 runs pretrained, 6 kept from before, 8 task evaluations reused"));
    fprintf(stderr, "CI study rerun (resume, nothing recomputed): %.1f s\n", ts_now_s() - t1);
    /* the same out dir with another pretraining config (2 epochs) is refused, not mixed in */
    char cwd[PATH_MAX], conf2[PATH_MAX + 32], abs[2 * PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    json_t *cj = json_load_file("configs/studies/ci_tiny.json", 0, &je);
    assert_non_null(cj);
    json_t *tk = json_array_get(json_object_get(cj, "tasks"), 0);
    const char *rel[][2] = {{"objectives", "configs/pretrain/small_cpc.json"},
                            {"model", "configs/models/small.json"},
                            {"train", "tests/data/ucr_uea/GunPoint/GunPoint_TRAIN.ts"},
                            {"test", "tests/data/ucr_uea/GunPoint/GunPoint_TEST.ts"}};
    for (int i = 0; i < 4; i++) {
        snprintf(abs, sizeof abs, "%s/%s", cwd, rel[i][1]);
        if (i == 0)
            assert_int_equal(json_object_set_new(cj, rel[i][0], json_pack("[s]", abs)), 0);
        else
            assert_int_equal(json_object_set_new(i == 1 ? cj : tk, rel[i][0], json_string(abs)), 0);
    }
    assert_int_equal(json_object_set_new(cj, "epochs", json_integer(2)), 0);
    snprintf(conf2, sizeof conf2, "%s/ci_tiny_2epochs.json", tmpdir);
    assert_int_equal(json_dump_file(cj, conf2, 0), 0);
    json_decref(cj);
    char *study2[] = {"ecgfm", "study", "--config", conf2, "--dataset", data, "--out", out, NULL};
    int st;
    pid_t pid = spawn(study2, log);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    free(text);
    text = ts_slurp(log, NULL);
    assert_non_null(strstr(text, "trained with another config"));
    free(text);
    /* a changed evaluation setting invalidates the cache: the probe seed is part of its key */
    snprintf(path, sizeof path, "%s/init/cpc-s0/eval-GunPoint.txt", out);
    char *ev = ts_slurp(path, NULL);
    assert_non_null(ev);
    assert_non_null(strstr(ev, "probe_seed 0 "));
    free(ev);
    free(before);
    free(after);
    json_decref(tj);
}

int main(void) {
    if (ts_find_bin(bin, sizeof bin, "test_study") != 0) return 1;
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_noiseless),
        cmocka_unit_test(test_fit_flat_and_constraints),
        cmocka_unit_test(test_fit_noisy_bootstrap),
        cmocka_unit_test(test_interval_and_correlation),
        cmocka_unit_test(test_cka),
        cmocka_unit_test(test_svg),
        cmocka_unit_test(test_study_e2e),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (rc == 0) ts_rm_tmpdir(tmpdir);
    return rc;
}

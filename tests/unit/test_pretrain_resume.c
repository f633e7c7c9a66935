/* test_pretrain_resume.c — the real `ecgfm pretrain` killed with SIGKILL mid-run and rerun with
 * --resume ends in the same checkpoint bytes as an uninterrupted run; `ecgfm synth` makes the data.
 */
#include <limits.h>
#include <sys/stat.h>

#include "testutil.h"
#include "tests/api/testserver.h"

static char tmpdir[] = "/tmp/ecgfm-test-pretrain-resume-XXXXXX";
static char bin[PATH_MAX];
static char dataset[PATH_MAX];

/* Start bin with argv (NULL-terminated, argv[0] ignored), output to log. */
static pid_t spawn(char *const argv[], const char *log) {
    return ts_spawn(&(ts_spawn_opts){.bin = bin, .log = log}, argv + 1);
}

static void dump(const char *log) {
    FILE *f = fopen(log, "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

static int wait_status(pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) fail_msg("waitpid failed");
    return st;
}

static void run_to_end(char *const argv[], const char *log) {
    int st = wait_status(spawn(argv, log));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        dump(log);
        fail_msg("%s %s exited with status %d", bin, argv[1], st);
    }
}

static long latest_step(const char *out) {
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/LATEST", out);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long s = -1;
    if (fscanf(f, "step %ld", &s) != 1) s = -1;
    fclose(f);
    return s;
}

static char *slurp(const char *path, size_t *n) {
    char *p = ts_slurp(path, n);
    if (!p) fail_msg("cannot open %s", path);
    return p;
}

#define TOTAL_STEPS 22 /* 180 training records / batch 16 = 11 steps, 2 epochs */

static void test_sigkill_resume(void **state) {
    (void)state;
    char a[PATH_MAX], b[PATH_MAX], log[PATH_MAX];
    snprintf(a, sizeof a, "%s/run_a", tmpdir);
    snprintf(b, sizeof b, "%s/run_b", tmpdir);
#define ARGS(out, ...)                                                                             \
    {                                                                                              \
        "ecgfm", "pretrain", "--config", "configs/pretrain/small_cpc.json", "--dataset", dataset,  \
            "--out", out, "--threads", "1", "--batch", "16", "--epochs", "2", "--val", "20",       \
            "--checkpoint-every", "3", "--quiet", __VA_ARGS__ NULL                                 \
    }
    char *args_a[] = ARGS(a);
    char *args_b[] = ARGS(b);
    char *args_b_resume[] = ARGS(b, "--resume", );
    snprintf(log, sizeof log, "%s/a.log", tmpdir);
    double t0 = ts_now_s();
    run_to_end(args_a, log);
    double t_full = ts_now_s() - t0;
    assert_int_equal(latest_step(a), TOTAL_STEPS);

    /* Kill once a state exists mid-run (after step 6, well before the end). */
    snprintf(log, sizeof log, "%s/b.log", tmpdir);
    pid_t pid = spawn(args_b, log);
    long s = -1;
    t0 = ts_now_s();
    while ((s = latest_step(b)) < 6 && ts_now_s() - t0 < 120)
        usleep(2000);
    kill(pid, SIGKILL);
    int st = wait_status(pid);
    if (!WIFSIGNALED(st)) {
        dump(log);
        fail_msg("the run ended (status %d) before it could be killed", st);
    }
    s = latest_step(b);
    printf("killed at saved step %ld of %d (uninterrupted run %.1f s)\n", s, TOTAL_STEPS, t_full);
    assert_true(s >= 6 && s < TOTAL_STEPS);

    snprintf(log, sizeof log, "%s/b_resume.log", tmpdir);
    run_to_end(args_b_resume, log);
    static const char *const files[] = {"checkpoint.safetensors", "objective.safetensors"};
    for (int i = 0; i < 2; i++) {
        char pa[PATH_MAX + 64], pb[PATH_MAX + 64];
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        size_t na, nb;
        char *xa = slurp(pa, &na), *xb = slurp(pb, &nb);
        if (na != nb || memcmp(xa, xb, na) != 0) fail_msg("%s differs after the resume", files[i]);
        free(xa);
        free(xb);
    }

    /* A second run into a used directory without --resume is refused (exit 2), data kept. */
    snprintf(log, sizeof log, "%s/refused.log", tmpdir);
    st = wait_status(spawn(args_a, log));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

/* A bad config file is a usage error whose message names the key. */
static void test_bad_config_cli(void **state) {
    (void)state;
    char cfg[PATH_MAX], out[PATH_MAX], log[PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s/bad.json", tmpdir);
    snprintf(out, sizeof out, "%s/bad_out", tmpdir);
    snprintf(log, sizeof log, "%s/bad.log", tmpdir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fputs("{\"objective\": \"cpc\", \"optimizer\": {\"learning_rate\": 0.1}}\n", f);
    fclose(f);
    char *args[] = {"ecgfm", "pretrain", "--config", cfg, "--dataset", dataset, "--out", out, NULL};
    int st = wait_status(spawn(args, log));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    size_t n;
    char *text = slurp(log, &n);
    text[n] = 0;
    if (!strstr(text, "optimizer.learning_rate: unknown key")) fail_msg("message: %s", text);
    free(text);
    char *args2[] = {"ecgfm",     "pretrain", "--config", "configs/pretrain/small_cpc.json",
                     "--dataset", dataset,    "--out",    out,
                     "--batch",   "zero",     NULL};
    st = wait_status(spawn(args2, log));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

int main(void) {
    if (ts_find_bin(bin, sizeof bin, "test_pretrain_resume") != 0) return 1;
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dataset, sizeof dataset, "%s/synth", tmpdir);
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/synth.log", tmpdir);
    char *synth[] = {"ecgfm", "synth", "--out", dataset, "--n", "200", "--seed", "3", NULL};
    int st = wait_status(spawn(synth, log));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        dump(log);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_resume),
        cmocka_unit_test(test_bad_config_cli),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (rc == 0) ts_rm_tmpdir(tmpdir);
    return rc;
}

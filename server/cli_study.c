/* cli_study.c — `ecgfm study`: parse the study config, run study_run_all (SIGINT/SIGTERM stop the
 * current pretraining run with its state saved; rerun to resume), write every output file. */
#include "server/cli_study.h"

#include "server/cli_common.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/study_json.h"
#include "core/base/threads.h"
#include "core/study/study.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

void cli_study_usage(FILE *out) {
    fprintf(out,
            "study options (scaling study: pretraining on nested subsets x objectives x seeds,\n"
            "zero-shot transfer per task, fits and plots; see configs/studies/):\n"
            "  --config FILE      study config (JSON)                           [required]\n"
            "  --out DIR          study directory: runs/ and the results        [required]\n"
            "  --dataset DIR      pretraining dataset (replaces the config's)\n"
            "  --threads T        compute threads (replaces the config's; 0 = all cores)\n"
            "  --quiet            no progress lines\n"
            "  Writes table.csv, table.json, fit.json, scaling.svg, scaling_knn.svg, loss.svg,\n"
            "  README.md (and scaling_finetune.svg when the config fine-tunes). Finished runs\n"
            "  are kept: rerun the same command to resume.\n");
}

static atomic_int g_cancel;
static void on_signal(int sig) {
    (void)sig;
    atomic_store(&g_cancel, 1);
}

static int write_json(json_t *j, const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!j || json_dump_file(j, path, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) != 0) {
        fprintf(stderr, "ecgfm study: cannot write %s\n", path);
        json_decref(j);
        return -1;
    }
    json_decref(j);
    return 0;
}

int cli_study(int argc, char **argv) {
    const char *config = NULL, *out = NULL, *dataset = NULL, *s_threads = NULL;
    int quiet = 0;
    for (int i = 0; i < argc; i++) {
        int bad = 0;
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            cli_study_usage(stdout);
            return EXIT_OK;
        }
        if (!strcmp(argv[i], "--quiet"))
            quiet = 1;
        else if ((v = cli_opt_value(argc, argv, &i, "--config", &bad)))
            config = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--out", &bad)))
            out = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--dataset", &bad)))
            dataset = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--threads", &bad)))
            s_threads = v;
        else {
            fprintf(stderr, "ecgfm study: %s option %s\nrun `ecgfm help` for the options\n",
                    bad ? "missing value for" : "unknown", argv[i]);
            return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "ecgfm study: missing value for %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!config || !out) {
        fprintf(stderr, "ecgfm study: --config and --out are required\n"
                        "run `ecgfm help` for the options\n");
        return EXIT_USAGE;
    }
    static study_config cfg; /* large (pretraining configs per objective) */
    ecg_err err = {0};
    if (study_config_from_json_file(&cfg, config, &err)) {
        fprintf(stderr, "ecgfm study: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (dataset) {
        if (strlen(dataset) >= sizeof cfg.dataset) {
            fprintf(stderr, "ecgfm study: --dataset path too long\n");
            return EXIT_USAGE;
        }
        snprintf(cfg.dataset, sizeof cfg.dataset, "%s", dataset);
    }
    if (s_threads) {
        char *end;
        errno = 0;
        long t = strtol(s_threads, &end, 10);
        if (errno || end == s_threads || *end || t < 0 || t > 1024) {
            fprintf(stderr, "ecgfm study: --threads takes a non-negative integer\n");
            return EXIT_USAGE;
        }
        cfg.threads = (int)t;
    }
    if (study_config_validate(&cfg, &err)) {
        fprintf(stderr, "ecgfm study: %s\n", err.msg);
        return EXIT_USAGE;
    }
    threads_set(cfg.threads);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    study_hooks hooks = {.log = quiet ? NULL : stderr, .cancel = &g_cancel};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    study_result r;
    ecg_code rc = study_run_all(&cfg, out, &hooks, &r, &err);
    if (rc) {
        fprintf(stderr, "ecgfm study: %s\n", err.msg);
        study_result_free(&r);
        return EXIT_FAIL;
    }
    int fail = 0;
    char path[4096];
    struct {
        const char *name;
        int kind;
    } files[] = {{"table.csv", 0}, {"scaling.svg", 1}, {"scaling_knn.svg", 2},
                 {"loss.svg", 3},  {"README.md", 4},   {"scaling_finetune.svg", 5}};
    for (size_t k = 0; k < sizeof files / sizeof *files && !fail; k++) {
        if (files[k].kind == 5 && r.n_methods <= STUDY_FINETUNE) continue;
        snprintf(path, sizeof path, "%s/%s", out, files[k].name);
        switch (files[k].kind) {
        case 0: rc = study_write_csv(&r, path, &err); break;
        case 1: rc = study_write_scaling_svg(&r, 0, path, &err); break;
        case 2: rc = study_write_scaling_svg(&r, 1, path, &err); break;
        case 3: rc = study_write_loss_svg(&r, path, &err); break;
        case 5: rc = study_write_scaling_svg(&r, STUDY_FINETUNE, path, &err); break;
        default: rc = study_write_readme(&r, path, &err); break;
        }
        if (rc) {
            fprintf(stderr, "ecgfm study: %s\n", err.msg);
            fail = 1;
        }
    }
    if (!fail)
        fail = write_json(study_table_to_json(&r), out, "table.json") ||
               write_json(study_fit_to_json(&r), out, "fit.json");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!fail)
        printf("study %s: %d runs pretrained, %d kept from before, %d task evaluations reused; "
               "%.1f s; results in %s (README.md, table.csv, table.json, fit.json, *.svg)\n",
               cfg.name, r.n_pretrained, r.n_skipped, r.n_eval_cached,
               (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec), out);
    study_result_free(&r);
    return fail ? EXIT_FAIL : EXIT_OK;
}

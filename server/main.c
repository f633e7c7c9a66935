/* main.c — the ecgfm command line: `serve`, `version`, `help`. The only place that exits:
 * everything below returns an ecg_code, and this file maps it to a status (0 ok, 1 failure, 2
 * usage). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/threads.h"

#include "server/cli_embed.h"
#include "server/cli_finetune.h"
#include "server/cli_import.h"
#include "server/cli_keys.h"
#include "server/cli_pretrain.h"
#include "server/cli_study.h"
#include "server/cli_transfer.h"
#include "server/config.h"
#include "server/serve.h"
#include "server/version.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void print_usage(FILE *out) {
    fprintf(out, "usage: ecgfm <command> [options]\n"
                 "\n"
                 "ecgfm serves ECG foundation-model encoders over HTTP.\n"
                 "\n"
                 "commands:\n"
                 "  serve     run the HTTP service until SIGINT or SIGTERM\n"
                 "  pretrain  self-supervised pretraining from a dataset store (see below)\n"
                 "  synth     write a synthetic 12-lead ECG dataset into the store\n"
                 "  import    append WFDB/EDF trees and CODE-15%% HDF5 files to a store dataset\n"
                 "  keys      create, list and revoke API keys (see below)\n"
                 "  migrate   apply the database schema migrations and exit\n"
                 "  embed     embed ECG files with a checkpoint, as POST /v1/embed does\n"
                 "  transfer  zero-shot transfer of a checkpoint to a UCR/UEA task (see below)\n"
                 "  finetune  fine-tune a checkpoint on a UCR/UEA task (see below)\n"
                 "  study     scaling study: pretraining sizes x objectives x seeds, transfer, fits\n"
                 "  version   print the version\n"
                 "  help      print this help\n"
                 "\n"
                 "serve options (later sources win: defaults < config file < environment < flags;\n"
                 "flags take `--name VALUE` or `--name=VALUE`):\n");
    config_print_options(out);
    fprintf(out,
            "\n"
            "endpoints: GET /healthz (liveness), GET /readyz (503 until ready), GET /metrics,\n"
            "  GET /v1/openapi.json (every route, with the key scope it needs)\n"
            "\n");
    cli_keys_usage(out);
    fprintf(out, "\n");
    cli_embed_usage(out);
    cli_pretrain_usage(out);
    cli_import_usage(out);
    cli_transfer_usage(out);
    cli_study_usage(out);
    cli_finetune_usage(out);
    fprintf(out,
            "\n"
            "exit status: 0 ok, 1 runtime failure (e.g. port in use), 2 usage or config error\n");
}

static int cmd_serve(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_usage(stdout);
            return EXIT_OK;
        }
    }
    server_config cfg;
    ecg_err err = {0};
    if (config_load(&cfg, argc, argv, &err) != ECG_OK) {
        fprintf(stderr, "ecgfm serve: %s\nrun `ecgfm help` for the options\n", err.msg);
        return EXIT_USAGE;
    }
    if (serve_run(&cfg, &err) != ECG_OK) {
        fprintf(stderr, "ecgfm serve: %s\n", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int main(int argc, char **argv) {
    threads_blas_reexec(argv);
    /* Peers that hang up mid-response must cost one connection, not the process. */
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (argc < 2) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0) return cmd_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "embed") == 0) return cli_embed(argc - 2, argv + 2);
    if (strcmp(cmd, "pretrain") == 0) return cli_pretrain(argc - 2, argv + 2);
    if (strcmp(cmd, "synth") == 0) return cli_synth(argc - 2, argv + 2);
    if (strcmp(cmd, "import") == 0) return cli_import(argc - 2, argv + 2);
    if (strcmp(cmd, "keys") == 0) return cli_keys(argc - 2, argv + 2);
    if (strcmp(cmd, "migrate") == 0) return cli_migrate(argc - 2, argv + 2);
    if (strcmp(cmd, "transfer") == 0) return cli_transfer(argc - 2, argv + 2);
    if (strcmp(cmd, "study") == 0) return cli_study(argc - 2, argv + 2);
    if (strcmp(cmd, "finetune") == 0) return cli_finetune(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        if (argc > 2) {
            fprintf(stderr, "ecgfm version: takes no arguments\n");
            return EXIT_USAGE;
        }
        printf("ecgfm %s\n", ECGFM_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        print_usage(stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "ecgfm: unknown command \"%s\"\nrun `ecgfm help` for the commands\n", cmd);
    return EXIT_USAGE;
}

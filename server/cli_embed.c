/* cli_embed.c — `ecgfm embed` (see cli_embed.h): read each file, cut it into windows with
 * api/embed.c (as the service does), run the encoder in batches, print the service's JSON. */
#include "server/cli_embed.h"

#include <stdlib.h>
#include <string.h>

#include "api/embed.h"
#include "core/base/threads.h"
#include "core/model/encoder.h"
#include "server/embed_worker.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };
#define CLI_BATCH 32

void cli_embed_usage(FILE *out) {
    fprintf(
        out,
        "embed options: ecgfm embed [--checkpoint FILE] [--pooling mean|windows] [--fs HZ]\n"
        "                           [--threads T] FILE...\n"
        "  FILE               a WFDB record (.hea, its .dat beside it), .csv, .npy or .edf\n"
        "  --checkpoint FILE  encoder checkpoint (default " CLI_EMBED_DEFAULT_MODEL ")\n"
        "  --pooling P        mean over the record's 2.5 s windows (default) or one per window\n"
        "  --fs HZ            sampling rate for .npy files and CSV without a time column\n"
        "  prints one JSON object per file, as POST /v1/embed answers, plus \"file\".\n");
}

static const char *arg_value(int argc, char **argv, int *i, const char *name) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != 0 || *i + 1 >= argc) return NULL;
    return argv[++*i];
}

static int embed_one(encoder *enc, int zscore, const char *path, double fs, embed_pooling pool,
                     const char *ckpt_label) {
    ecg_err err = {0};
    ecg_record r = {0};
    if (embed_read_file(&r, path, fs, &err)) {
        fprintf(stderr, "ecgfm embed: %s\n", err.msg);
        return -1;
    }
    const struct encoder_config *c = encoder_get_config(enc);
    embed_windows w;
    ecg_code rc = embed_windows_make(&w, &r, c->in_samples, zscore, NULL, &err);
    record_free(&r);
    if (rc) {
        fprintf(stderr, "ecgfm embed: %s: %s\n", path, err.msg);
        return -1;
    }
    int dim = c->d_model;
    size_t per = (size_t)ECG_N_LEADS * (size_t)w.win;
    float *emb = malloc((w.n_windows ? w.n_windows : 1) * (size_t)dim * sizeof *emb);
    if (!emb) {
        embed_windows_free(&w);
        fprintf(stderr, "ecgfm embed: out of memory\n");
        return -1;
    }
    for (size_t s = 0; s < w.n_windows && !rc; s += CLI_BATCH) {
        int B = (int)(w.n_windows - s < CLI_BATCH ? w.n_windows - s : CLI_BATCH);
        rc = encoder_forward(enc, w.x + s * per, B, ENC_EVAL, &err);
        if (!rc)
            memcpy(emb + s * (size_t)dim, encoder_embedding(enc),
                   (size_t)B * (size_t)dim * sizeof *emb);
    }
    int ret = -1;
    if (rc) {
        fprintf(stderr, "ecgfm embed: %s: %s\n", path, err.msg);
    } else {
        embed_output o = {pool, 0, EMBED_ENC_FLOAT};
        json_t *j = embed_result_json(emb, w.n_windows, dim, &o, ckpt_label, &w);
        if (j && json_object_set_new(j, "file", json_string(path)) == 0) {
            char *text = json_dumps(j, JSON_COMPACT);
            if (text) {
                printf("%s\n", text);
                free(text);
                ret = 0;
            }
        }
        json_decref(j);
        if (ret) fprintf(stderr, "ecgfm embed: out of memory writing JSON\n");
    }
    free(emb);
    embed_windows_free(&w);
    return ret;
}

int cli_embed(int argc, char **argv) {
    const char *ckpt = CLI_EMBED_DEFAULT_MODEL, *v;
    embed_pooling pool = EMBED_POOL_MEAN;
    double fs = 0;
    int threads = 0, first_file = -1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            cli_embed_usage(stdout);
            return EXIT_OK;
        }
        if (strncmp(argv[i], "--", 2) != 0) {
            first_file = i;
            break;
        }
        if ((v = arg_value(argc, argv, &i, "--checkpoint")))
            ckpt = v;
        else if ((v = arg_value(argc, argv, &i, "--pooling"))) {
            if (!strcmp(v, "mean"))
                pool = EMBED_POOL_MEAN;
            else if (!strcmp(v, "windows"))
                pool = EMBED_POOL_WINDOWS;
            else {
                fprintf(stderr, "ecgfm embed: --pooling is mean or windows\n");
                return EXIT_USAGE;
            }
        } else if ((v = arg_value(argc, argv, &i, "--fs"))) {
            char *end;
            fs = strtod(v, &end);
            if (end == v || *end || !(fs > 0)) {
                fprintf(stderr, "ecgfm embed: --fs wants a positive number\n");
                return EXIT_USAGE;
            }
        } else if ((v = arg_value(argc, argv, &i, "--threads"))) {
            threads = atoi(v);
        } else {
            fprintf(stderr, "ecgfm embed: unknown option or missing value: %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (first_file < 0) {
        fprintf(stderr, "ecgfm embed: no input file\n");
        cli_embed_usage(stderr);
        return EXIT_USAGE;
    }
    threads_set(threads);
    encoder *enc = NULL;
    int zscore = 0;
    ecg_err err = {0};
    if (embed_model_load(ckpt, CLI_BATCH, &enc, &zscore, &err)) {
        fprintf(stderr, "ecgfm embed: %s\n", err.msg);
        return EXIT_FAIL;
    }
    int failed = 0;
    for (int i = first_file; i < argc; i++)
        if (embed_one(enc, zscore, argv[i], fs, pool,
                      strcmp(ckpt, CLI_EMBED_DEFAULT_MODEL) ? ckpt : "default"))
            failed = 1;
    encoder_free(enc);
    return failed ? EXIT_FAIL : EXIT_OK;
}

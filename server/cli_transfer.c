/* cli_transfer.c — `ecgfm transfer`: read a task's train and test splits, load the checkpoint,
 * run transfer_run and print the report (a table, or JSON with --json). */
#include "server/cli_transfer.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/encoder_config_json.h"
#include "api/transfer_json.h"
#include "core/base/threads.h"
#include "core/data/taskfmt.h"
#include "core/format/safetensors.h"
#include "core/model/checkpoint.h"
#include "core/transfer/transfer.h"
#include "server/cli_common.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

void cli_transfer_usage(FILE *out) {
    fprintf(
        out,
        "transfer options (zero-shot transfer to a UCR/UEA task; .ts, .arff or UCR .tsv/.txt):\n"
        "  --checkpoint FILE  encoder checkpoint (.safetensors)          [or --model]\n"
        "  --model FILE       model config only: the baselines without a checkpoint\n"
        "  --train FILE --test FILE                                      [required]\n"
        "  --channels lead2|all|multi   default all (multi for multichannel tasks)\n"
        "  --length resample|slide      default resample\n"
        "  --slide-rate R     resized samples per series sample (slide; default 4)\n"
        "  --slide-stride S   samples between windows (slide; default 300)\n"
        "  --resize linear|sinc         length-to-length resize (default linear)\n"
        "  --amplitude unit|mv          z-scored (unit, default) or PTB-XL lead spread in mV\n"
        "  --seed S           classifier CV folds (default 0)\n"
        "  --random-seed S    weights of the random-init baseline (default 1)\n"
        "  --threads T        compute threads (0 = all cores)\n"
        "  --select           choose channels and length by 5-fold cross-validation on the\n"
        "                     train split only (lead2/all or multi x resample/slide rate\n"
        "                     2 and 4, stride 300; best mean CV accuracy of the three\n"
        "                     classifiers), then score the choice on test (without\n"
        "                     --test: the selection table only)\n"
        "  --json             the report as JSON on stdout\n");
}

static void print_score(const char *col, const transfer_score *s) {
    printf("  %-12s %-17s %8.4f %8.4f %8.4f  %s\n", col, s->classifier, s->accuracy,
           s->balanced_accuracy, s->macro_f1, s->param);
}

static void print_report(const transfer_report *r, const char *objective) {
    printf("task %s: %d train / %d test, %d classes, %d channel%s, length %zu", r->task, r->n_train,
           r->n_test, r->n_classes, r->n_dims, r->n_dims == 1 ? "" : "s", r->min_length);
    if (r->max_length != r->min_length) printf("-%zu", r->max_length);
    printf("\nmapping: channels %s, length %s", map_channels_name(r->map.channels),
           map_length_name(r->map.length));
    if (r->map.length == MAP_LEN_SLIDE)
        printf(" (rate %g, stride %d)", r->map.slide_rate, r->map.slide_stride);
    printf(", resize %s, amplitude %s%s%s%s\n",
           r->map.resize == RESAMPLE_LINEAR ? "linear" : "sinc",
           map_amplitude_name(r->map.amplitude), objective ? " (checkpoint objective " : "",
           objective ? objective : "", objective ? ")" : "");
    printf("  %-12s %-17s %8s %8s %8s  %s\n", "encoder", "classifier", "accuracy", "bal_acc",
           "macro_f1", "chosen on train");
    if (r->has_checkpoint)
        for (int c = 0; c < r->checkpoint.n_scores; c++)
            print_score("checkpoint", &r->checkpoint.score[c]);
    for (int c = 0; c < r->random_init.n_scores; c++)
        print_score("random_init", &r->random_init.score[c]);
    print_score("raw", &r->raw_1nn);
    if (r->raw_length != r->min_length)
        printf("  (raw 1-NN: unequal lengths resized to %zu by linear interpolation)\n",
               r->raw_length);
}

/* Train-only choice of the mapping (see --select): candidates in a fixed order, the first best
 * mean CV accuracy wins. Prints the table to out (may be NULL), appends candidates to arr. */
static ecg_code select_mapping(encoder *e, transfer_opts *o, const task_split *train, FILE *out,
                               json_t *arr, ecg_err *err) {
    map_opts cand[8];
    int n = 0;
    map_channels chs[2] = {MAP_CH_LEAD2, MAP_CH_ALL};
    int n_ch = train->n_dims > 1 ? 1 : 2;
    if (train->n_dims > 1) chs[0] = MAP_CH_MULTI;
    const double rates[3] = {0, 2, 4};
    for (int c = 0; c < n_ch; c++)
        for (int l = 0; l < 3; l++) {
            cand[n] = o->map;
            cand[n].channels = chs[c];
            cand[n].length = l ? MAP_LEN_SLIDE : MAP_LEN_RESAMPLE;
            cand[n].slide_rate = l ? rates[l] : o->map.slide_rate;
            cand[n].slide_stride = 300;
            n++;
        }
    int folds = train->n_series < 5 ? train->n_series : 5, best = -1;
    double best_mean = -1;
    if (out)
        fprintf(out,
                "mapping selection: %d-fold CV accuracy on the train split only\n"
                "  %-8s %-8s %5s %9s %9s %9s %9s\n",
                folds, "channels", "length", "rate", "centroid", "knn", "logreg", "mean");
    for (int k = 0; k < n; k++) {
        double acc[TRANSFER_MAX_CLASSIFIERS];
        ecg_code rc = transfer_cv_train(e, &cand[k], train, folds, o->seed, acc, err);
        if (rc) return rc;
        double mean = (acc[0] + acc[1] + acc[2]) / 3;
        if (out)
            fprintf(out, "  %-8s %-8s %5s %9.4f %9.4f %9.4f %9.4f\n",
                    map_channels_name(cand[k].channels), map_length_name(cand[k].length),
                    cand[k].length == MAP_LEN_SLIDE ? (cand[k].slide_rate == 2 ? "2" : "4") : "-",
                    acc[0], acc[1], acc[2], mean);
        if (arr) json_array_append_new(arr, transfer_candidate_to_json(&cand[k], acc, mean));
        if (mean > best_mean) {
            best_mean = mean;
            best = k;
        }
    }
    o->map = cand[best];
    return ECG_OK;
}

int cli_transfer(int argc, char **argv) {
    const char *ckpt = NULL, *model = NULL, *train_path = NULL, *test_path = NULL, *s_ch = NULL,
               *s_len = NULL, *s_rate = NULL, *s_stride = NULL, *s_resize = NULL, *s_amp = NULL,
               *s_seed = NULL, *s_rseed = NULL, *s_threads = NULL;
    int json = 0, select = 0;
    for (int i = 0; i < argc; i++) {
        int bad = 0;
        const char *v;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            cli_transfer_usage(stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--select") == 0)
            select = 1;
        else if ((v = cli_opt_value(argc, argv, &i, "--checkpoint", &bad)))
            ckpt = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--model", &bad)))
            model = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--train", &bad)))
            train_path = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--test", &bad)))
            test_path = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--channels", &bad)))
            s_ch = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--length", &bad)))
            s_len = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--slide-rate", &bad)))
            s_rate = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--slide-stride", &bad)))
            s_stride = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--resize", &bad)))
            s_resize = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--amplitude", &bad)))
            s_amp = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--seed", &bad)))
            s_seed = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--random-seed", &bad)))
            s_rseed = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--threads", &bad)))
            s_threads = v;
        else {
            fprintf(stderr, "ecgfm transfer: unknown option %s\nrun `ecgfm help` for the options\n",
                    argv[i]);
            return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "ecgfm transfer: missing value for %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!train_path || (!test_path && !select) || (!ckpt == !model)) {
        fprintf(stderr, "ecgfm transfer: --train, --test (optional with --select) and one of "
                        "--checkpoint or --model are required\nrun `ecgfm help` for the options\n");
        return EXIT_USAGE;
    }
    ecg_err err = {0};
    transfer_opts o;
    transfer_opts_default(&o);
    if ((s_ch && map_channels_parse(s_ch, &o.map.channels, &err)) ||
        (s_len && map_length_parse(s_len, &o.map.length, &err)) ||
        (s_amp && map_amplitude_parse(s_amp, &o.map.amplitude, &err))) {
        fprintf(stderr, "ecgfm transfer: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (s_resize) {
        if (strcmp(s_resize, "linear") == 0)
            o.map.resize = RESAMPLE_LINEAR;
        else if (strcmp(s_resize, "sinc") == 0)
            o.map.resize = RESAMPLE_SINC;
        else {
            fprintf(stderr, "ecgfm transfer: --resize must be linear or sinc\n");
            return EXIT_USAGE;
        }
    }
    uint64_t u;
    if (s_rate) {
        char *end;
        o.map.slide_rate = strtod(s_rate, &end);
        if (end == s_rate || *end || !(o.map.slide_rate > 0)) {
            fprintf(stderr, "ecgfm transfer: --slide-rate must be a positive number\n");
            return EXIT_USAGE;
        }
    }
    if (s_stride) {
        if (!cli_parse_u64(s_stride, &u) || u < 1 || u > 1000000) {
            fprintf(stderr, "ecgfm transfer: --slide-stride must be a positive integer\n");
            return EXIT_USAGE;
        }
        o.map.slide_stride = (int)u;
    }
    if ((s_seed && !cli_parse_u64(s_seed, &o.seed)) ||
        (s_rseed && !cli_parse_u64(s_rseed, &o.random_seed))) {
        fprintf(stderr, "ecgfm transfer: --seed and --random-seed take non-negative integers\n");
        return EXIT_USAGE;
    }
    if (s_threads) {
        if (!cli_parse_u64(s_threads, &u) || u > 1024) {
            fprintf(stderr, "ecgfm transfer: --threads takes a non-negative integer\n");
            return EXIT_USAGE;
        }
        threads_set((int)u);
    }

    task_split train = {0}, test = {0};
    if (cli_read_splits(train_path, test_path, &train, &test, &err)) {
        fprintf(stderr, "ecgfm transfer: %s\n", err.msg);
        return EXIT_FAIL;
    }
    if (train.n_dims > 1 && !s_ch) o.map.channels = MAP_CH_MULTI;

    int rcode = EXIT_OK;
    encoder *e = NULL;
    struct encoder_config cfg;
    char objective[64] = "";
    if (ckpt) {
        /* The pretraining objective, reported beside the result. */
        st_file f;
        ecg_code rc = st_read_file(&f, ckpt, &err);
        if (!rc) {
            const char *obj = st_meta_get(&f, "ecgfm.pretrain.objective");
            if (obj) snprintf(objective, sizeof objective, "%s", obj);
            st_free(&f);
            rc = checkpoint_load_encoder(ckpt, TRANSFER_BATCH, ENC_INFERENCE_ONLY, &e, &err);
        }
        if (rc) {
            fprintf(stderr, "ecgfm transfer: %s: %s\n", ckpt, err.msg);
            rcode = EXIT_FAIL;
            goto out;
        }
    } else if (encoder_config_from_json_file(&cfg, model, &err)) {
        fprintf(stderr, "ecgfm transfer: %s\n", err.msg);
        rcode = EXIT_USAGE;
        goto out;
    }
    if (train.n_dims > 12 && o.map.channels == MAP_CH_MULTI)
        fprintf(stderr,
                "ecgfm transfer: note: %d channels, the encoder has 12 leads: channels 13-%d "
                "are dropped\n",
                train.n_dims, train.n_dims);
    json_t *sel = NULL;
    if (select) {
        encoder *se = e;
        if (!se &&
            encoder_create(&se, &cfg, TRANSFER_BATCH, o.random_seed, ENC_INFERENCE_ONLY, &err)) {
            fprintf(stderr, "ecgfm transfer: %s\n", err.msg);
            rcode = EXIT_FAIL;
            goto out;
        }
        sel = json_array();
        if (select_mapping(se, &o, &train, json ? NULL : stdout, sel, &err)) {
            fprintf(stderr, "ecgfm transfer: %s\n", err.msg);
            rcode = EXIT_FAIL;
        }
        if (se != e) encoder_free(se);
        if (rcode) {
            json_decref(sel);
            goto out;
        }
    }
    if (!test_path) { /* selection only */
        if (json) {
            char *text = json_dumps(sel, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
            if (text) printf("%s\n", text);
            free(text);
        }
        json_decref(sel);
        goto out;
    }
    transfer_report r;
    if (transfer_run(e, e ? NULL : &cfg, &o, &train, &test, &r, &err)) {
        fprintf(stderr, "ecgfm transfer: %s\n", err.msg);
        rcode = EXIT_FAIL;
        goto out;
    }
    if (json) {
        json_t *j = transfer_report_to_json(&r);
        if (j && !json_object_set_new(j, "checkpoint_path", json_string(ckpt ? ckpt : "")) &&
            !json_object_set_new(j, "objective",
                                 objective[0] ? json_string(objective) : json_null()) &&
            (!sel || !json_object_set_new(j, "selection", json_incref(sel)))) {
            char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
            if (text)
                printf("%s\n", text);
            else
                rcode = EXIT_FAIL;
            free(text);
        } else
            rcode = EXIT_FAIL;
        json_decref(j);
        if (rcode) fprintf(stderr, "ecgfm transfer: out of memory writing JSON\n");
    } else
        print_report(&r, objective[0] ? objective : NULL);
    transfer_report_free(&r);
    json_decref(sel);
out:
    encoder_free(e);
    task_split_free(&train);
    task_split_free(&test);
    return rcode;
}

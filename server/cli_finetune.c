/* cli_finetune.c — `ecgfm finetune`: read a task's train and test splits, load the checkpoint (or
 * build a random-init encoder of a model config), run finetune_run and print the result. */
#include "server/cli_finetune.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/encoder_config_json.h"
#include "api/finetune_json.h"
#include "core/base/threads.h"
#include "core/data/taskfmt.h"
#include "core/model/checkpoint.h"
#include "core/data/store.h"
#include "core/transfer/finetune.h"
#include "core/transfer/finetune_ecg.h"
#include "server/cli_common.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

void cli_finetune_usage(FILE *out) {
    fprintf(out,
            "finetune options (train on a UCR/UEA task's train split, score on test):\n"
            "  --checkpoint FILE  encoder checkpoint (.safetensors)\n"
            "  --random           a random-init encoder instead (the from-scratch baseline\n"
            "                     with --mode finetune): the checkpoint's config with\n"
            "                     --checkpoint, else --model FILE (a model config JSON)\n"
            "  --train FILE --test FILE                                      [required]\n"
            "  --mode finetune|frozen|linear  default finetune (encoder + linear head; frozen:\n"
            "                     attention-pooling head on the frozen encoder; linear:\n"
            "                     linear head on the frozen mean-pooled embedding)\n"
            "  --epochs N         at most N epochs (default 100)\n"
            "  --patience P       early stopping patience in epochs (default 20)\n"
            "  --val-fraction F   stratified share of train held out for it (default 0.2)\n"
            "  --lr X             base learning rate (default 0.01; finetune: stem x0.01,\n"
            "                     backbone x0.1, head x1)\n"
            "  --batch B          windows per step (default 16)\n"
            "  --seed S           split, shuffling, head init and dropout (default 0)\n"
            "  --random-seed S    weights of the --random encoder (default 1)\n"
            "  --channels lead2|all|multi, --length resample|slide   as `ecgfm transfer`\n"
            "  --threads T        compute threads (0 = all cores)\n"
            "  --json             the result as JSON on stdout\n"
            "finetune --dataset options (a labelled ECG dataset of the store; record-level\n"
            "train/validation/test split; scored by macro AUROC over record means of\n"
            "non-overlapping 2.5 s windows):\n"
            "  --dataset DIR      the dataset (ecgfm synth / ecgfm import)          [required]\n"
            "  --label-field K    label field 0-3 (default 0): a class index per record, or\n"
            "  --multilabel       a bitmask of up to 31 classes (bit c = class c present)\n"
            "  --checkpoint FILE | --random [--model FILE], --mode, --lr, --batch, --seed,\n"
            "  --random-seed, --threads, --json   as above\n"
            "  --epochs N         at most N epochs, one random crop per train record (default 30)\n"
            "  --patience P       epochs without a better validation macro AUROC (default 10)\n"
            "  --val-fraction F   share of labelled records for validation (default 0.1)\n"
            "  --test-fraction F  share of labelled records for test (default 0.2)\n");
}

static int parse_int(const char *s, int lo, int hi, int *out) {
    uint64_t u;
    if (!cli_parse_u64(s, &u) || u < (uint64_t)lo || u > (uint64_t)hi) return 0;
    *out = (int)u;
    return 1;
}

static int parse_double(const char *s, double lo, double hi, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) return 0;
    *out = v;
    return 1;
}

/* --lr: a number in [0, 10] into *lr; 0, or -1 after saying why on stderr. */
static int parse_lr(const char *s, float *lr) {
    double v;
    if (!parse_double(s, 0, 10, &v)) {
        fprintf(stderr, "ecgfm finetune: --lr must be a number in [0, 10]\n");
        return -1;
    }
    *lr = (float)v;
    return 0;
}

/* --threads: 0..1024 compute threads (0 = all cores) set for the run; 0, or -1 after saying why. */
static int set_threads(const char *s) {
    int t;
    if (!parse_int(s, 0, 1024, &t)) {
        fprintf(stderr, "ecgfm finetune: --threads takes a non-negative integer\n");
        return -1;
    }
    threads_set(t);
    return 0;
}

/* --json: the result object j (taken; ok 0 when the caller's own fields did not go in) with
 * "encoder" and "checkpoint_path" added, indented on stdout. EXIT_OK, or EXIT_FAIL after saying
 * it ran out of memory. */
static int print_result_json(json_t *j, int ok, int random, const char *ckpt) {
    char *text = NULL;
    int rcode = EXIT_OK;
    if (ok &&
        !json_object_set_new(j, "encoder", json_string(random ? "random_init" : "checkpoint")) &&
        !json_object_set_new(j, "checkpoint_path", json_string(ckpt ? ckpt : "")) &&
        (text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(9))))
        printf("%s\n", text);
    else {
        fprintf(stderr, "ecgfm finetune: out of memory writing JSON\n");
        rcode = EXIT_FAIL;
    }
    free(text);
    json_decref(j);
    return rcode;
}

/* The checkpoint's encoder, or with random a random-init one of the checkpoint's (or model's)
 * config. FINETUNE trains the encoder: it needs the backward activations. */
static ecg_code make_encoder(const char *ckpt, const char *model, int random, uint64_t rseed,
                             ft_mode mode, int batch, encoder **e, ecg_err *err) {
    struct encoder_config cfg;
    int flags = mode == FT_FINETUNE ? 0 : ENC_INFERENCE_ONLY;
    int max_b = batch > 32 ? batch : 32;
    ecg_code rc;
    if (random) {
        rc = ckpt ? checkpoint_read_config(ckpt, &cfg, err)
                  : encoder_config_from_json_file(&cfg, model, err);
        if (!rc) rc = encoder_create(e, &cfg, max_b, rseed, flags, err);
    } else
        rc = checkpoint_load_encoder(ckpt, max_b, flags, e, err);
    return rc;
}

static int cli_finetune_dataset(int argc, char **argv);

int cli_finetune(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--dataset") == 0) return cli_finetune_dataset(argc, argv);
    const char *ckpt = NULL, *model = NULL, *train_path = NULL, *test_path = NULL, *s_mode = NULL,
               *s_epochs = NULL, *s_pat = NULL, *s_vf = NULL, *s_lr = NULL, *s_batch = NULL,
               *s_seed = NULL, *s_rseed = NULL, *s_ch = NULL, *s_len = NULL, *s_threads = NULL;
    int json = 0, random = 0;
    for (int i = 0; i < argc; i++) {
        int bad = 0;
        const char *v;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            cli_finetune_usage(stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--random") == 0)
            random = 1;
        else if ((v = cli_opt_value(argc, argv, &i, "--checkpoint", &bad)))
            ckpt = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--model", &bad)))
            model = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--train", &bad)))
            train_path = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--test", &bad)))
            test_path = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--mode", &bad)))
            s_mode = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--epochs", &bad)))
            s_epochs = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--patience", &bad)))
            s_pat = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--val-fraction", &bad)))
            s_vf = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--lr", &bad)))
            s_lr = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--batch", &bad)))
            s_batch = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--seed", &bad)))
            s_seed = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--random-seed", &bad)))
            s_rseed = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--channels", &bad)))
            s_ch = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--length", &bad)))
            s_len = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--threads", &bad)))
            s_threads = v;
        else {
            fprintf(stderr, "ecgfm finetune: unknown option %s\nrun `ecgfm help` for the options\n",
                    argv[i]);
            return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "ecgfm finetune: missing value for %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!train_path || !test_path || (!ckpt && !(random && model)) || (ckpt && model)) {
        fprintf(stderr,
                "ecgfm finetune: --train, --test and --checkpoint (or --random with "
                "--checkpoint or --model) are required\nrun `ecgfm help` for the options\n");
        return EXIT_USAGE;
    }
    ecg_err err = {0};
    ft_opts o;
    ft_opts_default(&o);
    uint64_t rseed = 1;
    if ((s_mode && ft_mode_parse(s_mode, &o.mode, &err)) ||
        (s_ch && map_channels_parse(s_ch, &o.map.channels, &err)) ||
        (s_len && map_length_parse(s_len, &o.map.length, &err))) {
        fprintf(stderr, "ecgfm finetune: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if ((s_epochs && !parse_int(s_epochs, 0, 100000, &o.epochs)) ||
        (s_pat && !parse_int(s_pat, 0, 100000, &o.patience)) ||
        (s_batch && !parse_int(s_batch, 1, 4096, &o.batch)) ||
        (s_seed && !cli_parse_u64(s_seed, &o.seed)) ||
        (s_rseed && !cli_parse_u64(s_rseed, &rseed))) {
        fprintf(stderr, "ecgfm finetune: --epochs, --patience, --batch (1-4096), --seed and "
                        "--random-seed take non-negative integers\n");
        return EXIT_USAGE;
    }
    if (s_lr && parse_lr(s_lr, &o.lr)) return EXIT_USAGE;
    if (s_vf) {
        if (!parse_double(s_vf, 0, 0.9, &o.val_fraction)) {
            fprintf(stderr, "ecgfm finetune: --val-fraction must be in [0, 0.9]\n");
            return EXIT_USAGE;
        }
    }
    if (s_threads && set_threads(s_threads)) return EXIT_USAGE;
    task_split train = {0}, test = {0};
    if (cli_read_splits(train_path, test_path, &train, &test, &err)) {
        fprintf(stderr, "ecgfm finetune: %s\n", err.msg);
        return EXIT_FAIL;
    }
    if (train.n_dims > 1 && !s_ch) o.map.channels = MAP_CH_MULTI;

    int rcode = EXIT_OK;
    encoder *e = NULL;
    if (make_encoder(ckpt, model, random, rseed, o.mode, o.batch, &e, &err)) {
        fprintf(stderr, "ecgfm finetune: %s\n", err.msg);
        rcode = EXIT_FAIL;
        goto out;
    }
    ft_result r;
    if (finetune_run(e, &o, &train, &test, &r, &err)) {
        fprintf(stderr, "ecgfm finetune: %s\n", err.msg);
        rcode = EXIT_FAIL;
        goto out;
    }
    if (json) {
        json_t *j = ft_result_to_json(&o, &r);
        int ok = j && !json_object_set_new(j, "task", json_string(train.name));
        rcode = print_result_json(j, ok, random, ckpt);
    } else {
        printf("task %s: %d train (%d fit + %d validation) / %d test, %d classes\n", train.name,
               train.n_series, r.n_fit, r.n_val, test.n_series, train.n_classes);
        printf("mode %s, encoder %s, lr %g, batch %d, seed %llu: best epoch %d of %d (%.1f s)\n",
               ft_mode_name(o.mode), random ? "random_init" : "checkpoint",
               (double)(o.lr > 0 ? o.lr : ft_default_lr(o.mode)), o.batch,
               (unsigned long long)o.seed, r.best_epoch, r.epochs_run, r.seconds);
        if (r.n_val > 0)
            printf("validation at the best epoch: accuracy %.4f, loss %.4f\n",
                   r.val_acc[r.best_epoch], r.val_loss[r.best_epoch]);
        printf("test: accuracy %.4f, balanced accuracy %.4f, macro-F1 %.4f, AUROC %.4f\n",
               r.test.accuracy, r.test.balanced_accuracy, r.test.macro_f1, r.test.auroc);
    }
    ft_result_free(&r);
out:
    encoder_free(e);
    task_split_free(&train);
    task_split_free(&test);
    return rcode;
}

/* ---- `ecgfm finetune --dataset DIR`: a labelled ECG dataset of the store ---- */

static void print_scores(const char *what, const fte_scores *s, const fte_result *r) {
    printf("%s: %d records, %d windows; macro AUROC %.4f over %d of %d classes", what, s->n_records,
           s->n_windows, s->macro_auroc, s->n_scored, r->n_classes);
    if (!r->multilabel) printf(", accuracy %.4f", s->accuracy);
    printf("\n");
    for (int c = 0; s->auroc && c < r->n_classes; c++) {
        if (isnan(s->auroc[c]))
            printf("  %-24s AUROC    -    (skipped: %d of %d records positive)\n",
                   r->class_names[c], s->positives[c], s->n_records);
        else
            printf("  %-24s AUROC %.4f (%d positive)\n", r->class_names[c], s->auroc[c],
                   s->positives[c]);
    }
}

static int cli_finetune_dataset(int argc, char **argv) {
    const char *dir = NULL, *ckpt = NULL, *model = NULL, *s_field = NULL, *s_mode = NULL,
               *s_epochs = NULL, *s_pat = NULL, *s_vf = NULL, *s_tf = NULL, *s_lr = NULL,
               *s_batch = NULL, *s_seed = NULL, *s_rseed = NULL, *s_threads = NULL;
    int json = 0, random = 0, multi = 0;
    for (int i = 0; i < argc; i++) {
        int bad = 0;
        const char *v;
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--random") == 0)
            random = 1;
        else if (strcmp(argv[i], "--multilabel") == 0)
            multi = 1;
        else if ((v = cli_opt_value(argc, argv, &i, "--dataset", &bad)))
            dir = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--checkpoint", &bad)))
            ckpt = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--model", &bad)))
            model = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--label-field", &bad)))
            s_field = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--mode", &bad)))
            s_mode = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--epochs", &bad)))
            s_epochs = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--patience", &bad)))
            s_pat = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--val-fraction", &bad)))
            s_vf = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--test-fraction", &bad)))
            s_tf = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--lr", &bad)))
            s_lr = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--batch", &bad)))
            s_batch = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--seed", &bad)))
            s_seed = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--random-seed", &bad)))
            s_rseed = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--threads", &bad)))
            s_threads = v;
        else {
            fprintf(stderr,
                    "ecgfm finetune: unknown option %s with --dataset\nrun `ecgfm help` for the "
                    "options\n",
                    argv[i]);
            return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "ecgfm finetune: missing value for %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!dir || (!ckpt && !(random && model)) || (ckpt && model)) {
        fprintf(stderr,
                "ecgfm finetune: --dataset and --checkpoint (or --random with "
                "--checkpoint or --model) are required\nrun `ecgfm help` for the options\n");
        return EXIT_USAGE;
    }
    ecg_err err = {0};
    fte_opts o;
    fte_opts_default(&o);
    o.multilabel = multi;
    uint64_t rseed = 1;
    if (s_mode && ft_mode_parse(s_mode, &o.mode, &err)) {
        fprintf(stderr, "ecgfm finetune: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if ((s_field && !parse_int(s_field, 0, STORE_N_LABELS - 1, &o.label_field)) ||
        (s_epochs && !parse_int(s_epochs, 0, 100000, &o.epochs)) ||
        (s_pat && !parse_int(s_pat, 0, 100000, &o.patience)) ||
        (s_batch && !parse_int(s_batch, 1, 4096, &o.batch)) ||
        (s_seed && !cli_parse_u64(s_seed, &o.seed)) ||
        (s_rseed && !cli_parse_u64(s_rseed, &rseed))) {
        fprintf(stderr, "ecgfm finetune: --label-field (0-3), --epochs, --patience, --batch "
                        "(1-4096), --seed and --random-seed take non-negative integers\n");
        return EXIT_USAGE;
    }
    if (s_lr && parse_lr(s_lr, &o.lr)) return EXIT_USAGE;
    if ((s_vf && !parse_double(s_vf, 0, 0.9, &o.val_fraction)) ||
        (s_tf && !parse_double(s_tf, 0, 0.9, &o.test_fraction)) ||
        o.val_fraction + o.test_fraction >= 1) {
        fprintf(stderr, "ecgfm finetune: --val-fraction and --test-fraction must be in [0, 0.9] "
                        "and sum below 1\n");
        return EXIT_USAGE;
    }
    if (s_threads && set_threads(s_threads)) return EXIT_USAGE;
    int rcode = EXIT_OK;
    store_dataset *ds = NULL;
    encoder *e = NULL;
    fte_result r;
    if (store_open(&ds, dir, 0, &err) ||
        make_encoder(ckpt, model, random, rseed, o.mode, o.batch, &e, &err) ||
        finetune_ecg_run(e, ds, &o, &r, &err)) {
        fprintf(stderr, "ecgfm finetune: %s\n", err.msg);
        rcode = EXIT_FAIL;
        goto out;
    }
    const char *field = store_label_name(ds, o.label_field);
    if (json) {
        json_t *j = fte_result_to_json(&o, &r);
        int ok = j && !json_object_set_new(j, "dataset", json_string(dir)) &&
                 !json_object_set_new(j, "label_name", field ? json_string(field) : json_null());
        rcode = print_result_json(j, ok, random, ckpt);
    } else {
        printf("dataset %s, label field %d (%s, %s, %d classes): %zu records, %d unlabelled; "
               "%d train / %d validation / %d test\n",
               dir, o.label_field, field ? field : "unnamed",
               o.multilabel ? "multi-label" : "single-label", r.n_classes, r.n_records,
               r.n_unlabelled, r.n_train, r.n_val, r.n_test);
        printf("mode %s, encoder %s, lr %g, batch %d, seed %llu: best epoch %d of %d (%.1f s)\n",
               ft_mode_name(o.mode), random ? "random_init" : "checkpoint",
               (double)(o.lr > 0 ? o.lr : ft_default_lr(o.mode)), o.batch,
               (unsigned long long)o.seed, r.best_epoch, r.epochs_run, r.seconds);
        print_scores("validation (best epoch)", &r.val, &r);
        print_scores("test", &r.test, &r);
    }
    fte_result_free(&r);
out:
    encoder_free(e);
    store_close(ds);
    return rcode;
}

/* cli_pretrain.c — `ecgfm pretrain` (pretrain_run with a progress bar, SIGINT/SIGTERM cancel and
 * save the state for --resume) and `ecgfm synth` (core/data/synth.h records into a store dataset).
 */
#include "server/cli_pretrain.h"

#include "server/cli_common.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/encoder_config_json.h"
#include "api/pretrain_config_json.h"
#include "core/data/store.h"
#include "core/data/synth.h"
#include "core/train/pretrain.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

void cli_pretrain_usage(FILE *out) {
    fprintf(
        out,
        "pretrain options:\n"
        "  --config FILE      pretraining config (configs/pretrain/*.json)  [required]\n"
        "  --dataset DIR      dataset store directory                        [required]\n"
        "  --out DIR          output directory (checkpoints, training state) [required]\n"
        "  --resume           continue the run in --out from its last saved state\n"
        "  --model FILE       model config replacing the config's (e.g. "
        "configs/models/small.json)\n"
        "  --subset N         training records (first N of the seeded pool; 0 = all)\n"
        "  --val N            held-out validation records (0 = auto)\n"
        "  --seed S           training seed (weights, crops, shuffles, masks)\n"
        "  --threads T        compute threads (0 = all cores)\n"
        "  --epochs E, --batch B, --lr X, --val-every STEPS, --checkpoint-every STEPS\n"
        "  --quiet            no progress bar (validation lines and errors only)\n"
        "  SIGINT/SIGTERM stop between steps and save the state for --resume.\n"
        "synth options:\n"
        "  --out DIR --n N [--seed S] [--seconds SEC]   N synthetic 12-lead records, label 0 =\n"
        "                     rhythm class (sinus, af, pvc, wide_qrs)\n");
}

/* ---- options ---- */

static int parse_i64(const char *s, int64_t lo, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo) return 0;
    *out = v;
    return 1;
}

/* ---- progress ---- */

static atomic_int g_cancel;

static void on_signal(int sig) {
    (void)sig;
    atomic_store(&g_cancel, 1);
}

typedef struct {
    int tty, quiet;
    double last_draw;
    int drawn; /* a bar is on the current line */
} bar_state;

static void fmt_time(double s, char *buf, size_t n) {
    if (!isfinite(s) || s < 0)
        snprintf(buf, n, "--:--");
    else if (s >= 3600)
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else
        snprintf(buf, n, "%02d:%02d", (int)(s / 60), (int)fmod(s, 60));
}

static void metrics_str(const ssl_metrics *m, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < m->n && len < n; i++) {
        int w = snprintf(buf + len, n - len, " %s %.4g", m->m[i].name, m->m[i].value);
        if (w < 0) break;
        len += (size_t)w;
    }
}

static void on_progress(void *ctx, const pretrain_progress *p) {
    bar_state *b = ctx;
    double now = p->elapsed_s;
    char met[256], eta[32];
    if (p->event == PRETRAIN_EV_VAL) {
        metrics_str(&p->val_metrics, met, sizeof met);
        fprintf(stderr,
                "%sval  step %" PRId64 "/%" PRId64 "  epoch %" PRId64 "/%" PRId64 "  loss %.5g%s\n",
                b->drawn ? "\r\033[K" : "", p->step, p->total_steps, p->epoch + 1, p->epochs,
                p->val_loss, met);
        b->drawn = 0;
        return;
    }
    if (p->event == PRETRAIN_EV_CHECKPOINT || p->event == PRETRAIN_EV_DONE || b->quiet) return;
    /* a bar redrawn at most 5 times a second on a terminal; a line every 10 s otherwise */
    if (p->step < p->total_steps && now - b->last_draw < (b->tty ? 0.2 : 10.0)) return;
    b->last_draw = now;
    fmt_time(p->eta_s, eta, sizeof eta);
    metrics_str(&p->train_metrics, met, sizeof met);
    int width = 24, fill = p->total_steps ? (int)(width * p->step / p->total_steps) : width;
    char barbuf[32];
    for (int i = 0; i < width; i++)
        barbuf[i] = i < fill ? '#' : '.';
    barbuf[width] = 0;
    fprintf(stderr, "%s[%s] %" PRId64 "/%" PRId64 " steps  %.1f win/s  ETA %s  loss %.4g%s%s",
            b->tty ? "\r\033[K" : "", barbuf, p->step, p->total_steps, p->windows_per_s, eta,
            p->train_loss, met, b->tty ? "" : "\n");
    b->drawn = b->tty;
}

/* ---- pretrain ---- */

int cli_pretrain(int argc, char **argv) {
    const char *config = NULL, *dataset = NULL, *out = NULL, *model = NULL;
    const char *s_subset = NULL, *s_val = NULL, *s_seed = NULL, *s_threads = NULL, *s_epochs = NULL,
               *s_batch = NULL, *s_lr = NULL, *s_vevery = NULL, *s_cevery = NULL;
    int resume = 0, quiet = 0;
    for (int i = 0; i < argc; i++) {
        int bad = 0;
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            cli_pretrain_usage(stdout);
            return EXIT_OK;
        }
        if (!strcmp(argv[i], "--resume"))
            resume = 1;
        else if (!strcmp(argv[i], "--quiet"))
            quiet = 1;
        else if ((v = cli_opt_value(argc, argv, &i, "--config", &bad)))
            config = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--dataset", &bad)))
            dataset = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--out", &bad)))
            out = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--model", &bad)))
            model = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--subset", &bad)))
            s_subset = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--val-every", &bad)))
            s_vevery = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--val", &bad)))
            s_val = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--seed", &bad)))
            s_seed = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--threads", &bad)))
            s_threads = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--epochs", &bad)))
            s_epochs = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--batch", &bad)))
            s_batch = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--lr", &bad)))
            s_lr = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--checkpoint-every", &bad)))
            s_cevery = v;
        else {
            fprintf(stderr, "ecgfm pretrain: %s option %s\nrun `ecgfm help` for the options\n",
                    bad ? "missing value for" : "unknown", argv[i]);
            return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "ecgfm pretrain: missing value for %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!config || !dataset || !out) {
        fprintf(stderr, "ecgfm pretrain: --config, --dataset and --out are required\n"
                        "run `ecgfm help` for the options\n");
        return EXIT_USAGE;
    }
    pretrain_config cfg;
    ecg_err err = {0};
    if (pretrain_config_from_json_file(&cfg, config, &err)) {
        fprintf(stderr, "ecgfm pretrain: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (model) {
        if (encoder_config_from_json_file(&cfg.enc, model, &err)) {
            fprintf(stderr, "ecgfm pretrain: --model %s\n", err.msg);
            return EXIT_USAGE;
        }
        cfg.enc.causal = ssl_encoder_causal(cfg.ssl.kind);
    }
    int64_t v64;
    struct {
        const char *s, *name;
        int64_t lo;
        void *dst;
        int is_int;
    } ints[] = {{s_subset, "--subset", 0, &cfg.subset, 0},
                {s_val, "--val", 0, &cfg.val_records, 0},
                {s_vevery, "--val-every", 0, &cfg.val_every, 0},
                {s_cevery, "--checkpoint-every", 0, &cfg.checkpoint_every, 0},
                {s_threads, "--threads", 0, &cfg.threads, 1},
                {s_epochs, "--epochs", 1, &cfg.epochs, 1},
                {s_batch, "--batch", 1, &cfg.batch, 1}};
    for (size_t k = 0; k < sizeof ints / sizeof *ints; k++) {
        if (!ints[k].s) continue;
        if (!parse_i64(ints[k].s, ints[k].lo, &v64) || (ints[k].is_int && v64 > 1 << 30)) {
            fprintf(stderr, "ecgfm pretrain: %s must be an integer >= %lld, not \"%s\"\n",
                    ints[k].name, (long long)ints[k].lo, ints[k].s);
            return EXIT_USAGE;
        }
        if (ints[k].is_int)
            *(int *)ints[k].dst = (int)v64;
        else
            *(int64_t *)ints[k].dst = v64;
    }
    if (s_seed && !cli_parse_u64(s_seed, &cfg.seed)) {
        fprintf(stderr, "ecgfm pretrain: --seed must be a non-negative integer\n");
        return EXIT_USAGE;
    }
    if (s_lr) {
        char *end;
        double lr = strtod(s_lr, &end);
        if (end == s_lr || *end || !(lr > 0)) {
            fprintf(stderr, "ecgfm pretrain: --lr must be a positive number\n");
            return EXIT_USAGE;
        }
        cfg.sched.lr = (float)lr;
    }
    if (pretrain_config_validate(&cfg, &err)) {
        fprintf(stderr, "ecgfm pretrain: %s\n", err.msg);
        return EXIT_USAGE;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    bar_state bar = {.tty = isatty(2), .quiet = quiet, .last_draw = -1e9};
    pretrain_hooks hooks = {.progress = on_progress,
                            .progress_ctx = &bar,
                            .cancel = &g_cancel,
                            .resume = resume,
                            .dataset_name = dataset};
    fprintf(stderr,
            "pretrain %s: %s backbone d_model %d x %d layers, batch %d, %d epochs, lr %g, "
            "seed %" PRIu64 "\n",
            ssl_kind_name(cfg.ssl.kind), encoder_backbone_name(cfg.enc.backbone), cfg.enc.d_model,
            cfg.enc.n_layers, cfg.batch, cfg.epochs, (double)cfg.sched.lr, cfg.seed);
    pretrain_result res;
    ecg_code rc = pretrain_run(&cfg, dataset, out, &hooks, &res, &err);
    if (bar.drawn) fputc('\n', stderr);
    if (rc) {
        fprintf(stderr, "ecgfm pretrain: %s\n", err.msg);
        return rc == ECG_EINVAL ? EXIT_USAGE : EXIT_FAIL;
    }
    if (res.status == PRETRAIN_CANCELLED) {
        fprintf(stderr,
                "cancelled at step %" PRId64 "/%" PRId64 "; state saved in %s, continue "
                "with --resume\n",
                res.step, res.total_steps, out);
        return EXIT_FAIL;
    }
    char met[256];
    metrics_str(&res.last_val_metrics, met, sizeof met);
    printf("done: %" PRId64 " steps on %" PRId64 " records (%" PRId64 " held out), val loss "
           "%.5g -> %.5g%s; checkpoint %s/checkpoint.safetensors\n",
           res.total_steps, res.n_train, res.n_val, res.first_val_loss, res.last_val_loss, met,
           out);
    return EXIT_OK;
}

/* ---- synth ---- */

int cli_synth(int argc, char **argv) {
    const char *out = NULL, *s_n = NULL, *s_seed = NULL, *s_sec = NULL;
    for (int i = 0; i < argc; i++) {
        int bad = 0;
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            cli_pretrain_usage(stdout);
            return EXIT_OK;
        }
        if ((v = cli_opt_value(argc, argv, &i, "--out", &bad)))
            out = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--n", &bad)))
            s_n = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--seed", &bad)))
            s_seed = v;
        else if ((v = cli_opt_value(argc, argv, &i, "--seconds", &bad)))
            s_sec = v;
        else {
            fprintf(stderr, "ecgfm synth: %s option %s\n", bad ? "missing value for" : "unknown",
                    argv[i]);
            return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "ecgfm synth: missing value for %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    int64_t n;
    if (!out || !s_n || !parse_i64(s_n, 1, &n)) {
        fprintf(stderr, "ecgfm synth: --out DIR and --n N (N >= 1) are required\n");
        return EXIT_USAGE;
    }
    synth_config sc;
    synth_config_default(&sc);
    if (s_seed && !cli_parse_u64(s_seed, &sc.seed)) {
        fprintf(stderr, "ecgfm synth: --seed must be a non-negative integer\n");
        return EXIT_USAGE;
    }
    if (s_sec) {
        char *end;
        sc.seconds = strtod(s_sec, &end);
        if (end == s_sec || *end) sc.seconds = -1;
    }
    ecg_err err = {0};
    if (synth_config_check(&sc, &err)) {
        fprintf(stderr, "ecgfm synth: %s\n", err.msg);
        return EXIT_USAGE;
    }
    store_writer *w;
    if (store_writer_open(&w, out, NULL, &err)) {
        fprintf(stderr, "ecgfm synth: %s\n", err.msg);
        return EXIT_FAIL;
    }
    ecg_code rc = store_writer_set_label_name(w, 0, "rhythm", &err);
    for (int k = 0; k < SYNTH_N_CLASSES && !rc; k++)
        rc = store_writer_set_label_value(w, 0, k, synth_class_name(k), &err);
    for (int64_t i = 0; i < n && !rc; i++) {
        ecg_record r;
        memset(&r, 0, sizeof r);
        int label;
        if ((rc = synth_record(&sc, (uint64_t)i, &r, &label, &err))) break;
        int32_t labels[STORE_N_LABELS] = {label, STORE_LABEL_MISSING, STORE_LABEL_MISSING,
                                          STORE_LABEL_MISSING};
        char id[64];
        snprintf(id, sizeof id, "synth-%" PRIu64 "-%06" PRId64, sc.seed, i);
        rc = store_import_record(w, &r, labels, id, &err);
        record_free(&r);
    }
    if (rc) {
        store_writer_abort(w);
        fprintf(stderr, "ecgfm synth: %s\n", err.msg);
        return EXIT_FAIL;
    }
    if (store_writer_close(w, &err)) {
        fprintf(stderr, "ecgfm synth: %s\n", err.msg);
        return EXIT_FAIL;
    }
    printf("synth: %" PRId64 " records written to %s\n", n, out);
    return EXIT_OK;
}

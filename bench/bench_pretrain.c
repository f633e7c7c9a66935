/* bench_pretrain.c — pretraining throughput: CPC with the paper-size causal S4 encoder at batch 32
 * through the whole loop (crops from a store, step, AdamW), against the PyTorch peer in the same
 * run. */
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "core/base/threads.h"
#include "core/data/store.h"
#include "core/data/synth.h"
#include "core/train/pretrain.h"

static void die(const char *what, const ecg_err *err) {
    fprintf(stderr, "bench_pretrain: %s: %s\n", what, err->msg);
    exit(1);
}

typedef struct {
    double last_t, step_s[64];
    int n;
    double wps;
} timing;

static void on_progress(void *ctx, const pretrain_progress *p) {
    timing *t = ctx;
    if (p->event == PRETRAIN_EV_STEP) {
        /* a step's time: from the previous step (or validation) event to this one */
        if (t->n < 64 && t->last_t > 0) t->step_s[t->n++] = p->elapsed_s - t->last_t;
        t->wps = p->windows_per_s;
    }
    t->last_t = p->elapsed_s;
}

int main(int argc, char **argv) {
    threads_blas_reexec(argv); /* the same OpenBLAS kernels as `make bench` */
    int threads = 2, steps = 3;
    double peer_seconds = 10;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--peer-seconds") == 0 && i + 1 < argc)
            peer_seconds = atof(argv[++i]);
    }
    const int B = 32;
    char dir[] = "/tmp/ecgfm-bench-pretrain-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char data[128], out[128];
    snprintf(data, sizeof data, "%s/synth", dir);
    snprintf(out, sizeof out, "%s/run", dir);
    ecg_err err = {0};
    synth_config sc;
    synth_config_default(&sc);
    store_writer *w;
    if (store_writer_open(&w, data, NULL, &err)) die("store", &err);
    const int n_records = B * steps + B; /* `steps` batches and one validation batch */
    for (int i = 0; i < n_records; i++) {
        ecg_record r;
        memset(&r, 0, sizeof r);
        int label;
        if (synth_record(&sc, (uint64_t)i, &r, &label, &err)) die("synth", &err);
        if (store_import_record(w, &r, NULL, NULL, &err)) die("import", &err);
        record_free(&r);
    }
    if (store_writer_close(w, &err)) die("store", &err);

    pretrain_config cfg;
    pretrain_config_default(&cfg, SSL_CPC); /* paper-size S4, causal, the study's optimizer */
    cfg.batch = B;
    cfg.epochs = 1;
    cfg.val_records = B;
    cfg.threads = threads;
    timing t = {0};
    pretrain_hooks hooks = {.progress = on_progress, .progress_ctx = &t};
    pretrain_result res;
    double t0 = bench_now();
    if (pretrain_run(&cfg, data, out, &hooks, &res, &err)) die("pretrain", &err);
    double wall = bench_now() - t0;
    /* the first step pays for allocation and FFTW plans; the median of the rest is the rate */
    double med = t.n > 1 ? bench_median(t.step_s + 1, t.n - 1) : t.step_s[0];
    double ours = B / med;
    printf("ecgfm: %d threads, %lld steps of batch %d in %.1f s (validation and checkpoints "
           "included), median step %.2f s, loop average %.2f windows/s, peak RSS %.0f MiB, val "
           "loss %.1f -> %.1f\n",
           threads, (long long)res.total_steps, B, wall, med, t.wps, bench_peak_rss_mib(),
           res.first_val_loss, res.last_val_loss);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 bench/peer_pretrain_torch.py --threads %d --seconds %g --batch %d",
             threads, peer_seconds, B);
    bench_peer_value pv[4];
    int np = bench_run_peer(cmd, pv, 4);
    bench_report("cpc_pretrain_b32", ours, bench_peer_get(pv, np, "cpc_pretrain_b32"), "windows/s");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_pretrain: could not remove %s\n", dir);
    return 0;
}

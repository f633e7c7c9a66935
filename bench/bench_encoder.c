/* bench_encoder.c — the paper-size S4 encoder against the PyTorch reference in the same run:
 * forward at batch 1 and 32, a training step at batch 32, GFLOP/s against measured SGEMM, memory. */
#include <malloc.h>
#include <stdint.h>

#include "bench/bench_util.h"
#include "core/base/rng.h"
#include "core/base/threads.h"
#include "core/model/adamw.h"
#include "core/model/encoder.h"

/* SPEC §1: 1.741 GFLOPs per 2.5 s window for the paper-size S4 encoder (GEMMs only). */
#define FLOPS_PER_WINDOW 1.741e9

static int threads = 2;
static double seconds = 3.0;

static void die(const char *what, const ecg_err *err) {
    fprintf(stderr, "bench_encoder: %s: %s\n", what, err->msg);
    exit(1);
}

/* Windows per second of repeated eval forwards at batch B (median over repeats). */
static double time_forward(encoder *e, const float *x, int B, double *median_ms) {
    ecg_err err = {0};
    double t[512];
    int n = 0;
    double start = bench_now();
    while (n < 512 && (n < 5 || bench_now() - start < seconds)) {
        double t0 = bench_now();
        if (encoder_forward(e, x, B, ENC_EVAL, &err)) die("forward", &err);
        t[n++] = bench_now() - t0;
    }
    double med = bench_median(t, n);
    *median_ms = med * 1e3;
    return B / med;
}

static double time_train(encoder *e, adamw *opt, const float *x, const float *r, int B) {
    ecg_err err = {0};
    double t[256];
    int n = 0;
    double start = bench_now();
    while (n < 256 && (n < 3 || bench_now() - start < seconds)) {
        double t0 = bench_now();
        encoder_zero_grad(e);
        if (encoder_forward(e, x, B, ENC_TRAIN, &err)) die("train forward", &err);
        if (encoder_backward(e, NULL, r, NULL, &err)) die("backward", &err);
        if (adamw_step(opt, encoder_params(e), 1e-4f, &err)) die("adamw", &err);
        t[n++] = bench_now() - t0;
    }
    return B / bench_median(t, n);
}

static size_t heap_in_use(void) {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

int main(int argc, char **argv) {
    threads_blas_reexec(argv); /* the same OpenBLAS kernels as `make bench` and ecgfm itself */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) seconds = atof(argv[++i]);
    }
    threads_set(threads);
    ecg_err err = {0};
    struct encoder_config cfg;
    encoder_config_default(&cfg, ENC_BACKBONE_S4);
    const int B = 32;
    encoder *e;
    if (encoder_create(&e, &cfg, B, 1, 0, &err)) die("create", &err);
    size_t nx = (size_t)B * cfg.in_channels * cfg.in_samples;
    float *x = malloc(nx * sizeof *x), *r = malloc((size_t)B * cfg.d_model * sizeof *r);
    rng_state rng;
    rng_seed(&rng, 7);
    for (size_t i = 0; i < nx; i++) x[i] = 0.2f * rng_normal(&rng);
    for (int i = 0; i < B * cfg.d_model; i++) r[i] = rng_normal(&rng);

    double peak = bench_sgemm_rate(B * encoder_tokens(e), 2 * cfg.d_model, cfg.d_model, 1.0);
    printf("machine: %d threads, SGEMM (%dx%dx%d) %.1f GFLOP/s\n", threads,
           B * encoder_tokens(e), 2 * cfg.d_model, cfg.d_model, peak);

    double ms1, ms32;
    /* Inference as the service runs it: parameters frozen, S4 kernels computed once (SPEC §1). */
    encoder_set_frozen(e, 1);
    encoder_forward(e, x, B, ENC_EVAL, &err); /* first call: buffers and kernels settle */
    size_t heap0 = heap_in_use();
    double fwd1 = time_forward(e, x, 1, &ms1);
    double fwd32 = time_forward(e, x, B, &ms32);
    size_t heap1 = heap_in_use();
    double rss_fwd = bench_peak_rss_mib();
    adamw opt;
    adamw_config ac;
    adamw_config_default(&ac);
    if (adamw_init(&opt, &ac, encoder_params(e), &err)) die("adamw init", &err);
    double train32 = time_train(e, &opt, x, r, B);
    double rss_train = bench_peak_rss_mib();

    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/peer_torch.py --threads %d --seconds %g",
             threads, seconds);
    bench_peer_value pv[16];
    int np = bench_run_peer(cmd, pv, 16);
    double gflops = fwd32 * FLOPS_PER_WINDOW * 1e-9;
    printf("ecgfm: batch-1 latency %.1f ms, batch-32 forward %.1f ms, heap growth over timed "
           "forwards %zd bytes, peak RSS %.0f MiB after forward, %.0f MiB after training\n",
           ms1, ms32, (ssize_t)(heap1 - heap0), rss_fwd, rss_train);
    bench_report("encoder_fwd_b1", fwd1, bench_peer_get(pv, np, "encoder_fwd_b1"), "windows/s");
    bench_report("encoder_latency_b1", ms1, bench_peer_get(pv, np, "encoder_latency_b1"), "ms");
    bench_report("encoder_fwd_b32", fwd32, bench_peer_get(pv, np, "encoder_fwd_b32"), "windows/s");
    bench_report("encoder_train_b32", train32, bench_peer_get(pv, np, "encoder_train_b32"),
                 "windows/s");
    double peer_fwd = bench_peer_get(pv, np, "encoder_fwd_b32");
    bench_report("encoder_gflops", gflops, peer_fwd > 0 ? peer_fwd * FLOPS_PER_WINDOW * 1e-9 : -1,
                 "GFLOP/s");
    bench_report("encoder_gflops_fraction", gflops / peak, -1, "fraction_of_sgemm");
    bench_report("encoder_fwd_b32_heap_growth", (double)(heap1 - heap0), -1, "bytes");
    bench_report("encoder_peak_rss", rss_train, -1, "MiB");
    adamw_free(&opt);
    encoder_free(e);
    free(x);
    free(r);
    return 0;
}

/* bench_synth.c — how fast the synthetic corpus is made: 10 s 12-lead records at 240 Hz, all
 * noise on, records spread over OpenMP threads, checked bit-identical to a serial run. */
#include <stdint.h>

#include "bench/bench_util.h"
#include "core/base/threads.h"
#include "core/data/synth.h"

static int threads = 2;
static double seconds = 3.0;

static uint64_t fnv(const ecg_record *r) {
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p = (const unsigned char *)r->signal;
    size_t bytes = (size_t)r->n_channels * r->n_samples * sizeof(float);
    for (size_t k = 0; k < bytes; k++)
        h = (h ^ p[k]) * 1099511628211ULL;
    return h;
}

/* Makes records [first, first + n) with nt threads, hashing each into sums[i - first] so the
 * compiler cannot drop the work; returns the number that failed. */
static int make_range(const synth_config *c, uint64_t first, int n, int nt, uint64_t *sums) {
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 8) num_threads(nt) reduction(+ : failed)
    for (int i = 0; i < n; i++) {
        ecg_record r;
        ecg_err err;
        int label;
        if (synth_record(c, first + (uint64_t)i, &r, &label, &err) != ECG_OK) {
            failed++;
            continue;
        }
        sums[i] = fnv(&r) ^ (uint64_t)label;
        record_free(&r);
    }
    return failed;
}

/* Records per minute over at least `seconds` of batches. */
static double rate(const synth_config *c, int nt, uint64_t *sums, int batch) {
    uint64_t next = 1000000;
    long done = 0;
    double t0 = bench_now(), t;
    do {
        if (make_range(c, next, batch, nt, sums)) {
            fprintf(stderr, "bench_synth: generation failed\n");
            exit(1);
        }
        next += (uint64_t)batch;
        done += batch;
        t = bench_now() - t0;
    } while (t < seconds);
    return done / t * 60.0;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
    }
    threads_set(threads);
    synth_config c;
    synth_config_default(&c);
    c.seed = 7;
    c.motion_prob = 0.1;
    ecg_err err = {0};
    if (synth_config_check(&c, &err)) {
        fprintf(stderr, "bench_synth: %s\n", err.msg);
        return 1;
    }
    enum { BATCH = 512 };
    uint64_t *a = calloc(BATCH, sizeof *a), *b = calloc(BATCH, sizeof *b);
    if (!a || !b) return 1;

    /* Same bits whatever the threads and order: the corpus is a function of (seed, index). */
    if (make_range(&c, 0, BATCH, 1, a) || make_range(&c, 0, BATCH, threads, b)) return 1;
    int same = memcmp(a, b, BATCH * sizeof *a) == 0;

    double one = rate(&c, 1, a, BATCH), many = rate(&c, threads, a, BATCH);
    printf("synth: %.0f s x %.0f Hz x 12 leads, all noise sources; 1 thread %.0f records/min, "
           "%d threads %.0f records/min (%.2fx); parallel == serial bits: %s; peak RSS %.1f MiB\n",
           c.seconds, c.fs, one, threads, many, many / one, same ? "yes" : "NO",
           bench_peak_rss_mib());
    free(a);
    free(b);
    bench_report("synth_records", many, -1, "records/min");
    return same ? 0 : 1;
}

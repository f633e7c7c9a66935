/* bench_util.h — what every benchmark shares: a monotonic clock, the machine's SGEMM rate as a
 * yardstick, peak resident memory, the PyTorch peer run in the same invocation, and the result line. */
#ifndef ECGFM_BENCH_UTIL_H
#define ECGFM_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Best GFLOP/s over repeats of C[m,n] = A[m,k] B[n,k]^T (the Linear layer's GEMM). */
static inline double bench_sgemm_rate(int m, int n, int k, double seconds) {
    float *a = malloc(sizeof(float) * (size_t)m * k), *b = malloc(sizeof(float) * (size_t)n * k),
          *c = malloc(sizeof(float) * (size_t)m * n);
    double best = 0;
    if (a && b && c) {
        for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)((i * 7) % 13) * 0.01f;
        for (size_t i = 0; i < (size_t)n * k; i++) b[i] = (float)((i * 5) % 11) * 0.01f;
        double start = bench_now();
        do {
            double t0 = bench_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f,
                        c, n);
            double g = 2.0 * m * n * k / (bench_now() - t0) * 1e-9;
            if (g > best) best = g;
        } while (bench_now() - start < seconds);
    }
    free(a);
    free(b);
    free(c);
    return best;
}

static inline double bench_peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* Median of n values (sorts in place). */
static inline double bench_median(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Runs the peer command and reads lines "peer <name> <value>"; returns the value for name or -1. */
typedef struct {
    char name[64];
    double value;
} bench_peer_value;

static inline int bench_run_peer(const char *cmd, bench_peer_value *out, int max) {
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, p)) {
        char name[64];
        double v;
        if (n < max && sscanf(line, "peer %63s %lf", name, &v) == 2) {
            snprintf(out[n].name, sizeof out[n].name, "%s", name);
            out[n].value = v;
            n++;
        } else {
            fputs(line, stdout); /* the peer's own remarks */
        }
    }
    pclose(p);
    return n;
}

static inline double bench_peer_get(const bench_peer_value *v, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0) return v[i].value;
    return -1;
}

/* The machine-readable result line: bench <name> ecgfm=<v> peer=<v|-> ratio=<v|-> unit=<u>. */
static inline void bench_report(const char *name, double ours, double peer, const char *unit) {
    if (peer > 0)
        printf("bench %s ecgfm=%.3g peer=%.3g ratio=%.2f unit=%s\n", name, ours, peer, ours / peer,
               unit);
    else
        printf("bench %s ecgfm=%.3g peer=- ratio=- unit=%s\n", name, ours, unit);
    fflush(stdout);
}

#endif

/* threads.c — see threads.h. */
#include "core/base/threads.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <unistd.h>

void openblas_set_num_threads(int num_threads);

static int current_threads = 0;

void threads_set(int n) {
    if (n <= 0) n = omp_get_num_procs();
    current_threads = n;
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
}

int threads_get(void) { return current_threads > 0 ? current_threads : omp_get_max_threads(); }

const char *threads_blas_coretype(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512cd"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return NULL;
}

void threads_blas_reexec(char **argv) {
    if (getenv("OPENBLAS_CORETYPE")) return;
    const char *core = threads_blas_coretype();
    if (!core || setenv("OPENBLAS_CORETYPE", core, 0) != 0) return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc): carry on with OpenBLAS's own detection */
}

/* threads.c — see threads.h. */
#include "core/base/threads.h"

#include <cblas.h>
#include <omp.h>

void openblas_set_num_threads(int num_threads);

static int current_threads = 0;

void threads_set(int n) {
    if (n <= 0) n = omp_get_num_procs();
    current_threads = n;
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
}

int threads_get(void) { return current_threads > 0 ? current_threads : omp_get_max_threads(); }

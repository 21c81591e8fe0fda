/* threads.c — see threads.h. */
#include "threads.h"

#include <cblas.h>
#include <omp.h>

void lgp_threads_set(int n) {
    if (n <= 0) return;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int lgp_threads_get(void) { return omp_get_max_threads(); }

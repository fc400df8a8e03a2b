/* core/threads.c: one thread count for our OpenMP loops and for OpenBLAS.
 * GRIDLORA_THREADS sets it from the environment; the default is every core. */
#include <errno.h>
#include <stdlib.h>

#include <cblas.h>
#include <omp.h>

#include "gridlora/core.h"

static int current_threads;  /* 0 until first set */

static int env_threads(void) {
    const char *s = getenv("GRIDLORA_THREADS");
    if (!s || !*s) return 0;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v <= 0 || v > 4096) return 0;  /* ignored, as if unset */
    return (int)v;
}

int gl_set_threads(int n) {
    if (n <= 0) n = env_threads();
    if (n <= 0) n = omp_get_num_procs();
    if (n <= 0) n = 1;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
    current_threads = n;
    return n;
}

int gl_threads(void) {
    if (current_threads == 0) gl_set_threads(0);
    return current_threads;
}

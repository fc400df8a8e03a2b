/* core/dist.c: the only file that speaks MPI (see gridlora/dist.h): start and stop,
 * rank and size, a sum and a broadcast. Without GRIDLORA_HAVE_MPI it is the one-process
 * fallback; it knows nothing of models or training. */
#define _POSIX_C_SOURCE 200809L /* sysconf */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <omp.h>

#include "gridlora/core.h"
#include "gridlora/dist.h"

#ifdef GRIDLORA_HAVE_MPI
#include <mpi.h>
#endif

static int dist_rank = 0, dist_size = 1;

/* The size a launcher announced in the environment (0: none). Launchers differ in what
 * they set: Open MPI, MPICH/Hydra and Intel MPI (PMI), PMIx (Slurm, newer Open MPI). */
static int launched_size(void) {
    static const char *const size_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"};
    for (size_t i = 0; i < sizeof size_vars / sizeof size_vars[0]; i++) {
        const char *s = getenv(size_vars[i]);
        if (s && *s) return atoi(s) > 0 ? atoi(s) : 1;
    }
    return getenv("PMIX_RANK") ? 1 : 0; /* PMIx names no size; MPI will tell */
}

int gl_dist_rank(void) { return dist_rank; }
int gl_dist_size(void) { return dist_size; }

#ifdef GRIDLORA_HAVE_MPI

static int started; /* by gl_dist_init, so gl_dist_finalize ends it */

const char *gl_dist_library(void) {
    static char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    if (!lib[0]) {
        int len = 0;
        MPI_Get_library_version(lib, &len);
        lib[strcspn(lib, ",\n")] = 0; /* "Open MPI v4.1.4, package: ..." */
    }
    return lib;
}

/* Cores for this rank: the host's cores shared among its ranks, never more than the
 * cores this process may run on (a launcher that binds to a core leaves one). */
static int threads_per_rank(void) {
    MPI_Comm node;
    int local = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = (int)(cores > 0 ? cores : 1) / (local > 0 ? local : 1), mine = omp_get_num_procs();
    if (mine > 0 && n > mine) n = mine;
    return n > 0 ? n : 1;
}

int gl_dist_init(int *argc, char ***argv, char *msg, size_t msglen) {
    if (started || launched_size() == 0) return GL_OK;
    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        snprintf(msg, msglen, "MPI could not start");
        return GL_EIO;
    }
    started = !inited; /* a host program that started MPI also ends it */
    MPI_Comm_rank(MPI_COMM_WORLD, &dist_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &dist_size);
    const char *env = getenv("GRIDLORA_THREADS");
    if (dist_size > 1 && (!env || !*env)) gl_set_threads(threads_per_rank());
    return GL_OK;
}

void gl_dist_finalize(int failed) {
    if (!started) return;
    if (failed && dist_size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Finalize();
    started = 0;
}

/* MPI counts are int: larger buffers go in INT_MAX-sized pieces. */
static int allreduce(void *buf, int64_t n, MPI_Datatype type, size_t elem) {
    if (dist_size < 2) return GL_OK;
    for (int64_t at = 0; at < n; at += INT_MAX) {
        int k = n - at < INT_MAX ? (int)(n - at) : INT_MAX;
        if (MPI_Allreduce(MPI_IN_PLACE, (char *)buf + (size_t)at * elem, k, type, MPI_SUM, MPI_COMM_WORLD) !=
            MPI_SUCCESS)
            return GL_EIO;
    }
    return GL_OK;
}

int gl_dist_allreduce_sum_f32(float *buf, int64_t n) { return allreduce(buf, n, MPI_FLOAT, sizeof *buf); }
int gl_dist_allreduce_sum_f64(double *buf, int64_t n) { return allreduce(buf, n, MPI_DOUBLE, sizeof *buf); }

int gl_dist_broadcast(void *buf, size_t bytes, int root) {
    if (root < 0 || root >= dist_size) return GL_EINVAL;
    if (dist_size < 2) return GL_OK;
    for (size_t at = 0; at < bytes; at += INT_MAX) {
        int k = bytes - at < INT_MAX ? (int)(bytes - at) : INT_MAX;
        if (MPI_Bcast((char *)buf + at, k, MPI_BYTE, root, MPI_COMM_WORLD) != MPI_SUCCESS) return GL_EIO;
    }
    return GL_OK;
}

#else /* one process */

const char *gl_dist_library(void) { return NULL; }

int gl_dist_init(int *argc, char ***argv, char *msg, size_t msglen) {
    (void)argc;
    (void)argv;
    if (launched_size() > 1) {
        snprintf(msg, msglen, "started as one of %d MPI processes, but this gridlora was built without MPI (each "
                 "would train alone and write the same files): install libopenmpi-dev and rebuild", launched_size());
        return GL_EINVAL;
    }
    return GL_OK;
}

void gl_dist_finalize(int failed) { (void)failed; }

int gl_dist_allreduce_sum_f32(float *buf, int64_t n) {
    (void)buf;
    (void)n;
    return GL_OK;
}

int gl_dist_allreduce_sum_f64(double *buf, int64_t n) {
    (void)buf;
    (void)n;
    return GL_OK;
}

int gl_dist_broadcast(void *buf, size_t bytes, int root) {
    (void)buf;
    (void)bytes;
    return root == 0 ? GL_OK : GL_EINVAL;
}

#endif

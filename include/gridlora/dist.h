/* gridlora/dist.h: data-parallel training over MPI: which process of how many this is,
 * and the collectives the trainer needs (a sum, a broadcast).
 *
 * Built with MPI when CMake finds it (GRIDLORA_HAVE_MPI); without it every function
 * behaves as the only process (rank 0 of 1), so no caller tests for MPI. MPI is started
 * only when an MPI launcher started the process (mpirun, mpiexec, srun: seen in the
 * environment), so a plain `gridlora ...` never touches MPI.
 *
 *     char msg[256];
 *     if (gl_dist_init(&argc, &argv, msg, sizeof msg)) { fputs(msg, stderr); return 1; }
 *     ... gl_dist_rank(), gl_dist_size(), gl_dist_allreduce_sum_f32(grads, n) ...
 *     gl_dist_finalize(rc != 0);
 *
 * Threads: MPI is asked for MPI_THREAD_FUNNELED, so call these from the thread that
 * called gl_dist_init (OpenMP loops may run between calls, never around them). Every
 * rank must make the same collective calls in the same order, as in MPI.
 */
#ifndef GRIDLORA_DIST_H
#define GRIDLORA_DIST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts MPI when a launcher started this process; else (or built without MPI) the
 * process is rank 0 of 1. Under a launcher, and unless GRIDLORA_THREADS is set, the
 * thread count becomes the cores divided among the ranks of this host, so ranks do not
 * fight over cores. argc/argv may be NULL. Calling it again does nothing. 0, or
 * GL_EINVAL with msg when several processes were launched but this build has no MPI
 * (each would train alone and write the same files), GL_EIO when MPI fails to start. */
int gl_dist_init(int *argc, char ***argv, char *msg, size_t msglen);

/* Ends MPI if gl_dist_init started it. failed != 0 with more than one rank aborts every
 * rank (MPI_Abort): the others may be waiting in a collective that will never complete. */
void gl_dist_finalize(int failed);

/* This process's rank in [0, size), and the number of ranks (1 without MPI). */
int gl_dist_rank(void);
int gl_dist_size(void);

/* The MPI library built in ("Open MPI v4.1.4"), or NULL when built without MPI. Static
 * storage; callable before gl_dist_init. */
const char *gl_dist_library(void);

/* Sums buf[0..n) over all ranks in place; every rank gets the same sums. Without MPI or
 * with one rank it leaves buf as it is. 0, or GL_EIO. */
int gl_dist_allreduce_sum_f32(float *buf, int64_t n);
int gl_dist_allreduce_sum_f64(double *buf, int64_t n);

/* Copies `bytes` bytes at buf from rank `root` to every other rank. 0, or GL_EIO /
 * GL_EINVAL (root outside the ranks). */
int gl_dist_broadcast(void *buf, size_t bytes, int root);

#ifdef __cplusplus
}
#endif
#endif

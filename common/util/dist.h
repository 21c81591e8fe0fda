/* dist.h — data-parallel training across processes (MPI). Built with `make MPI=1`
 * (mpicc, -DLGP_MPI); the default build has no MPI dependency and every function below
 * behaves as a single rank (size 1: reductions are the identity).
 *
 * Conventions: every rank runs its own input pipeline over its own shard
 * (tar-images --shard auto); gradients are summed and divided by the world size;
 * MoCo keys are all-gathered; BatchNorm sums are all-reduced (lgp_bn_sync); only rank 0
 * writes checkpoints, logs and stdout data. A rank that dies makes mpirun stop the job
 * (MPI_ERRORS_ARE_FATAL); lgp_dist_check_same stops every rank with a message when
 * their parameters diverge. */
#ifndef LGP_DIST_H
#define LGP_DIST_H

#include <stddef.h>
#include <stdint.h>

/* MPI_Init when built with MPI (also fine outside mpirun: one rank). */
void lgp_dist_init(int *argc, char ***argv);
void lgp_dist_finalize(void);
int lgp_dist_rank(void);
int lgp_dist_size(void);
/* In-place sums across ranks. */
void lgp_dist_sum_f(float *buf, size_t n);
void lgp_dist_sum_d(double *buf, size_t n);
/* recv[size * n] = every rank's send[n], in rank order. */
void lgp_dist_allgather_f(const float *send, size_t n, float *recv);
/* Dies on every rank (exit 1, message naming `what`) unless all ranks hold the same v. */
void lgp_dist_check_same(uint64_t v, const char *what);
/* Gradient averaging: sum across ranks and scale by 1/size, in buckets of at most
 * bucket floats (bounded temporary memory in MPI). */
void lgp_dist_average_f(float *buf, size_t n);
/* Non-blocking in-place sum of buf[n] across ranks (MPI_Iallreduce, in chunks); the
 * buffer must stay untouched until lgp_dist_wait. lgp_dist_progress lets MPI move the
 * outstanding ones along (OpenMPI progresses only inside MPI calls). */
void lgp_dist_isum_f(float *buf, size_t n);
void lgp_dist_progress(void);
void lgp_dist_wait(void);
/* The lgp_bn_sync callback shape (nn/ops.h): sum a double buffer across ranks. */
void lgp_dist_bn_allreduce(double *buf, size_t n, void *ctx);
/* Gathers variable-size byte blobs to rank 0: every rank sends nbytes of send; on rank 0
 * *recv (malloc'd/grown here, *cap its size; the caller frees it) receives them
 * concatenated in rank order and counts[size] each rank's length. Other ranks leave
 * recv and counts alone. LGP_OK, or LGP_FATAL when rank 0 is out of memory (then every
 * rank has still taken part). A blob may be at most 2 GiB (MPI int counts). */
int lgp_dist_gather_bytes(const void *send, size_t nbytes, void **recv, size_t *cap, size_t *counts);
/* Bytes moved by this process's reductions so far (for the benchmark). */
uint64_t lgp_dist_bytes(void);
double lgp_dist_seconds(void);

#endif

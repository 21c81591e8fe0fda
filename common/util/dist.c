/* dist.c — see dist.h. */
#include "common/util/dist.h"

#include "common/lgp.h"
#include "common/util/log.h"

#include <stdlib.h>
#include <string.h>

static uint64_t bytes;
static double seconds;

#ifdef LGP_MPI
#include <mpi.h>

static int rank_, size_ = 1, inited;
static MPI_Request *reqs; /* outstanding lgp_dist_isum_f */
static int nreq, capreq;

void lgp_dist_init(int *argc, char ***argv) {
    MPI_Init(argc, argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    inited = 1;
}

void lgp_dist_finalize(void) {
    free(reqs);
    reqs = NULL, nreq = capreq = 0;
    if (inited) MPI_Finalize();
    inited = 0;
}

int lgp_dist_rank(void) { return rank_; }
int lgp_dist_size(void) { return size_; }

#define CHUNK ((size_t)1 << 24) /* 16 Mi elements per call: counts stay in int range */

void lgp_dist_sum_f(float *buf, size_t n) {
    if (size_ == 1) return;
    double t0 = lgp_now();
    for (size_t at = 0; at < n; at += CHUNK) {
        int k = (int)(n - at < CHUNK ? n - at : CHUNK);
        MPI_Allreduce(MPI_IN_PLACE, buf + at, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
    bytes += n * sizeof(float);
    seconds += lgp_now() - t0;
}

void lgp_dist_isum_f(float *buf, size_t n) {
    if (size_ == 1) return;
    double t0 = lgp_now();
    for (size_t at = 0; at < n; at += CHUNK) {
        if (nreq == capreq) {
            int cap = capreq ? 2 * capreq : 64;
            MPI_Request *r = realloc(reqs, sizeof *r * (size_t)cap);
            if (!r) lgp_die("out of memory");
            reqs = r, capreq = cap;
        }
        int k = (int)(n - at < CHUNK ? n - at : CHUNK);
        MPI_Iallreduce(MPI_IN_PLACE, buf + at, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &reqs[nreq++]);
    }
    bytes += n * sizeof(float);
    seconds += lgp_now() - t0;
}

void lgp_dist_progress(void) {
    int done;
    if (nreq) MPI_Testall(nreq, reqs, &done, MPI_STATUSES_IGNORE);
}

void lgp_dist_wait(void) {
    if (!nreq) return;
    double t0 = lgp_now();
    MPI_Waitall(nreq, reqs, MPI_STATUSES_IGNORE);
    nreq = 0;
    seconds += lgp_now() - t0;
}

void lgp_dist_sum_d(double *buf, size_t n) {
    if (size_ == 1) return;
    double t0 = lgp_now();
    MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    bytes += n * sizeof(double);
    seconds += lgp_now() - t0;
}

void lgp_dist_allgather_f(const float *send, size_t n, float *recv) {
    if (size_ == 1) {
        memmove(recv, send, n * sizeof(float));
        return;
    }
    double t0 = lgp_now();
    MPI_Allgather(send, (int)n, MPI_FLOAT, recv, (int)n, MPI_FLOAT, MPI_COMM_WORLD);
    bytes += n * sizeof(float) * (size_t)size_;
    seconds += lgp_now() - t0;
}

/* Grows *buf to at least n bytes; 0 on out of memory. */
static int grow(void **buf, size_t *cap, size_t n) {
    if (n <= *cap && *buf) return 1;
    void *p = realloc(*buf, n ? n : 1);
    if (!p) return 0;
    *buf = p, *cap = n ? n : 1;
    return 1;
}

int lgp_dist_gather_bytes(const void *send, size_t nbytes, void **recv, size_t *cap, size_t *counts) {
    if (size_ == 1) {
        if (!grow(recv, cap, nbytes)) return LGP_FATAL;
        if (nbytes) memcpy(*recv, send, nbytes);
        counts[0] = nbytes;
        return LGP_OK;
    }
    LGP_ASSERT(nbytes <= (size_t)INT32_MAX);
    double t0 = lgp_now();
    int n = (int)nbytes, *cnt = NULL, *disp = NULL, ok = 1;
    if (rank_ == 0) {
        cnt = malloc(2 * sizeof(int) * (size_t)size_);
        ok = cnt != NULL;
    }
    /* Rank 0's allocation failure must not leave the others blocked in the Gatherv. */
    MPI_Gather(&n, 1, MPI_INT, cnt, 1, MPI_INT, 0, MPI_COMM_WORLD);
    size_t total = 0;
    if (rank_ == 0 && ok) {
        disp = cnt + size_;
        for (int r = 0; r < size_; r++) disp[r] = (int)total, total += (size_t)cnt[r], counts[r] = (size_t)cnt[r];
        ok = total <= (size_t)INT32_MAX && grow(recv, cap, total);
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (ok) MPI_Gatherv(send, n, MPI_BYTE, rank_ == 0 ? *recv : NULL, cnt, disp, MPI_BYTE, 0, MPI_COMM_WORLD);
    free(cnt);
    bytes += nbytes;
    seconds += lgp_now() - t0;
    return ok ? LGP_OK : LGP_FATAL;
}

void lgp_dist_check_same(uint64_t v, const char *what) {
    if (size_ == 1) return;
    uint64_t lo = v, hi = v;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    if (lo != hi) {
        lgp_warn("rank %d: %s not the same on every rank (hash %016llx here); stopping every rank", rank_, what,
                 (unsigned long long)v);
        MPI_Abort(MPI_COMM_WORLD, LGP_EXIT_FAILURE);
    }
}
#else
void lgp_dist_init(int *argc, char ***argv) { (void)argc, (void)argv; }
void lgp_dist_finalize(void) {}
int lgp_dist_rank(void) { return 0; }
int lgp_dist_size(void) { return 1; }
void lgp_dist_sum_f(float *buf, size_t n) { (void)buf, (void)n; }
void lgp_dist_sum_d(double *buf, size_t n) { (void)buf, (void)n; }
void lgp_dist_isum_f(float *buf, size_t n) { (void)buf, (void)n; }
void lgp_dist_progress(void) {}
void lgp_dist_wait(void) {}
void lgp_dist_allgather_f(const float *send, size_t n, float *recv) { memmove(recv, send, n * sizeof(float)); }
void lgp_dist_check_same(uint64_t v, const char *what) { (void)v, (void)what; }
int lgp_dist_gather_bytes(const void *send, size_t nbytes, void **recv, size_t *cap, size_t *counts) {
    if (nbytes > *cap || !*recv) {
        void *p = realloc(*recv, nbytes ? nbytes : 1);
        if (!p) return LGP_FATAL;
        *recv = p, *cap = nbytes ? nbytes : 1;
    }
    if (nbytes) memcpy(*recv, send, nbytes);
    counts[0] = nbytes;
    return LGP_OK;
}
#endif

void lgp_dist_average_f(float *buf, size_t n) {
    int s = lgp_dist_size();
    if (s == 1) return;
    lgp_dist_sum_f(buf, n);
    float k = 1.0f / (float)s;
    for (size_t i = 0; i < n; i++) buf[i] *= k;
}

void lgp_dist_bn_allreduce(double *buf, size_t n, void *ctx) {
    (void)ctx;
    lgp_dist_sum_d(buf, n);
}

uint64_t lgp_dist_bytes(void) { return bytes; }
double lgp_dist_seconds(void) { return seconds; }

/* ops.h — the layer kernels of the ViT: linear, layernorm, exact GELU, multi-head
 * attention, residual add. One explicit _forward/_backward pair per layer (llm.c).
 *
 * Conventions (dimension letters in vit.h):
 *   - every pointer is a caller-owned flat float buffer; shapes are given in PyTorch order;
 *   - inputs are const; forward overwrites its outputs and caches;
 *   - backward ACCUMULATES into every gradient it writes, weights and inputs alike, so
 *     the caller zeroes gradient buffers once per step (llm.c), and residual branches
 *     simply add up;
 *   - M is the number of rows (B*T flattened), weights are [out, in] like nn.Linear;
 *   - matrix products go through lgp_matmul / lgp_sgemm (gemm.h: oneDNN or OpenBLAS) outside
 *     OpenMP regions, split into one single-threaded product per thread; the small per-head
 *     products of attention run inside our OpenMP loop with OpenBLAS switched to one thread
 *     (lgp_blas_serial_begin; oneDNN runs serially inside a parallel region), so the pools
 *     never nest;
 *     elementwise loops use OpenMP (vectorised with `omp simd`);
 *   - reductions over rows (bias / LayerNorm weight grads) are done in a fixed order,
 *     so results are bitwise reproducible for a given thread count. */
#ifndef LGP_OPS_H
#define LGP_OPS_H

#include <stddef.h>

/* C[M,N] = alpha * op(A) @ op(B) + beta * C, row-major; op = transpose if ta/tb. */
void lgp_matmul(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc);

/* out[M,O] = inp[M,I] @ w[O,I]^T + b[O]  (b may be NULL) */
void lgp_linear_forward(float *out, const float *inp, const float *w, const float *b, int M,
                        int In, int Out);
/* dinp[M,I] += dout @ w; dw[O,I] += dout^T @ inp; db[O] += sum_m dout. dinp, db may be
 * NULL (first layer / no bias). */
void lgp_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                         const float *w, int M, int In, int Out);
/* The _set variants below OVERWRITE their input gradient instead of accumulating (weight
 * gradients still accumulate): the block backward uses them to skip zeroing buffers that
 * the next op fills completely. Same values as memset + accumulate. */
void lgp_linear_backward_set(float *dinp, float *dw, float *db, const float *dout,
                             const float *inp, const float *w, int M, int In, int Out);
/* One tile of a linear's weight gradient, rows [o0, o1) of dw [Out, In]:
 * dw[o0:o1] += dout[:, o0:o1]^T @ inp (a batch split's threads take tiles, vit.c). The
 * whole backward with dw NULL is then the input and bias gradients alone. */
void lgp_linear_backward_weights(float *dw, const float *dout, const float *inp, int M, int In,
                                 int Out, int o0, int o1);

/* out[M,C] = (inp - mean) * rstd * w + b; mean[M], rstd[M] cached (biased variance). */
void lgp_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *w, const float *b, int M, int C, float eps);
void lgp_layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                            const float *inp, const float *w, const float *mean,
                            const float *rstd, int M, int C);
/* dinp[M,C] = dres + d(LN input) (dres may be NULL: 0; dinp may be dres, not dout):
 * a residual join and the norm's backward in one pass. dw, db NULL: input gradient only
 * (both or neither). */
void lgp_layernorm_backward_set(float *dinp, const float *dres, float *dw, float *db,
                                const float *dout, const float *inp, const float *w,
                                const float *mean, const float *rstd, int M, int C);

/* out[n] = 0.5 x (1 + erf(x / sqrt 2)), the exact GELU of nn.GELU() (erf within 4.7e-7,
 * lgp_erf). */
void lgp_gelu_forward(float *out, const float *inp, size_t n);
void lgp_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n);
void lgp_gelu_backward_set(float *dinp, const float *dout, const float *inp, size_t n); /* dinp may be dout */
/* erf as the GELU computes it: a rational approximation within 4.7e-7 of erf, odd, in
 * [-1, 1]. */
float lgp_erf(float x);

/* Multi-head self-attention core (without the qkv / proj linears).
 * qkv[B,T,3C]: q | k | v, head h owns columns h*D .. h*D+D-1 of each, D = C/H.
 * att[B,H,T,T]: softmax(q k^T / sqrt D) cached for backward. out[B,T,C]. */
void lgp_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int H);
/* dqkv[B,T,3C] += ...; scratch: lgp_attention_scratch(T) floats ([T,T] per OpenMP thread,
 * for the thread count at the time of the call to lgp_attention_scratch). */
void lgp_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                            float *scratch, int B, int T, int C, int H);
void lgp_attention_backward_set(float *dqkv, const float *dout, const float *qkv,
                                const float *att, float *scratch, int B, int T, int C, int H);
size_t lgp_attention_scratch(int T);

/* out[n] = a + b; backward da += dout, db += dout. */
void lgp_residual_forward(float *out, const float *a, const float *b, size_t n);
void lgp_residual_backward(float *da, float *db, const float *dout, size_t n);

/* y[n] += x[n] (gradient plumbing) */
void lgp_add_inplace(float *y, const float *x, size_t n);

/* ---- optional per-op profile (bench/bench_mae) ----
 * Off by default: then each op pays one predictable branch. When on, every op above
 * adds its wall time, call count and FLOPs (multiply-adds count 2) to a global table.
 * Ops run on the main thread only (never inside a parallel region), so the table needs
 * no locking. */
enum {
    LGP_OP_LINEAR_FWD, LGP_OP_LINEAR_BWD, LGP_OP_LN_FWD, LGP_OP_LN_BWD, LGP_OP_GELU_FWD,
    LGP_OP_GELU_BWD, LGP_OP_ATTN_FWD, LGP_OP_ATTN_BWD, LGP_OP_ELTWISE, LGP_OP_MATMUL_OTHER,
    LGP_OP_COUNT
};
typedef struct {
    double seconds, flops;
    long calls;
} lgp_op_stat;
void lgp_prof_enable(int on);            /* also clears the table */
const lgp_op_stat *lgp_prof_stats(void); /* [LGP_OP_COUNT] */
const char *lgp_prof_name(int op);

/* ---- BatchNorm1d and ReLU (the MoCo v3 heads' layers) ----
 * BatchNorm across MPI ranks (SyncBN): every BN reduction is a per-channel sum (forward
 * Σx, Σx², count; backward Σdy, Σdy·x̂) held in a double buffer; when an lgp_bn_sync
 * is given, its callback all-reduces (sums) that buffer in place before it is used, so
 * the statistics are those of the global batch. γ/β gradients use the local sums, as
 * PyTorch's SyncBatchNorm does (DDP then averages them). */
#define LGP_BN_EPS 1e-5f
#define LGP_BN_MOMENTUM 0.1f

/* Sum-reduces buf[0..n) across ranks in place (e.g. MPI_Allreduce MPI_SUM on doubles). */
typedef struct {
    void (*allreduce)(double *buf, size_t n, void *ctx);
    void *ctx;
} lgp_bn_sync;

/* relu: out[n] = max(inp, 0) (may alias); backward dinp[n] += dout where out > 0. */
void lgp_relu_forward(float *out, const float *inp, size_t n);
void lgp_relu_backward(float *dinp, const float *dout, const float *out, size_t n);

/* BatchNorm1d over x[B,C] in training mode (batch statistics, biased variance).
 * xhat[B,C] = (x - mean) * rstd (cached for backward, may alias x); out[B,C] = xhat*γ+β,
 * or NULL when affine is off (gamma = beta = NULL; the output is then xhat itself).
 * mean[C], rstd[C] cached. sums[2C+1] double scratch (Σx | Σx² | count). If rm/rv
 * are given the running stats move by momentum with the UNBIASED variance (PyTorch).
 * Returns the global count N (> 1, asserted, as PyTorch refuses N = 1). */
double lgp_bn_forward(float *xhat, float *out, float *mean, float *rstd, double *sums,
                      const float *x, const float *gamma, const float *beta, float *rm,
                      float *rv, int B, int C, float eps, float momentum,
                      const lgp_bn_sync *sync);
/* Eval mode: normalises with running stats (no caching needed for the heads' use). */
void lgp_bn_forward_eval(float *out, const float *x, const float *gamma, const float *beta,
                         const float *rm, const float *rv, int B, int C, float eps);
/* dx[B,C] += γ·rstd·(dy - Σdy/N - xhat·Σ(dy·xhat)/N); dgamma[C] += Σ dy·xhat,
 * dbeta[C] += Σ dy (local sums; NULL when affine is off, then γ = 1). N is the count
 * returned by the forward. sums[2C] double scratch. dx may NOT alias dy. */
void lgp_bn_backward(float *dx, float *dgamma, float *dbeta, double *sums, const float *dy,
                     const float *xhat, const float *rstd, const float *gamma, double N, int B,
                     int C, const lgp_bn_sync *sync);


#endif

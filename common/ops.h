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
 *   - matrix products go through lgp_matmul (one cblas_sgemm wrapper) and are never
 *     called inside an OpenMP parallel region, so OpenBLAS' own threads do not nest
 *     with ours; elementwise loops use OpenMP;
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

/* out[M,C] = (inp - mean) * rstd * w + b; mean[M], rstd[M] cached (biased variance). */
void lgp_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *w, const float *b, int M, int C, float eps);
void lgp_layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                            const float *inp, const float *w, const float *mean,
                            const float *rstd, int M, int C);

/* out[n] = 0.5 x (1 + erf(x / sqrt 2)), the exact GELU of nn.GELU(). */
void lgp_gelu_forward(float *out, const float *inp, size_t n);
void lgp_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n);

/* Multi-head self-attention core (without the qkv / proj linears).
 * qkv[B,T,3C]: q | k | v, head h owns columns h*D .. h*D+D-1 of each, D = C/H.
 * att[B,H,T,T]: softmax(q k^T / sqrt D) cached for backward. out[B,T,C]. */
void lgp_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int H);
/* dqkv[B,T,3C] += ...; scratch: at least T floats per OpenMP thread (lgp_attention_scratch). */
void lgp_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                            float *scratch, int B, int T, int C, int H);
size_t lgp_attention_scratch(int T);

/* out[n] = a + b; backward da += dout, db += dout. */
void lgp_residual_forward(float *out, const float *a, const float *b, size_t n);
void lgp_residual_backward(float *da, float *db, const float *dout, size_t n);

/* y[n] += x[n] (gradient plumbing) */
void lgp_add_inplace(float *y, const float *x, size_t n);

#endif

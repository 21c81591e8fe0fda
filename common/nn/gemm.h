/* gemm.h — the engine's single-precision matrix product, row-major like cblas_sgemm, on
 * one of two backends:
 *   - oneDNN's sgemm (Debian's libdnnl, built in with DNNL=1, the default where its header
 *     is installed): JIT kernels for the CPU it runs on, up to 2x OpenBLAS on the small
 *     inner dimensions of the fmnist ViT (bench/README.md);
 *   - OpenBLAS' cblas_sgemm (always built; the only one with DNNL=0).
 * LGP_GEMM=openblas (or onednn) in the environment picks one when the program loads
 * (an unknown name stops it there, exit 1); the choice holds for the process. Both are called single-threaded inside the engine's
 * OpenMP slabs (ops.c), so neither backend's own threads nest with ours. The evaluation
 * code (probes, kNN) calls OpenBLAS directly. */
#ifndef LGP_GEMM_H
#define LGP_GEMM_H

#include <stddef.h>

enum { LGP_GEMM_OPENBLAS = 0, LGP_GEMM_ONEDNN = 1 };

/* C[M,N] = alpha op(A) op(B) + beta C; op = transpose where ta / tb. */
void lgp_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);

/* The same for the per-head attention products (T x T x D, tens of rows): on OpenBLAS
 * when its kernels are AVX-512 ones (SkylakeX, Cooperlake, ...: faster than oneDNN's
 * there), else on the backend in use (OpenBLAS' AVX2 kernels lose to oneDNN's on these
 * shapes; bench/README.md). Fixed when the program loads, as the backend is. */
void lgp_sgemm_small(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc);

/* The same for a tile of a weight gradient (ops.h lgp_linear_backward_weights: A
 * transposed, a slice of its columns, K all of a batch's rows) of a matrix of `weights`
 * floats: on OpenBLAS where oneDNN runs below AVX-512 (as lgp_sgemm_small stays on
 * oneDNN) and the matrix has 2^19 floats or more, else as lgp_sgemm. Measured on a Zen
 * 5 held to AVX2: ViT-B's tiles ran at 117-122 GFLOP/s on oneDNN 2.6 against 160 on
 * OpenBLAS Haswell, fmnist's (smaller) ones 4 % faster on oneDNN; with AVX-512
 * oneDNN's are faster (281 against 257 GFLOP/s on ViT-B). */
void lgp_sgemm_wtile(size_t weights, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* The backend in use (LGP_GEMM_*), as resolved from LGP_GEMM at load time. */
int lgp_gemm_backend(void);
/* Select a backend by name ("openblas", "onednn"); -1 when unknown or not built in. For
 * tests and benchmarks, which compare the two; not thread-safe, call between products. */
int lgp_gemm_select(const char *name);
/* e.g. "onednn 2.6.3 avx512_core_bf16" or "openblas 0.3.21 Haswell": what ran, for logs;
 * ", bf16 products" when lgp_gemm_set_bf16 is on. */
const char *lgp_gemm_describe(void);

/* bf16 compute (--bf16 of the trainers): lgp_sgemm rounds both operands to bf16 (nearest
 * even) and accumulates and returns fp32, on oneDNN's AVX512_BF16 kernels (gemm_bf16.c).
 * Weights, gradients, the optimizer and every other op stay fp32 (fp32 master weights);
 * the per-head attention products (lgp_sgemm_small) stay fp32 too. Off by default.
 * lgp_gemm_set_bf16(1) returns -1 (and changes nothing) where it cannot run: a build
 * without oneDNN, LGP_GEMM=openblas, or a CPU (or ONEDNN_MAX_CPU_ISA) without
 * AVX512_BF16, where oneDNN would emulate bf16 slower than fp32. */
int lgp_gemm_set_bf16(int on);
int lgp_gemm_bf16(void);
/* Whether this CPU (as oneDNN sees it) has AVX512_BF16; 0 without oneDNN. */
int lgp_gemm_bf16_supported(void);
/* The bf16 product itself, whatever lgp_gemm_set_bf16 says (tests, benchmarks). */
void lgp_sgemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc);
/* The same on operands already in bf16 (bits as lgp_bf16_round makes them), stored as
 * cblas would read them with lda / ldb: for a product split over threads, whose shared
 * operand is rounded once. */
void lgp_hgemm(int ta, int tb, int M, int N, int K, float alpha, const unsigned short *A, int lda,
               const unsigned short *B, int ldb, float beta, float *C, int ldc);
/* *buf with room for n values (grown, contents lost, when *cap is less); dies when out of
 * memory. */
unsigned short *lgp_bf16_grow(unsigned short **buf, size_t *cap, size_t n);
/* dst[rows x cols] (packed) = src[rows x cols] (row stride ld) rounded to bf16. */
void lgp_bf16_round_rows(unsigned short *dst, const float *src, int rows, int cols, int ld);
/* oneDNN's name for the kernel a bf16 product of that shape runs on (e.g.
 * "brg:avx512_core_bf16"), to check it is not a reference loop. */
const char *lgp_gemm_bf16_impl(int ta, int tb, int M, int N, int K);
/* f to bf16 bits, round to nearest even (NaN stays NaN). */
unsigned short lgp_bf16_round(float f);

#endif

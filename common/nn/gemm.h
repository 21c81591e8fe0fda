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

/* The backend in use (LGP_GEMM_*), as resolved from LGP_GEMM at load time. */
int lgp_gemm_backend(void);
/* Select a backend by name ("openblas", "onednn"); -1 when unknown or not built in. For
 * tests and benchmarks, which compare the two; not thread-safe, call between products. */
int lgp_gemm_select(const char *name);
/* e.g. "onednn 2.6.3 avx512_core_bf16" or "openblas 0.3.21 Haswell": what ran, for logs. */
const char *lgp_gemm_describe(void);

#endif

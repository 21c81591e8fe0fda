/* gemm.c — see gemm.h. */
#include "common/nn/gemm.h"

#include <cblas.h>
#include <errno.h> /* program_invocation_short_name */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"     /* lgp_die */
#include "common/util/threads.h" /* lgp_blas_fix_core */

#ifdef LGP_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

static int backend = -1;
static int small_backend = LGP_GEMM_OPENBLAS; /* lgp_sgemm_small's */
static int use_bf16;

/* OpenBLAS' kernels are final once lgp_blas_fix_core has run (it is idempotent). */
static void resolve_small(void) {
    small_backend = backend == LGP_GEMM_ONEDNN && !lgp_blas_core_is_avx512(lgp_blas_fix_core()) ? LGP_GEMM_ONEDNN
                                                                                                 : LGP_GEMM_OPENBLAS;
}

static int backend_by_name(const char *s) {
    if (strcmp(s, "openblas") == 0) return LGP_GEMM_OPENBLAS;
#ifdef LGP_DNNL
    if (strcmp(s, "onednn") == 0 || strcmp(s, "dnnl") == 0) return LGP_GEMM_ONEDNN;
#endif
    return -1;
}

#ifdef LGP_DNNL
#define BACKENDS "openblas, onednn"
#else
#define BACKENDS "openblas; onednn needs a build with DNNL=1"
#endif

static int default_backend(void) {
#ifdef LGP_DNNL
    return LGP_GEMM_ONEDNN;
#else
    return LGP_GEMM_OPENBLAS;
#endif
}

/* Resolved before main(), so the products inside OpenMP regions only ever read it. A
 * named backend that is not there is a configuration error, not a hint: every program
 * that does matrix products stops on it before it reads or writes anything. */
__attribute__((constructor)) static void resolve_backend(void) {
    const char *e = getenv("LGP_GEMM");
    if (e && *e && backend_by_name(e) < 0) {
        fprintf(stderr, "%s: LGP_GEMM=%s: unknown or not built in (" BACKENDS ")\n",
                program_invocation_short_name, e);
        exit(1);
    }
    backend = e && *e ? backend_by_name(e) : default_backend();
    resolve_small();
}

int lgp_gemm_backend(void) { return backend >= 0 ? backend : default_backend(); }

int lgp_gemm_select(const char *name) {
    int b = backend_by_name(name);
    if (b >= 0) backend = b, resolve_small();
    if (b != LGP_GEMM_ONEDNN) use_bf16 = 0;
    return b;
}

int lgp_gemm_set_bf16(int on) {
    if (on && (lgp_gemm_backend() != LGP_GEMM_ONEDNN || !lgp_gemm_bf16_supported())) return -1;
    use_bf16 = on != 0;
    return 0;
}

int lgp_gemm_bf16(void) { return use_bf16; }

static void sgemm_f32(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc) {
#ifdef LGP_DNNL
    /* K = 0 (C = beta C) goes to OpenBLAS: oneDNN 2.6 leaves C unscaled there */
    if (lgp_gemm_backend() == LGP_GEMM_ONEDNN && K > 0) {
        dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B,
                                      ldb, beta, C, ldc);
        if (st != dnnl_success)
            lgp_die("oneDNN sgemm failed (status %d) on %dx%dx%d", (int)st, M, N, K);
        return;
    }
#endif
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void lgp_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc) {
    if (use_bf16 && K > 0) lgp_sgemm_bf16(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else sgemm_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void lgp_sgemm_small(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc) {
    if (small_backend != LGP_GEMM_OPENBLAS) {
        sgemm_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* Weight matrices from this many floats on: ViT-B's (768 x 768 and up) but none of
 * fmnist's (at most 768 x 192). */
#define WTILE_BLAS_MIN (1u << 19)

void lgp_sgemm_wtile(size_t weights, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (use_bf16 || small_backend != LGP_GEMM_ONEDNN || weights < WTILE_BLAS_MIN || K == 0) {
        lgp_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#ifdef LGP_DNNL
static const char *isa_name(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}
#endif

const char *lgp_gemm_describe(void) {
    static char buf[128];
#ifdef LGP_DNNL
    if (lgp_gemm_backend() == LGP_GEMM_ONEDNN) {
        const dnnl_version_t *v = dnnl_version();
        int n = snprintf(buf, sizeof buf, "onednn %d.%d.%d %s", v->major, v->minor, v->patch,
                         isa_name(dnnl_get_effective_cpu_isa()));
        if (small_backend == LGP_GEMM_OPENBLAS && n > 0 && (size_t)n < sizeof buf)
            n += snprintf(buf + n, sizeof buf - (size_t)n, ", attention openblas %s", openblas_get_corename());
        if (use_bf16 && n > 0 && (size_t)n < sizeof buf) snprintf(buf + n, sizeof buf - (size_t)n, ", bf16 products");
        return buf;
    }
#endif
    snprintf(buf, sizeof buf, "openblas %s", openblas_get_corename());
    return buf;
}

/* gemm_bf16.c — lgp_sgemm with bf16 operands and an fp32 result (see gemm.h, --bf16).
 *
 * Debian's oneDNN 2.6 ignores the bf16 fpmath mode for f32 matmuls on CPUs without AMX
 * (checked: same kernel, same error), and its dnnl_sgemm has no bf16 form, so each
 * product rounds A and B to bf16 (round to nearest even) into per-thread scratch and runs
 * a bf16 x bf16 -> f32 matmul primitive, which oneDNN's brgemm runs on AVX512_BF16's dot
 * products at twice the fp32 rate. alpha is the primitive's output scale and beta a sum
 * post-op, so C = alpha op(A) op(B) + beta C as in cblas_sgemm. A primitive depends on
 * the shape, the transposes, the leading dimensions, alpha and beta: a training step uses
 * a few dozen such keys, so each thread keeps the primitives it made (the engine's slabs
 * call products from several OpenMP threads at once; oneDNN's streams and memories are
 * per thread). A product the engine splits over its threads (ops.c) rounds its operands
 * once, together, and calls lgp_hgemm per slab. */
#include "common/nn/gemm.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"

unsigned short lgp_bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* NaN stays NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

unsigned short *lgp_bf16_grow(unsigned short **buf, size_t *cap, size_t n) {
    if (n > *cap) {
        free(*buf);
        *cap = 0;
        if (!(*buf = malloc(n * sizeof **buf))) lgp_die("out of memory (%zu bf16 operand values)", n);
        *cap = n;
    }
    return *buf;
}

/* rows x cols of src (row stride ld) into dst, packed */
void lgp_bf16_round_rows(unsigned short *dst, const float *src, int rows, int cols, int ld) {
    for (int r = 0; r < rows; r++) {
        const float *s = src + (size_t)r * ld;
        uint16_t *d = dst + (size_t)r * cols;
        for (int j = 0; j < cols; j++) d[j] = lgp_bf16_round(s[j]);
    }
}

#ifdef LGP_DNNL
#include <oneapi/dnnl/dnnl.h>

#include <pthread.h>

static dnnl_engine_t engine;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static void make_engine(void) {
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) lgp_die("oneDNN: no CPU engine");
}

/* oneDNN's ISA values are sets of feature bits (avx2_vnni is numerically above
 * avx512_core_bf16 without containing it), so this is a subset test, not an order. */
int lgp_gemm_bf16_supported(void) {
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), want = (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    return (isa & want) == want;
}

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    dnnl_primitive_t p;
    dnnl_memory_t a, b, c;
} prim;

#define NPRIM 96
static __thread prim cache[NPRIM];
static __thread int ncache, next_evict;
static __thread dnnl_stream_t stream;
static __thread unsigned short *scratch;
static __thread size_t scratch_n;

#define CK(call, what)                                                                             \
    do {                                                                                           \
        dnnl_status_t st_ = (call);                                                                \
        if (st_ != dnnl_success)                                                                   \
            lgp_die("oneDNN bf16 matmul: %s failed (status %d) on %dx%dx%d", what, (int)st_, M, N, K); \
    } while (0)

static void drop(prim *q) {
    dnnl_primitive_destroy(q->p);
    dnnl_memory_destroy(q->a), dnnl_memory_destroy(q->b), dnnl_memory_destroy(q->c);
}

static prim *get_prim(int ta, int tb, int M, int N, int K, int lda, int ldb, int ldc, float alpha,
                      float beta) {
    for (int i = 0; i < ncache; i++) {
        prim *q = &cache[i];
        if (q->ta == ta && q->tb == tb && q->M == M && q->N == N && q->K == K && q->lda == lda &&
            q->ldb == ldb && q->ldc == ldc && q->alpha == alpha && q->beta == beta)
            return q;
    }
    pthread_once(&engine_once, make_engine);
    if (!stream) CK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "stream");
    prim *q;
    if (ncache < NPRIM) q = &cache[ncache++];
    else q = &cache[next_evict], next_evict = (next_evict + 1) % NPRIM, drop(q);
    /* A and B are bf16 as they are stored: op() is read through the strides */
    dnnl_memory_desc_t ad, bd, cd;
    dnnl_dims_t adim = {M, K}, bdim = {K, N}, cdim = {M, N};
    dnnl_dims_t as = {ta ? 1 : lda, ta ? lda : 1}, bs = {tb ? 1 : ldb, tb ? ldb : 1}, cs = {ldc, 1};
    CK(dnnl_memory_desc_init_by_strides(&ad, 2, adim, dnnl_bf16, as), "A desc");
    CK(dnnl_memory_desc_init_by_strides(&bd, 2, bdim, dnnl_bf16, bs), "B desc");
    CK(dnnl_memory_desc_init_by_strides(&cd, 2, cdim, dnnl_f32, cs), "C desc");
    dnnl_matmul_desc_t md;
    CK(dnnl_matmul_desc_init(&md, &ad, &bd, NULL, &cd), "desc");
    dnnl_primitive_attr_t attr;
    CK(dnnl_primitive_attr_create(&attr), "attr");
    if (alpha != 1.0f) CK(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha), "alpha");
    if (beta != 0.0f) {
        dnnl_post_ops_t po;
        CK(dnnl_post_ops_create(&po), "post-ops");
        CK(dnnl_post_ops_append_sum(po, beta), "beta");
        CK(dnnl_primitive_attr_set_post_ops(attr, po), "post-ops");
        dnnl_post_ops_destroy(po);
    }
    dnnl_primitive_desc_t pd;
    CK(dnnl_primitive_desc_create(&pd, &md, attr, engine, NULL), "primitive");
    dnnl_primitive_attr_destroy(attr);
    CK(dnnl_primitive_create(&q->p, pd), "primitive");
    dnnl_primitive_desc_destroy(pd);
    CK(dnnl_memory_create(&q->a, &ad, engine, DNNL_MEMORY_NONE), "memory");
    CK(dnnl_memory_create(&q->b, &bd, engine, DNNL_MEMORY_NONE), "memory");
    CK(dnnl_memory_create(&q->c, &cd, engine, DNNL_MEMORY_NONE), "memory");
    q->ta = ta, q->tb = tb, q->M = M, q->N = N, q->K = K, q->lda = lda, q->ldb = ldb, q->ldc = ldc;
    q->alpha = alpha, q->beta = beta;
    return q;
}

void lgp_sgemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc) {
    size_t na = (size_t)M * K, nb = (size_t)K * N;
    unsigned short *a = lgp_bf16_grow(&scratch, &scratch_n, na + nb), *b = a + na;
    lgp_bf16_round_rows(a, A, ta ? K : M, ta ? M : K, lda);
    lgp_bf16_round_rows(b, B, tb ? N : K, tb ? K : N, ldb);
    lgp_hgemm(ta, tb, M, N, K, alpha, a, ta ? M : K, b, tb ? K : N, beta, C, ldc);
}

void lgp_hgemm(int ta, int tb, int M, int N, int K, float alpha, const unsigned short *A, int lda,
               const unsigned short *B, int ldb, float beta, float *C, int ldc) {
    prim *q = get_prim(ta, tb, M, N, K, lda, ldb, ldc, alpha, beta);
    CK(dnnl_memory_set_data_handle(q->a, (void *)A), "memory");
    CK(dnnl_memory_set_data_handle(q->b, (void *)B), "memory");
    CK(dnnl_memory_set_data_handle(q->c, C), "memory");
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, q->a}, {DNNL_ARG_WEIGHTS, q->b}, {DNNL_ARG_DST, q->c}};
    CK(dnnl_primitive_execute(q->p, stream, 3, args), "execute");
    CK(dnnl_stream_wait(stream), "wait");
}

const char *lgp_gemm_bf16_impl(int ta, int tb, int M, int N, int K) {
    static __thread char buf[64];
    prim *q = get_prim(ta, tb, M, N, K, ta ? M : K, tb ? K : N, N, 1.0f, 0.0f);
    const_dnnl_primitive_desc_t pd;
    const char *s = "?";
    if (dnnl_primitive_get_primitive_desc(q->p, &pd) == dnnl_success)
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
    snprintf(buf, sizeof buf, "%s", s);
    return buf;
}

#else

int lgp_gemm_bf16_supported(void) { return 0; }

void lgp_sgemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc) {
    (void)ta, (void)tb, (void)A, (void)lda, (void)B, (void)ldb, (void)alpha, (void)beta, (void)C, (void)ldc;
    lgp_die("bf16 products need a build with DNNL=1 (%dx%dx%d)", M, N, K);
}

void lgp_hgemm(int ta, int tb, int M, int N, int K, float alpha, const unsigned short *A, int lda,
               const unsigned short *B, int ldb, float beta, float *C, int ldc) {
    (void)ta, (void)tb, (void)A, (void)lda, (void)B, (void)ldb, (void)alpha, (void)beta, (void)C, (void)ldc;
    lgp_die("bf16 products need a build with DNNL=1 (%dx%dx%d)", M, N, K);
}

const char *lgp_gemm_bf16_impl(int ta, int tb, int M, int N, int K) {
    (void)ta, (void)tb, (void)M, (void)N, (void)K;
    return "none";
}

#endif

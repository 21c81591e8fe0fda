/* ops.c — layer kernels (see ops.h for the conventions). */
#include "ops.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "lgp.h"

/* Below this many elements a parallel region costs more than it saves. */
#define PAR_MIN 16384
/* Column block of the deterministic row reductions. */
#define COLBLK 64

void lgp_matmul(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc) {
    LGP_ASSERT(!omp_in_parallel());
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* acc[c] += sum_m x[m, c] for c in [0, C): parallel over column blocks, rows in order. */
static void colsum_accumulate(float *acc, const float *x, int M, int C) {
    int nblk = (C + COLBLK - 1) / COLBLK;
#pragma omp parallel for schedule(static) if ((size_t)M * C > PAR_MIN)
    for (int blk = 0; blk < nblk; blk++) {
        int c0 = blk * COLBLK, c1 = c0 + COLBLK < C ? c0 + COLBLK : C;
        float s[COLBLK] = {0};
        for (int m = 0; m < M; m++) {
            const float *row = x + (size_t)m * C;
            for (int c = c0; c < c1; c++) s[c - c0] += row[c];
        }
        for (int c = c0; c < c1; c++) acc[c] += s[c - c0];
    }
}

void lgp_linear_forward(float *out, const float *inp, const float *w, const float *b, int M,
                        int In, int Out) {
    if (b) {
#pragma omp parallel for schedule(static) if ((size_t)M * Out > PAR_MIN)
        for (int m = 0; m < M; m++) memcpy(out + (size_t)m * Out, b, sizeof(float) * Out);
    }
    lgp_matmul(0, 1, M, Out, In, 1.0f, inp, In, w, In, b ? 1.0f : 0.0f, out, Out);
}

void lgp_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                         const float *w, int M, int In, int Out) {
    if (dinp) lgp_matmul(0, 0, M, In, Out, 1.0f, dout, Out, w, In, 1.0f, dinp, In);
    lgp_matmul(1, 0, Out, In, M, 1.0f, dout, Out, inp, In, 1.0f, dw, In);
    if (db) colsum_accumulate(db, dout, M, Out);
}

void lgp_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *w, const float *b, int M, int C, float eps) {
#pragma omp parallel for schedule(static) if ((size_t)M * C > PAR_MIN)
    for (int m = 0; m < M; m++) {
        const float *x = inp + (size_t)m * C;
        float *y = out + (size_t)m * C;
        float mu = 0.0f;
        for (int c = 0; c < C; c++) mu += x[c];
        mu /= C;
        float var = 0.0f;
        for (int c = 0; c < C; c++) var += (x[c] - mu) * (x[c] - mu);
        var /= C;
        float rs = 1.0f / sqrtf(var + eps);
        for (int c = 0; c < C; c++) y[c] = (x[c] - mu) * rs * w[c] + b[c];
        mean[m] = mu;
        rstd[m] = rs;
    }
}

void lgp_layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                            const float *inp, const float *w, const float *mean,
                            const float *rstd, int M, int C) {
#pragma omp parallel for schedule(static) if ((size_t)M * C > PAR_MIN)
    for (int m = 0; m < M; m++) {
        const float *x = inp + (size_t)m * C, *dy = dout + (size_t)m * C;
        float *dx = dinp + (size_t)m * C;
        float mu = mean[m], rs = rstd[m];
        /* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w */
        float gm = 0.0f, gxm = 0.0f;
        for (int c = 0; c < C; c++) {
            float g = dy[c] * w[c], xh = (x[c] - mu) * rs;
            gm += g;
            gxm += g * xh;
        }
        gm /= C;
        gxm /= C;
        for (int c = 0; c < C; c++) {
            float xh = (x[c] - mu) * rs;
            dx[c] += rs * (dy[c] * w[c] - gm - xh * gxm);
        }
    }
    int nblk = (C + COLBLK - 1) / COLBLK;
#pragma omp parallel for schedule(static) if ((size_t)M * C > PAR_MIN)
    for (int blk = 0; blk < nblk; blk++) {
        int c0 = blk * COLBLK, c1 = c0 + COLBLK < C ? c0 + COLBLK : C;
        float sw[COLBLK] = {0}, sb[COLBLK] = {0};
        for (int m = 0; m < M; m++) {
            const float *x = inp + (size_t)m * C, *dy = dout + (size_t)m * C;
            for (int c = c0; c < c1; c++) {
                sw[c - c0] += dy[c] * (x[c] - mean[m]) * rstd[m];
                sb[c - c0] += dy[c];
            }
        }
        for (int c = c0; c < c1; c++) {
            dw[c] += sw[c - c0];
            db[c] += sb[c - c0];
        }
    }
}

void lgp_gelu_forward(float *out, const float *inp, size_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = 0.5f * inp[i] * (1.0f + erff(inp[i] * (float)M_SQRT1_2));
}

void lgp_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    const float k = 0.3989422804014327f; /* 1/sqrt(2 pi) */
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1.0f + erff(x * (float)M_SQRT1_2));
        dinp[i] += dout[i] * (cdf + x * k * expf(-0.5f * x * x));
    }
}

/* One (b, h) pair: att row t = softmax(q_t . k_s * scale), out_t = sum_s att_ts v_s. */
static void attention_head_forward(float *out, float *att, const float *qkv, int T, int C, int D,
                                   int h, float scale) {
    size_t ld = (size_t)3 * C;
    for (int t = 0; t < T; t++) {
        const float *q = qkv + t * ld + h * D;
        float *a = att + (size_t)t * T;
        float mx = -INFINITY;
        for (int s = 0; s < T; s++) {
            const float *k = qkv + s * ld + C + h * D;
            float dot = 0.0f;
            for (int d = 0; d < D; d++) dot += q[d] * k[d];
            a[s] = dot * scale;
            if (a[s] > mx) mx = a[s];
        }
        float sum = 0.0f;
        for (int s = 0; s < T; s++) {
            a[s] = expf(a[s] - mx);
            sum += a[s];
        }
        float inv = 1.0f / sum;
        float *o = out + (size_t)t * C + h * D;
        for (int d = 0; d < D; d++) o[d] = 0.0f;
        for (int s = 0; s < T; s++) {
            a[s] *= inv;
            const float *v = qkv + s * ld + 2 * C + h * D;
            for (int d = 0; d < D; d++) o[d] += a[s] * v[d];
        }
    }
}

void lgp_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int H) {
    int D = C / H;
    float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        attention_head_forward(out + (size_t)b * T * C, att + (size_t)bh * T * T,
                               qkv + (size_t)b * T * 3 * C, T, C, D, h, scale);
    }
}

size_t lgp_attention_scratch(int T) { return (size_t)T * omp_get_max_threads(); }

static void attention_head_backward(float *dqkv, const float *dout, const float *qkv,
                                    const float *att, float *datt, int T, int C, int D, int h,
                                    float scale) {
    size_t ld = (size_t)3 * C;
    for (int t = 0; t < T; t++) {
        const float *a = att + (size_t)t * T, *dy = dout + (size_t)t * C + h * D;
        /* datt_s = dy . v_s ; dv_s += a_s dy */
        float dot_ad = 0.0f;
        for (int s = 0; s < T; s++) {
            const float *v = qkv + s * ld + 2 * C + h * D;
            float *dv = dqkv + s * ld + 2 * C + h * D;
            float acc = 0.0f;
            for (int d = 0; d < D; d++) {
                acc += dy[d] * v[d];
                dv[d] += a[s] * dy[d];
            }
            datt[s] = acc;
            dot_ad += a[s] * acc;
        }
        /* softmax backward, then the score product q_t . k_s * scale */
        const float *q = qkv + t * ld + h * D;
        float *dq = dqkv + t * ld + h * D;
        for (int s = 0; s < T; s++) {
            float dpre = a[s] * (datt[s] - dot_ad) * scale;
            const float *k = qkv + s * ld + C + h * D;
            float *dk = dqkv + s * ld + C + h * D;
            for (int d = 0; d < D; d++) {
                dq[d] += dpre * k[d];
                dk[d] += dpre * q[d];
            }
        }
    }
}

void lgp_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                            float *scratch, int B, int T, int C, int H) {
    int D = C / H;
    float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        float *datt = scratch + (size_t)omp_get_thread_num() * T;
        attention_head_backward(dqkv + (size_t)b * T * 3 * C, dout + (size_t)b * T * C,
                                qkv + (size_t)b * T * 3 * C, att + (size_t)bh * T * T, datt, T, C,
                                D, h, scale);
    }
}

void lgp_residual_forward(float *out, const float *a, const float *b, size_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void lgp_residual_backward(float *da, float *db, const float *dout, size_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        da[i] += dout[i];
        db[i] += dout[i];
    }
}

void lgp_add_inplace(float *y, const float *x, size_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

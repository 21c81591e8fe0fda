/* knn.c — weighted cosine kNN (see knn.h). */
#include "common/eval/knn.h"

#include "common/lgp.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void lgp_knn_normalize(float *x, size_t n, size_t C) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float *r = x + i * C; /* [C] */
        double ss = 0;
        for (size_t c = 0; c < C; c++) ss += (double)r[c] * r[c];
        double s = ss > 0 ? 1.0 / sqrt(ss) : 0.0;
        for (size_t c = 0; c < C; c++) r[c] = (float)(r[c] * s);
    }
}

/* The k largest entries of sim [n] as (value, index), best first. Scanning in index
 * order and inserting only on strictly greater keeps the lower index on ties. */
static int top_k(float *val, size_t *idx, const float *sim, size_t n, int k) {
    int have = 0;
    for (size_t j = 0; j < n; j++) {
        float v = sim[j];
        if (have == k && !(v > val[k - 1])) continue;
        int p = have < k ? have++ : k - 1;
        while (p > 0 && v > val[p - 1]) {
            val[p] = val[p - 1], idx[p] = idx[p - 1];
            p--;
        }
        val[p] = v, idx[p] = j;
    }
    return have;
}

int lgp_knn_scores(float *votes, const float *tr, const int32_t *ytr, size_t n, const float *te,
                   size_t m, size_t C, int K, const lgp_knn_opts *o, char *err, size_t errlen) {
    if (n == 0 || C == 0 || K < 1 || o->k < 1 || !(o->temperature > 0)) {
        snprintf(err, errlen, "knn: bad problem (n %zu, C %zu, K %d, k %d, T %g)", n, C, K, o->k, o->temperature);
        return LGP_FATAL;
    }
    if (n > INT32_MAX || C > INT32_MAX) {
        snprintf(err, errlen, "knn: %zu x %zu training features exceed 32-bit BLAS", n, C);
        return LGP_FATAL;
    }
    /* k and K size per-thread stack arrays below. */
    if (o->k > 100000 || K > 1000000) {
        snprintf(err, errlen, "knn: k %d or %d classes too large", o->k, K);
        return LGP_FATAL;
    }
    for (size_t j = 0; j < n; j++)
        if (ytr[j] < 0 || ytr[j] >= K) {
            snprintf(err, errlen, "knn: training sample %zu: label %d outside [0, %d)", j, (int)ytr[j], K);
            return LGP_FATAL;
        }
    int k = (size_t)o->k < n ? o->k : (int)n;
    const size_t blk = 256;
    float *sim = malloc(blk * n * sizeof *sim); /* [blk, n] */
    if (!sim) {
        snprintf(err, errlen, "knn: out of memory (%zu x %zu similarities)", blk, n);
        return LGP_FATAL;
    }
    for (size_t i0 = 0; i0 < m; i0 += blk) {
        size_t r = m - i0 < blk ? m - i0 : blk;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, (int)n, (int)C, 1.0f,
                    te + i0 * C, (int)C, tr, (int)C, 0.0f, sim, (int)n);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < r; i++) {
            float val[k];
            size_t idx[k];
            double acc[K];
            for (int c = 0; c < K; c++) acc[c] = 0;
            int h = top_k(val, idx, sim + i * n, n, k);
            for (int j = 0; j < h; j++) acc[ytr[idx[j]]] += exp((double)val[j] / o->temperature);
            for (int c = 0; c < K; c++) votes[(i0 + i) * (size_t)K + c] = (float)acc[c];
        }
    }
    free(sim);
    return LGP_OK;
}

/* linprobe.c — SGD linear probe (see linprobe.h). */
#include "common/eval/linprobe.h"

#include "common/lgp.h"
#include "common/util/rng.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One step on batch rows idx[0..B): returns the batch's summed loss. Z [B, K] is the
 * work space for logits → dlogits, Xb [B, C] the gathered features. */
static double sgd_step(float *W, float *bias, float *mW, float *mb, float *gW, float *gb,
                       float *Xb, float *Z, const size_t *idx, size_t B, const float *X,
                       const int32_t *y, size_t C, int K, double lr, const lgp_linprobe_opts *o,
                       int first) {
    double loss = 0;
    for (size_t i = 0; i < B; i++) memcpy(Xb + i * C, X + idx[i] * C, C * sizeof *X);
    for (size_t i = 0; i < B; i++) memcpy(Z + i * K, bias, (size_t)K * sizeof *Z);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, K, (int)C, 1.0f, Xb, (int)C, W,
                (int)C, 1.0f, Z, K);
    memset(gb, 0, (size_t)K * sizeof *gb);
    for (size_t i = 0; i < B; i++) {
        float *z = Z + i * K; /* [K] */
        double mx = z[0], s = 0;
        for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
        for (int k = 0; k < K; k++) s += exp(z[k] - mx);
        int t = y[idx[i]];
        loss += mx + log(s) - z[t];
        for (int k = 0; k < K; k++) z[k] = (float)((exp(z[k] - mx) / s - (k == t)) / (double)B);
        for (int k = 0; k < K; k++) gb[k] += z[k];
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, (int)C, (int)B, 1.0f, Z, K, Xb, (int)C,
                0.0f, gW, (int)C);
    size_t d = (size_t)K * C;
    for (size_t j = 0; j < d + (size_t)K; j++) {
        float *p = j < d ? W + j : bias + (j - d), *g = j < d ? gW + j : gb + (j - d);
        float *m = j < d ? mW + j : mb + (j - d);
        float gj = *g + (float)o->wd * *p;
        *m = first ? gj : (float)o->momentum * *m + gj;
        *p -= (float)lr * (o->momentum > 0 ? *m : gj);
    }
    return loss;
}

int lgp_linprobe_train(float *W, float *b, const float *X, const int32_t *y, size_t n, size_t C,
                       int K, const lgp_linprobe_opts *o, double *last_loss, char *err,
                       size_t errlen) {
    if (n == 0 || C == 0 || K < 1 || o->epochs < 1 || o->batch < 1 || !(o->lr >= 0)) {
        snprintf(err, errlen, "linprobe: bad problem (n %zu, C %zu, K %d, epochs %d, batch %d)", n, C, K, o->epochs, o->batch);
        return LGP_FATAL;
    }
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K) {
            snprintf(err, errlen, "linprobe: sample %zu: label %d outside [0, %d)", i, (int)y[i], K);
            return LGP_FATAL;
        }
    size_t B = (size_t)o->batch < n ? (size_t)o->batch : n, d = (size_t)K * C;
    size_t *perm = malloc(n * sizeof *perm);
    float *Xb = malloc(B * C * sizeof *Xb), *Z = malloc(B * (size_t)K * sizeof *Z); /* [B, C], [B, K] */
    float *mW = calloc(d, sizeof *mW), *gW = malloc(d * sizeof *gW);               /* [K, C] */
    float *mb = calloc((size_t)K, sizeof *mb), *gb = malloc((size_t)K * sizeof *gb); /* [K] */
    int rc = LGP_OK;
    if (!perm || !Xb || !Z || !mW || !gW || !mb || !gb) {
        snprintf(err, errlen, "linprobe: out of memory (%zu x %zu)", n, C);
        rc = LGP_FATAL;
        goto out;
    }
    lgp_rng r;
    lgp_rng_init(&r, o->seed, 0, 0, LGP_RNG_PROBE);
    for (size_t j = 0; j < d; j++) W[j] = (float)(0.01 * lgp_rng_normal(&r));
    memset(b, 0, (size_t)K * sizeof *b);
    double loss = 0;
    for (int e = 0; e < o->epochs; e++) {
        double lr = o->lr * 0.5 * (1.0 + cos(M_PI * e / o->epochs));
        lgp_rng_init(&r, o->seed, (uint64_t)e + 1, 0, LGP_RNG_PROBE);
        for (size_t i = 0; i < n; i++) perm[i] = i;
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)lgp_rng_below(&r, i), t = perm[i - 1];
            perm[i - 1] = perm[j], perm[j] = t;
        }
        loss = 0;
        for (size_t s = 0; s < n; s += B) {
            size_t bs = n - s < B ? n - s : B;
            loss += sgd_step(W, b, mW, mb, gW, gb, Xb, Z, perm + s, bs, X, y, C, K, lr, o, e == 0 && s == 0);
        }
    }
    if (last_loss) *last_loss = loss / (double)n;
out:
    free(perm), free(Xb), free(Z), free(mW), free(gW), free(mb), free(gb);
    return rc;
}

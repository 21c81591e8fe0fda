/* classifier.c — see classifier.h. */
#include "common/nn/classifier.h"

#include "common/nn/ops.h"
#include "common/util/rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void lgp_head_init(lgp_head *h, int first_fc, int C, int F, int K, size_t base) {
    memset(h, 0, sizeof *h);
    h->first_fc = first_fc, h->C = C, h->F = first_fc ? F : 0, h->K = K, h->base = base;
    size_t at = base, in = (size_t)C;
    if (first_fc) h->w0 = at, at += (size_t)F * C, in = (size_t)F;
    h->w1 = at, at += (size_t)K * in;
    h->b1 = at, at += (size_t)K;
    h->n = at - base;
}

int lgp_head_count(const lgp_head *h) { return h->first_fc ? 3 : 2; }

void lgp_head_entry(const lgp_head *h, int i, char name[64], int *ndim, int64_t shape[2], size_t *offset,
                    size_t *numel) {
    int in = h->first_fc ? h->F : h->C;
    if (h->first_fc && i == 0) {
        snprintf(name, 64, "head.0.weight");
        *ndim = 2, shape[0] = h->F, shape[1] = h->C, *offset = h->w0;
    } else if (i == (h->first_fc ? 1 : 0)) {
        snprintf(name, 64, h->first_fc ? "head.1.weight" : "head.weight");
        *ndim = 2, shape[0] = h->K, shape[1] = in, *offset = h->w1;
    } else {
        snprintf(name, 64, h->first_fc ? "head.1.bias" : "head.bias");
        *ndim = 1, shape[0] = h->K, shape[1] = 1, *offset = h->b1;
    }
    *numel = (size_t)shape[0] * (*ndim == 2 ? (size_t)shape[1] : 1);
}

void lgp_head_init_weights(const lgp_head *h, float *params, uint64_t seed) {
    lgp_rng r;
    int in = h->first_fc ? h->F : h->C;
    lgp_rng_init(&r, seed, 0x4845414400ULL, 1, LGP_RNG_INIT);
    for (size_t i = 0; i < (size_t)h->K * in; i++) params[h->w1 + i] = (float)(2e-5 * lgp_rng_normal(&r));
    for (int k = 0; k < h->K; k++)
        params[h->b1 + k] = h->first_fc ? (float)((2 * lgp_rng_uniform(&r) - 1) / sqrt((double)h->F)) : 0.0f;
    if (!h->first_fc) return;
    double a = sqrt(6.0 / (h->C + h->F));
    for (size_t i = 0; i < (size_t)h->F * h->C; i++) params[h->w0 + i] = (float)((2 * lgp_rng_uniform(&r) - 1) * a);
}

void lgp_head_forward(const lgp_head *h, const float *params, const float *feat, float *hid, float *logits,
                      int B) {
    if (!h->first_fc) {
        lgp_linear_forward(logits, feat, params + h->w1, params + h->b1, B, h->C, h->K);
        return;
    }
    lgp_linear_forward(hid, feat, params + h->w0, NULL, B, h->C, h->F);
    lgp_linear_forward(logits, hid, params + h->w1, params + h->b1, B, h->F, h->K);
}

void lgp_head_backward(const lgp_head *h, const float *params, float *grads, const float *feat, const float *hid,
                       const float *dlogits, float *dhid, float *dfeat, int B) {
    if (!h->first_fc) {
        lgp_linear_backward_set(dfeat, grads + h->w1, grads + h->b1, dlogits, feat, params + h->w1, B, h->C, h->K);
        return;
    }
    lgp_linear_backward_set(dhid, grads + h->w1, grads + h->b1, dlogits, hid, params + h->w1, B, h->F, h->K);
    lgp_linear_backward_set(dfeat, grads + h->w0, NULL, dhid, feat, params + h->w0, B, h->C, h->F);
}

double lgp_soft_ce(const float *logits, const float *target, float *dlogits, int B, int K, float scale) {
    double total = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K, *t = target + (size_t)b * K;
        float *dz = dlogits + (size_t)b * K;
        double mx = z[0], se = 0, loss = 0;
        for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
        for (int k = 0; k < K; k++) se += exp(z[k] - mx);
        double lse = mx + log(se), tsum = 0;
        for (int k = 0; k < K; k++) loss -= t[k] * (z[k] - lse), tsum += t[k];
        /* d/dz of -sum t log softmax = softmax * sum(t) - t */
        for (int k = 0; k < K; k++) dz[k] = (float)((exp(z[k] - lse) * tsum - t[k]) * scale / B);
        total += loss;
    }
    return total / B;
}

void lgp_topk_count(const float *logits, const int64_t *labels, int B, int K, int64_t *top1, int64_t *top5) {
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        int64_t y = labels[b];
        if (y < 0 || y >= K) continue;
        /* rank of the true class: how many logits beat it (ties go to the lower index) */
        int above = 0;
        for (int k = 0; k < K; k++) above += z[k] > z[y] || (z[k] == z[y] && k < y);
        *top1 += above == 0;
        *top5 += above < 5;
    }
}

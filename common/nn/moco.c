/* moco.c — MoCo v3 InfoNCE loss, momentum EMA and schedule (see moco.h). */
#include "common/nn/moco.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/lgp.h"
#include "common/nn/ops.h"

int lgp_moco_ctr_init(lgp_moco_ctr *c, int max_b, int max_k, int E, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    LGP_ASSERT(max_b > 0 && max_k > 0 && E > 0);
    size_t B = (size_t)max_b, K = (size_t)max_k, e = (size_t)E;
    size_t nf = 2 * B * e + K * e + B * K + B;
    c->qn = calloc(nf, sizeof(float));
    if (!c->qn) {
        snprintf(err, errlen, "contrastive loss: out of memory (%zu bytes)", nf * sizeof(float));
        return LGP_FATAL;
    }
    c->max_b = max_b, c->max_k = max_k, c->E = E;
    c->kn = c->qn + B * e;
    c->dqn = c->kn + K * e;
    c->prob = c->dqn + B * e;
    c->qnorm = c->prob + B * K;
    return LGP_OK;
}

void lgp_moco_ctr_free(lgp_moco_ctr *c) {
    free(c->qn);
    memset(c, 0, sizeof *c);
}

/* out[n,E] = x / max(‖x‖, 1e-12) row-wise, as F.normalize(dim=1); norm[n] if given. */
LGP_HOT static void l2_normalize_rows(float *out, float *norm, const float *x, int n, int E) {
#pragma omp parallel for schedule(static) if ((size_t)n * E > 16384)
    for (int i = 0; i < n; i++) {
        const float *xr = x + (size_t)i * E;
        double s = 0;
        for (int j = 0; j < E; j++) s += (double)xr[j] * xr[j];
        float d = fmaxf((float)sqrt(s), 1e-12f);
        for (int j = 0; j < E; j++) out[(size_t)i * E + j] = xr[j] / d;
        if (norm) norm[i] = d;
    }
}

LGP_HOT float lgp_moco_ctr_forward(lgp_moco_ctr *c, const float *q, int B, const float *k, int K,
                      int64_t label_offset, float tau) {
    LGP_ASSERT(B > 0 && B <= c->max_b && K > 0 && K <= c->max_k);
    LGP_ASSERT(label_offset >= 0 && label_offset + B <= K);
    int E = c->E;
    c->B = B, c->K = K, c->offset = label_offset, c->tau = tau;
    l2_normalize_rows(c->qn, c->qnorm, q, B, E);
    l2_normalize_rows(c->kn, NULL, k, K, E);
    lgp_matmul(0, 1, B, K, E, 1.0f, c->qn, E, c->kn, E, 0.0f, c->prob, K); /* [B,K] */
    double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total) if ((size_t)B * K > 16384)
    for (int i = 0; i < B; i++) {
        float *l = c->prob + (size_t)i * K;
        float mx = -INFINITY;
        for (int j = 0; j < K; j++) {
            l[j] /= tau; /* divide, not multiply by 1/τ: the same rounding as torch */
            mx = l[j] > mx ? l[j] : mx;
        }
        double s = 0;
        float pos = l[label_offset + i];
        for (int j = 0; j < K; j++) {
            l[j] = expf(l[j] - mx);
            s += l[j];
        }
        float inv = (float)(1.0 / s);
        for (int j = 0; j < K; j++) l[j] *= inv;
        total += log(s) + mx - pos;
    }
    return (float)(total / B * 2.0 * tau);
}

LGP_HOT void lgp_moco_ctr_backward(lgp_moco_ctr *c, float *dq, float dloss) {
    int B = c->B, K = c->K, E = c->E;
    /* ∂loss/∂logit = (p − onehot)·2τ/B and logit = qn·knᵀ/τ, so the τ cancel:
     * dqn = (p − onehot)·kn · 2·dloss/B. The prob buffer is consumed. */
    for (int i = 0; i < B; i++) c->prob[(size_t)i * K + c->offset + i] -= 1.0f;
    lgp_matmul(0, 0, B, E, K, 2.0f * dloss / (float)B, c->prob, K, c->kn, E, 0.0f, c->dqn, E);
#pragma omp parallel for schedule(static) if ((size_t)B * E > 16384)
    for (int i = 0; i < B; i++) {
        /* through x/‖x‖: dq = (dqn − qn·(qn·dqn)) / ‖q‖ */
        const float *n = c->qn + (size_t)i * E, *g = c->dqn + (size_t)i * E;
        double dot = 0;
        for (int j = 0; j < E; j++) dot += (double)n[j] * g[j];
        float inv = 1.0f / c->qnorm[i], fd = (float)dot;
        for (int j = 0; j < E; j++) dq[(size_t)i * E + j] += (g[j] - n[j] * fd) * inv;
    }
}

float lgp_moco_loss(lgp_moco_ctr *c, const float *q1, const float *q2, const float *k1,
                    const float *k2, int B, int K, int64_t label_offset, float tau,
                    float *dq1, float *dq2) {
    float l1 = lgp_moco_ctr_forward(c, q1, B, k2, K, label_offset, tau);
    if (dq1) lgp_moco_ctr_backward(c, dq1, 1.0f);
    float l2 = lgp_moco_ctr_forward(c, q2, B, k1, K, label_offset, tau);
    if (dq2) lgp_moco_ctr_backward(c, dq2, 1.0f);
    return l1 + l2;
}

LGP_HOT void lgp_moco_ema(float *theta_m, const float *theta, size_t n, double m) {
    /* (float)(1 − m) from the double m, as torch turns the Python scalar 1. - m into
     * float; computing 1 − (float)m instead would differ in the last bits. */
    float fm = (float)m, om = (float)(1.0 - m);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        /* Two statements, no fused multiply-add: gcc -std=c11 does not contract
         * (-ffp-contract=off) and clang contracts only within one expression.
         * test_moco checks the result bit for bit. */
        float a = theta_m[i] * fm;
        float b = theta[i] * om;
        theta_m[i] = a + b;
    }
}

double lgp_moco_momentum(double t, double T, double m0) {
    return 1.0 - 0.5 * (1.0 + cos(M_PI * t / T)) * (1.0 - m0);
}

double lgp_moco_collapse_std(const float *z, int B, int E) {
    LGP_ASSERT(B > 1 && E > 0);
    double *s = calloc(2 * (size_t)E, sizeof *s); /* Σv | Σv² per dimension */
    if (!s) return NAN; /* a monitor: no value rather than a failure */
    for (int i = 0; i < B; i++) {
        const float *r = z + (size_t)i * E;
        double nn = 0;
        for (int j = 0; j < E; j++) nn += (double)r[j] * r[j];
        double inv = 1.0 / fmax(sqrt(nn), 1e-12);
        for (int j = 0; j < E; j++) {
            double v = r[j] * inv;
            s[j] += v;
            s[E + j] += v * v;
        }
    }
    double acc = 0;
    for (int j = 0; j < E; j++) {
        double var = (s[E + j] - s[j] * s[j] / B) / (B - 1);
        acc += sqrt(var > 0 ? var : 0);
    }
    free(s);
    return acc / E;
}

/* moco.h — the MoCo v3 objective and momentum machinery (docs/METHOD.md §4.5, §4.7):
 * the InfoNCE term ctr(q, k) = CE(normalize(q)·normalize(k)ᵀ/τ, labels) · 2τ with its
 * backward w.r.t. q (keys get no gradient), the symmetrised loss
 * ctr(q1, k2) + ctr(q2, k1), the momentum EMA over flat buffers, the cosine momentum
 * schedule and a collapse monitor. Works on feature matrices; knows nothing of the
 * encoder or the heads.
 *
 * Keys may be gathered from all ranks: q is the local batch [B, E], k is [K, E] with
 * K ≥ B, and the positive of local row i is key row label_offset + i (rank·B_local + i).
 *
 * Memory: an lgp_moco_ctr is caller-owned; lgp_moco_ctr_init allocates its scratch once for the
 * largest B and K (no allocation per step), lgp_moco_ctr_free releases it. Every other
 * function works on caller buffers. Backward ACCUMULATES into dq. */
#ifndef LGP_MOCO_H
#define LGP_MOCO_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int max_b, max_k, E;
    int B, K;             /* sizes of the last forward */
    int64_t offset;       /* label offset of the last forward */
    float tau;
    float *qn;            /* [B, E] normalize(q) */
    float *kn;            /* [K, E] normalize(k) */
    float *prob;          /* [B, K] softmax(qn·knᵀ/τ) */
    float *qnorm;         /* [B] max(‖q‖, 1e-12) */
    float *dqn;           /* [B, E] backward scratch */
} lgp_moco_ctr;

/* LGP_OK, or LGP_FATAL on out of memory (err filled). */
int lgp_moco_ctr_init(lgp_moco_ctr *c, int max_b, int max_k, int E, char *err, size_t errlen);
void lgp_moco_ctr_free(lgp_moco_ctr *c);
/* q[B,E], k[K,E]; labels offset+i must lie in [0, K) (asserted). Returns the loss:
 * mean over the B rows of the cross entropy, times 2τ. */
float lgp_moco_ctr_forward(lgp_moco_ctr *c, const float *q, int B, const float *k, int K,
                      int64_t label_offset, float tau);
/* dq[B,E] += dloss · ∂loss/∂q for the last forward (q itself is not needed again). */
void lgp_moco_ctr_backward(lgp_moco_ctr *c, float *dq, float dloss);

/* Symmetrised MoCo v3 loss ctr(q1, k2) + ctr(q2, k1) with backward: q1, q2 [B,E]
 * local; k1, k2 [K,E] (gathered, label offset as above). dq1, dq2 [B,E] accumulate
 * ∂loss/∂q (NULL: forward only). Uses c for both terms one after the other. */
float lgp_moco_loss(lgp_moco_ctr *c, const float *q1, const float *q2, const float *k1,
                    const float *k2, int B, int K, int64_t label_offset, float tau,
                    float *dq1, float *dq2);

/* θm[n] ← m·θm + (1−m)·θ with (float)m and (float)(1−m), each product rounded to
 * float before the sum: bit for bit
 * MoCo v3's `param_m.data * m + param_b.data * (1. - m)` on float32 tensors. */
void lgp_moco_ema(float *theta_m, const float *theta, size_t n, double m);
/* m(t) = 1 − 0.5·(1 + cos(π t/T))·(1 − m0): m0 at t = 0, 1 at t = T (t in epochs,
 * fractional, as in MoCo v3's adjust_moco_momentum). */
double lgp_moco_momentum(double t, double T, double m0);
/* Collapse monitor: std over the batch of each dimension of the l2-normalised rows of
 * z[B,E] (unbiased, like torch.std), averaged over the E dimensions. About 1/sqrt(E)
 * for healthy features, 0 when all outputs collapse to one vector. */
/* NAN if its small scratch cannot be allocated. */
double lgp_moco_collapse_std(const float *z, int B, int E);

#endif

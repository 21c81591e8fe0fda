/* linprobe.h — the MAE / MoCo v3 linear-probe protocol on frozen features: one
 * Linear(C→K) head with bias, cross-entropy, mini-batch SGD (torch semantics: weight
 * decay added to the gradient of weight and bias, momentum buffer b ← μ·b + g with the
 * first step b = g, no dampening, no Nesterov), learning rate lr·½(1 + cos(π·e/E)) for
 * epoch e of E (CosineAnnealingLR stepped per epoch, no warmup; docs/METHOD.md §5.1), weight
 * N(0, 0.01²) and bias 0 at the start, the last partial batch kept.
 *
 * Deterministic by seed: the initial weights come from (seed, 0, 0, LGP_RNG_PROBE),
 * epoch e's sample order from (seed, e + 1, 0, LGP_RNG_PROBE). Features are used as
 * given (the LGP probe has no BatchNorm). Buffers are caller-owned; the trainer
 * allocates its batch work space and frees it. Nothing here exits. */
#ifndef LGP_LINPROBE_H
#define LGP_LINPROBE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int epochs;      /* E (default 90) */
    int batch;       /* samples per step (default 256) */
    double lr;       /* peak learning rate, used as is (default 0.1) */
    double wd;       /* weight decay (default 0) */
    double momentum; /* μ (default 0: the LGP probe's plain SGD) */
    uint64_t seed;
} lgp_linprobe_opts;
#define LGP_LINPROBE_OPTS_DEFAULT {90, 256, 0.1, 0.0, 0.0, 0}

/* Trains W [K, C] and b [K] on X [n, C], y [n] in [0, K). *last_loss (may be NULL)
 * gets the mean training loss of the last epoch. */
int lgp_linprobe_train(float *W, float *b, const float *X, const int32_t *y, size_t n, size_t C,
                       int K, const lgp_linprobe_opts *o, double *last_loss, char *err,
                       size_t errlen);

#endif

/* optim.h — AdamW over the flat parameter buffers, the warmup + half-cosine learning-rate
 * schedule, the global gradient norm and clipping.
 *
 * The optimizer walks the parameter table (vit.h): per tensor, the learning rate is
 * lr * entry.lr_scale, weight decay is skipped for LGP_PARAM_NO_WD and frozen tensors
 * (LGP_PARAM_FROZEN) are not touched at all (bit-identical, their moments stay 0).
 * Update (torch.optim.AdamW): p -= lr*wd*p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
 * Memory: lgp_adamw owns m and v ([params.total] each, the table's layout); the table
 * and the parameter/gradient buffers are borrowed. Grad accumulation: the caller sums
 * gradients over micro-batches, then steps once. */
#ifndef LGP_OPTIM_H
#define LGP_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "common/nn/vit.h"

typedef struct {
    float beta1, beta2, eps, weight_decay;
} lgp_adamw_hparams;
#define LGP_ADAMW_MAE {0.9f, 0.95f, 1e-8f, 0.05f}

typedef struct {
    const lgp_params *table; /* borrowed */
    float *m, *v;            /* [table->total] each, owned */
    int64_t t;               /* steps taken */
    lgp_adamw_hparams hp;
} lgp_adamw;

int lgp_adamw_init(lgp_adamw *o, const lgp_params *table, const lgp_adamw_hparams *hp, char *err,
                   size_t errlen);
void lgp_adamw_free(lgp_adamw *o);
/* One step with base learning rate lr on params[table->total] given grads (same layout). */
void lgp_adamw_step(lgp_adamw *o, float *params, const float *grads, float lr);

/* lr at step s of total: linear warmup from 0 over warmup steps, then half-cosine from
 * base_lr down to min_lr at step total (MAE util/lr_sched.py, per step). */
double lgp_lr_schedule(int64_t s, int64_t total, int64_t warmup, double base_lr, double min_lr);

/* L2 norm over every non-frozen tensor's gradient (double accumulation, fixed order). */
double lgp_grad_norm(const lgp_params *table, const float *grads);
/* If max_norm > 0 and the norm exceeds it, scales grads by max_norm / (norm + 1e-6)
 * (torch clip_grad_norm_). Returns the norm before clipping. */
double lgp_grad_clip(const lgp_params *table, float *grads, double max_norm);

#endif

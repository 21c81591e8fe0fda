/* optim.c — AdamW, lr schedule, gradient norm (see optim.h). */
#include "common/nn/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/lgp.h"

int lgp_adamw_init(lgp_adamw *o, const lgp_params *table, const lgp_adamw_hparams *hp, char *err,
                   size_t errlen) {
    memset(o, 0, sizeof *o);
    o->table = table;
    o->hp = *hp;
    o->m = lgp_floats_alloc(table->total);
    o->v = lgp_floats_alloc(table->total);
    if (!o->m || !o->v) {
        lgp_adamw_free(o);
        if (err && errlen) snprintf(err, errlen, "out of memory for optimizer state");
        return LGP_FATAL;
    }
    return LGP_OK;
}

void lgp_adamw_free(lgp_adamw *o) {
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

LGP_HOT void lgp_adamw_step(lgp_adamw *o, float *params, const float *grads, float lr) {
    const lgp_adamw_hparams *h = &o->hp;
    o->t++;
    float bc1 = 1.0f - powf(h->beta1, (float)o->t);
    float bc2_sqrt = sqrtf(1.0f - powf(h->beta2, (float)o->t));
    for (size_t i = 0; i < o->table->count; i++) {
        const lgp_param *e = &o->table->entries[i];
        if (e->flags & LGP_PARAM_FROZEN) continue;
        float tlr = lr * e->lr_scale;
        float decay = (e->flags & LGP_PARAM_NO_WD) ? 1.0f : 1.0f - tlr * h->weight_decay;
        float step = tlr / bc1;
        float *p = params + e->offset, *m = o->m + e->offset, *v = o->v + e->offset;
        const float *g = grads + e->offset;
        size_t n = e->numel;
#pragma omp parallel for schedule(static) if (n > 16384)
        for (size_t k = 0; k < n; k++) {
            float gk = g[k];
            p[k] *= decay;
            m[k] = h->beta1 * m[k] + (1.0f - h->beta1) * gk;
            v[k] = h->beta2 * v[k] + (1.0f - h->beta2) * gk * gk;
            float denom = sqrtf(v[k]) / bc2_sqrt + h->eps;
            p[k] -= step * m[k] / denom;
        }
    }
}

double lgp_lr_schedule(int64_t s, int64_t total, int64_t warmup, double base_lr, double min_lr) {
    if (s < warmup) return base_lr * (double)s / (double)warmup;
    if (total <= warmup) return base_lr;
    double f = (double)(s - warmup) / (double)(total - warmup);
    if (f > 1.0) f = 1.0;
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + cos(M_PI * f));
}

LGP_HOT double lgp_grad_norm(const lgp_params *table, const float *grads) {
    double total = 0.0;
    for (size_t i = 0; i < table->count; i++) {
        const lgp_param *e = &table->entries[i];
        if (e->flags & LGP_PARAM_FROZEN) continue;
        const float *g = grads + e->offset;
        double s = 0.0;
        for (size_t k = 0; k < e->numel; k++) s += (double)g[k] * g[k];
        total += s;
    }
    return sqrt(total);
}

LGP_HOT double lgp_grad_clip(const lgp_params *table, float *grads, double max_norm) {
    double norm = lgp_grad_norm(table, grads);
    if (max_norm > 0.0 && norm > max_norm) {
        float k = (float)(max_norm / (norm + 1e-6));
        for (size_t i = 0; i < table->count; i++) {
            const lgp_param *e = &table->entries[i];
            if (e->flags & LGP_PARAM_FROZEN) continue;
            for (size_t j = 0; j < e->numel; j++) grads[e->offset + j] *= k;
        }
    }
    return norm;
}

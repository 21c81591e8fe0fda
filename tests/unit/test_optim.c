/* test_optim.c — AdamW against a naive double reference written from the formula (torch's
 * AdamW: decoupled decay, bias correction, eps outside the sqrt), per tensor: decayed,
 * not decayed (1-d), lr_scale 0.1, frozen (bit-identical, moments untouched); the
 * warmup + half-cosine schedule at known points; global grad norm and clipping. */
#include "common/nn/optim.h"
#include "common/util/rng.h"
#include "tap.h"

int main(void) {
    lgp_vit_config c = {8, 2, 1, 8, 1, 2, 2, 8, 1, 2, 1, 0.5f};
    lgp_vit_model m;
    char err[128];
    is_int(lgp_vit_model_init(&m, &c, LGP_VIT_WITH_GRADS, 1, err, sizeof err), LGP_OK, "model");
    lgp_param *scaled = lgp_params_find(&m.params, "blocks.0.mlp.fc1.weight");
    scaled->lr_scale = 0.1f;
    size_t n = m.params.total;
    double *p = calloc(n, 8), *mm = calloc(n, 8), *vv = calloc(n, 8);
    float *p0 = malloc(n * 4);
    memcpy(p0, m.params.data, n * 4);
    for (size_t i = 0; i < n; i++) p[i] = m.params.data[i];
    lgp_adamw_hparams hp = {0.9f, 0.95f, 1e-8f, 0.05f};
    lgp_adamw o;
    lgp_adamw_init(&o, &m.params, &hp, err, sizeof err);
    lgp_rng r;
    lgp_rng_init(&r, 77, 0, 0, 0);
    for (int t = 1; t <= 5; t++) {
        for (size_t i = 0; i < n; i++) m.grads[i] = (float)lgp_rng_normal(&r);
        double lr = 1e-2 * t;
        lgp_adamw_step(&o, m.params.data, m.grads, (float)lr);
        for (size_t e = 0; e < m.params.count; e++) {
            lgp_param *en = &m.params.entries[e];
            if (en->flags & LGP_PARAM_FROZEN) continue;
            double tl = lr * en->lr_scale, wd = (en->flags & LGP_PARAM_NO_WD) ? 0 : 0.05;
            for (size_t k = en->offset; k < en->offset + en->numel; k++) {
                double g = m.grads[k];
                p[k] -= tl * wd * p[k];
                mm[k] = 0.9 * mm[k] + 0.1 * g;
                vv[k] = 0.95 * vv[k] + 0.05 * g * g;
                double mh = mm[k] / (1 - pow(0.9, t)), den = sqrt(vv[k]) / sqrt(1 - pow(0.95, t)) + 1e-8;
                p[k] -= tl * mh / den;
            }
        }
    }
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(m.params.data[i] - p[i]));
    ok(worst < 2e-6, "5 AdamW steps match the double reference (max abs %.2g)", worst);
    lgp_param *pe = lgp_params_find(&m.params, "pos_embed");
    ok(memcmp(m.params.data + pe->offset, p0 + pe->offset, pe->numel * 4) == 0 && o.m[pe->offset] == 0.0f,
       "frozen pos_embed bit-identical, no moments");
    double d1 = 0, d2 = 0; /* the scaled tensor moved about 10x less than its unscaled twin fc2 */
    lgp_param *f2 = lgp_params_find(&m.params, "blocks.0.mlp.fc2.weight");
    for (size_t k = 0; k < scaled->numel; k++) d1 += fabs(m.params.data[scaled->offset + k] - p0[scaled->offset + k]);
    for (size_t k = 0; k < f2->numel; k++) d2 += fabs(m.params.data[f2->offset + k] - p0[f2->offset + k]);
    ok(d1 / scaled->numel < 0.2 * d2 / f2->numel, "lr_scale 0.1 shrinks the update (%.3g vs %.3g)", d1 / scaled->numel, d2 / f2->numel);

    is_close(lgp_lr_schedule(0, 100, 10, 1.0, 0.0), 0.0, 0, 1e-12, "lr 0 at step 0");
    is_close(lgp_lr_schedule(5, 100, 10, 1.0, 0.0), 0.5, 1e-12, 0, "half way through warmup");
    is_close(lgp_lr_schedule(10, 100, 10, 1.0, 0.1), 1.0, 1e-12, 0, "peak after warmup");
    is_close(lgp_lr_schedule(55, 100, 10, 1.0, 0.1), 0.55, 1e-12, 0, "cosine midpoint = (base + min) / 2");
    is_close(lgp_lr_schedule(100, 100, 10, 1.0, 0.1), 0.1, 1e-12, 0, "min_lr at the end");

    double ref = 0;
    for (size_t e = 0; e < m.params.count; e++) {
        lgp_param *en = &m.params.entries[e];
        for (size_t k = en->offset; k < en->offset + en->numel; k++)
            if (!(en->flags & LGP_PARAM_FROZEN)) ref += (double)m.grads[k] * m.grads[k];
    }
    m.grads[pe->offset] = 1e6f; /* frozen gradients never count */
    is_close(lgp_grad_norm(&m.params, m.grads), sqrt(ref), 1e-9, 0, "global grad norm over trainable tensors");
    double before = lgp_grad_clip(&m.params, m.grads, 1.0);
    is_close(before, sqrt(ref), 1e-9, 0, "clip returns the norm before clipping");
    is_close(lgp_grad_norm(&m.params, m.grads), 1.0, 1e-5, 0, "clipped to max_norm 1");
    lgp_adamw_free(&o);
    lgp_vit_model_free(&m);
    free(p), free(mm), free(vv), free(p0);
    return done_testing();
}

/* mixup.c — see mixup.h. */
#include "common/data/mixup.h"

#include <math.h>
#include <stddef.h>

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void lgp_mixup_sample(lgp_mixup_draw *d, const lgp_mixup_cfg *c, int H, int W, lgp_rng *r) {
    *d = (lgp_mixup_draw){0, 0, 1.0, 0, 0, 0, 0};
    if (c->mixup_alpha <= 0 && c->cutmix_alpha <= 0) return;
    if (lgp_rng_uniform(r) >= c->prob) return;
    if (c->mixup_alpha > 0 && c->cutmix_alpha > 0) d->cutmix = lgp_rng_uniform(r) < c->switch_prob;
    else d->cutmix = c->cutmix_alpha > 0;
    double alpha = d->cutmix ? c->cutmix_alpha : c->mixup_alpha;
    d->lam = lgp_rng_beta(r, alpha, alpha);
    d->mixed = 1;
    if (!d->cutmix) return;
    /* timm rand_bbox: cut sides int(side * sqrt(1 - lam)), centre uniform in the image */
    double rat = sqrt(1.0 - d->lam);
    int ch = (int)(H * rat), cw = (int)(W * rat);
    int cy = (int)lgp_rng_below(r, (uint64_t)H), cx = (int)lgp_rng_below(r, (uint64_t)W);
    d->y0 = clampi(cy - ch / 2, 0, H), d->y1 = clampi(cy + ch / 2, 0, H);
    d->x0 = clampi(cx - cw / 2, 0, W), d->x1 = clampi(cx + cw / 2, 0, W);
    d->lam = 1.0 - (double)(d->y1 - d->y0) * (d->x1 - d->x0) / ((double)H * W);
}

void lgp_mixup_apply(float *x, float *target, const int64_t *labels, int B, int ch, int H, int W,
                     const lgp_mixup_cfg *c, const lgp_mixup_draw *d) {
    int K = c->num_classes;
    float off = (float)(c->smoothing / K), on = (float)(1.0 - c->smoothing) + off;
    float lam = (float)d->lam, lam1 = (float)(1.0 - d->lam);
    for (int b = 0; b < B; b++) {
        float *t = target + (size_t)b * K;
        for (int k = 0; k < K; k++) t[k] = 0;
        /* timm: y1 * lam + y2 * (1 - lam) over the two smoothed one-hots */
        for (int k = 0; k < K; k++) {
            float y1 = k == labels[b] ? on : off, y2 = k == labels[B - 1 - b] ? on : off;
            t[k] = d->mixed ? y1 * lam + y2 * lam1 : y1;
        }
    }
    if (!d->mixed) return;
    size_t plane = (size_t)H * W, img = plane * ch;
    /* Pairs (b, B-1-b) are mixed from both originals at once, so no copy of the batch. */
    for (int b = 0; b <= (B - 1) / 2; b++) {
        int m = B - 1 - b;
        float *xa = x + (size_t)b * img, *xb = x + (size_t)m * img;
        if (d->cutmix) {
            if (m == b) continue;
            for (int cc = 0; cc < ch; cc++)
                for (int y = d->y0; y < d->y1; y++)
                    for (int xx = d->x0; xx < d->x1; xx++) {
                        size_t i = cc * plane + (size_t)y * W + xx;
                        float t = xa[i];
                        xa[i] = xb[i], xb[i] = t;
                    }
            continue;
        }
        for (size_t i = 0; i < img; i++) {
            float a = xa[i], o = xb[i];
            xa[i] = a * lam + o * lam1;
            if (m != b) xb[i] = o * lam + a * lam1;
        }
    }
}

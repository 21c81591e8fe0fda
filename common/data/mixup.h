/* mixup.h — mixup and cutmix of a batch with label-smoothed soft targets, as timm's
 * Mixup(mode="batch") does it for MAE/BEiT fine-tuning (docs in lgp-finetune(1)).
 *
 * Per batch: with probability prob the batch is mixed; when both alphas are > 0, cutmix
 * is chosen with probability switch_prob, else mixup. lam ~ Beta(alpha, alpha) of the
 * chosen kind. Every sample is mixed with its mirror in the batch (sample B-1-b, timm's
 * x.flip(0)): mixup x = lam x + (1 - lam) x_mirror; cutmix pastes the mirror's box
 * (side sqrt(1 - lam) of the image, centre uniform, clipped to the image) and lam
 * becomes 1 - box area / image area. Targets: one-hot smoothed (off = smoothing / K,
 * on = 1 - smoothing + off), mixed with the mirror's by the same lam.
 *
 * The draws come from the caller's generator (lgp-finetune keys it by seed and step),
 * so a resumed run mixes the same way. Nothing here allocates. */
#ifndef LGP_MIXUP_H
#define LGP_MIXUP_H

#include <stdint.h>

#include "common/util/rng.h"

typedef struct {
    double mixup_alpha, cutmix_alpha; /* 0.8, 1.0 in the recipe; 0 turns one off */
    double prob, switch_prob;         /* 1.0, 0.5 */
    double smoothing;                 /* 0.1 */
    int num_classes;                  /* K */
} lgp_mixup_cfg;

typedef struct {
    int mixed;       /* 0: the batch is left as it is (lam 1) */
    int cutmix;      /* the box replaces, else a blend */
    double lam;      /* weight of the sample's own target (after the box correction) */
    int y0, y1, x0, x1; /* cutmix box, rows [y0, y1), columns [x0, x1) */
} lgp_mixup_draw;

/* Draws one batch's mixing for images of H x W. */
void lgp_mixup_sample(lgp_mixup_draw *d, const lgp_mixup_cfg *c, int H, int W, lgp_rng *r);
/* x [B, c, H, W] mixed in place; target [B, K] written (smoothed one-hot, mixed). A
 * label outside [0, K) is the caller's to refuse before. */
void lgp_mixup_apply(float *x, float *target, const int64_t *labels, int B, int ch, int H, int W,
                     const lgp_mixup_cfg *c, const lgp_mixup_draw *d);

#endif

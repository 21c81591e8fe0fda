/* encoder.h — the ViT encoder on whole images, trainable: the path stage 2 (MoCo v3)
 * and the plain CL baseline run. Forward: patch embedding of all N patches, + pos,
 * cls, the L blocks, the final LayerNorm on the cls token → features [B, C] (the cls
 * token after the final norm, as timm's forward_features + cls pooling). Backward:
 * from d(features) into the model's gradients: blocks, final norm, cls token, and the
 * patch embedding unless it is frozen (MoCo v3's stop-grad-conv1; LGP keeps the MAE
 * patch embedding fixed).
 *
 * Memory: borrows the model (weights and grads); owns one activation arena for at
 * most maxB images of N+1 tokens (no malloc per step). Gradients accumulate. */
#ifndef LGP_ENCODER_H
#define LGP_ENCODER_H

#include <stddef.h>

#include "common/nn/vit.h"

typedef struct {
    lgp_vit_model *m; /* borrowed */
    int maxB, B, N, T;
    int patch_grad;   /* 1: accumulate patch-embedding gradients */
    float *arena;     /* owned */
    lgp_vit_stack s;
    float *patches;   /* [B, N, c*P*P] conv order */
    float *cls;       /* [B, C] last block's cls rows (LayerNorm input) */
    float *feat;      /* [B, C] output features */
    float *ln_mean, *ln_rstd; /* [B] */
    float *dcls;      /* [B, C] */
} lgp_encoder;

int lgp_encoder_init(lgp_encoder *e, lgp_vit_model *m, int maxB, int patch_grad, char *err,
                     size_t errlen);
void lgp_encoder_free(lgp_encoder *e);
/* images [B, c, Hi, Wi] normalised → returns features [B, C] (valid until the next call). */
const float *lgp_encoder_forward(lgp_encoder *e, const float *images, int B);
/* dfeat [B, C]: gradient of the loss w.r.t. the last forward's features. */
void lgp_encoder_backward(lgp_encoder *e, const float *dfeat);

#endif

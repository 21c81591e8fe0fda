/* mae.h — Masked Autoencoder (He et al., facebookresearch/mae models_mae.py) on the ViT
 * engine: per-sample random masking, the encoder on visible patches + cls, the decoder
 * (decoder_embed, mask tokens, unshuffle, decoder_pos_embed, blocks, decoder_norm,
 * decoder_pred) and the masked (norm_pix) MSE loss, forward and backward.
 *
 * Memory: an lgp_mae borrows the model (which must have the decoder and gradients) and
 * owns one activation arena sized by lgp_mae_init for at most maxB images; a step does
 * no malloc. Gradients ACCUMULATE into model->grads (the caller zeroes them, and can
 * accumulate micro-batches; loss_scale multiplies the gradient, e.g. 1/micro_batches).
 *
 * Decoder: its tokens run in the order cls, visible (encoder order), masked (ascending),
 * each with the position embedding of its patch: attention does not depend on the order,
 * so every token's output is the one MAE computes in patch order, up to float rounding.
 * The last block's MLP half, the decoder norm and decoder_pred run on the masked rows
 * alone (the loss reads nothing else; lgp_vit_stack_forward_tail): 3.1 % of the fmnist
 * step's FLOPs saved.
 *
 * Masking: with masks == NULL, sample b draws N uniforms from
 * lgp_rng(seed, epoch, sample_ids[b], LGP_RNG_MASK); a stable ascending argsort gives
 * ids_shuffle, the first len_keep = int(N * (1 - mask_ratio)) are kept (in that order).
 * With masks [B, N] (u8, 1 = masked) the visible patches are taken in ascending order;
 * every sample of a batch must show the same number of patches, at most len_keep. */
#ifndef LGP_MAE_H
#define LGP_MAE_H

#include <stddef.h>
#include <stdint.h>

#include "common/nn/vit.h"

typedef struct {
    lgp_vit_model *m; /* borrowed */
    int maxB, N, Q, len_keep;
    int B, K;         /* last forward: batch and visible patches per sample */
    float loss_scale; /* multiplies d(loss); 1 by default */
    float *arena;     /* owned */
    int *ids_keep;    /* [maxB, N] patch index of visible token j (first K used), owned */
    int *slot;        /* [maxB, N] visible-token index of patch n, -1 if masked, owned */
    int *order;       /* [maxB, N] patch of decoder row 1+i: the K visible ones in encoder
                       * order, then the N-K masked ones ascending (owned) */
    float *mask;      /* [B, N] 1 = masked (float, as MAE returns it) */
    float *target;    /* [B, N, Q] patchified image, per-patch normalised if norm_pix */
    float *pred;      /* [B, N, Q] decoder_pred output for the masked patches; 0 for the
                       * visible ones, which the loss never reads (not computed) */
    float *patches;   /* [B, K, c*P*P] visible patches, conv order */
    lgp_vit_stack enc, dec;
    float *enc_normed, *enc_mean, *enc_rstd; /* [B,1+K,C], [B,1+K], [B,1+K] */
    float *dec_emb;                          /* [B,1+K,Cd] */
    float *dec_normed, *dec_mean, *dec_rstd; /* [B,N-K,Cd], [B,N-K], [B,N-K] masked rows */
    float *pred_full, *dpred_full;           /* [B,N-K,Q] masked rows, decoder order */
    float *ddec_normed;                      /* [B,N-K,Cd] */
    float *dec_tail, *ddec_tail, *dtail_mid; /* [B,N-K,Cd]: last block's tail (vit.h) */
    float *ddec_emb;                         /* [B,1+K,Cd] */
    float *denc_normed;                      /* [B,1+K,C] */
    float *loss_bn;                          /* [B,N] per-patch MSE */
} lgp_mae;

int lgp_mae_init(lgp_mae *st, lgp_vit_model *m, int maxB, char *err, size_t errlen);
void lgp_mae_free(lgp_mae *st);

/* Draws sample b's MAE mask: ids_keep[len_keep] (kept patches, shuffle order) and
 * mask[N] (1 = removed). Pure function of its arguments. */
void lgp_mae_random_mask(int *ids_keep, float *mask, int N, int len_keep, uint64_t seed,
                         uint64_t epoch, uint64_t sample_id);

/* images [B, c, Hi, Wi], normalised. masks [B, N] u8 or NULL; sample_ids [B] or NULL
 * (then 0..B-1). Fills st->mask, st->target, st->pred and *loss. LGP_OK, or
 * LGP_BAD_RECORD with a message when the external masks are unusable. */
int lgp_mae_forward(lgp_mae *st, const float *images, int B, const uint8_t *masks,
                    uint64_t seed, uint64_t epoch, const uint64_t *sample_ids, float *loss,
                    char *err, size_t errlen);
/* Backward of the last forward: accumulates into st->m->grads. */
void lgp_mae_backward(lgp_mae *st);
/* forward + backward */
int lgp_mae_forward_backward(lgp_mae *st, const float *images, int B, const uint8_t *masks,
                             uint64_t seed, uint64_t epoch, const uint64_t *sample_ids,
                             float *loss, char *err, size_t errlen);

#endif

/* groups.h — the stage-2 (MoCo v3 / grafted CL) parameter groups of docs/METHOD.md §4.4
 * (LGP utils_mae/lr_decay.py param_groups_lrd_moco) applied to a parameter table, and
 * the MoCo v3 ViT initialisation (docs/METHOD.md §2.4) for the plain-CL baseline.
 *
 * Groups. `--lr-layer-wise v0,v1,...,v(n-1)` splits the L blocks into n equal
 * consecutive groups (L % n == 0); the cls token (and a trained patch embedding) joins
 * group 0, the final norm, the projector, the predictor (and an MAE decoder, if kept)
 * join group n-1. The values are
 * BASE learning rates per 256 images, exactly as LGP runs them with `--lr 1` (pitfall
 * M10): each table entry gets lr_scale = v_g, and the trainer's schedule peak is
 * batch/256 (blr 1), so the effective lr of group g at step s is
 *     lr_g(s) = warmup_cosine(s) · v_g · batch / 256.
 * A single value (n = 1) is the plain MoCo v3 recipe with blr v0.
 * heads_set: the final norm, projector, predictor (and decoder) get heads_blr instead of
 * the last group's value, so that every block can sit in a low-lr group while the heads
 * learn at the full rate (the "all blocks" arm of the block-count ablation).
 * Frozen (LGP_PARAM_FROZEN, never touched by AdamW): pos_embed (fixed sin-cos), the patch
 * embedding unless train_patch (stop-grad-conv1, pitfall M3; a joint MIM+CL model trains
 * it, as MAE does) and, with freeze_below K > 0 (LGP's --fixTo K), the cls token and
 * blocks 0..K-1. Weight decay: every tensor with ndim >= 2, the cls token
 * included (pitfall M7); none on 1-D tensors (biases, LayerNorm and BatchNorm γ/β).
 *
 * Memory: lgp_groups is plain data; functions edit the caller's table in place. */
#ifndef LGP_GROUPS_H
#define LGP_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/json.h"
#include "common/nn/vit.h"

#define LGP_CL_MAX_GROUPS LGP_VIT_MAX_DEPTH

typedef struct {
    int n;                         /* groups, 1..depth, depth % n == 0 */
    double blr[LGP_CL_MAX_GROUPS]; /* base lr per 256 images of each group */
    int freeze_below;              /* K: blocks < K and the cls token frozen; 0 none */
    int heads_set;                 /* 1: heads_blr for norm/heads/decoder */
    double heads_blr;
    int train_patch;               /* 1: patch_embed.* trainable (pos_embed stays fixed) */
} lgp_groups;

/* "1.5e-5,1.5e-5,1.5e-4" → g (freeze_below, heads and train_patch untouched). LGP_OK or
 * LGP_FATAL. */
int lgp_groups_parse(lgp_groups *g, const char *list, char *err, size_t errlen);
/* Checks n against depth and freeze_below against [0, depth]: LGP_OK, or LGP_USAGE (the
 * options do not fit this model). */
int lgp_groups_check(const lgp_groups *g, int depth, char *err, size_t errlen);
/* Group of a table entry with block index `block` (-1 embeddings, >= depth the rest). */
int lgp_groups_of(const lgp_groups *g, int block, int depth);
/* Sets lr_scale, LGP_PARAM_FROZEN and LGP_PARAM_NO_WD on every entry as described above.
 * Entries with block >= depth that are not "norm.*" (heads, decoder) go to the last
 * group. Call it on a freshly built table (it only adds FROZEN). */
void lgp_groups_apply(const lgp_groups *g, lgp_params *p, int depth);
/* {"layer_wise":[..],"freeze_below":K,["heads_blr":v,]"patch_embed":"frozen"|"trainable",
 *  "rule":"...","groups":[{"blr","blocks":[a,b],"cls","heads","tensors","lr_peak"}],
 *  "frozen":[names]} for the checkpoint metadata.
 * batch: images per step (lr_peak = blr·batch/256), 0 to leave lr_peak out. */
lgp_json *lgp_groups_json(const lgp_groups *g, const lgp_params *p, int depth, int batch);
/* Reads "layer_wise", "freeze_below", "heads_blr" and "patch_embed" back (a checkpoint
 * written before the last two existed: last group's rate, frozen). LGP_OK or LGP_FATAL. */
int lgp_groups_from_json(lgp_groups *g, const lgp_json *j, char *err, size_t errlen);

/* MoCo v3 ViT init on top of lgp_vit_init_weights (whose linears are already xavier-
 * uniform and whose patch embedding is U(±sqrt(6/(c·P·P + C)))): qkv redrawn from
 * U(±sqrt(6/(C + C))) (q, k, v treated as separate C×C matrices) and the cls token from
 * N(0, 1e-6²). Draws: lgp_rng(seed, entry index, 1, LGP_RNG_INIT). Encoder entries only. */
void lgp_groups_moco_init(lgp_vit_model *m, uint64_t seed);

#endif

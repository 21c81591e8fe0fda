/* ftstate.h — everything a fine-tuning run (lgp-finetune) is, and one step of it: the
 * MAE/BEiT recipe of shared RECIPE §4.3-§4.4 on an lgp or timm encoder.
 *
 * Layout. The encoder's parameter table (vit.h, no decoder) extended with the
 * classifier head of classifier.h (block index = depth), so one flat buffer per role
 * (params, grads, AdamW m, v) covers both, as clstate.h does for the MoCo heads. The
 * patch embedding trains; pos_embed stays fixed (sin-cos). Per tensor:
 *   lr scale  layer_decay^(L + 1 - id), id 0 for cls_token / pos_embed / patch_embed,
 *             i + 1 for block i, L + 1 for the final norm and the head (MAE's
 *             param_groups_lrd with num_layers = L + 1);
 *   no weight decay for 1-d tensors, pos_embed and cls_token.
 * Forward: the encoder's cls token after the final norm (encoder.h), drop path on every
 * residual branch (rate rising linearly from 0 at block 0 to drop_path at block L-1,
 * timm's linspace), the head, soft-target cross-entropy on mixup.h's targets.
 *
 * Randomness: drop path per sample from lgp_rng(seed, epoch, index, LGP_RNG_DROPPATH)
 * (2L draws, always), mixup per micro-batch from lgp_rng(seed, step, k * world + rank,
 * LGP_RNG_MIXUP); so a resumed run draws the same numbers.
 *
 * Checkpoint: encoder tensors and head.* under timm names, "optim.m.<name>" /
 * "optim.v.<name>" of trainable tensors, __meta__ in runstate.h's schema with
 * "stage":"finetune" plus "head":{"kind","fc_dim","num_classes"} and
 * "finetune":{"layer_decay","drop_path","smoothing","mixup","cutmix","mix_prob",
 * "switch_prob"}. lgp-embed and lgp-probe read it like any encoder checkpoint. */
#ifndef LGP_FTSTATE_H
#define LGP_FTSTATE_H

#include "formats/json.h"
#include "formats/stream.h"
#include "common/data/mixup.h"
#include "common/model/modelcfg.h"
#include "common/nn/classifier.h"
#include "common/nn/encoder.h"
#include "common/nn/optim.h"
#include "common/train/runstate.h"
#include "common/nn/vit.h"

typedef struct {
    int first_fc;       /* head built from the projector's first Linear (--tune-from-first-fc) */
    int fc_dim;         /* its width F (from the start checkpoint) */
    int num_classes;    /* K */
    double layer_decay; /* 0.75 */
    double drop_path;   /* 0.1 */
    double smoothing;   /* 0.1 */
    double mixup, cutmix, mix_prob, switch_prob; /* 0.8, 1.0, 1.0, 0.5 */
} lgp_ft_opts;
void lgp_ft_opts_init(lgp_ft_opts *o);

typedef struct {
    lgp_vit_model m; /* encoder + head, with grads */
    size_t nvit;     /* entries of the encoder; the head's follow */
    lgp_head head;
    lgp_ft_opts fo;
    lgp_adamw opt;
    lgp_run run;     /* schedule, normalisation, seed, position, classes, init */
} lgp_ft_state;

/* A fresh run: the encoder from init_path (any lgp checkpoint, timm/MAE/MoCo v3
 * safetensors; arch names the model when the file has no config) or, with init_path
 * NULL, cfg with the MAE initialisation from seed; the head from seed (first-fc: its
 * first layer copied from init_path's "head.0.weight"). Normalisation and classes
 * come from init_path's metadata when it has them; so does the class count when
 * fo->num_classes is 0 (none anywhere: an error that asks for --num-classes). */
int lgp_ft_state_new(lgp_ft_state *s, const char *init_path, const char *arch, const lgp_modelcfg_overrides *ov,
                     const lgp_vit_config *cfg, const lgp_ft_opts *fo, uint64_t seed, const lgp_adamw_hparams *hp,
                     char *err, size_t errlen);
/* Everything from a checkpoint written by lgp-finetune. */
int lgp_ft_state_resume(lgp_ft_state *s, const char *path, char *err, size_t errlen);
void lgp_ft_state_free(lgp_ft_state *s);
char *lgp_ft_state_meta(const lgp_ft_state *s, int complete);
/* Record borrowing the state's buffers (free with lgp_record_free; buffers stay). */
int lgp_ft_state_record(const lgp_ft_state *s, lgp_record *rec);

/* ---- one step ---- */
typedef struct {
    lgp_ft_state *s; /* borrowed */
    int maxB;
    lgp_encoder enc; /* patch embedding trained */
    lgp_mixup_cfg mc;
    float *drop;     /* [2L, maxB] branch scales of the step */
    float *hid, *dhid;          /* [B, F] first-fc */
    float *logits, *dlogits, *target; /* [B, K] */
    float *dfeat;    /* [B, C] */
    float *buf;      /* owns the above */
} lgp_ft_engine;

int lgp_ft_engine_init(lgp_ft_engine *e, lgp_ft_state *s, int maxB, char *err, size_t errlen);
void lgp_ft_engine_free(lgp_ft_engine *e);
/* Draws the step's drop path scales (per sample, from (epoch, index)) into e->drop. */
void lgp_ft_engine_draw_drop(lgp_ft_engine *e, const int64_t *epoch, const int64_t *index, int B);
/* One micro-batch's forward/backward: x [B, c, H, W] normalised is mixed in place by d
 * (mixup.h; NULL: no mixing, plain smoothed targets), labels [B] in [0, K), the drop
 * path scales of e->drop (lgp_ft_engine_draw_drop first; drop 0 rates leave them 1).
 * Gradients accumulate into s->m.grads scaled by loss_scale. Returns the mean loss. */
double lgp_ft_engine_step(lgp_ft_engine *e, float *x, const int64_t *labels, int B, const lgp_mixup_draw *d,
                          float loss_scale);
/* Logits [B, K] (valid until the next call) of x without drop path (evaluation). */
const float *lgp_ft_engine_logits(lgp_ft_engine *e, const float *x, int B);

#endif

/* clstate.h — everything a stage-2 run (MoCo v3: grafted (graft.h), or the plain-CL
 * baseline) is, and one training step of it (docs/METHOD.md §4, §4.12).
 *
 * Layout. The online model's parameter table (vit.h) is the ViT table (encoder, plus the
 * MAE decoder only when --mim-weight needs it) EXTENDED with the projector ("head.*",
 * C→F→F→E) and predictor ("predictor.*", E→F→E) of mlp.h, block index = depth, so one
 * flat buffer per role (params, grads, AdamW m, v) covers everything and AdamW, the grad
 * norm, the groups (groups.h) and the checkpoint names all walk one table. The momentum
 * model has the same table; only its encoder and projector are used. BN running stats
 * live in two small buffers (online heads, momentum projector).
 *
 * Checkpoint (formats/checkpoint.h): online tensors under their timm/MoCo names
 * (cls_token, blocks.*, norm.*, head.N.*, predictor.N.*, decoder_* if kept),
 * BN stats "head.N.running_mean|var", "predictor.N.running_mean|var", momentum copies
 * "momentum.<name>" (encoder + projector + its running stats), AdamW moments
 * "optim.m.<name>" / "optim.v.<name>" of trainable tensors (not in a graft output), and
 * __meta__ in the schema of runstate.h with "stage":"cl", plus "heads":{"mlp_dim",
 * "moco_dim"}, "moco":{"tau","m0","momentum_schedule","mim_weight"}, "lr_groups"
 * (groups.h), "schedule":{"lr_rule"} and "graft":{...}.
 *
 * Momentum schedule: m(step) = 1 − ½(1 + cos(π·step/total))·(1 − m0), evaluated at the
 * step about to be taken (0-based), i.e. MoCo v3's per-iteration t/T with t in fractional
 * epochs (t/T = step/total). The EMA runs over every encoder and projector parameter
 * (frozen ones included, as MoCo v3 loops over parameters()); BN buffers are not averaged.
 *
 * The state owns everything in it (lgp_cl_state_free); the engine owns its activations
 * and borrows the state. */
#ifndef LGP_CLSTATE_H
#define LGP_CLSTATE_H

#include "formats/json.h"
#include "formats/stream.h"
#include "common/nn/encoder.h"
#include "common/train/gradsync.h"
#include "common/train/groups.h"
#include "common/nn/mlp.h"
#include "common/nn/mae.h"
#include "common/nn/moco.h"
#include "common/nn/optim.h"
#include "common/train/runstate.h"
#include "common/train/schedule.h"
#include "common/nn/vit.h"

typedef struct {
    int mlp_dim, moco_dim;  /* F, E of the heads; 0: default for the width */
    double tau, m0;         /* 0.2, 0.99 */
    double mim_weight;      /* > 0: keep/create the MAE decoder, add W·MAE loss */
    int keep_decoder;       /* keep/create the MAE decoder even without mim_weight */
    lgp_groups groups;   /* n == 0: keep what the start checkpoint says (default 1.5e-4) */
    int freeze_set;         /* groups.freeze_below given on the command line */
    int reinit_above;       /* graft: re-initialise blocks >= K and the final norm; -1 off */
} lgp_cl_opts;
void lgp_cl_opts_init(lgp_cl_opts *o);

typedef struct {
    lgp_vit_model m;       /* online: encoder (+decoder) + head + predictor, with grads */
    lgp_vit_model mom;     /* momentum: same table, predictor part unused, no grads */
    size_t nvit;           /* entries of the ViT proper; head entries follow */
    size_t enc_end;        /* floats [0, enc_end) hold the encoder */
    lgp_mlp proj, pred;    /* offsets into params/grads/mom (and the stats buffers) */
    float *stats, *mstats; /* [nstats] BN running stats: online heads, momentum projector */
    size_t nstats;
    lgp_cl_opts co;        /* resolved heads, tau, m0, mim_weight, groups */
    lgp_adamw opt;
    lgp_run run;           /* schedule, normalisation, seed, position, classes, init */
    lgp_json *graft;       /* owned, may be NULL: what lgp-graft did */
} lgp_cl_state;

/* Baseline: MoCo v3 ViT init of the encoder, PyTorch init of the heads, momentum = copy. */
int lgp_cl_state_new(lgp_cl_state *s, const lgp_vit_config *cfg, const lgp_cl_opts *o, uint64_t seed,
                     const lgp_adamw_hparams *hp, char *err, size_t errlen);
/* The start of a run from a checkpoint record: a stage-2 checkpoint (it has the heads)
 * is loaded with lgp_cl_state_load, anything else is grafted (graft.h). cfg_fallback
 * (may be NULL) is used when meta has no "model". o's non-zero fields override the
 * checkpoint's. src names the source. LGP_USAGE when o asks for what the checkpoint
 * cannot be (groups that do not split its depth, other head sizes), LGP_FATAL for
 * anything else. */
int lgp_cl_state_start(lgp_cl_state *s, const lgp_record *rec, const char *meta, const char *src,
                       const lgp_vit_config *cfg_fallback, const lgp_cl_opts *o, uint64_t seed,
                       const lgp_adamw_hparams *hp, char *err, size_t errlen);
/* A stage-2 checkpoint: every online, momentum and BN tensor (optimizer state ignored). */
int lgp_cl_state_load(lgp_cl_state *s, const lgp_record *rec, const char *meta, const char *src,
                      const lgp_cl_opts *o, uint64_t seed, const lgp_adamw_hparams *hp, char *err, size_t errlen);
/* For the starts (here and graft.c): the config (meta's "model", else cfg_fallback) and
 * options resolved (a stage-2 checkpoint's heads, tau and groups unless o overrides
 * them), the state allocated with heads from seed; weights are the caller's to load. */
int lgp_cl_state_prepare(lgp_cl_state *s, const lgp_record *rec, const lgp_json *meta, int is_cl,
                         const lgp_vit_config *cfg_fallback, const lgp_cl_opts *o, uint64_t seed,
                         const lgp_adamw_hparams *hp, char *err, size_t errlen);
/* A state for measuring, not training (lgp-gradconf): the MAE decoder and the heads
 * always, whatever the checkpoint record holds. Its tensors are loaded (optimizer
 * moments ignored); what it lacks keeps the random init of seed, and the momentum
 * model is a copy of the online one when it has none. One lr group, nothing frozen,
 * the patch embedding trainable, so every encoder tensor gets its gradients. *have:
 * LGP_CL_HAVE_* bits of what came from the record. LGP_FATAL with "src: reason". */
enum { LGP_CL_HAVE_DECODER = 1, LGP_CL_HAVE_HEADS = 2, LGP_CL_HAVE_MOMENTUM = 4 };
int lgp_cl_state_open_any(lgp_cl_state *s, const lgp_record *rec, const char *meta_text, const char *src,
                          const lgp_cl_opts *o, uint64_t seed, unsigned *have, char *err, size_t errlen);
/* Normalisation and class list from a start checkpoint's metadata. */
void lgp_cl_state_take_meta(lgp_cl_state *s, const lgp_json *meta);
/* Everything from a checkpoint written with optimizer state (lgp-cl-train). */
int lgp_cl_state_resume(lgp_cl_state *s, const char *path, char *err, size_t errlen);
void lgp_cl_state_free(lgp_cl_state *s);
/* __meta__ JSON (malloc'd). */
char *lgp_cl_state_meta(const lgp_cl_state *s, int complete);
/* Record borrowing the state's buffers (free with lgp_record_free; buffers stay).
 * with_optim: include the AdamW moments. */
int lgp_cl_state_record(const lgp_cl_state *s, lgp_record *rec, int with_optim);
/* Copies the online encoder and projector (and BN stats) into the momentum model. */
void lgp_cl_state_sync_momentum(lgp_cl_state *s);
/* FNV-1a over the encoder tensors (no decoder, no heads) of params (online) or of the
 * momentum model: equal weights, equal hash. */
uint64_t lgp_cl_encoder_hash(const lgp_cl_state *s, int momentum);
/* Momentum coefficient for the step about to be taken (see above). */
double lgp_cl_momentum_at(const lgp_cl_state *s);

/* ---- one step ---- */
typedef struct {
    lgp_cl_state *s;       /* borrowed */
    int maxB;
    lgp_encoder enc;       /* one activation arena, pointed at the momentum or online model */
    lgp_mlp_acts pa, qa;   /* projector, predictor activations */
    lgp_moco_ctr ctr;
    lgp_mae mae;           /* only with mim_weight > 0 */
    int with_mae;
    int world, rank;       /* data-parallel ranks (dist.h); 1, 0 without MPI */
    lgp_bn_sync sync;      /* SyncBN over the ranks (ops.h) */
    const lgp_bn_sync *bn; /* &sync when world > 1, else NULL */
    lgp_gradsync *grads;  /* set by the caller: the step's last backward starts each
                              block's gradient all-reduce (gradsync.h); NULL: none */
    float *grad_ctr;       /* set by the caller, [params.total] or NULL: with the MAE term,
                              the step leaves the contrastive gradient here and only
                              W·∂MAE in s->m.grads (gradconf.h); the caller adds them
                              back for a training step. Needs grads == NULL. */
    float *k[2];           /* [B, E] momentum keys of view 0 / 1 (this rank's) */
    float *kg[2];          /* [world*B, E] keys of every rank in rank order (= k when world 1) */
    float *q0;             /* [B, E] online output of view 0 (collapse monitor) */
    float *dq, *dz;        /* [B, E] */
    float *dfeat;          /* [B, C] */
    float *buf;            /* owns k, q0, dq, dz, dfeat */
} lgp_cl_engine;

int lgp_cl_engine_init(lgp_cl_engine *e, lgp_cl_state *s, int maxB, char *err, size_t errlen);
void lgp_cl_engine_free(lgp_cl_engine *e);
/* Data parallel (world > 1): every rank calls the step with its own B images (the same B
 * on every rank); the keys are all-gathered so each query sees the global batch of
 * negatives, its positive at row rank*B + i; the heads' BatchNorm statistics (forward
 * and backward sums, online and momentum) are those of the global batch. The caller
 * then averages s->m.grads over the ranks: the result equals one rank with world*B
 * images (up to summation order). The returned losses are this rank's (means over its
 * B queries): their mean over the ranks is the global loss.
 *
 * The MoCo v3 step up to (not including) the optimizer: momentum update with m, keys
 * k1, k2 from the momentum branch (BN train mode, running stats move, no grads), online
 * q1, q2, loss = ctr(q1, k2) + ctr(q2, k1), gradients (zeroed first) into s->m.grads.
 * x0, x1: views [B, c, H, W] normalised. mim: images for the MAE term (view 0) with
 * sample ids/epoch for its masks, used only when the engine has the MAE. *collapse:
 * lgp_moco_collapse_std of q1. With e->grad_ctr the two gradients come apart (above).
 * Returns the total loss (contrastive + W·MAE);
 * *ctr_loss / *mim_loss (may be NULL) the parts. */
double lgp_cl_engine_step(lgp_cl_engine *e, const float *x0, const float *x1, int B, double m,
                          const uint64_t *ids, uint64_t epoch, double *collapse, double *ctr_loss,
                          double *mim_loss);

#endif

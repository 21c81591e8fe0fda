/* runstate.h — what every training run is besides its model and optimizer moments:
 * schedule, input normalisation, seed, position (step, records used), gradient clip,
 * class list and where the weights came from; and the one metadata schema every
 * trainer's checkpoint shares, written and read here (integers exact, formats/json.h):
 *
 *   {"stage", "model", "norm":{"mean":[..],"std":[..]}, "seed", "step",
 *    "records_consumed", "complete", "optim":{"t","beta1","beta2","eps","weight_decay",
 *    "clip_grad"}, "schedule":{"total_steps","warmup_steps","steps_per_epoch","batch",
 *    "accum","world","lr","blr","min_lr"}, "classes":[..], "init", "gemm"}
 *
 * and whatever members the trainer adds (lgp-cl-train: "heads", "moco", "lr_groups",
 * "graft"). An lgp_run owns its class list (lgp_run_free). */
#ifndef LGP_RUNSTATE_H
#define LGP_RUNSTATE_H

#include <stdint.h>

#include "formats/json.h"
#include "common/nn/optim.h"
#include "common/train/schedule.h"
#include "common/nn/vit.h"

typedef struct {
    lgp_schedule sched;
    float mean[4], std[4]; /* per channel, applied to x/255 */
    uint64_t seed;
    int64_t step, consumed; /* optimizer steps taken; records read for them */
    double clip;            /* global-norm gradient clip, 0 = off */
    lgp_json *classes;      /* owned, may be NULL */
    char init[512];         /* where the initial weights came from */
    char gemm[128];         /* the matrix-product backend that trained it ("" if not recorded) */
} lgp_run;

void lgp_run_free(lgp_run *r);
/* Takes the input stream's "classes" when the run has none. */
void lgp_run_take_classes(lgp_run *r, const char *stream_meta);
/* A new metadata object: "stage", "model" (cfg), then the run's members above. The
 * caller adds its own members and dumps it. */
lgp_json *lgp_run_meta(const lgp_run *r, const char *stage, const lgp_vit_config *cfg, const lgp_adamw *opt,
                       int complete);
/* Reads the run's members back from m (written by lgp_run_meta for this stage): the
 * AdamW hyper-parameters into *hp (defaults kept for absent ones) and its step count
 * into *opt_t. LGP_FATAL if the stage differs or a required member is missing. */
int lgp_run_meta_read(lgp_run *r, const lgp_json *m, const char *stage, int in_chans, lgp_adamw_hparams *hp,
                      int64_t *opt_t);
/* Resuming: warns when the run's steps so far had another matrix-product backend (or
 * another CPU's kernels) than this process: it continues, but not bit for bit. */
void lgp_run_check_gemm(const lgp_run *r, const char *path);

#endif

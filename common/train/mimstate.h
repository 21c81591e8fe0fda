/* mimstate.h — everything a stage-1 (MAE) run is: model with decoder and gradients,
 * AdamW state, schedule, normalisation, seed and data position; saved to and restored
 * from one checkpoint so that a resumed run continues bit-exactly.
 *
 * Checkpoint layout (formats/checkpoint.h): every parameter under its timm name,
 * "optim.m.<name>" / "optim.v.<name>" for trainable tensors, and __meta__ in the
 * schema of runstate.h with "stage":"mim".
 * The struct owns everything in it (free with lgp_mim_state_free). */
#ifndef LGP_MIMSTATE_H
#define LGP_MIMSTATE_H

#include "formats/json.h"
#include "formats/stream.h"
#include "common/nn/mae.h"
#include "common/nn/optim.h"
#include "common/train/runstate.h"
#include "common/train/schedule.h"
#include "common/nn/vit.h"

typedef struct {
    lgp_vit_model m;
    lgp_adamw opt;
    lgp_run run; /* schedule, normalisation, seed, position, classes, init */
} lgp_mim_state;

/* Fresh model (MAE init from seed), optionally overwritten by init_path's weights
 * (encoder required, decoder optional). */
int lgp_mim_state_new(lgp_mim_state *s, const lgp_vit_config *cfg, uint64_t seed,
                      const lgp_adamw_hparams *hp, const char *init_path, char *err, size_t errlen);
/* Everything from a checkpoint written by lgp_mim_state_save. */
int lgp_mim_state_resume(lgp_mim_state *s, const char *path, char *err, size_t errlen);
void lgp_mim_state_free(lgp_mim_state *s);
/* __meta__ JSON (malloc'd). */
char *lgp_mim_state_meta(const lgp_mim_state *s, int complete);
/* Record borrowing the state's buffers (free with lgp_record_free; buffers stay). */
int lgp_mim_state_record(const lgp_mim_state *s, lgp_record *rec);

#endif

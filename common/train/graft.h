/* graft.h — the paper's central operation (docs/METHOD.md §4.2-§4.4): a stage-2 MoCo v3
 * network whose encoder is the stage-1 (MIM) one. lgp_graft builds the whole start of
 * stage 2 from a stage-1 lgp checkpoint or timm/MAE safetensors record: the encoder
 * loaded (the MAE decoder dropped, or kept for --mim-weight / --keep-decoder), new
 * projector and predictor heads from seed, the layer-wise lr groups of o (groups.h:
 * lower blocks at a smaller lr, patch and position embedding frozen), optionally blocks
 * >= o->reinit_above re-initialised, and the momentum encoder a copy of the online one.
 * What was done is recorded in s->graft ("source", "encoder_hash", "decoder", ...).
 * The state is the caller's (lgp_cl_state_free). */
#ifndef LGP_GRAFT_H
#define LGP_GRAFT_H

#include "common/train/clstate.h"

/* LGP_OK; LGP_USAGE when o asks for what the model cannot be (groups that do not split
 * its depth); LGP_FATAL otherwise, with "src: reason" in err. cfg_fallback (may be
 * NULL) is the model when the record's metadata has none (a safetensors file). */
int lgp_graft(lgp_cl_state *s, const lgp_record *rec, const char *meta_text, const char *src,
              const lgp_vit_config *cfg_fallback, const lgp_cl_opts *o, uint64_t seed, const lgp_adamw_hparams *hp,
              char *err, size_t errlen);

#endif

/* modelload.h — build a ViT from a checkpoint of any stage (lgp checkpoint, or a timm /
 * MAE / MoCo v3 safetensors file), with strict key accounting (named.h).
 *
 * The config comes from the checkpoint's metadata ("model"), else from arch (a named
 * config), then command-line overrides apply. Names are matched after stripping the
 * usual wrappers ("module.", "base_encoder.", "model."); MoCo heads, the momentum
 * encoder, optimizer state and (for an encoder-only model) the MAE decoder are ignored.
 * The caller owns m (lgp_vit_model_free) and *meta_out (lgp_json_free). */
#ifndef LGP_MODELLOAD_H
#define LGP_MODELLOAD_H

#include "formats/json.h"
#include "common/model/modelcfg.h"
#include "common/nn/vit.h"

int lgp_model_load(lgp_vit_model *m, const char *path, const char *arch,
                   const lgp_modelcfg_overrides *ov, unsigned model_flags, lgp_json **meta_out,
                   char *err, size_t errlen);
/* Mean/std from metadata "norm" ({"mean":[...],"std":[...]}) or the defaults. */
void lgp_model_norm(const lgp_json *meta, int in_chans, float *mean, float *std);
/* The metadata's "classes" array (borrowed) or NULL. */
const lgp_json *lgp_meta_classes(const lgp_json *meta);

#endif

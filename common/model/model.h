/* model.h — the model/ layer of common/ (docs/LAYERS.md): models from files: configs by
 * name, flag and metadata (modelcfg.h), loading any checkpoint or timm/MAE safetensors
 * (modelload.h), checkpoint names to flat buffers with strict key accounting (named.h),
 * the encoder exported for timm (export.h).
 * Includes every module header of the layer. */
#ifndef LGP_MODEL_LAYER_H
#define LGP_MODEL_LAYER_H

#include "common/model/export.h"
#include "common/model/modelcfg.h"
#include "common/model/modelload.h"
#include "common/model/named.h"

#endif

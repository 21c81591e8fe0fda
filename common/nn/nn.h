/* nn.h — the nn/ layer of common/ (docs/LAYERS.md): the network over flat parameter
 * buffers: ops with explicit forward/backward (ops.h), the ViT and its parameter table
 * (vit.h), the training encoder (encoder.h), MAE (mae.h), the MoCo v3 contrastive loss
 * (moco.h), MLP heads (mlp.h), the fine-tuning head and soft cross-entropy (classifier.h), BatchNorm and ReLU in ops.h, AdamW, lr schedule and clipping (optim.h).
 * Includes every module header of the layer. */
#ifndef LGP_NN_LAYER_H
#define LGP_NN_LAYER_H

#include "common/nn/classifier.h"
#include "common/nn/encoder.h"
#include "common/nn/mae.h"
#include "common/nn/mlp.h"
#include "common/nn/moco.h"
#include "common/nn/ops.h"
#include "common/nn/optim.h"
#include "common/nn/vit.h"

#endif

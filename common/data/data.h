/* data.h — the data/ layer of common/ (docs/LAYERS.md): images into batches: augmentation
 * recipes (augment.h), PIL-compatible resampling (resize.h), MAE/BEiT masks (mask.h),
 * record batches (batch.h), image sources: archives, folders, IDX (imagesrc.h), image
 * positions for reading in any order (imgindex.h),
 * shard/shuffle/window order (order.h), mixup/cutmix of a batch (mixup.h).
 * Includes every module header of the layer. */
#ifndef LGP_DATA_LAYER_H
#define LGP_DATA_LAYER_H

#include "common/data/augment.h"
#include "common/data/batch.h"
#include "common/data/imagesrc.h"
#include "common/data/imgindex.h"
#include "common/data/mask.h"
#include "common/data/mixup.h"
#include "common/data/order.h"
#include "common/data/resize.h"

#endif

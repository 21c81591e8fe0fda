/* eval.h — the eval/ layer of common/ (docs/LAYERS.md): frozen-feature evaluation:
 * logistic regression (logreg.h), kNN (knn.h), SGD linear probe (linprobe.h), few-shot
 * subsets (subset.h), probe runs and reports (probe.h).
 * Includes every module header of the layer. */
#ifndef LGP_EVAL_LAYER_H
#define LGP_EVAL_LAYER_H

#include "common/eval/knn.h"
#include "common/eval/linprobe.h"
#include "common/eval/logreg.h"
#include "common/eval/probe.h"
#include "common/eval/subset.h"

#endif

/* train.h — the train/ layer of common/ (docs/LAYERS.md): training. The trainer
 * skeleton: options (trainopts.h), loop (trainer.h), schedule (schedule.h), snapshots
 * and rollback (snapshot.h), run state and metadata (runstate.h), train log
 * (trainlog.h); the gradient all-reduce (gradsync.h), the MAE and MoCo v3 states
 * (mimstate.h, clstate.h), the fine-tuning state and step (ftstate.h), grafting (graft.h), lr groups (groups.h), reconstructions
 * (recon.h). Includes every module header of the layer. */
#ifndef LGP_TRAIN_LAYER_H
#define LGP_TRAIN_LAYER_H

#include "common/train/clstate.h"
#include "common/train/ftstate.h"
#include "common/train/gradsync.h"
#include "common/train/graft.h"
#include "common/train/groups.h"
#include "common/train/mimstate.h"
#include "common/train/recon.h"
#include "common/train/runstate.h"
#include "common/train/schedule.h"
#include "common/train/snapshot.h"
#include "common/train/trainlog.h"
#include "common/train/trainer.h"
#include "common/train/trainopts.h"

#endif

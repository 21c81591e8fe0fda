# ImageNet-1k, the official recipe (shared/reference/RECIPE.md §2-§4, docs/METHOD.md):
# ViT-B/16 at 224, MAE with mask 0.75 and per-patch normalised targets (lgp-mim-train's
# defaults), blr 1.5e-4, warmup 40; MoCo v3 heads 4096/256, tau 0.2, momentum 0.99 to 1
# by cosine (lgp-cl-train's defaults), blr 1.5e-4, the paper's lr-layer-wise; the
# moco and mae view recipes at 224 (lgp-augment's defaults); test images Resize 256 +
# CenterCrop 224 (EVAL). Give the val labels with TEST_LABELS (ImageNet val is a flat
# folder: 'name label' or one label per line in sorted name order, tar-images --labels).
#
# Batch: the recipe's 4096 images per step is BATCH x MIM_ACCUM on one process for MAE;
# lgp-cl-train has no accumulation (MoCo v3's negatives are the batch itself), so its
# 4096 is 16 MPI ranks of 256 (lgp-cl-train --help, MULTIPLE PROCESSES); run alone, the
# contrastive stage uses batch 256 with the lr scaled by the linear rule (blr x 256/256).
#
# SCHEDULE=paper: MAE 1600 epochs, stage 2 300 (the released models; GPU-cluster weeks).
# SCHEDULE=short: MAE 400, stage 2 100, warmups 40 and 10: the shorter variant MAE and
# MoCo v3 themselves report ablations at.
SCHEDULE ?= paper
MODEL ?= vit-base
SIZE ?= 224
PATCH ?= 16
N_TRAIN ?=
BATCH ?= 256
MIM_ACCUM ?= 16
MIM_BLR ?= 1.5e-4
CL_BLR ?= 1.5e-4
LR_LAYER_WISE ?= 1.5e-5,1.5e-5,1.5e-4
MLP_DIM ?= $(if $(filter fmnist vit-tiny,$(MODEL)),1024,4096)
MOCO_DIM ?= $(if $(filter fmnist vit-tiny,$(MODEL)),128,256)
EVAL ?= lgp-augment --recipe eval --size $(SIZE) |
PROBE_SEEDS ?= 3
THREADS ?= $(shell nproc)
TUNED ?= 1pct
ifeq ($(SCHEDULE),paper)
MIM_EPOCHS ?= 1600
MIM_WARMUP ?= 40
CL_EPOCHS ?= 300
CL_WARMUP ?= 40
else ifeq ($(SCHEDULE),short)
MIM_EPOCHS ?= 400
MIM_WARMUP ?= 40
CL_EPOCHS ?= 100
CL_WARMUP ?= 10
else
$(error pipelines/profiles/imagenet.mk: SCHEDULE=$(SCHEDULE): want paper or short)
endif
# What a run costs here: MAE images per second per 2-core machine at 224 (bench/README.md:
# vit-base batch 64, 4-7 img/s; fmnist 460), scaled by the token count for other sizes.
LGP_MAE_IPS = $(shell awk 'BEGIN { m["fmnist"] = 460; m["vit-tiny"] = 60; m["vit-small"] = 20; m["vit-base"] = 5; m["vit-large"] = 1.5; \
  r = m["$(MODEL)"]; if (!r) r = 5; t = ($(SIZE) / $(PATCH)) ^ 2 / 196; printf "%.3g", r / (t > 0 ? t : 1) }')
$(info lgp.mk: profile $(PROFILE) ($(SCHEDULE)): $(MODEL)/$(PATCH) at $(SIZE), MAE $(MIM_EPOCHS) + MoCo v3 $(CL_EPOCHS) epochs, heads $(MLP_DIM)/$(MOCO_DIM); at ~$(LGP_MAE_IPS) img/s (one 2-core machine, bench/README.md) one MAE epoch of 100,000 images takes ~$(shell awk 'BEGIN { printf "%.3g", 100000 / $(LGP_MAE_IPS) / 3600 }') h: plan ranks (MPI) accordingly)

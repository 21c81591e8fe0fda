# Quick profile (make demo, ~20 min on 2 cores): a 10,000-image subset (shard 0 of 6),
# the fmnist model with 7x7 patches (16 tokens: a MoCo step is ~3x cheaper than with
# 4x4), short schedules. Learning rates are 10x the ImageNet recipes' base rates per
# 256 images: at batch 128-256 the linear scaling rule gives 16-32x smaller steps than
# the recipes' batch 4096, too small for a few epochs (bench/README.md, README's results).
# CL_AUG scales the moco recipe to 28-pixel images: blur sigma 0.1-2 is for 224 pixels
# (0.1-0.25 here), and crops below 20% of a 28x28 image keep almost nothing.
TRAIN_SHARD ?= 0/6
N_TRAIN ?= 10000
PATCH ?= 7
MIM_EPOCHS ?= 10
CL_EPOCHS ?= 4
BATCH ?= 128
MIM_BLR ?= 1.5e-3
CL_BLR ?= 1.5e-3
LR_LAYER_WISE ?= 1.5e-4,1.5e-4,1.5e-3
CL_AUG ?= --scale 0.2,1 --blur-sigma 0.1,0.25
PROBE_SEEDS ?= 3
# tuned lambda at 1% only: 10% would add hours of cross-validation (lgp.mk, TUNED)
TUNED ?= 1pct
# The Fashion-MNIST IDX order is not class-sorted: the 10000-record buffer the results
# were made with is kept (--shuffle full gives an exact permutation; lgp.mk SHUFFLE).
SHUFFLE ?= 10000
MLP_DIM ?= 1024
MOCO_DIM ?= 128

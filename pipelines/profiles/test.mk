# Test profile (tests/pipeline): a tiny model on 512 images, a few steps per stage.
TRAIN_SHARD ?= 0/117
N_TRAIN ?= 512
MIM_EPOCHS ?= 1
CL_EPOCHS ?= 1
# a fifth of the one epoch (2 of 8 steps): lgp.mk's one-epoch default would be the whole
# run, which the trainers warn about (the lr would never decay)
MIM_WARMUP ?= 0.2
CL_WARMUP ?= 0.2
BATCH ?= 64
MLP_DIM ?= 64
MOCO_DIM ?= 32
PROBE_SEEDS ?= 2
MODEL_FLAGS ?= --width 32 --depth 3 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2
EMBED_SHARD ?= 0/20
TEST_SHARD ?= 0/10
# The Fashion-MNIST IDX order is not class-sorted: the 10000-record buffer the results
# were made with is kept (--shuffle full gives an exact permutation; lgp.mk SHUFFLE).
SHUFFLE ?= 10000
# fine-tuning (make ... finetune): one epoch of the 10% subset (150 images)
FT_EPOCHS ?= 1
FT_BATCH ?= 32
# gradient conflict (make ... gradconf): 2 batches of 32
GC_BATCH ?= 32
GC_BATCHES ?= 2

# Quick profile (make demo): a 10,000-image subset (shard 0 of 6), short schedules.
TRAIN_SHARD ?= 0/6
N_TRAIN ?= 10000
MIM_EPOCHS ?= 4
CL_EPOCHS ?= 4
BATCH ?= 128
PROBE_SEEDS ?= 3

# Repro profile (make repro): all 60,000 training images, longer schedules (about 2 h on
# 2 cores at the engine's measured speed; see the README for the wall times).
TRAIN_SHARD ?= 0/1
N_TRAIN ?= 60000
MIM_EPOCHS ?= 10
CL_EPOCHS ?= 5
BATCH ?= 256
PROBE_SEEDS ?= 5

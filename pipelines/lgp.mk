# pipelines/lgp.mk — the layer-grafted workflow and the paper's baselines as make rules.
#
#   make -f pipelines/lgp.mk              # the comparison table, quick profile
#   make -f pipelines/lgp.mk PROFILE=repro
#   make -f pipelines/lgp.mk TRAIN=imagenet_train.tar TEST=val.tar MODEL=vit-base \
#        SIZE=224 PATCH=16 DECODE='lgp-decode --size 256 |'
#
# Every rule runs bash with -euo pipefail, and every program writes its file through a
# temporary + rename (-o), so a stage failing in the middle of a pipe fails the target
# and leaves no half-made file under the target's name. Branches are independent: make
# -j2 runs them side by side.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:

LGP_BIN ?=
export PATH := $(if $(LGP_BIN),$(LGP_BIN):,)$(PATH)
PYTHON ?= /usr/bin/python3
HERE := $(dir $(lastword $(MAKEFILE_LIST)))

FMNIST ?= /usr/share/datasets/fashion-mnist
TRAIN ?= $(FMNIST)/train-images-idx3-ubyte.gz
TEST ?= $(FMNIST)/t10k-images-idx3-ubyte.gz
PROFILE ?= quick
include $(HERE)profiles/$(PROFILE).mk

# One folder per training seed: `make ... SEED=S` is one resumable run of every row
# with seed S (data order, augmentations, inits, probe subsets); `summary` merges them.
OUT ?= pipelines/out/$(PROFILE)/seed$(SEED)
SEEDS ?= 0 1 2
RESULTS ?= pipelines/results/$(PROFILE)
MODEL ?= fmnist
SIZE ?= 28
PATCH ?= 4
SEED ?= 0
THREADS ?= 2
DECODE ?=
EVAL ?=
TRAIN_SHARD ?= 0/1
EMBED_SHARD ?= 0/1
TEST_SHARD ?= 0/1
N_TRAIN ?= 60000
BATCH ?= 256
MIM_EPOCHS ?= 10
MIM_WARMUP ?= 1
MIM_BLR ?= 1.5e-4
CL_EPOCHS ?= 10
CL_WARMUP ?= 1
CL_BATCH ?= $(BATCH)
LR_LAYER_WISE ?= 1.5e-5,1.5e-5,1.5e-4
CL_BLR ?= 1.5e-4
MLP_DIM ?= 1024
MOCO_DIM ?= 128
MIM_WEIGHT ?= 1
PROBE_SEEDS ?= 3
MODEL_FLAGS ?=
MAE_AUG ?=
CL_AUG ?=
RUNS := grafted mae mocov3 joint random pixels

TARIMG = tar-images --shard $(TRAIN_SHARD) --seed $(SEED)
VIEWS_MAE = $(TARIMG) --shuffle 10000 --epochs $(MIM_EPOCHS) $(TRAIN) | $(DECODE) \
            lgp-augment --recipe mae --size $(SIZE) $(MAE_AUG) --seed $(SEED) | lgp-mask --patch $(PATCH) --seed $(SEED)
VIEWS_CL = $(TARIMG) --shuffle 10000 --epochs $(CL_EPOCHS) $(TRAIN) | $(DECODE) \
           lgp-augment --recipe moco --size $(SIZE) $(CL_AUG) --seed $(SEED)
TRAIN_FLAGS = --threads $(THREADS) --seed $(SEED) --samples-per-epoch $(N_TRAIN)
CL_FLAGS = $(TRAIN_FLAGS) --batch $(CL_BATCH) --epochs $(CL_EPOCHS) --warmup-epochs $(CL_WARMUP)

.PHONY: all table plots clean summary
all: table

# A stage whose snapshot folder holds a latest snapshot continues from it bit-exactly
# (the trainer skips the records it has already used): after a crash or a preemption,
# running make again resumes (`make -f pipelines/lgp.mk resume` says what it would do).
RESUME = $$([ -e $(@D)/snapshots/$(1)-latest.ckpt ] && echo --resume $(@D)/snapshots/$(1)-latest.ckpt)

# ---- stage 1: MAE ----
$(OUT)/mae/stage1.ckpt:
	@mkdir -p $(@D)
	$(VIEWS_MAE) | lgp-mim-train $(call RESUME,mim) --model $(MODEL) --patch $(PATCH) $(MODEL_FLAGS) $(TRAIN_FLAGS) --batch $(BATCH) \
	  --epochs $(MIM_EPOCHS) --warmup-epochs $(MIM_WARMUP) --blr $(MIM_BLR) --log $(@D)/train.jsonl \
	  --checkpoint-dir $(@D)/snapshots --save-every 200 --recon-png $(@D)/recon.png -o $@

# ---- stage 2: grafted MoCo v3 on the MAE layers ----
# The grafted checkpoint goes first on lgp-cl-train's input, the two-view stream after it.
$(OUT)/grafted/stage2.ckpt: $(OUT)/mae/stage1.ckpt
	@mkdir -p $(@D)
	if [ -e $(@D)/snapshots/cl-latest.ckpt ]; then $(VIEWS_CL); \
	else lgp-graft -q --lr-layer-wise $(LR_LAYER_WISE) --mlp-dim $(MLP_DIM) --moco-dim $(MOCO_DIM) $< && $(VIEWS_CL); fi | \
	  lgp-cl-train $(call RESUME,cl) $(CL_FLAGS) --log $(@D)/train.jsonl \
	  --checkpoint-dir $(@D)/snapshots --save-every 200 -o $@

# ---- baselines ----
$(OUT)/mocov3/stage2.ckpt:
	@mkdir -p $(@D)
	$(VIEWS_CL) | lgp-cl-train $(call RESUME,cl) --model $(MODEL) --patch $(PATCH) $(MODEL_FLAGS) --mlp-dim $(MLP_DIM) --moco-dim $(MOCO_DIM) \
	  --blr $(CL_BLR) $(CL_FLAGS) --log $(@D)/train.jsonl --checkpoint-dir $(@D)/snapshots --save-every 200 -o $@

$(OUT)/joint/stage2.ckpt:
	@mkdir -p $(@D)
	$(VIEWS_CL) | lgp-cl-train $(call RESUME,cl) --model $(MODEL) --patch $(PATCH) $(MODEL_FLAGS) --mlp-dim $(MLP_DIM) --moco-dim $(MOCO_DIM) \
	  --blr $(CL_BLR) --mim-weight $(MIM_WEIGHT) $(CL_FLAGS) --log $(@D)/train.jsonl \
	  --checkpoint-dir $(@D)/snapshots --save-every 200 -o $@

# ---- features: train and test embeddings per run ----
ENCODER_grafted = --model $(OUT)/grafted/stage2.ckpt
ENCODER_mae = --model $(OUT)/mae/stage1.ckpt
ENCODER_mocov3 = --model $(OUT)/mocov3/stage2.ckpt
ENCODER_joint = --model $(OUT)/joint/stage2.ckpt
ENCODER_random = --random --arch $(MODEL) --patch $(PATCH) $(MODEL_FLAGS) --seed $(SEED)
ENCODER_pixels = --pixels
DEP_grafted = $(OUT)/grafted/stage2.ckpt
DEP_mae = $(OUT)/mae/stage1.ckpt
DEP_mocov3 = $(OUT)/mocov3/stage2.ckpt
DEP_joint = $(OUT)/joint/stage2.ckpt

.SECONDEXPANSION:
$(OUT)/%/train.emb: $$(DEP_$$*)
	@mkdir -p $(@D)
	tar-images -q --shard $(EMBED_SHARD) $(TRAIN) | $(DECODE) $(EVAL) lgp-embed $(ENCODER_$*) --threads $(THREADS) -q -o $@
$(OUT)/%/test.emb: $$(DEP_$$*)
	@mkdir -p $(@D)
	tar-images -q --shard $(TEST_SHARD) $(TEST) | $(DECODE) $(EVAL) lgp-embed $(ENCODER_$*) --threads $(THREADS) -q -o $@

# ---- probes: 1% and 10% logistic regression (the paper's 1% protocol; its 10% column is
# fine-tuning, docs/METHOD.md pitfall M13), kNN ----
$(OUT)/%/probe-1pct.json: $(OUT)/%/train.emb $(OUT)/%/test.emb
	lgp-probe --train $< --test $(OUT)/$*/test.emb --shots 1% --seeds $(PROBE_SEEDS) --seed $(SEED) --json $@ >$(@D)/probe-1pct.txt
$(OUT)/%/probe-10pct.json: $(OUT)/%/train.emb $(OUT)/%/test.emb
	lgp-probe --train $< --test $(OUT)/$*/test.emb --shots 10% --seeds $(PROBE_SEEDS) --seed $(SEED) --json $@ >$(@D)/probe-10pct.txt
# The same subsets with lambda chosen per row by 5-fold cross-validation inside the
# labelled subset (the test set is never used for a choice): a fixed lambda flatters
# whichever row it happens to suit.
$(OUT)/%/probe-1pct-tuned.json: $(OUT)/%/train.emb $(OUT)/%/test.emb
	lgp-probe --train $< --test $(OUT)/$*/test.emb --shots 1% --lambda auto --seeds $(PROBE_SEEDS) --seed $(SEED) --json $@ >$(@D)/probe-1pct-tuned.txt
$(OUT)/%/probe-10pct-tuned.json: $(OUT)/%/train.emb $(OUT)/%/test.emb
	lgp-probe --train $< --test $(OUT)/$*/test.emb --shots 10% --lambda auto --seeds $(PROBE_SEEDS) --seed $(SEED) --json $@ >$(@D)/probe-10pct-tuned.txt
$(OUT)/%/probe-knn.json: $(OUT)/%/train.emb $(OUT)/%/test.emb
	lgp-probe --train $< --test $(OUT)/$*/test.emb --shots all --method knn --json $@ >$(@D)/probe-knn.txt

# TUNED: which subsets also get the tuned-lambda protocol. Its cross-validation is 40
# fits per probe seed, cheap at 1% but hours at 10% of 60k with the paper's near-zero
# lambdas (each fit runs to the 2000-iteration cap), so the big profiles tune 1% only.
TUNED ?= 1pct 10pct
# The embeddings are made by pattern rules only: keep them (they are not intermediate
# leftovers). Every other file is named here, so one that is missing, such as a probe
# added since a run, is made again.
.SECONDARY: $(foreach r,$(RUNS),$(OUT)/$(r)/train.emb $(OUT)/$(r)/test.emb)
PROBES := $(foreach r,$(RUNS),$(foreach p,1pct 10pct knn $(foreach t,$(TUNED),$(t)-tuned),$(OUT)/$(r)/probe-$(p).json))

$(OUT)/results.md: $(PROBES)
	$(PYTHON) $(HERE)results.py --out $(OUT) --profile $(PROFILE) --runs "$(RUNS)" --train-seed $(SEED) --json $(OUT)/results.json \
	  --settings "MODEL=$(MODEL) PATCH=$(PATCH) $(MODEL_FLAGS) MAE_AUG=$(MAE_AUG) CL_AUG=$(CL_AUG) N_TRAIN=$(N_TRAIN) SHARD=$(TRAIN_SHARD) BATCH=$(BATCH) MIM_EPOCHS=$(MIM_EPOCHS) MIM_BLR=$(MIM_BLR) CL_EPOCHS=$(CL_EPOCHS) CL_BATCH=$(CL_BATCH) LR_LAYER_WISE=$(LR_LAYER_WISE) CL_BLR=$(CL_BLR) MLP_DIM=$(MLP_DIM) MOCO_DIM=$(MOCO_DIM) MIM_WEIGHT=$(MIM_WEIGHT) SEED=$(SEED) PROBE_SEEDS=$(PROBE_SEEDS)" >$@.tmp
	mv $@.tmp $@

table: $(OUT)/results.md
	cat $<

plots: $(OUT)/results.md
	bash $(HERE)plots.sh $(OUT)

# Mean ± std over training seeds and paired differences by seed, from the seed runs that
# exist (each made by `make ... SEED=S`); written to RESULTS.
SEED_RESULTS = $(foreach s,$(SEEDS),pipelines/out/$(PROFILE)/seed$(s)/results.json)
summary:
	for f in $(SEED_RESULTS); do [ -e "$$f" ] || { echo "lgp.mk: $$f is missing: run the seed first (make ... SEED=N)" >&2; exit 1; }; done
	$(PYTHON) $(HERE)summary.py --out $(RESULTS) $(SEED_RESULTS)

clean:
	rm -rf $(OUT)

# pipelines/lgp.mk — the layer-grafted workflow and the paper's baselines as make rules.
#
#   make -f pipelines/lgp.mk              # the comparison table, quick profile
#   make -f pipelines/lgp.mk PROFILE=repro
#   make -f pipelines/lgp.mk PROFILE=imagenet TRAIN=train.tar TEST=val.tar TEST_LABELS=val.txt
#   make -f pipelines/lgp.mk TRAIN=mydata.tar TEST=mytest.tar MODEL=vit-small  # profile own
#   make -f pipelines/lgp.mk PROFILE=repro SEED=1 resume  # what a rerun would continue
#
# Profiles (pipelines/profiles/): quick, repro and test run Fashion-MNIST; imagenet is
# the official recipe; imagenet100 that recipe on a 100-class subset (CLASSES=FILE);
# own (the default when TRAIN is given) is that recipe for your data at MODEL/SIZE. `make -n ...` shows every command a profile would run.
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
# Your data never inherits the Fashion-MNIST demo's subset and toy settings.
ifeq ($(filter command line environment environment override,$(origin TRAIN)),)
PROFILE ?= quick
else
PROFILE ?= own
endif
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
TEST_LABELS ?=
# Extra tar-images options for every read of TRAIN and TEST (imagenet100: the subset).
TI_FLAGS ?=
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
# Head sizes: empty lets the programs choose by width (4096/256 at ViT-B scale,
# 1024/128 below); the profiles name them.
MLP_DIM ?=
MOCO_DIM ?=
MIM_ACCUM ?= 1
MIM_WEIGHT ?= 1
# Data order: full is an exact permutation per epoch (plain tars, folders, IDX; a
# compressed tar falls back to a buffer); N a WebDataset-style buffer of N records.
# INDEX keeps the indexing pass of a full shuffle for the next run.
SHUFFLE ?= full
INDEX ?= $(if $(filter full,$(SHUFFLE)),$(OUT)/../train.idx)
# The joint baseline is one ViT on both losses, ctr + MIM_WEIGHT x MAE (view 0 masked),
# and trains its patch embedding as MAE does (MoCo v3 alone freezes it).
JOINT_FLAGS ?= --train-patch-embed
PROBE_SEEDS ?= 3
MODEL_FLAGS ?=
MAE_AUG ?=
CL_AUG ?=
RUNS := grafted mae mocov3 joint random pixels
# The ablation that carries the paper's claim (make ... ablation): the grafted stage 2
# from the same stage-1 checkpoint with the lower blocks' rate at 0 (frozen) or at the
# upper rate (uniform), or the low rate on the lower third / on every block (heads at
# the upper rate). grafted itself is the paper's arm: 0.1x on the lower two thirds.
ABLATION_RUNS := graft-lr0 graft-lr1 graft-third graft-all
comma := ,
LR_LOW = $(firstword $(subst $(comma), ,$(LR_LAYER_WISE)))
LR_HIGH = $(lastword $(subst $(comma), ,$(LR_LAYER_WISE)))
LW_graft-lr0 = --lr-layer-wise 0,0,$(LR_HIGH)
LW_graft-lr1 = --lr-layer-wise $(LR_HIGH),$(LR_HIGH),$(LR_HIGH)
LW_graft-third = --lr-layer-wise $(LR_LOW),$(LR_HIGH),$(LR_HIGH)
LW_graft-all = --lr-layer-wise $(LR_LOW),$(LR_LOW),$(LR_LOW) --lr-heads $(LR_HIGH)

TARIMG = tar-images --shard $(TRAIN_SHARD) --seed $(SEED) --shuffle $(SHUFFLE)$(if $(INDEX), --index $(INDEX))$(if $(TI_FLAGS), $(TI_FLAGS))
VIEWS_MAE = $(TARIMG) --epochs $(MIM_EPOCHS) $(TRAIN) | $(DECODE) \
            lgp-augment --recipe mae --size $(SIZE) $(MAE_AUG) --seed $(SEED) | lgp-mask --patch $(PATCH) --seed $(SEED)
VIEWS_CL = $(TARIMG) --epochs $(CL_EPOCHS) $(TRAIN) | $(DECODE) \
           lgp-augment --recipe moco --size $(SIZE) $(CL_AUG) --seed $(SEED)
# N_TRAIN empty: the epoch length is the stream's records_per_epoch (IDX, indexed
# archives, folders); a compressed archive without it stops the trainer with a message.
# TRAIN_EXTRA: options for every trainer (lgp-mim-train, lgp-cl-train, lgp-finetune),
# e.g. --bf16; a run made with them says so in its settings.
TRAIN_EXTRA ?=
TRAIN_FLAGS = --threads $(THREADS) --seed $(SEED)$(if $(N_TRAIN), --samples-per-epoch $(N_TRAIN))$(if $(TRAIN_EXTRA), $(TRAIN_EXTRA))
HEADS = $(if $(MLP_DIM),--mlp-dim $(MLP_DIM)) $(if $(MOCO_DIM),--moco-dim $(MOCO_DIM))
CL_FLAGS = $(TRAIN_FLAGS) --batch $(CL_BATCH) --epochs $(CL_EPOCHS) --warmup-epochs $(CL_WARMUP)

.PHONY: all table plots clean summary ablation ablation-summary record finetune finetune-full finetune-full-add gradconf resume gradconf-summary
all: table

# A stage whose snapshot folder holds a latest snapshot continues from it bit-exactly
# (the trainer skips the records it has already used): after a crash or a preemption,
# running make again resumes (`make -f pipelines/lgp.mk resume` says what it would do).
RESUME = $$([ -e $(@D)/snapshots/$(1)-latest.ckpt ] && echo --resume $(@D)/snapshots/$(1)-latest.ckpt)
# `resume`: for this PROFILE/SEED/OUT, each training stage that is done, that would
# continue from its snapshot (and at which step), or that would start from scratch; the
# ablation arms and fine-tuning rows once begun. Trains nothing.
resume:
	bash $(HERE)resume.sh $(OUT) "PROFILE=$(PROFILE) SEED=$(SEED)" mae:mim:stage1.ckpt \
	  $(foreach r,grafted mocov3 joint,$(r):cl:stage2.ckpt) $(foreach r,$(ABLATION_RUNS),$(r):cl:stage2.ckpt:started) \
	  $(foreach r,$(FT_RUNS),$(r):ft:finetune-10pct.json:started) $(foreach r,$(FT_RUNS),$(r)/full:ft:../finetune-all.json:started)

# ---- stage 1: MAE ----
$(OUT)/mae/stage1.ckpt:
	@mkdir -p $(@D)
	$(VIEWS_MAE) | lgp-mim-train $(call RESUME,mim) --model $(MODEL) --patch $(PATCH) --img-size $(SIZE) $(MODEL_FLAGS) $(TRAIN_FLAGS) --batch $(BATCH) \
	  --epochs $(MIM_EPOCHS) --warmup-epochs $(MIM_WARMUP) --blr $(MIM_BLR)$(if $(filter-out 1,$(MIM_ACCUM)), --accum $(MIM_ACCUM)) --log $(@D)/train.jsonl \
	  --checkpoint-dir $(@D)/snapshots --save-every 200 --recon-png $(@D)/recon.png -o $@

# ---- stage 2: grafted MoCo v3 on the MAE layers ----
# The grafted checkpoint goes first on lgp-cl-train's input, the two-view stream after it.
LW_grafted = --lr-layer-wise $(LR_LAYER_WISE)
$(OUT)/grafted/stage2.ckpt $(foreach r,$(ABLATION_RUNS),$(OUT)/$(r)/stage2.ckpt): $(OUT)/%/stage2.ckpt: $(OUT)/mae/stage1.ckpt
	@mkdir -p $(@D)
	if [ -e $(@D)/snapshots/cl-latest.ckpt ]; then $(VIEWS_CL); \
	else lgp-graft -q $(LW_$*) $(HEADS) $< && $(VIEWS_CL); fi | \
	  lgp-cl-train $(call RESUME,cl) $(CL_FLAGS) --log $(@D)/train.jsonl \
	  --checkpoint-dir $(@D)/snapshots --save-every 200 -o $@

# ---- baselines ----
$(OUT)/mocov3/stage2.ckpt:
	@mkdir -p $(@D)
	$(VIEWS_CL) | lgp-cl-train $(call RESUME,cl) --model $(MODEL) --patch $(PATCH) --img-size $(SIZE) $(MODEL_FLAGS) $(HEADS) \
	  --blr $(CL_BLR) $(CL_FLAGS) --log $(@D)/train.jsonl --checkpoint-dir $(@D)/snapshots --save-every 200 -o $@

$(OUT)/joint/stage2.ckpt:
	@mkdir -p $(@D)
	$(VIEWS_CL) | lgp-cl-train $(call RESUME,cl) --model $(MODEL) --patch $(PATCH) --img-size $(SIZE) $(MODEL_FLAGS) $(HEADS) \
	  --blr $(CL_BLR) --mim-weight $(MIM_WEIGHT) $(JOINT_FLAGS) $(CL_FLAGS) --log $(@D)/train.jsonl \
	  --checkpoint-dir $(@D)/snapshots --save-every 200 -o $@

# ---- features: train and test embeddings per run ----
ENCODER_grafted = --model $(OUT)/grafted/stage2.ckpt
ENCODER_mae = --model $(OUT)/mae/stage1.ckpt
ENCODER_mocov3 = --model $(OUT)/mocov3/stage2.ckpt
ENCODER_joint = --model $(OUT)/joint/stage2.ckpt
ENCODER_random = --random --arch $(MODEL) --patch $(PATCH) --img-size $(SIZE) $(MODEL_FLAGS) --seed $(SEED)
ENCODER_pixels = --pixels
DEP_grafted = $(OUT)/grafted/stage2.ckpt
DEP_mae = $(OUT)/mae/stage1.ckpt
DEP_mocov3 = $(OUT)/mocov3/stage2.ckpt
DEP_joint = $(OUT)/joint/stage2.ckpt
$(foreach r,$(ABLATION_RUNS),$(eval ENCODER_$(r) = --model $(OUT)/$(r)/stage2.ckpt)$(eval DEP_$(r) = $(OUT)/$(r)/stage2.ckpt))

.SECONDEXPANSION:
$(OUT)/%/train.emb: $$(DEP_$$*)
	@mkdir -p $(@D)
	tar-images -q --shard $(EMBED_SHARD)$(if $(TI_FLAGS), $(TI_FLAGS)) $(TRAIN) | $(DECODE) $(EVAL) lgp-embed $(ENCODER_$*) --threads $(THREADS) -q -o $@
$(OUT)/%/test.emb: $$(DEP_$$*)
	@mkdir -p $(@D)
	tar-images -q --shard $(TEST_SHARD)$(if $(TEST_LABELS), --labels $(TEST_LABELS))$(if $(TI_FLAGS), $(TI_FLAGS)) $(TEST) | $(DECODE) $(EVAL) lgp-embed $(ENCODER_$*) --threads $(THREADS) -q -o $@

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
# The paper's lambda under cyanure's own stopping rule (relative duality gap 1e-3, at
# most 300 iterations here for its 300 epochs) instead of lgp's tighter gradient rule.
$(OUT)/%/probe-1pct-gap.json: $(OUT)/%/train.emb $(OUT)/%/test.emb
	lgp-probe --train $< --test $(OUT)/$*/test.emb --shots 1% --gap-tol 1e-3 --max-iter 300 --seeds $(PROBE_SEEDS) --seed $(SEED) --json $@ >$(@D)/probe-1pct-gap.txt
$(OUT)/%/probe-knn.json: $(OUT)/%/train.emb $(OUT)/%/test.emb
	lgp-probe --train $< --test $(OUT)/$*/test.emb --shots all --method knn --json $@ >$(@D)/probe-knn.txt

# ---- fine-tuning: the paper's 10% protocol (make ... finetune) ----
# Every pre-training row fine-tuned on the 10% subset the probes' first seed draws
# (lgp-probe --write-subset on the pixel embeddings, lgp-augment --keep-list), so the
# two protocols see the same labelled images. The views are lgp-augment --recipe
# finetune's and the recipe lgp-finetune's defaults: MAE's ViT-B ones, or at <= 32 pixels
# (the fmnist profiles) their low-resolution form (whole image + flip; blr 5e-3, no
# mixup or cutmix). FT_AUG adds lgp-augment flags, FT_FLAGS lgp-finetune ones; the
# ImageNet recipe at 28 pixels, as the results recorded before 2026-12-05 used it:
#   FT_AUG="--scale 0.08,1 --ratio 0.75,1.3333333333333333 --randaug 2,9 --erase-p 0.25"
#   FT_FLAGS="--blr 5e-4 --mixup 0.8 --cutmix 1.0"
# Not part of `table`: each row is a training run.
FT_EPOCHS ?= 10
FT_BATCH ?= 64
FT_AUG ?=
FT_FLAGS ?=
FT_RUNS := grafted mae mocov3 joint random
FT_INIT_grafted = --init $(OUT)/grafted/stage2.ckpt
FT_INIT_mae = --init $(OUT)/mae/stage1.ckpt
FT_INIT_mocov3 = --init $(OUT)/mocov3/stage2.ckpt
FT_INIT_joint = --init $(OUT)/joint/stage2.ckpt
FT_INIT_random = --model $(MODEL) --patch $(PATCH) --img-size $(SIZE) $(MODEL_FLAGS)
$(OUT)/subset-10pct.txt: $(OUT)/pixels/train.emb $(OUT)/pixels/test.emb
	lgp-probe -q --train $< --test $(OUT)/pixels/test.emb --method knn --shots 10% --seed $(SEED) --write-subset $@ >/dev/null
$(OUT)/test.lgps:
	@mkdir -p $(@D)
	tar-images -q --shard $(TEST_SHARD)$(if $(TEST_LABELS), --labels $(TEST_LABELS))$(if $(TI_FLAGS), $(TI_FLAGS)) $(TEST) | $(DECODE) $(EVAL) cat >$@.tmp
	mv $@.tmp $@
# One fine-tuning run (expanded inside a recipe, so $@ and $* are the target's): $(1)
# epochs, $(2) its folder (log, snapshots, checkpoint), $(3) lgp-augment's extra flags;
# it resumes from $(2)/snapshots as RESUME does.
FT_RUN = tar-images -q --shard $(EMBED_SHARD) --seed $(SEED) --shuffle $(SHUFFLE) --epochs $(1)$(if $(TI_FLAGS), $(TI_FLAGS)) $(TRAIN) | $(DECODE) \
	  lgp-augment -q --recipe finetune --size $(SIZE)$(if $(FT_AUG), $(FT_AUG)) --seed $(SEED)$(3) | \
	  lgp-finetune $$([ -e $(2)/snapshots/ft-latest.ckpt ] && echo --resume $(2)/snapshots/ft-latest.ckpt) $(FT_INIT_$*) $(FT_FLAGS)$(if $(TRAIN_EXTRA), $(TRAIN_EXTRA)) --threads $(THREADS) --seed $(SEED) --batch $(FT_BATCH) \
	  --epochs $(1) --test $(OUT)/test.lgps --json $@ --log $(2)/finetune.jsonl \
	  --checkpoint-dir $(2)/snapshots --save-every 200 -o $(2)/finetuned.ckpt
$(OUT)/%/finetune-10pct.json: $(OUT)/subset-10pct.txt $(OUT)/test.lgps $$(DEP_$$*)
	@mkdir -p $(@D)
	$(call FT_RUN,$(FT_EPOCHS),$(@D), --keep-list $<)
FINETUNES := $(foreach r,$(FT_RUNS),$(OUT)/$(r)/finetune-10pct.json)

# Full fine-tuning (make ... finetune-full): every training label, the paper's 100%
# column (RECIPE.md §4.4), FT_FULL_EPOCHS over the whole training set; snapshots in
# RUN/full/ so that it resumes apart from the 10% run.
FT_FULL_EPOCHS ?= $(FT_EPOCHS)
$(OUT)/%/finetune-all.json: $(OUT)/test.lgps $$(DEP_$$*)
	@mkdir -p $(@D)/full
	$(call FT_RUN,$(FT_FULL_EPOCHS),$(@D)/full,)
FINETUNES_FULL := $(foreach r,$(FT_RUNS),$(OUT)/$(r)/finetune-all.json)

# ---- gradient conflict: the paper's motivation (make ... gradconf) ----
# lgp-gradconf on the same GC_BATCHES x GC_BATCH two-view records for every checkpoint:
# the per-block cosine between the MAE and the MoCo v3 gradient. A checkpoint without
# one objective's heads (MAE: no projector; MoCo v3, grafted: no decoder) gets random
# ones from SEED, as lgp-gradconf says; only random and joint have no such caveat.
GC_BATCH ?= 64
GC_BATCHES ?= 32
GC_RUNS := random mae joint mocov3 grafted
GC_MODEL_random = random --arch $(MODEL) --patch $(PATCH) --img-size $(SIZE) $(MODEL_FLAGS)
$(foreach r,mae joint mocov3 grafted,$(eval GC_MODEL_$(r) = $(DEP_$(r))))
$(OUT)/gradconf-views.lgps:
	@mkdir -p $(@D)
	tar-images -q --shard $(EMBED_SHARD) --limit $$(( $(GC_BATCH) * $(GC_BATCHES) ))$(if $(TI_FLAGS), $(TI_FLAGS)) $(TRAIN) | $(DECODE) \
	  lgp-augment -q --recipe moco --size $(SIZE) $(CL_AUG) --seed $(SEED) -o $@
$(OUT)/%/gradconf.json: $(OUT)/gradconf-views.lgps $$(DEP_$$*)
	@mkdir -p $(@D)
	lgp-gradconf -q --model $(GC_MODEL_$*) --batch $(GC_BATCH) --batches $(GC_BATCHES) --seed $(SEED) --threads $(THREADS) \
	  --json $@ <$< >$(@D)/gradconf.txt
GRADCONFS := $(foreach r,$(GC_RUNS),$(OUT)/$(r)/gradconf.json)
gradconf: $(GRADCONFS)
	bash $(HERE)gradconf-plot.sh $(OUT) $(GC_RUNS)
	for r in $(GC_RUNS); do echo "== $$r"; cat $(OUT)/$$r/gradconf.txt; done

# TUNED: which subsets also get the tuned-lambda protocol. Its cross-validation is 40
# fits per probe seed, cheap at 1% but hours at 10% of 60k with the paper's near-zero
# lambdas (each fit runs to the 2000-iteration cap), so the big profiles tune 1% only.
TUNED ?= 1pct 10pct
# The embeddings are made by pattern rules only: keep them (they are not intermediate
# leftovers). Every other file is named here, so one that is missing, such as a probe
# added since a run, is made again.
.SECONDARY: $(foreach r,$(RUNS) $(ABLATION_RUNS),$(OUT)/$(r)/train.emb $(OUT)/$(r)/test.emb)
PROBES := $(foreach r,$(RUNS),$(foreach p,1pct 1pct-gap 10pct knn $(foreach t,$(TUNED),$(t)-tuned),$(OUT)/$(r)/probe-$(p).json))
ABLATION_PROBE_KINDS := 1pct 1pct-tuned knn
ABLATION_PROBES := $(foreach r,grafted $(ABLATION_RUNS),$(foreach p,$(ABLATION_PROBE_KINDS),$(OUT)/$(r)/probe-$(p).json))
SETTINGS = FT_EPOCHS=$(FT_EPOCHS) FT_FULL_EPOCHS=$(FT_FULL_EPOCHS) FT_BATCH=$(FT_BATCH)$(if $(FT_AUG), FT_AUG=$(FT_AUG)) FT_FLAGS=$(FT_FLAGS) MODEL=$(MODEL) PATCH=$(PATCH) $(MODEL_FLAGS) MAE_AUG=$(MAE_AUG) CL_AUG=$(CL_AUG) N_TRAIN=$(N_TRAIN) SHARD=$(TRAIN_SHARD) BATCH=$(BATCH) MIM_EPOCHS=$(MIM_EPOCHS) MIM_BLR=$(MIM_BLR) CL_EPOCHS=$(CL_EPOCHS) CL_BATCH=$(CL_BATCH) LR_LAYER_WISE=$(LR_LAYER_WISE) CL_BLR=$(CL_BLR) MLP_DIM=$(MLP_DIM) MOCO_DIM=$(MOCO_DIM) MIM_WEIGHT=$(MIM_WEIGHT) JOINT_FLAGS=$(JOINT_FLAGS) SEED=$(SEED) PROBE_SEEDS=$(PROBE_SEEDS)$(if $(TRAIN_EXTRA), TRAIN_EXTRA=$(TRAIN_EXTRA))

RESULTS_TABLE = $(PYTHON) $(HERE)results.py --out $(OUT) --profile $(PROFILE) --runs "$(RUNS)" --train-seed $(SEED) \
	  --json $(OUT)/results.json --settings "$(SETTINGS)"$(if $(RESULTS_BASE), $(RESULTS_BASE)) >$(OUT)/results.md.tmp && mv $(OUT)/results.md.tmp $(OUT)/results.md
$(OUT)/results.md: $(PROBES)
	$(RESULTS_TABLE)

# The table again with the fine-tuning column (results.py reads what is there).
finetune: $(PROBES) $(FINETUNES)
	$(RESULTS_TABLE)
	cat $(OUT)/results.md
finetune-full: $(PROBES) $(FINETUNES_FULL)
	$(RESULTS_TABLE)
	cat $(OUT)/results.md

# A recorded seed completed after its run folder is gone: the full fine-tuning rows of
# FT_RUNS are made (their pre-training too where it is missing: the same seed gives the
# same bytes) and join RESULTS/seed<S>/results.json, every other recorded row and stage
# time kept; the seed's table is recorded again. Then `summary`.
#   make -f pipelines/lgp.mk PROFILE=repro SEED=1 FT_RUNS="mae joint random" finetune-full-add
# The record is checked before any training starts (missing, another seed's, other settings).
ifneq ($(filter finetune-full-add,$(MAKECMDGOALS)),)
ADD_CHECK := $(shell $(PYTHON) $(HERE)results.py --check-base --base $(RESULTS)/seed$(SEED)/results.json \
	  --train-seed $(SEED) --settings "$(SETTINGS)" 2>&1 || echo "(results.py failed)")
$(if $(ADD_CHECK),$(error lgp.mk: finetune-full-add: $(ADD_CHECK)))
endif
finetune-full-add: RESULTS_BASE = --base $(RESULTS)/seed$(SEED)/results.json
finetune-full-add: $(FINETUNES_FULL)
	@mkdir -p $(OUT)
	$(RESULTS_TABLE)
	$(RECORD)
	cat $(OUT)/results.md

# The lr-ratio and block-count ablation of one training seed: ablation.json / .md.
$(OUT)/ablation.md: $(ABLATION_PROBES)
	$(PYTHON) $(HERE)results.py --out $(OUT) --profile $(PROFILE) --runs "grafted $(ABLATION_RUNS)" --train-seed $(SEED) \
	  --probes "$(ABLATION_PROBE_KINDS)" --json $(OUT)/ablation.json --title ablation --settings "$(SETTINGS)" >$@.tmp
	mv $@.tmp $@

ablation: $(OUT)/ablation.md
	cat $<

table: $(OUT)/results.md
	cat $<

plots: $(OUT)/results.md
	bash $(HERE)plots.sh $(OUT)

# `record` copies a finished seed's tables (results.*, ablation.*) from OUT, which is not
# kept in git, to RESULTS/seed<S>/, which is: a seed run lands once and the summaries
# below need only the recorded seeds, not the run folders.
define RECORD
[ -e $(OUT)/results.json ] || [ -e $(OUT)/ablation.json ] || { echo "lgp.mk: $(OUT) has no results.json or ablation.json: run the seed first" >&2; exit 1; }
mkdir -p $(RESULTS)/seed$(SEED)
for f in results.json results.md ablation.json ablation.md loss.png accuracy-1pct.png gradconf.png; do if [ -e $(OUT)/$$f ]; then cp $(OUT)/$$f $(RESULTS)/seed$(SEED)/$$f.tmp && mv $(RESULTS)/seed$(SEED)/$$f.tmp $(RESULTS)/seed$(SEED)/$$f; fi; done
for r in $(GC_RUNS); do for f in gradconf.json gradconf.png; do if [ -e $(OUT)/$$r/$$f ]; then cp $(OUT)/$$r/$$f $(RESULTS)/seed$(SEED)/$$r-$$f.tmp && mv $(RESULTS)/seed$(SEED)/$$r-$$f.tmp $(RESULTS)/seed$(SEED)/$$r-$$f; fi; done; done
endef
record:
	$(RECORD)

# Mean ± std over training seeds and paired differences by seed, from the recorded seeds
# (each made by `make ... SEED=S table record`); written to RESULTS.
SEED_RESULTS = $(foreach s,$(SEEDS),$(RESULTS)/seed$(s)/results.json)
summary:
	for f in $(SEED_RESULTS); do [ -e "$$f" ] || { echo "lgp.mk: $$f is missing: run the seed first (make ... SEED=N table record)" >&2; exit 1; }; done
	$(PYTHON) $(HERE)summary.py --out $(RESULTS) $(SEED_RESULTS)
	bash $(HERE)plots.sh $(RESULTS)

SEED_ABLATIONS = $(foreach s,$(SEEDS),$(RESULTS)/seed$(s)/ablation.json)
ablation-summary:
	for f in $(SEED_ABLATIONS); do [ -e "$$f" ] || { echo "lgp.mk: $$f is missing: run the seed first (make ... SEED=N ablation record)" >&2; exit 1; }; done
	$(PYTHON) $(HERE)summary.py --out $(RESULTS) --name ablation $(SEED_ABLATIONS)

gradconf-summary:
	$(PYTHON) $(HERE)gradconf_summary.py $(RESULTS) $(SEEDS) >$(RESULTS)/gradconf.md.tmp && mv $(RESULTS)/gradconf.md.tmp $(RESULTS)/gradconf.md
	cat $(RESULTS)/gradconf.md

clean:
	rm -rf $(OUT)

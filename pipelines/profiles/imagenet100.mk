# ImageNet-100: the imagenet profile's recipe on a 100-class subset of ImageNet-1k (about
# 126,000 training images), ViT-S/16 at 224 by default and the short schedule (MAE 400,
# stage 2 100 epochs): a run for a few machines rather than a cluster. CLASSES names
# the subset, one wnid per line (e.g. the list of CMC, Tian et al. 2019); tar-images
# keeps those classes, labelled in the list's order, and leaves the others out quietly
# (--class-subset). TEST_LABELS for the val images must then give wnids, not indices.
ifeq ($(CLASSES),)
$(error pipelines/profiles/imagenet100.mk: give CLASSES=FILE, the subset's wnids one per line)
endif
MODEL ?= vit-small
SCHEDULE ?= short
TI_FLAGS ?= --classes $(CLASSES) --class-subset
include $(dir $(lastword $(MAKEFILE_LIST)))imagenet.mk

# Your data (the default profile when TRAIN is given): the ImageNet recipe of
# imagenet.mk at MODEL/SIZE/PATCH (default ViT-B/16 at 224) with its short schedule,
# heads by width (4096/256 from ViT-S up, 1024/128 below), every image of TRAIN
# (no shard), the exact shuffle with its index kept beside the run folders, and the
# epoch length from the stream (records_per_epoch) unless N_TRAIN says it.
SCHEDULE ?= short
include $(dir $(lastword $(MAKEFILE_LIST)))imagenet.mk

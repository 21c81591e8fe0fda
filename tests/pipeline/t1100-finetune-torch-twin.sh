#!/usr/bin/env bash
# One lgp-finetune optimizer step against a PyTorch twin (tests/ref/ft_twin.py: timm
# ViT layout with DropPath, timm Mixup/cutmix targets with label smoothing,
# SoftTargetCrossEntropy, torch.optim.AdamW over MAE's param_groups_lrd), for the linear
# head and the first-fc head (--tune-from-first-fc from a start checkpoint's
# head.0.weight): two micro-batches (mixup, then cutmix) with drop path 0.5, layer decay
# 0.75 and smoothing 0.1 on; loss rel 1e-5, every gradient norm-rel 1e-4, every
# parameter after the AdamW step 1e-5.
. "$(dirname "$0")/lib.sh"
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then echo "1..0 # SKIP python3-torch missing"; exit 0; fi
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
for mode in linear firstfc; do
    mkdir "$mode"
    expect_exit 0 "$mode: C writes the inputs and its step" -- "$LGP_BUILD/tests/test_finetune" --twin-write "$mode" "$mode"
    "$PYTHON" "$TESTS_DIR/ref/ft_twin.py" "$mode" >"$mode.log" 2>&1
    rc=$?
    grep -E '^not ok|worst|loss C' "$mode.log" | sed 's/^/# /; s/^# #/#/'
    ok $rc "$mode: torch twin agrees (loss, gradients, mixing, drop path, lr groups, AdamW step)"
done
done_testing

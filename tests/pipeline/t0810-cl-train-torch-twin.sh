#!/usr/bin/env bash
# One full MoCo v3 step of the stage-2 engine against a PyTorch twin
# (tests/ref/cl_twin.py: timm-layout encoder, moco/builder.py heads and loss,
# torch.optim.AdamW with LGP's param groups), for a grafted start (3 lr groups) and a
# from-scratch MoCo v3 start (--freeze-below 1), and the joint baseline's groups (patch
# embedding trained, --lr-heads apart from the last group's rate): loss rel 1e-5, every gradient and BN
# statistic rel 1e-4, the momentum weights rel 1e-6, the AdamW updates rel 1e-3.
. "$(dirname "$0")/lib.sh"
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then echo "1..0 # SKIP python3-torch missing"; exit 0; fi
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
for mode in grafted scratch patch; do
    mkdir "$mode"
    expect_exit 0 "$mode: C writes the inputs and its step" -- "$LGP_BUILD/tests/test_clstate" --twin-write "$mode" "$mode"
    "$PYTHON" "$TESTS_DIR/ref/cl_twin.py" check "$mode" >"$mode.log" 2>&1
    rc=$?
    sed 's/^/# /; s/^# #/#/' "$mode.log"
    ok $rc "$mode: torch twin agrees (loss, gradients, momentum, BN stats, updates)"
done
done_testing

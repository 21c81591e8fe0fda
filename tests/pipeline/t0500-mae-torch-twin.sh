#!/usr/bin/env bash
# The MAE engine against an independent PyTorch twin (tests/ref/mae_twin.py): same
# config, weights, images and masks → loss (rel 1e-5), pred, every parameter gradient
# (norm-relative 1e-4), 10 AdamW steps of losses and final weights (1e-4).
. "$(dirname "$0")/lib.sh"
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then echo "1..0 # SKIP python3-torch missing"; exit 0; fi
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
TEST_MAE="$LGP_BUILD/tests/test_mae"
expect_exit 0 "C writes the twin's inputs" -- "$TEST_MAE" --twin-write "$T"
expect_exit 0 "torch twin runs" -- "$PYTHON" "$TESTS_DIR/ref/mae_twin.py" "$T"
# The C side prints its own TAP lines; renumber them into this test's stream.
"$TEST_MAE" --twin-check "$T" >check.tap 2>check.err
rc=$?
while IFS= read -r line; do
    case $line in
        "ok "*) ok 0 "${line#ok [0-9]* - }" ;;
        "not ok "*) ok 1 "${line#not ok [0-9]* - }" ;;
        "#"*) echo "$line" ;;
    esac
done <check.tap
ok "$rc" "twin check exits 0"
done_testing

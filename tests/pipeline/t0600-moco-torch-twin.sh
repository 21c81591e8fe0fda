#!/usr/bin/env bash
# MoCo v3 heads against PyTorch: the same projector/predictor weights and features give
# the same projector+predictor+loss forward (rel 1e-5), the same gradients of every
# head parameter and of the input features (rel 1e-4), the same running statistics and
# a bit-identical momentum update (tests/ref/moco_twin.py holds the torch side).
. "$(dirname "$0")/lib.sh"
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then echo "1..0 # SKIP python3-torch missing"; exit 0; fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
TWIN="$LGP_BUILD/tests/test_moco"
REF="$TESTS_DIR/ref/moco_twin.py"

expect_exit 0 "torch writes heads and features" -- "$PYTHON" "$REF" make in.safetensors
expect_exit 0 "C runs one head step" -- "$TWIN" twin in.safetensors c.safetensors
for g in forward grads stats momentum; do
    expect_exit 0 "C matches torch: $g" -- "$PYTHON" "$REF" check "$g" in.safetensors c.safetensors
    cat out # per-tensor errors as TAP comments
done
# negative control: the comparison notices another input's results
"$PYTHON" "$REF" make other.safetensors 601 && "$TWIN" twin other.safetensors other-c.safetensors
[ -s other-c.safetensors ]; ok $? "C step on a second input (seed 601)"
expect_exit 1 "a step on other inputs does not match (the check can fail)" -- \
    "$PYTHON" "$REF" check forward in.safetensors other-c.safetensors
expect_exit 1 "a missing input is an error" -- "$TWIN" twin nosuch.safetensors x.safetensors
expect_err_line "test_moco: twin: nosuch.safetensors: *" "one line on stderr"
done_testing

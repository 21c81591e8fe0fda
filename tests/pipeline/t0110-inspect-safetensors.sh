#!/usr/bin/env bash
# safetensors interchange with PyTorch: a file written by torch converts into an lgp
# checkpoint and back, and torch reads lgp's file with identical values and dtypes.
. "$(dirname "$0")/lib.sh"
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then echo "1..0 # SKIP python3-torch missing"; exit 0; fi

"$PYTHON" "$TESTS_DIR/ref/safetensors_torch.py" write torch.safetensors
expect_exit 0 "torch file -> lgp checkpoint" -- lgp-inspect --from-safetensors torch.safetensors -o model.ckpt
expect_exit 0 "checkpoint verifies" -- lgp-inspect --verify model.ckpt
expect_exit 0 "inspect lists tensors" -- lgp-inspect --records 1 model.ckpt
grep -q 'blocks.0.attn.qkv.weight *f32 *\[24, 8\]' out; ok $? "timm name, dtype and shape shown"
grep -q 'step *i64 *\[\] = 12345' out; ok $? "0-d tensor value shown"
expect_exit 0 "lgp checkpoint -> safetensors" -- lgp-inspect --to-safetensors back.safetensors model.ckpt
expect_exit 0 "torch reads lgp's safetensors with identical values" -- "$PYTHON" "$TESTS_DIR/ref/safetensors_torch.py" check back.safetensors
grep -q "lgp_meta" out; ok $? "lgp metadata travels in __metadata__"
lgp-inspect --from-safetensors torch.safetensors --uncompressed >stdout.ckpt
expect_exit 0 "raw checkpoint on stdout verifies" -- lgp-inspect --verify stdout.ckpt
done_testing

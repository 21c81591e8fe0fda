#!/usr/bin/env bash
# lgp-graft: a stage-1 checkpoint becomes a stage-2 one: encoder kept bit for bit (the
# hash lgp-graft records equals a hash of the stage-1 encoder recomputed in Python),
# decoder dropped, heads and momentum copies added, groups in the metadata; the
# result feeds lgp-embed and lgp-cl-train; errors exit 1/2 with one line.
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 64 data.lgps
lgp-mim-train --model fmnist --width 32 --depth 3 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2 \
    --batch 16 --steps 2 --warmup-steps 1 --threads 2 -q -o s1.ckpt data.lgps
ok $? "stage 1 (tiny)"
expect_exit 0 "graft with three groups" -- lgp-graft --lr-layer-wise 1e-5,1e-5,1e-4 --mlp-dim 64 --moco-dim 16 -o s2.ckpt s1.ckpt
lgp-inspect --meta s2.ckpt >meta.txt
grep -q '"stage":"cl"' meta.txt; ok $? "metadata: stage cl"
grep -q '"layer_wise":\[1.0000000000000001e-05,1.0000000000000001e-05,0.0001\]' meta.txt; ok $? "metadata: the lr groups"
grep -q '"frozen":\["pos_embed","patch_embed.proj.weight","patch_embed.proj.bias"\]' meta.txt; ok $? "metadata: frozen tensors"
lgp-inspect --to-safetensors s2.st s2.ckpt >/dev/null 2>&1
ok $? "stage-2 checkpoint converts to safetensors"
lgp-inspect --to-safetensors s1.st s1.ckpt >/dev/null 2>&1
"$PYTHON" -c '
import sys, torch
sys.path.insert(0, sys.argv[3] + "/ref")
from mae_twin import st_load
a, _ = st_load(sys.argv[1]); b, _ = st_load(sys.argv[2])
enc = [k for k in a if not k.startswith(("decoder_", "mask_token", "optim."))]
bad = [k for k in enc if not torch.equal(a[k], b[k]) or not torch.equal(a[k], b["momentum." + k])]
assert not bad, bad
assert not any(k.startswith(("decoder_", "mask_token", "optim.")) for k in b), "decoder/optim in stage 2"
for k in ("head.0.weight", "head.7.running_var", "predictor.4.running_mean", "momentum.head.6.weight"):
    assert k in b, k
assert "predictor.0.weight" in b and "momentum.predictor.0.weight" not in b
print("# %d encoder tensors equal, online and momentum" % len(enc))
' s1.st s2.st "$TESTS_DIR"
ok $? "encoder (online and momentum) equals stage 1 bit for bit; heads added, decoder dropped"
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 8 few.lgps
expect_exit 0 "lgp-embed reads the stage-2 checkpoint (heads, momentum ignored)" -- lgp-embed --model s2.ckpt -o emb.lgps few.lgps
expect_exit 2 "groups that do not split the blocks: usage error" -- lgp-graft --lr-layer-wise 1,2 -o x.ckpt s1.ckpt
[[ $(head -n 1 err) == "lgp-graft: "*"do not split 3 blocks"* ]]; ok $? "the message names the depth"
expect_exit 1 "a missing input: exit 1" -- lgp-graft -o x.ckpt nope.ckpt
expect_err_line "lgp-graft: *nope.ckpt*" "one line naming the file"
expect_exit 1 "grafting a stage-2 checkpoint: exit 1" -- lgp-graft -o x.ckpt s2.ckpt
expect_exit 1 "--keep-decoder on weights without a decoder: exit 1" -- lgp-graft --keep-decoder -o x.ckpt s2.st
[ ! -e x.ckpt ]; ok $? "no output after the errors"
done_testing

#!/usr/bin/env bash
# Interop out: lgp-inspect --to-npz and --to-safetensors write what NumPy and PyTorch
# read without lgp code (tests/ref/interop_out.py): the stacked arrays of image,
# embedding and hand-made streams (every dtype, text, unicode keys) with their values;
# --encoder-only turns stage-1, stage-2 and fine-tuned checkpoints into timm ViT
# weights that a plain PyTorch ViT loads strictly and that give lgp-embed's features;
# lgp-inspect describes safetensors files and hashes several files; formats/lgpstream.py
# reads raw, zstd and concatenated streams as lgp-inspect counts them; the npz writer's
# ZIP64 layout loads in NumPy; bad input, bad output paths and unstackable records exit
# 1 with one line and leave any previous output untouched.
. "$(dirname "$0")/lib.sh"
if ! "$PYTHON" -c 'import numpy, zstandard, torch' 2>/dev/null; then
    echo "1..0 # SKIP python3-numpy, python3-zstandard or python3-torch missing"; exit 0
fi
REF="$TESTS_DIR/ref/interop_out.py"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
comment() { sed 's/^/#   /' out | head -n "${1:-12}"; }

# fixtures: 8 test images (zstd and raw), 64 training images, and a tiny ViT (C 32, L 2)
# trained 2 steps per stage: MAE, then MoCo v3 from the graft, then fine-tuned
tar-images --limit 8 "$FMNIST/t10k-images-idx3-ubyte.gz" >imgs.lgps 2>/dev/null
tar-images --limit 8 --uncompressed "$FMNIST/t10k-images-idx3-ubyte.gz" >imgs.raw.lgps 2>/dev/null
tar-images --limit 64 "$FMNIST/train-images-idx3-ubyte.gz" >train.lgps 2>/dev/null
lgp-augment --recipe mae <train.lgps 2>/dev/null | lgp-mask 2>/dev/null |
    lgp-mim-train --model fmnist --width 32 --depth 2 --heads 2 --steps 2 --batch 32 -o s1.ckpt 2>/dev/null
{ lgp-graft s1.ckpt; lgp-augment --recipe moco <train.lgps; } 2>/dev/null |
    lgp-cl-train --steps 2 --batch 32 -o s2.ckpt 2>/dev/null
lgp-augment --recipe finetune <train.lgps 2>/dev/null |
    lgp-finetune --init s2.ckpt --steps 2 --batch 32 -o ft.ckpt 2>/dev/null
[ -s s1.ckpt ] && [ -s s2.ckpt ] && [ -s ft.ckpt ]; ok $? "fixtures: stage-1, stage-2 and fine-tuned checkpoints"

# --- NumPy .npz ---
expect_exit 0 "--to-npz of an image stream" -- lgp-inspect --to-npz imgs.npz imgs.lgps
expect_exit 0 "np.load: the arrays of formats/lgpstream.py, dtypes and values" -- "$PYTHON" "$REF" check-npz imgs.npz imgs.lgps
grep -q '^image uint8 (8, 28, 28, 1)$' out && grep -q '^label int64 (8,)$' out && grep -q '^key <U10 (8,)$' out
ok $? "image u8 [8, 28, 28, 1], label int64 [8], key <U10 [8]"; comment 8

"$PYTHON" "$REF" handmade .
expect_exit 0 "--to-npz of a hand-made stream" -- lgp-inspect --to-npz hand.npz hand.lgps
expect_exit 0 "the same arrays as np.savez writes: every dtype, 0-d and n-d, str, unicode keys" -- "$PYTHON" "$REF" same-npz hand.npz hand.expected.npz
[ "$(grep -c ' ' out)" -eq 10 ]; ok $? "all 10 arrays compared"; comment 10
expect_exit 0 "formats/lgpstream.py reads the hand-made stream as np.savez's arrays" -- "$PYTHON" "$REF" check-npz hand.expected.npz hand.lgps

# --- embeddings: .npz and safetensors ---
lgp-embed --model s1.ckpt --pool cls imgs.lgps >emb.lgps 2>/dev/null
expect_exit 0 "--to-npz of an embedding stream" -- lgp-inspect --to-npz emb.npz emb.lgps
expect_exit 0 "np.load: feature f32 [8, 32], label, key as read from the stream" -- "$PYTHON" "$REF" check-npz emb.npz emb.lgps
grep -q '^feature float32 (8, 32)$' out; ok $? "feature float32 (8, 32)"
lgp-inspect --to-npz emb2.npz <emb.lgps 2>/dev/null
cmp -s emb.npz emb2.npz; ok $? "from stdin: the same bytes (the .npz is deterministic)"
expect_exit 0 "--to-safetensors of an embedding stream" -- lgp-inspect --to-safetensors emb.safetensors emb.lgps
expect_exit 0 "safetensors read by hand: the stacked arrays, keys and header in __metadata__" -- "$PYTHON" "$REF" check-st emb.safetensors emb.lgps

# --- encoder-only safetensors for timm ---
pairs=()
for ck in s1 s2 ft; do
    expect_exit 0 "$ck: --to-safetensors --encoder-only" -- lgp-inspect --to-safetensors $ck.enc.safetensors --encoder-only $ck.ckpt
    lgp-embed --model $ck.ckpt --pool cls imgs.lgps >$ck.feat.lgps 2>/dev/null
    pairs+=("$ck.enc.safetensors" "$ck.feat.lgps")
done
expect_exit 0 "only timm encoder keys; a PyTorch ViT loads them strictly and gives lgp-embed's features" -- "$PYTHON" "$REF" encoder imgs.lgps "${pairs[@]}"
comment 3
lgp-embed --model s2.enc.safetensors --pool cls imgs.lgps >s2.feat2.lgps 2>/dev/null
[ "$(lgp-inspect --hash s2.feat.lgps | cut -c1-16)" = "$(lgp-inspect --hash s2.feat2.lgps | cut -c1-16)" ]
ok $? "lgp-embed reads the export back without --arch: the same features"

# --- describing safetensors, hashing several files ---
expect_exit 0 "lgp-inspect FILE.safetensors describes it" -- lgp-inspect s1.enc.safetensors
grep -q '^safetensors: 30 tensors$' out; ok $? "tensor count"
grep -q '"embed_dim":"32".*"num_heads":"2".*"mean":"\[0.286\]"' out; ok $? "__metadata__: config and mean/std as strings"
grep -q '^ *blocks.1.mlp.fc2.weight *f32 *\[32, 128\]$' out; ok $? "names, dtypes, shapes"
! grep -qE 'decoder|mask_token|head\.|predictor|momentum|optim\.' <(grep '^    ' out); ok $? "no decoder, heads, momentum or optimizer tensors"
expect_exit 0 "--verify of a safetensors file" -- lgp-inspect --verify s1.enc.safetensors
grep -q '^ok: 30 tensors (safetensors)$' out; ok $? "verify counts its tensors"
lgp-inspect --from-safetensors s1.enc.safetensors -o back.ckpt 2>/dev/null
expect_exit 0 "--hash of several files" -- lgp-inspect --hash s1.ckpt s1.enc.safetensors back.ckpt
[ "$(wc -l <out)" -eq 3 ] && awk 'NR == 2 { a = $1 } NR == 3 { b = $1 } END { exit !(a == b) }' out
ok $? "one line per file; the safetensors and its checkpoint hash alike"; comment 3

# --- ZIP64 layout (tests/unit/test_npz writes it) ---
if [ -x "$LGP_BUILD/tests/test_npz" ]; then
    "$LGP_BUILD/tests/test_npz" --write .
    "$PYTHON" -c 'import numpy as np, sys
a, b = np.load("plain.npz"), np.load("zip64.npz")
sys.exit(not (a.files == b.files == ["feature", "label", "key"] and all(np.array_equal(a[k], b[k]) for k in a.files)
         and b["key"].tolist() == ["a", "\u00e9\u6f22", "\U0001f600", "x\ufffd"]))'
    ok $? "np.load reads the ZIP64 layout as the plain one"
fi

# --- formats/lgpstream.py against lgp-inspect ---
cat imgs.lgps imgs.raw.lgps emb.lgps >mixed.lgps
for f in imgs.lgps imgs.raw.lgps mixed.lgps; do
    want=$(lgp-inspect --verify $f | sed -E 's/^ok: ([0-9]+) records in ([0-9]+) streams?$/\1 \2/')
    got=$("$PYTHON" "$REF" count $f | cut -d' ' -f1-2)
    [ -n "$want" ] && [ "$got" = "$want" ]; ok $? "$f: formats/lgpstream.py counts $got, lgp-inspect $want"
done
"$PYTHON" "$REF" count imgs.raw.lgps | grep -q ' raw$' && "$PYTHON" "$REF" count imgs.lgps | grep -q ' zstd$'
ok $? "raw and zstd streams told apart"
[ "$("$PYTHON" "$REF" count - < <(cat mixed.lgps))" = "24 3 zstd" ]; ok $? "reads a pipe (stdin)"
head -c 2000 imgs.lgps >trunc.lgps
expect_exit 1 "a truncated zstd stream is an error" -- "$PYTHON" "$REF" count trunc.lgps
grep -q 'truncated' err; ok $? "it says truncated"
cp imgs.raw.lgps flip.lgps
printf '\x01' | dd of=flip.lgps bs=1 seek=3000 conv=notrunc status=none
expect_exit 1 "a flipped byte in a raw stream is an error" -- "$PYTHON" "$REF" count flip.lgps
grep -q 'record [0-9]*: record checksum mismatch' err; ok $? "it names the record"

# --- errors: exit 1, one line, nothing written ---
echo old >keep.npz
expect_exit 1 "missing input" -- lgp-inspect --to-npz keep.npz missing.lgps
expect_err_line "lgp-inspect: missing.lgps: No such file or directory" "missing input: one line naming the file"
expect_exit 1 "output in a missing folder" -- lgp-inspect --to-npz nodir/x.npz imgs.lgps
expect_err_line "lgp-inspect: nodir/x.npz: cannot write: *" "bad output: one line naming it"
expect_exit 1 "--encoder-only of an image stream" -- lgp-inspect --to-safetensors x.safetensors --encoder-only imgs.lgps
expect_err_line "lgp-inspect: imgs.lgps: not a checkpoint*" "not a checkpoint: one line"
expect_exit 1 "--encoder-only of a missing checkpoint" -- lgp-inspect --to-safetensors x.safetensors --encoder-only missing.ckpt
expect_err_line "lgp-inspect: missing.ckpt: *" "missing checkpoint: one line"
expect_exit 1 "a shape that changes from record to record" -- lgp-inspect --to-npz keep.npz var.lgps
expect_err_line "lgp-inspect: var.lgps: record 1 'b': tensor 'x' is f32 \[3, 3\], the first record's is f32 \[2, 3\] (arrays need one shape)" "the message names the record and both shapes"
expect_exit 1 "bf16 into .npz" -- lgp-inspect --to-npz keep.npz bf16.lgps
expect_err_line "lgp-inspect: keep.npz: tensor 'w': dtype bf16 has no NumPy equivalent" "bf16: one line"
expect_exit 1 "a text tensor into safetensors" -- lgp-inspect --to-safetensors x.safetensors hand.lgps
expect_err_line "lgp-inspect: x.safetensors: tensor 'caption' is text (str); *" "text: one line"
[ "$(cat keep.npz)" = old ] && [ ! -e x.safetensors ] && [ -z "$(ls -A nodir 2>/dev/null)" ] &&
    [ -z "$(find . -name '.*.tmp.*')" ]
ok $? "failures leave the old file as it was and no temporaries"
expect_exit 2 "--encoder-only without --to-safetensors" -- lgp-inspect --encoder-only s1.ckpt
expect_exit 2 "--to-npz with --to-safetensors" -- lgp-inspect --to-npz a.npz --to-safetensors b.safetensors imgs.lgps
expect_exit 2 "two inputs without --hash" -- lgp-inspect --to-npz a.npz imgs.lgps emb.lgps
done_testing

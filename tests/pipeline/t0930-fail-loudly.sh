#!/usr/bin/env bash
# No silent success (issue 14, item 1): the default pipeline trains; a record that does
# not fit the model stops the trainer at the first record with what was expected and
# what came, exit 1, nothing under -o; a run that ends early exits 1 and keeps its state
# only as a snapshot; unfinished checkpoints are refused downstream; damaged records are
# skipped with capped messages (ten, then a count).
. "$(dirname "$0")/lib.sh"
TRAIN=$FMNIST/train-images-idx3-ubyte.gz
TINY=(--width 32 --depth 1 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2 --threads 2)

# The README's bare pipeline, every default, on Fashion-MNIST: trains the steps it asks.
tar-images --limit 256 "$TRAIN" 2>/dev/null | lgp-augment --recipe mae 2>/dev/null | lgp-mask 2>/dev/null |
    lgp-mim-train "${TINY[@]}" --steps 2 --batch 64 -o bare.ckpt 2>bare.err
ok $? "bare pipeline (augment, mask, trainer defaults) trains on Fashion-MNIST"
lgp-inspect --meta bare.ckpt | grep -q '"step":2,' && lgp-inspect --meta bare.ckpt | grep -q '"complete":true'
ok $? "bare pipeline: 2 steps, complete"
tar-images --limit 64 "$TRAIN" 2>/dev/null | lgp-augment --recipe moco 2>/dev/null | lgp-inspect - | grep -q 'view1 .*\[28, 28, 1\]'
ok $? "lgp-augment keeps Fashion-MNIST's 28 pixels by default (moco too)"

"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 96 img.lgps
lgp-augment --recipe mae --size 28 -q img.lgps >v28.lgps
lgp-augment --recipe mae --size 32 -q img.lgps >v32.lgps
lgp-augment --recipe moco --size 28 -q img.lgps >m28.lgps
mism() { # DESC GLOB -- CMD...: exit 1 at record 0 with one line matching GLOB, no x.ckpt
    local desc=$1 glob=$2; shift 3
    rm -f x.ckpt
    expect_exit 1 "$desc" -- "$@"
    expect_err_line "$glob" "$desc: one line naming input, record 0, expected and got"
    [ ! -e x.ckpt ] && [ ! -e x.ckpt.partial ]; ok $? "$desc: nothing under -o"
}
mism "32-pixel views into a 28-pixel model" "lgp-mim-train: v32.lgps: record 0 'train-00000': 'view0' is u8 \[32, 32, 1\]; the model expects u8 \[28, 28, 1\]*" \
    -- lgp-mim-train "${TINY[@]}" -q --steps 2 --batch 16 -o x.ckpt v32.lgps
mism "1-channel views into a 3-channel model" "*record 0 'train-00000': 'view0' is u8 \[28, 28, 1\]; the model expects u8 \[28, 28, 3\]*" \
    -- lgp-mim-train "${TINY[@]}" -q --in-chans 3 --steps 2 --batch 16 -o x.ckpt v28.lgps
lgp-mask --patch 7 -q v28.lgps >mask7.lgps
mism "masks made for another patch size" "lgp-mim-train: mask7.lgps: masks were made for 7-pixel patches (lgp-mask --patch 7); the model's patch is 4" \
    -- lgp-mim-train "${TINY[@]}" -q --steps 2 --batch 16 -o x.ckpt mask7.lgps
lgp-mask --patch 4 --ratio 0.5 -q v28.lgps >mask50.lgps
mism "masks of another ratio than --mask-ratio" "lgp-mim-train: mask50.lgps: masks have ratio 0.5 (lgp-mask --ratio); the model's mask ratio is 0.75" \
    -- lgp-mim-train "${TINY[@]}" -q --mask-ratio 0.75 --steps 2 --batch 16 -o x.ckpt mask50.lgps
lgp-mim-train "${TINY[@]}" -q --steps 2 --batch 16 -o r50.ckpt mask50.lgps
lgp-inspect --meta r50.ckpt | grep -q '"mask_ratio":0.5[,}]'; ok $? "without --mask-ratio the checkpoint records the masks' ratio"
mism "single-view records into lgp-cl-train" "lgp-cl-train: v28.lgps: record 0 'train-00000': no 'view1' tensor: 2 views expected*" \
    -- lgp-cl-train --model fmnist "${TINY[@]}" -q --mlp-dim 32 --moco-dim 16 --steps 2 --batch 16 -o x.ckpt v28.lgps
lgp-mim-train "${TINY[@]}" -q --steps 2 --batch 16 -o s1.ckpt v28.lgps
cat s1.ckpt v28.lgps >ckpt-first.lgps
mism "a checkpoint fed as views" "lgp-mim-train: ckpt-first.lgps: record 0 'checkpoint': a checkpoint where image records were expected" \
    -- lgp-mim-train "${TINY[@]}" -q --steps 2 --batch 16 -o x.ckpt ckpt-first.lgps
expect_exit 2 "--std 0 is a usage error" -- lgp-mim-train --std 0 --steps 2 v28.lgps
expect_exit 2 "--mask-ratio 0 is a usage error" -- lgp-mim-train --mask-ratio 0 --steps 2 v28.lgps
expect_exit 2 "--mask-ratio 0.99 (no patch kept) is a usage error" -- lgp-mim-train "${TINY[@]}" --mask-ratio 0.99 --steps 2 v28.lgps
expect_exit 2 "--epochs with --steps is a usage error" -- lgp-mim-train --epochs 1 --steps 2 v28.lgps

# Input that ends before --steps: exit 1, state as a snapshot, nothing under -o.
expect_exit 1 "input ends at step 6 of 10" -- lgp-mim-train "${TINY[@]}" -q --steps 10 --batch 16 --checkpoint-dir run -o x.ckpt v28.lgps
expect_err_line "lgp-mim-train: v28.lgps: input ended (96 records used) at step 6 of 10; state saved to run/mim-step00000006.ckpt; continue with --resume run/mim-latest.ckpt" \
    "early end: one line saying where the state is"
[ ! -e x.ckpt ] && [ ! -e x.ckpt.partial ]; ok $? "early end with --checkpoint-dir: nothing under -o"
lgp-inspect --meta run/mim-latest.ckpt | grep -q '"complete":false'; ok $? "the snapshot says complete: false"
expect_exit 1 "early end without --checkpoint-dir" -- lgp-mim-train "${TINY[@]}" -q --steps 10 --batch 16 -o x.ckpt v28.lgps
[ ! -e x.ckpt ] && lgp-inspect --meta x.ckpt.partial | grep -q '"complete":false'; ok $? "... keeps x.ckpt.partial, not x.ckpt"
lgp-mim-train "${TINY[@]}" -q --steps 10 --batch 16 v28.lgps >stdout.ckpt 2>/dev/null
[ $? -eq 1 ] && [ ! -s stdout.ckpt ]; ok $? "early end to stdout: exit 1, nothing on stdout"
expect_exit 1 "every batch non-finite (NaN skip to the end): exit 1" -- lgp-mim-train "${TINY[@]}" -q --steps 3 --batch 16 \
    --inject-nan-at 1+ -o x.ckpt v28.lgps
expect_exit 1 "lgp-cl-train input ends early" -- lgp-cl-train --model fmnist "${TINY[@]}" -q --mlp-dim 32 --moco-dim 16 --steps 10 \
    --batch 16 -o x.ckpt m28.lgps
[ ! -e x.ckpt ]; ok $? "lgp-cl-train early end: nothing under -o"

# Unfinished checkpoints are refused downstream unless --allow-partial.
expect_exit 1 "lgp-graft refuses complete:false" -- lgp-graft run/mim-latest.ckpt
expect_err_line "lgp-graft: run/mim-latest.ckpt: an unfinished run's checkpoint (complete: false, step 6 of 10);*--allow-partial*" "... and says why"
expect_exit 1 "lgp-embed refuses complete:false" -- lgp-embed --model run/mim-latest.ckpt v28.lgps
expect_exit 1 "lgp-mim-train --init refuses complete:false" -- lgp-mim-train "${TINY[@]}" --init run/mim-latest.ckpt --steps 1 --batch 16 v28.lgps
expect_exit 0 "lgp-graft --allow-partial" -- lgp-graft --allow-partial -q run/mim-latest.ckpt
expect_exit 0 "lgp-embed --allow-partial" -- lgp-embed --allow-partial -q --model run/mim-latest.ckpt v28.lgps
lgp-graft -q -o g.ckpt s1.ckpt
expect_exit 2 "lgp-cl-train: --width that disagrees with the checkpoint" -- lgp-cl-train --init g.ckpt --width 64 --steps 1 --batch 16 m28.lgps
expect_exit 2 "lgp-graft: --model that disagrees with the checkpoint" -- lgp-graft --model vit-tiny s1.ckpt

# lgp-embed: no image, or a non-finite feature, is a failure.
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" drop img.lgps none.lgps 0 96
expect_exit 1 "lgp-embed with 0 images" -- lgp-embed --pixels -o e.lgps none.lgps
[ ! -e e.lgps ]; ok $? "lgp-embed with 0 images: nothing under -o"
expect_exit 1 "lgp-embed --model with 0 images" -- lgp-embed --model s1.ckpt -o e.lgps none.lgps

# Damaged records: skipped, the messages capped at 5 plus a count.
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" damage img.lgps dmg.lgps 10 60
lgp-mask --patch 4 dmg.lgps 2>mask.err >/dev/null
n=$(grep -c "(skipped)" mask.err)
[ "$n" -eq 10 ]; ok $? "lgp-mask: 50 damaged records, 10 messages ($n)"
grep -q "40 more skipped-record messages not shown (50 in all)" mask.err; ok $? "lgp-mask: then the count"
grep -q "^lgp-mask: dmg.lgps: record 10 (byte [0-9]*): record checksum mismatch (skipped)$" mask.err
ok $? "lgp-mask: the input named once, no '?'"
n=$(lgp-mask -v --patch 4 dmg.lgps 2>&1 >/dev/null | grep -c "(skipped)")
[ "$n" -eq 50 ]; ok $? "lgp-mask -v: every one of the 50 ($n)"
lgp-mim-train "${TINY[@]}" --steps 2 --batch 16 -o d.ckpt dmg.lgps 2>d.err
ok $? "lgp-mim-train trains past damaged records"
n=$(grep -c "checksum.*(skipped)" d.err)
[ "$n" -eq 10 ]; ok $? "lgp-mim-train: 10 of the damaged-record messages ($n)"
grep -q "more damaged-record messages not shown" d.err; ok $? "lgp-mim-train: then the count"
expect_exit 1 "--strict: a damaged record is fatal" -- lgp-mim-train "${TINY[@]}" --strict --steps 2 --batch 16 -o x.ckpt dmg.lgps
done_testing

#!/usr/bin/env bash
# Resume as documented (issue 14, item 6): every documented way to start a stage, run
# again as it was with --resume added, continues bit for bit; a resumed run that is asked
# for another schedule or model says so instead of ignoring it.
. "$(dirname "$0")/lib.sh"
M=(--width 32 --depth 1 --heads 2 --threads 2 -q)
MIM=("${M[@]}" --dec-width 32 --dec-depth 1 --dec-heads 2 --batch 16 --steps 6 --warmup-steps 2)
CL=("${M[@]}" --batch 16 --steps 6 --warmup-steps 2)
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 96 img.lgps
lgp-augment --recipe mae --size 28 -q img.lgps >v.lgps
lgp-augment --recipe moco --size 28 -q img.lgps >m.lgps
hash() { lgp-inspect --hash "$1" | cut -d' ' -f1; }

# check NAME PREFIX -- CMD...: CMD with snapshots every 2 steps, then CMD + --resume from
# step 2 and from step 4 must give the same bytes.
check() {
    local name=$1 pre=$2; shift 3
    rm -rf "d-$name"
    eval "$* --checkpoint-dir d-$name --save-every 2 --keep 10 -o $name.ckpt"
    ok $? "$name: straight run"
    local want; want=$(hash "$name.ckpt")
    for k in 2 4; do
        eval "$* --checkpoint-dir d-$name --resume d-$name/$pre-step0000000$k.ckpt -o $name-r$k.ckpt"
        [ "$(hash "$name-r$k.ckpt")" = "$want" ]; ok $? "$name: the same command + --resume from step $k is bit-identical"
    done
}

check mim-pipe mim -- 'cat v.lgps | lgp-mim-train "${MIM[@]}"'
lgp-mim-train "${MIM[@]}" -o s1.ckpt v.lgps
check mim-init mim -- 'lgp-mim-train "${MIM[@]}" --init s1.ckpt v.lgps'
lgp-graft -q --mlp-dim 32 --moco-dim 16 -o g.ckpt s1.ckpt
check cl-graft-pipe cl -- '{ lgp-graft -q --mlp-dim 32 --moco-dim 16 s1.ckpt; cat m.lgps; } | lgp-cl-train "${CL[@]}"'
check cl-cat cl -- '{ cat g.ckpt m.lgps; } | lgp-cl-train "${CL[@]}"'
check cl-init cl -- 'lgp-cl-train "${CL[@]}" --init g.ckpt m.lgps'
check cl-baseline cl -- 'lgp-cl-train "${CL[@]}" --model fmnist --mlp-dim 32 --moco-dim 16 m.lgps'
# the joint baseline: MAE + MoCo v3 losses, patch embedding trained
check cl-joint cl -- 'lgp-cl-train "${CL[@]}" --model fmnist --dec-width 32 --dec-depth 1 --dec-heads 2 --mlp-dim 32 --moco-dim 16 --mim-weight 1 --train-patch-embed --lr-heads 3e-4 m.lgps'
lgp-inspect --meta cl-joint.ckpt | grep -q '"patch_embed": *"trainable"'; ok $? "the joint run's metadata says the patch embedding trained"

# A resumed run keeps its schedule and model: another one on the command line is an error.
R=(--resume d-mim-pipe/mim-step00000002.ckpt -o x.ckpt v.lgps)
expect_exit 2 "--resume with another --steps" -- lgp-mim-train "${M[@]}" --steps 7 "${R[@]}"
grep -q "steps.* 7 differs from the resumed run's 6" err; ok $? "... says what differs"
expect_exit 2 "--resume with another --batch" -- lgp-mim-train "${M[@]}" --batch 32 "${R[@]}"
expect_exit 2 "--resume with another --lr" -- lgp-mim-train "${M[@]}" --lr 0.1 "${R[@]}"
expect_exit 2 "--resume with another --seed" -- lgp-mim-train --seed 5 "${R[@]}"
expect_exit 2 "--resume with another --width" -- lgp-mim-train --width 64 "${R[@]}"
expect_exit 0 "--resume alone (no options) continues" -- lgp-mim-train -q "${R[@]}"
expect_exit 2 "lgp-cl-train --resume with another --batch" -- lgp-cl-train --batch 32 --resume d-cl-init/cl-step00000002.ckpt m.lgps
expect_exit 2 "lgp-cl-train --resume with another --seed" -- lgp-cl-train --seed 5 --resume d-cl-init/cl-step00000002.ckpt m.lgps
expect_exit 2 "lgp-cl-train --resume with other lr groups" -- lgp-cl-train --lr-layer-wise 1e-4 --resume d-cl-init/cl-step00000002.ckpt m.lgps
expect_exit 2 "lgp-cl-train --resume with another --tau" -- lgp-cl-train --tau 0.5 --resume d-cl-init/cl-step00000002.ckpt m.lgps
expect_exit 2 "lgp-cl-train --resume of a frozen-patch run with --train-patch-embed" -- lgp-cl-train --train-patch-embed --resume d-cl-init/cl-step00000002.ckpt m.lgps
expect_exit 2 "lgp-cl-train --resume with another --lr-heads" -- lgp-cl-train --lr-heads 1e-3 --resume d-cl-joint/cl-step00000002.ckpt m.lgps
expect_exit 2 "lgp-cl-train --resume with another model" -- lgp-cl-train --model fmnist --resume d-cl-init/cl-step00000002.ckpt m.lgps
done_testing

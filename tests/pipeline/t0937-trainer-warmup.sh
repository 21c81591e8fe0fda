#!/usr/bin/env bash
# The warmup rule of every trainer (issue 19; common/train/trainopts.c): a default warmup
# (40 epochs for lgp-mim-train and lgp-cl-train, 5 for lgp-finetune) is capped at a tenth
# of the run, said on stderr, so a 10-epoch run warms up for one epoch and then decays;
# a given warmup as long as the run or longer is kept with a warning (exit 0). A run with
# the capped default resumes bit-exactly from its own command line plus --resume, and a
# different warmup asked at --resume is a usage error.
. "$(dirname "$0")/lib.sh"
D=$FMNIST/train-images-idx3-ubyte.gz
# 160 images an epoch (shard 0 of 375), batch 32: 5 steps an epoch, 50 in 10 epochs.
tar-images -q --shard 0/375 --epochs 10 "$D" | lgp-augment -q --recipe mae | lgp-mask -q >mae.lgps
tar-images -q --shard 0/375 --epochs 5 "$D" | lgp-augment -q --recipe mae | lgp-mask -q >mae5.lgps
tar-images -q --shard 0/375 --epochs 10 "$D" | lgp-augment -q --recipe moco >moco.lgps
TINY=(--model fmnist --width 32 --depth 2 --heads 2 --threads 2)
MIM=("${TINY[@]}" --dec-width 32 --dec-depth 1 --dec-heads 2 --batch 32 --epochs 10)
CL=("${TINY[@]}" --mlp-dim 64 --moco-dim 16 --batch 32 --epochs 10)
# lrs: the JSONL log's lr per step; peak: the step (1-based) of the largest lr
lrs() { "$PYTHON" -c 'import json, sys; v = [json.loads(l)["lr"] for l in open(sys.argv[1])]
print(len(v), v.index(max(v)) + 1, "decays" if v[-1] < 0.5 * max(v) else "no-decay")' "$1"; }

for t in mim cl; do
    if [ $t = mim ]; then prog=lgp-mim-train args=("${MIM[@]}") data=mae.lgps; else prog=lgp-cl-train args=("${CL[@]}") data=moco.lgps; fi
    $prog "${args[@]}" --log $t.jsonl -o $t.ckpt $data 2>$t.err
    ok $? "$prog: a 10-epoch run with the default warmup"
    grep -q "^$prog: warmup 5 steps: the default 40 epochs (200 steps) capped at a tenth of the 50-step run" $t.err
    ok $? "$prog says the default warmup is capped at a tenth (5 of 50 steps)"
    [ "$(lrs $t.jsonl)" = "50 6 decays" ]; ok $? "$prog: the lr peaks after 5 warmup steps and decays ($(lrs $t.jsonl))"
    $prog "${args[@]}" --warmup-epochs 10 --log $t-w.jsonl -q -o $t-w.ckpt $data 2>$t-w.err
    ok $? "$prog: a given warmup as long as the run still runs (exit 0)"
    [ "$(wc -l <$t-w.err)" -eq 1 ] && grep -q "^$prog: --warmup-epochs 10: a warmup of 50 steps is as long as the 50-step run or longer: the lr rises to its last step and never decays" $t-w.err
    ok $? "$prog warns, in one line, that the lr never decays"
    [ "$(lrs $t-w.jsonl)" = "50 50 no-decay" ]; ok $? "... and it does not ($(lrs $t-w.jsonl))"
    $prog "${args[@]}" --warmup-steps 80 -q -o $t-w2.ckpt $data 2>$t-w2.err
    grep -q -- "--warmup-steps 80: a warmup of 80 steps is as long as the 50-step run or longer" $t-w2.err
    ok $? "$prog: --warmup-steps longer than the run is warned about too"
done
grep -q -- "at most a tenth of the run unless given" <(lgp-mim-train --help) &&
    grep -q -- "at most a tenth of the run unless given" <(lgp-cl-train --help) &&
    grep -q -- "at most a tenth of the run unless given" <(lgp-finetune --help)
ok $? "every trainer's --help states the rule"

# Resume: 5 of 10 epochs come, the run stops at step 25 with a snapshot; the same command
# line plus --resume (no warmup given) finishes it bit for bit as the uninterrupted run.
lgp-mim-train "${MIM[@]}" -q --checkpoint-dir ck -o never.ckpt mae5.lgps 2>stop.err
[ $? -eq 1 ] && grep -q "at step 25 of 50" stop.err; ok $? "a run cut at step 25 of 50 stops with a snapshot"
lgp-mim-train "${MIM[@]}" -q --checkpoint-dir ck --resume ck/mim-latest.ckpt -o resumed.ckpt mae.lgps
ok $? "it resumes from its own command line plus --resume"
[ "$(lgp-inspect --hash resumed.ckpt | cut -d' ' -f1)" = "$(lgp-inspect --hash mim.ckpt | cut -d' ' -f1)" ]
ok $? "bit-identical to the uninterrupted run with the capped warmup"
grep -q '"warmup_steps":5' <(lgp-inspect --meta resumed.ckpt); ok $? "its schedule keeps warmup 5"
expect_exit 2 "--resume with another warmup (--warmup-epochs 40: 50 steps) than the run's capped 5" -- \
    lgp-mim-train "${MIM[@]}" -q --warmup-epochs 40 --resume ck/mim-latest.ckpt -o x.ckpt mae.lgps
grep -q -- "--warmup-steps/--warmup-epochs (warmup steps) 50 differs from the resumed run's 5" err
ok $? "... names both warmups"
done_testing

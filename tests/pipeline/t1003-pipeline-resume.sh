#!/usr/bin/env bash
# make -f pipelines/lgp.mk resume (issue 19): for the chosen PROFILE/SEED/OUT it says
# which training stages are done, which would continue from their snapshot (and at which
# step, from the snapshot's metadata) and which would start from scratch, and trains
# nothing. Test profile: MAE made in full; MoCo v3 asked for two epochs' steps
# (N_TRAIN=1024) from a one-epoch stream stops at step 8 of 16 with a snapshot.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$TESTS_DIR/.." && pwd)
MK=(make -s -f "$ROOT/pipelines/lgp.mk" PROFILE=test SEED=0 OUT=o LGP_BIN="$LGP_BUILD/bin" PYTHON="$PYTHON")
row() { grep -E "^  $1 +" res.out; }

"${MK[@]}" resume >res.out 2>res.err
ok $? "resume on an empty run folder"
grep -q "^resume: o (PROFILE=test SEED=0)" res.out; ok $? "it names the folder, profile and seed"
for r in mae grafted mocov3 joint; do row "$r" | grep -q "from scratch"; ok $? "$r: from scratch"; done
[ ! -e o ] || [ -z "$(find o -type f)" ]; ok $? "and made nothing"

"${MK[@]}" o/mae/stage1.ckpt >/dev/null 2>mae.err; ok $? "the MAE stage runs"
"${MK[@]}" N_TRAIN=1024 o/mocov3/stage2.ckpt >/dev/null 2>cl.err
rc=$?
[ $rc -ne 0 ] && [ -e o/mocov3/snapshots/cl-latest.ckpt ] && [ ! -e o/mocov3/stage2.ckpt ]
ok $? "MoCo v3 planned for 16 steps stops when the stream ends, with a snapshot (exit $rc)"
grep -q "input ended .* at step 8 of 16" cl.err; ok $? "at step 8 of 16"
touch stamp
sleep 1
"${MK[@]}" N_TRAIN=1024 resume >res.out 2>res.err
ok $? "resume after a stopped stage"
sed 's/^/#   /' res.out
row mae | grep -q "done"; ok $? "mae: done"
row mocov3 | grep -q "continue .*from mocov3/snapshots/cl-latest.ckpt at step 8 of 16"; ok $? "mocov3: continues from its snapshot at step 8 of 16"
row grafted | grep -q "from scratch" && row joint | grep -q "from scratch"; ok $? "grafted, joint: from scratch"
[ -z "$(find o -newer stamp)" ] && [ ! -e o/mocov3/stage2.ckpt ]; ok $? "nothing trained or written"
[ ! -s res.err ]; ok $? "nothing on stderr"
# A fine-tuning row is listed once it has a snapshot, under its own name.
mkdir -p o/mae/snapshots && cp o/mocov3/snapshots/cl-latest.ckpt o/mae/snapshots/ft-latest.ckpt
"${MK[@]}" N_TRAIN=1024 resume >res.out 2>/dev/null
row "mae fine-tune" | grep -q "continue .*at step 8 of 16" && ! grep -q "random fine-tune" res.out
ok $? "a begun fine-tuning row is listed, the others not"
done_testing

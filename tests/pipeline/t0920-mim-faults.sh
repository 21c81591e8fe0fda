#!/usr/bin/env bash
# Faults in lgp-mim-train: a NaN gradient (injected) is skipped, stops the run or rolls it
# back to the newest snapshot, without any NaN checkpoint; a full disk (ulimit -f) and an
# unwritable folder give one error line and leave the previous checkpoint intact; a killed
# writer's temporaries go at the next save; bad flags are usage errors.
. "$(dirname "$0")/lib.sh"
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 128 data.lgps
TINY=(--model fmnist --width 32 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2
      --batch 16 --steps 6 --warmup-steps 1 --threads 1)

expect_exit 1 "NaN with --nan-policy stop" -- lgp-mim-train "${TINY[@]}" --checkpoint-dir nan --save-every 1 --nan-policy stop --inject-nan-at 3 -o nan.ckpt data.lgps
grep -q "step 3: non-finite gradient of cls_token; stopping" err; ok $? "names the step and the tensor"
[ ! -e nan.ckpt ]; ok $? "no final checkpoint"
lgp-inspect --meta nan/mim-latest.ckpt | grep -q '"step":2,'; ok $? "latest snapshot is step 2, before the NaN"
expect_exit 0 "NaN with --nan-policy skip" -- lgp-mim-train "${TINY[@]}" --inject-nan-at 3 -o skip.ckpt data.lgps
grep -q "step 3: non-finite gradient of cls_token; batch skipped" err; ok $? "skip: one warning"
lgp-inspect --verify skip.ckpt >/dev/null; ok $? "skip: the final checkpoint verifies (no NaN in it)"

# Rollback: the NaN at step 5 sends the run back to the step-4 snapshot, and training
# goes on with the batches after the bad one. So it must equal, bit for bit, a run that
# never saw batch 5 (records 64..79), and it must carry the snapshot's AdamW count.
expect_exit 0 "NaN with --nan-policy rollback" -- lgp-mim-train "${TINY[@]}" --checkpoint-dir rb --save-every 2 --nan-policy rollback --inject-nan-at 5 -o rb.ckpt data.lgps
grep -q "step 5: non-finite gradient of cls_token; rolled back to rb/mim-latest.ckpt (step 4)" err; ok $? "rollback: one warning naming the step and the snapshot"
grep -q "0 batches skipped for NaN, 1 rollbacks" err; ok $? "rollback: counted"
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" drop data.lgps nobad.lgps 64 80
lgp-mim-train "${TINY[@]}" -q -o nobad.ckpt nobad.lgps
[ "$(lgp-inspect --hash rb.ckpt | cut -d' ' -f1)" = "$(lgp-inspect --hash nobad.ckpt | cut -d' ' -f1)" ]
ok $? "rollback: identical to a run without the bad batch (weights and AdamW state)"
lgp-inspect --meta rb.ckpt | grep -q '"step":6,.*"records_consumed":112'; ok $? "rollback: 6 steps, 7 batches read"
expect_exit 1 "a NaN at every try of step 5: gives up after 3 rollbacks" -- lgp-mim-train "${TINY[@]}" --checkpoint-dir rb2 --save-every 2 --nan-policy rollback --inject-nan-at 5+ -o rb2.ckpt data.lgps
grep -q "step 5: non-finite gradient of cls_token after 3 rollbacks to the same snapshot; stopping" err; ok $? "and says so"
[ ! -e rb2.ckpt ]; ok $? "no final checkpoint"
expect_exit 2 "rollback without --checkpoint-dir: usage error" -- lgp-mim-train "${TINY[@]}" --nan-policy rollback -o x.ckpt data.lgps

lgp-mim-train "${TINY[@]}" -q -o good.ckpt data.lgps
before=$(lgp-inspect --hash good.ckpt)
(ulimit -f 64; lgp-mim-train "${TINY[@]}" -q -o good.ckpt data.lgps >out 2>err); rc=$?
[ $rc -eq 1 ]; ok $? "full disk (ulimit -f): exit 1 (got $rc)"
expect_err_line "lgp-mim-train: good.ckpt: write error: File too large" "full disk: one line naming the file"
[ "$(lgp-inspect --hash good.ckpt)" = "$before" ]; ok $? "full disk: previous checkpoint intact"
[ -z "$(ls -A | grep '^\.good')" ]; ok $? "full disk: no temporary left"

mkdir ro && chmod 555 ro
if [ "$(id -u)" -ne 0 ]; then
    expect_exit 1 "unwritable folder" -- lgp-mim-train "${TINY[@]}" -o ro/x.ckpt data.lgps
else
    expect_exit 1 "missing folder" -- lgp-mim-train "${TINY[@]}" -o missing/x.ckpt data.lgps
fi
expect_err_line "lgp-mim-train: *x.ckpt: cannot write: *" "one line naming the output"

expect_exit 2 "bad --batch" -- lgp-mim-train --batch 0 data.lgps
# Temporaries that killed writers left (the snapshot's and the latest link's) go at the
# next save once their process is gone; a live writer's stays. PID 2^22+1 is above
# pid_max's ceiling, so no process has it; this shell is alive.
mkdir tmpd
: >"tmpd/.mim-step00000001.ckpt.tmp.4194305"
ln -s mim-step00000001.ckpt "tmpd/mim-latest.ckpt.tmp.4194305"
: >"tmpd/.mim-step00000001.ckpt.tmp.$$"
lgp-mim-train "${TINY[@]}" -q --steps 2 --checkpoint-dir tmpd --save-every 1 -o tmpd.ckpt data.lgps
[ ! -e tmpd/.mim-step00000001.ckpt.tmp.4194305 ] && [ ! -L tmpd/mim-latest.ckpt.tmp.4194305 ]
ok $? "a dead writer's temporaries are removed at the next save"
[ -e "tmpd/.mim-step00000001.ckpt.tmp.$$" ]; ok $? "a live one's is kept"
expect_exit 2 "unknown model" -- lgp-mim-train --model vit-huge --steps 1 data.lgps
expect_exit 2 "no length" -- lgp-mim-train --model fmnist -o x.ckpt data.lgps </dev/null
expect_exit 1 "resume from a stream that is not a checkpoint" -- lgp-mim-train --resume data.lgps -o x.ckpt data.lgps
expect_err_line "lgp-mim-train: data.lgps: not a checkpoint*" "one line"
done_testing

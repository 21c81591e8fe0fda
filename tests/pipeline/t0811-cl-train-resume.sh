#!/usr/bin/env bash
# lgp-cl-train: the three ways in (checkpoint first on stdin, --init FILE, a stage-1 file
# grafted on the fly) give bit-identical runs; bit-exact --resume from snapshots and
# after SIGTERM (weights, momentum, BN stats, AdamW state); the NaN guard (skip, stop,
# rollback); the baseline.
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 32 s1data.lgps
"$PYTHON" "$TESTS_DIR/ref/cl_twin.py" views 160 views.lgps
lgp-mim-train --model fmnist --width 32 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2 \
    --batch 16 --steps 1 --warmup-steps 0 --threads 2 -q -o s1.ckpt s1data.lgps
GR=(--lr-layer-wise 1e-4,1e-3 --mlp-dim 64 --moco-dim 16)
lgp-graft "${GR[@]}" -q -o s2.ckpt s1.ckpt; ok $? "graft"
RUN=(--batch 16 --steps 10 --warmup-steps 2 --threads 2 -q)

lgp-cl-train --init s2.ckpt "${RUN[@]}" --checkpoint-dir full --save-every 1 --keep 100 -o straight.ckpt views.lgps
ok $? "uninterrupted run (--init)"
want=$(lgp-inspect --hash straight.ckpt | cut -d' ' -f1)
n=$(ls full/cl-step*.ckpt | wc -l)
[ "$n" -eq 10 ] && [ -L full/cl-latest.ckpt ]; ok $? "a snapshot per step and cl-latest ($n)"
{ cat s2.ckpt; cat views.lgps; } | lgp-cl-train "${RUN[@]}" -o piped.ckpt
got=$(lgp-inspect --hash piped.ckpt | cut -d' ' -f1)
[ "$got" = "$want" ]; ok $? "checkpoint first on stdin, views after: identical ($got)"
lgp-cl-train --init s1.ckpt "${GR[@]}" "${RUN[@]}" -o fly.ckpt views.lgps
got=$(lgp-inspect --hash fly.ckpt | cut -d' ' -f1)
[ "$got" = "$want" ]; ok $? "--init with a stage-1 file (grafted on the fly): identical"
for k in 1 4 7 9; do
    lgp-cl-train --resume "$(printf 'full/cl-step%08d.ckpt' $k)" -q -o "r$k.ckpt" views.lgps
    got=$(lgp-inspect --hash "r$k.ckpt" | cut -d' ' -f1)
    [ "$got" = "$want" ]; ok $? "resume from step $k: bit-identical"
done
lgp-inspect --meta straight.ckpt | grep -q '"complete":true'; ok $? "final checkpoint says complete"

size=$(stat -c %s views.lgps)
{ head -c $((size / 4)) views.lgps; sleep 6; tail -c +$((size / 4 + 1)) views.lgps; } |
    lgp-cl-train --init s2.ckpt "${RUN[@]}" --log term.jsonl --checkpoint-dir term -o never.ckpt 2>term.err &
pid=$!
for _ in $(seq 50); do [ -s term.jsonl ] && break; sleep 0.1; done  # training has started
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 1 ]; ok $? "SIGTERM: exit 1 (got $rc)"
grep -q "stopped by SIGTERM at step" term.err; ok $? "SIGTERM: says where it stopped"
[ ! -e never.ckpt ]; ok $? "SIGTERM: nothing under the -o name"
lgp-cl-train --resume term/cl-latest.ckpt -q -o term.ckpt views.lgps
got=$(lgp-inspect --hash term.ckpt | cut -d' ' -f1)
[ "$got" = "$want" ]; ok $? "resume after SIGTERM is bit-identical"

# The skipped batch is not replayed: the run needs one batch more than its steps.
cat views.lgps views.lgps >views2.lgps
expect_exit 0 "NaN gradient at step 3 is skipped" -- lgp-cl-train --init s2.ckpt "${RUN[@]}" --inject-nan-at 3 -o nan.ckpt views2.lgps
grep -q "step 3: non-finite gradient of .*; batch skipped" err; ok $? "NaN: one warning naming the step"
expect_exit 1 "--nan-policy stop exits 1" -- lgp-cl-train --init s2.ckpt "${RUN[@]}" --inject-nan-at 3 --nan-policy stop -o nan2.ckpt views.lgps
[ ! -e nan2.ckpt ]; ok $? "no checkpoint after the stop"
# Rollback to the step-4 snapshot (weights, momentum encoder, BN statistics, AdamW) and on
# with the data after the bad batch: the same as a run that never saw batch 5.
expect_exit 0 "--nan-policy rollback" -- lgp-cl-train --init s2.ckpt "${RUN[@]}" --steps 8 --checkpoint-dir rb --save-every 2 \
    --nan-policy rollback --inject-nan-at 5 -o rb.ckpt views.lgps
grep -q "step 5: non-finite gradient of .*; rolled back to rb/cl-latest.ckpt (step 4)" err; ok $? "rollback: one warning naming the snapshot"
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" drop views.lgps nobad.lgps 64 80
lgp-cl-train --init s2.ckpt "${RUN[@]}" --steps 8 -o nobad.ckpt nobad.lgps
[ "$(lgp-inspect --hash rb.ckpt | cut -d' ' -f1)" = "$(lgp-inspect --hash nobad.ckpt | cut -d' ' -f1)" ]
ok $? "rollback: identical to a run without the bad batch"
expect_exit 0 "baseline from --model (MoCo v3 init)" -- lgp-cl-train --model fmnist --width 32 --depth 2 --heads 2 \
    --mlp-dim 64 --moco-dim 16 --batch 16 --steps 2 --warmup-steps 1 --threads 2 -q -o base.ckpt views.lgps
lgp-inspect --meta base.ckpt | grep -q '"init":"random MoCo v3 init (seed 0)"'; ok $? "baseline metadata says so"
lgp-graft "${GR[@]}" --keep-decoder -q -o s2d.ckpt s1.ckpt
expect_exit 0 "--mim-weight on a graft that kept the decoder" -- lgp-cl-train --init s2d.ckpt --mim-weight 0.5 "${RUN[@]}" --steps 2 --log mim.jsonl -o mim.ckpt views.lgps
grep -q '"mim":[1-9]' mim.jsonl; ok $? "the MAE term is logged"
expect_exit 1 "--mim-weight without a decoder: exit 1" -- lgp-cl-train --init s2.ckpt --mim-weight 0.5 "${RUN[@]}" -o x.ckpt views.lgps
expect_exit 2 "views without a start: usage error" -- lgp-cl-train --steps 2 -o x.ckpt views.lgps
expect_exit 1 "a stage-2 start that is not resumable: exit 1" -- lgp-cl-train --resume s2.ckpt -o x.ckpt views.lgps
done_testing

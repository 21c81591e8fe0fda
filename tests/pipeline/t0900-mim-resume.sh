#!/usr/bin/env bash
# Bit-exact resume of lgp-mim-train: from snapshots at 10 different steps (within and
# across epochs) and after a graceful SIGTERM, the final weights and optimizer state
# hash equal to the uninterrupted run.
. "$(dirname "$0")/lib.sh"
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 320 data.lgps
TINY=(--model fmnist --width 32 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2
      --batch 16 --steps 20 --warmup-steps 3 --samples-per-epoch 96 --blr 1e-3 --threads 2 -q)

lgp-mim-train "${TINY[@]}" --checkpoint-dir full --save-every 1 --keep 100 -o straight.ckpt data.lgps
ok $? "uninterrupted run"
want=$(lgp-inspect --hash straight.ckpt | cut -d' ' -f1)
[ -n "$want" ]; ok $? "hash of the uninterrupted run: $want"
n=$(ls full/mim-step*.ckpt | wc -l)
[ "$n" -eq 20 ]; ok $? "one snapshot per step ($n)"

for k in 1 2 3 5 6 7 9 11 14 19; do
    s=$(printf 'full/mim-step%08d.ckpt' "$k")
    lgp-mim-train --resume "$s" -q -o "r$k.ckpt" data.lgps
    got=$(lgp-inspect --hash "r$k.ckpt" | cut -d' ' -f1)
    [ "$got" = "$want" ]; ok $? "resume from step $k: weights and optimizer bit-identical ($got)"
done

# A slow pipe lets SIGTERM arrive mid-run; the trainer finishes its step, saves, exits 1.
size=$(stat -c %s data.lgps)
{ head -c $((size / 3)) data.lgps; sleep 6; tail -c +$((size / 3 + 1)) data.lgps; } |
    lgp-mim-train "${TINY[@]}" --log term.jsonl --checkpoint-dir term -o never.ckpt 2>term.err &
pid=$!
for _ in $(seq 50); do [ -s term.jsonl ] && break; sleep 0.1; done  # training has started
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 1 ]; ok $? "SIGTERM: exit 1 (got $rc)"
grep -q "stopped by SIGTERM at step" term.err; ok $? "SIGTERM: one message saying where it stopped"
[ ! -e never.ckpt ]; ok $? "SIGTERM: no final output under the -o name"
lgp-inspect --verify term/mim-latest.ckpt >/dev/null; ok $? "SIGTERM: snapshot verifies"
lgp-mim-train --resume term/mim-latest.ckpt -q -o term.ckpt data.lgps
got=$(lgp-inspect --hash term.ckpt | cut -d' ' -f1)
[ "$got" = "$want" ]; ok $? "resume after SIGTERM is bit-identical"
done_testing

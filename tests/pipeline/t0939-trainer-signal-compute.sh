#!/usr/bin/env bash
# A trainer takes SIGTERM and SIGINT only between its computations: a handler that ran
# inside oneDNN's sgemm corrupted the heap (its JIT kernels point rsp into the heap,
# oneDNN issue #4845; "corrupted size vs. prev_size" after a few signals, and one SIGTERM
# killed a t0960 rank now and then). The
# threads it computes on (OpenMP's) hold both signals all the time, and a SIGTERM in
# the middle of training still stops it cleanly with a snapshot, every time.
. "$(dirname "$0")/lib.sh"
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 1536 img.lgps
lgp-augment --recipe moco --size 28 --uncompressed -q img.lgps >m.lgps
NET=(--model fmnist --width 64 --depth 2 --heads 2 --mlp-dim 64 --moco-dim 32 --batch 64 --threads 2)

# look: counts the threads of $pid (main apart) that hold SIGTERM (15) and SIGINT (2).
# OpenBLAS' own threads start before main() and hold nothing; they never run oneDNN, and
# a signal sent to the process goes to them only while the main thread holds it.
look() {
    local t mask
    main_held=0 workers_held=0
    for t in /proc/"$pid"/task/*; do
        mask=$(sed -n 's/^SigBlk:[[:space:]]*//p' "$t/status" 2>/dev/null)
        [ -n "$mask" ] && (( (0x$mask & 0x4002) == 0x4002 )) || continue
        if [ "${t##*/}" = "$pid" ]; then main_held=1; else workers_held=$((workers_held + 1)); fi
    done
}

lgp-cl-train "${NET[@]}" --steps 24 --log c.jsonl -q -o c.ckpt m.lgps 2>c.err &
pid=$!
for _ in $(seq 600); do [ -s c.jsonl ] && break; sleep 0.05; done
looks=0 all_w=0 main_n=0
for _ in $(seq 10); do
    kill -0 $pid 2>/dev/null || break
    look
    looks=$((looks + 1))
    [ $workers_held -ge 1 ] && all_w=$((all_w + 1))
    main_n=$((main_n + main_held))
    sleep 0.05
done
wait $pid; rc=$?
[ $rc -eq 0 ] && [ $looks -ge 3 ] && [ $all_w -eq $looks ] && [ $main_n -ge 1 ]
ok $? "an OpenMP thread holds SIGTERM and SIGINT in every look, the main thread while it computes (exit $rc; $all_w and $main_n of $looks looks)"

# SIGTERM while it computes, three times: a clean stop with a snapshot each time
for i in 1 2 3; do
    lgp-cl-train "${NET[@]}" --steps 24 --log t$i.jsonl --checkpoint-dir t$i -q -o never.ckpt m.lgps 2>t$i.err &
    pid=$!
    for _ in $(seq 1500); do [ "$(cat t$i.jsonl 2>/dev/null | grep -c '"step"')" -ge $i ] && break; sleep 0.02; done
    kill -TERM $pid
    wait $pid; rc=$?
    [ $rc -eq 1 ] && grep -q "stopped by SIGTERM at step" t$i.err && lgp-inspect --verify t$i/cl-latest.ckpt >/dev/null
    ok $? "SIGTERM mid-training $i: exit 1, stopped by SIGTERM, the snapshot verifies (exit $rc)"
    [ $rc -eq 1 ] || sed 's/^/#   /' t$i.err | head -n 5
done
[ ! -e never.ckpt ]; ok $? "no final checkpoint from the stopped runs"
done_testing

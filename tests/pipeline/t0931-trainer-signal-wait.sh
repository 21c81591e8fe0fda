#!/usr/bin/env bash
# SIGTERM reaches a trainer that waits on a slow producer (issue 14, item 3): it saves
# the steps it has trained within about a second, exits 1, and the snapshot resumes to
# the same bytes as a run that was never stopped. Both trainers.
. "$(dirname "$0")/lib.sh"
TINY=(--width 32 --depth 1 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2 --threads 2 --batch 16 --steps 8
      --warmup-steps 2)
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 160 img.lgps
lgp-augment --recipe mae --size 28 --uncompressed -q img.lgps >v.lgps
lgp-augment --recipe moco --size 28 --uncompressed -q img.lgps >m.lgps
lgp-mim-train "${TINY[@]}" -q -o s1.ckpt v.lgps
lgp-graft -q --mlp-dim 32 --moco-dim 16 -o g.ckpt s1.ckpt
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" drop v.lgps v64.lgps 64 160   # the first 64: 4 steps
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" drop m.lgps m64.lgps 64 160

# stop_waiting LOG: once the trainer ($pid, fed 64 records then a stalled pipe) has
# logged 4 steps and waits, SIGTERM; sets rc and ms (time until it exited).
stop_waiting() {
    local n
    for _ in $(seq 300); do n=$(grep -c '"step"' "$1" 2>/dev/null); [ "${n:-0}" -ge 4 ] && break; sleep 0.1; done
    sleep 0.5
    local t0; t0=$(date +%s%N)
    kill -TERM "$pid"
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    pkill -P $$ -x sleep 2>/dev/null
    wait "$pid" 2>/dev/null; rc=$?
}

want=$(lgp-inspect --hash s1.ckpt | cut -d' ' -f1)
{ cat v64.lgps; exec sleep 60; } | lgp-mim-train "${TINY[@]}" --log mim.jsonl --checkpoint-dir mim -o mim.ckpt 2>mim.err &
pid=$!
stop_waiting mim.jsonl
[ $rc -eq 1 ] && [ $ms -lt 2500 ]; ok $? "lgp-mim-train: exit 1 within 2.5 s of SIGTERM while waiting for input (rc $rc, $ms ms)"
grep -q "stopped by SIGTERM at step 4 of 8; state saved to mim/mim-step00000004.ckpt" mim.err; ok $? "lgp-mim-train: says step 4 and where"
[ ! -e mim.ckpt ]; ok $? "lgp-mim-train: nothing under -o"
lgp-mim-train --resume mim/mim-latest.ckpt -q -o mim.ckpt v.lgps
[ "$(lgp-inspect --hash mim.ckpt | cut -d' ' -f1)" = "$want" ]; ok $? "lgp-mim-train: resumed = never stopped"

lgp-cl-train --init g.ckpt "${TINY[@]}" -q -o cl-straight.ckpt m.lgps
want=$(lgp-inspect --hash cl-straight.ckpt | cut -d' ' -f1)
{ cat m64.lgps; exec sleep 60; } | lgp-cl-train --init g.ckpt "${TINY[@]}" --log cl.jsonl --checkpoint-dir cl -o cl.ckpt 2>cl.err &
pid=$!
stop_waiting cl.jsonl
[ $rc -eq 1 ] && [ $ms -lt 2500 ]; ok $? "lgp-cl-train: exit 1 within 2.5 s of SIGTERM while waiting for input (rc $rc, $ms ms)"
grep -q "stopped by SIGTERM at step 4 of 8; state saved to cl/cl-step00000004.ckpt" cl.err; ok $? "lgp-cl-train: says step 4 and where"
lgp-cl-train --init g.ckpt "${TINY[@]}" --resume cl/cl-latest.ckpt -q -o cl.ckpt m.lgps
[ "$(lgp-inspect --hash cl.ckpt | cut -d' ' -f1)" = "$want" ]; ok $? "lgp-cl-train: resumed = never stopped"
done_testing

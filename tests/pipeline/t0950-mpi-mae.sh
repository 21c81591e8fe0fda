#!/usr/bin/env bash
# Data-parallel MAE with MPI (the build from `make MPI=1`): 2 ranks x batch 32 and 4 ranks
# x batch 16 (oversubscribed on 2 cores) give the same loss curve and final weights as
# 1 rank x batch 64 over 20 steps (relative 1e-5); the all-reduce overlapped with
# backward gives the same bytes as after it; ranks that disagree on their
# parameters stop with a message; a rank killed with -9 stops the job within seconds
# and the last snapshot stays valid.
. "$(dirname "$0")/lib.sh"
MB=${LGP_BUILD_MPI:-$LGP_BUILD/../build-mpi}/bin
if ! command -v mpirun >/dev/null || [ ! -x "$MB/lgp-mim-train" ]; then echo "1..0 # SKIP no MPI build"; exit 0; fi
RUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)
TINY="--model fmnist --width 32 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2 --steps 20 --warmup-steps 3 --blr 1e-3 --threads 1 -q"
DATA=$FMNIST/train-images-idx3-ubyte.gz
for np in 1 2 4; do
    "${RUN[@]}" -np $np sh -c "$MB/lgp-tar-images -q --shard auto $DATA | $MB/lgp-mim-train $TINY --batch $((64 / np)) --log log$np.jsonl -o w$np.ckpt" 2>err$np
    ok $? "$np rank(s) x batch $((64 / np)) trains"
    lgp-inspect --to-safetensors w$np.st w$np.ckpt 2>/dev/null
done
for np in 2 4; do
    "$PYTHON" - log1.jsonl log$np.jsonl <<'PY'
import json, sys
a = [json.loads(l)["loss"] for l in open(sys.argv[1])]
b = [json.loads(l)["loss"] for l in open(sys.argv[2])]
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
print(f"# loss curves: {len(a)} vs {len(b)} steps, worst relative difference {worst:.2g}")
sys.exit(0 if len(a) == len(b) == 20 and worst <= 1e-5 else 1)
PY
    ok $? "$np ranks: same loss curve as 1 rank (20 steps, rel 1e-5)"
    "$PYTHON" "$TESTS_DIR/ref/compare_weights.py" w1.st w$np.st 1e-5 >cmp.out
    ok $? "$np ranks: same final weights as 1 rank: $(cat cmp.out)"
done

# The gradient all-reduce is bucketed per block and started as each block's backward
# ends; with it off (LGP_GRAD_OVERLAP=0) everything is reduced after backward. On 2
# ranks the sums are the same either way, so the weights must be bit-identical.
for ov in 1 0; do
    LGP_GRAD_OVERLAP=$ov "${RUN[@]}" -x LGP_GRAD_OVERLAP -np 2 sh -c "$MB/lgp-tar-images -q --shard auto $DATA | $MB/lgp-mim-train $TINY -v --batch 32 -o ov$ov.ckpt" 2>ov$ov.err
done
share=$(grep -o '[0-9]*% of the gradient all-reduce started during backward' ov1.err | cut -d% -f1)
[ "${share:-0}" -ge 50 ]; ok $? "overlap on: ${share:-?}% of the gradient all-reduce starts during backward (the blocks)"
grep -q ' 0% of the gradient all-reduce started during backward' ov0.err; ok $? "overlap off: 0%"
[ "$(lgp-inspect --hash ov1.ckpt | cut -d' ' -f1)" = "$(lgp-inspect --hash ov0.ckpt | cut -d' ' -f1)" ]
ok $? "overlapped and plain all-reduce: bit-identical weights"

"${RUN[@]}" -np 2 sh -c "$MB/lgp-tar-images -q --shard auto $DATA | $MB/lgp-mim-train $TINY --batch 32 --seed \$OMPI_COMM_WORLD_RANK -o bad.ckpt" >out 2>err
rc=$?
[ $rc -ne 0 ]; ok $? "ranks with different seeds fail (exit $rc)"
grep -q "the initial parameters not the same on every rank" err; ok $? "with a message naming the divergence"
[ ! -e bad.ckpt ]; ok $? "and write no checkpoint"

# kill -9 one rank mid-run: the job stops within seconds, the last snapshot verifies
"${RUN[@]}" -np 2 sh -c "$MB/lgp-tar-images -q --shard auto --epochs 20 $DATA | $MB/lgp-mim-train ${TINY/--steps 20/--steps 100000} --batch 32 --checkpoint-dir snaps --save-every 5 -o never.ckpt" >out 2>kill.err &
job=$!
for _ in $(seq 300); do [ -e snaps/mim-latest.ckpt ] && break; sleep 0.2; done
sleep 0.5
# Anchored at the first word: the ranks' `sh -c` lines name lgp-mim-train too.
victim=$(pgrep -f -n "^[^ ]*/lgp-mim-train .*--checkpoint-dir snaps")
kill -9 "$victim"
t0=$(date +%s)
wait $job
rc=$?
dt=$(($(date +%s) - t0))
[ $rc -ne 0 ] && [ $dt -le 10 ]; ok $? "a killed rank stops the whole job (exit $rc after ${dt}s)"
grep -q -i "signal 9\|killed" kill.err; ok $? "mpirun names the killed process"
lgp-inspect --verify snaps/mim-latest.ckpt >/dev/null; ok $? "the last snapshot verifies"
[ ! -e never.ckpt ]; ok $? "no final checkpoint"
done_testing

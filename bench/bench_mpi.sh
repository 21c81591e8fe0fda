#!/usr/bin/env bash
# bench_mpi.sh — communication of data-parallel lgp-cl-train: bytes and seconds per step
# spent in MPI (lgp_dist_bytes/lgp_dist_seconds, printed by rank 0 under -v) and the
# wall time per step, for 1 rank x batch 2B and 2 ranks x batch B (the same global
# batch) on the fmnist config, shared-memory transport on one machine.
#   usage: bench/bench_mpi.sh [STEPS [B [MODEL-ARGS...]]]   (default 10 steps, B 64)
# Needs `make MPI=1` (build-mpi/). Prints one line per run, then the model size.
set -u
cd "$(dirname "$0")/.." || exit 1
MB=${LGP_BUILD_MPI:-$PWD/build-mpi}/bin
STEPS=${1:-10}
B=${2:-64}
shift $(($# > 2 ? 2 : $#))
MODEL=("$@")
[ ${#MODEL[@]} -gt 0 ] || MODEL=(--model fmnist)
DATA=${FMNIST:-/usr/share/datasets/fashion-mnist}/train-images-idx3-ubyte.gz
RUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for np in 1 2; do
    b=$((2 * B / np))
    "${RUN[@]}" -np $np sh -c "$MB/lgp-tar-images -q --shard auto --limit $((STEPS * b + b)) $DATA |
        $MB/lgp-augment -q --recipe moco --size 28 --threads 1 |
        $MB/lgp-cl-train ${MODEL[*]} --batch $b --steps $STEPS --warmup-steps 2 --threads 1 -v \
        --log $T/log$np.jsonl -o $T/w$np.ckpt" 2>"$T/err$np"
    rc=$?
    [ $rc -eq 0 ] || { echo "np $np failed (exit $rc):"; tail -5 "$T/err$np"; exit 1; }
    # steady state: wall time of the last half of the steps
    per=$(/usr/bin/python3 -c "
import json, sys
r = [json.loads(l) for l in open('$T/log$np.jsonl')]
h = len(r) // 2
print('%.4f' % ((r[-1]['time'] - r[h - 1]['time']) / (len(r) - h)))")
    comm=$(grep -o 'communication: .*' "$T/err$np" || echo "communication: none (1 rank)")
    echo "np $np x batch $b: $per s/step; $comm"
done
grep -o '[0-9]* parameters, heads [0-9/]*' "$T/err1" | head -1

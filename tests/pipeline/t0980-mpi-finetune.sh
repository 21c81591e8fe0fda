#!/usr/bin/env bash
# Data-parallel fine-tuning with MPI: 2 ranks x batch 16 give 1 rank x batch 32's loss
# curve and final weights (rel 1e-5) with drop path on (drawn per sample from the
# record's epoch and index, so the split does not change it) and mixup off (it pairs
# samples inside each rank's batch, so it differs by design; with it on, 2 ranks still
# train). The views come from lgp-augment --recipe finetune on each rank's shard: its
# draws are keyed by each record's epoch and index, so the split does not change them
# either (the ImageNet form is given in full: at 28 pixels the default is the whole
# image). The test set evaluated by both ranks together gives the same top-1 as one rank.
. "$(dirname "$0")/lib.sh"
MB=${LGP_BUILD_MPI:-$LGP_BUILD/../build-mpi}/bin
if ! command -v mpirun >/dev/null || [ ! -x "$MB/lgp-finetune" ]; then echo "1..0 # SKIP no MPI build"; exit 0; fi
RUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)
DATA=$FMNIST/train-images-idx3-ubyte.gz
"$MB/lgp-tar-images" -q --limit 100 "$FMNIST/t10k-images-idx3-ubyte.gz" >test.lgps
AUG="--recipe finetune --scale 0.08,1 --ratio 0.75,1.3333333333333333 --randaug 2,9 --erase-p 0.25 --threads 1"
TINY="--model fmnist --width 32 --depth 2 --heads 2 --steps 12 --warmup-steps 2 --blr 5e-3 --threads 1 -q --test test.lgps"
for np in 1 2; do
    "${RUN[@]}" -np $np sh -c "$MB/lgp-tar-images -q --limit 800 --shard auto $DATA |
        $MB/lgp-augment -q $AUG |
        $MB/lgp-finetune $TINY --mixup 0 --cutmix 0 --num-classes 10 --batch $((32 / np)) --log log$np.jsonl --json r$np.json -o w$np.ckpt" 2>err$np
    ok $? "$np rank(s) x batch $((32 / np)) fine-tunes"
    lgp-inspect --to-safetensors w$np.st w$np.ckpt 2>/dev/null
done
"$PYTHON" - log1.jsonl log2.jsonl <<'PY'
import json, sys
a = [json.loads(l)["loss"] for l in open(sys.argv[1])]
b = [json.loads(l)["loss"] for l in open(sys.argv[2])]
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
print(f"# loss curves: {len(a)} vs {len(b)} steps, worst relative difference {worst:.2g}")
sys.exit(0 if len(a) == len(b) == 12 and worst <= 1e-5 else 1)
PY
ok $? "2 ranks: same loss curve as 1 rank (12 steps, rel 1e-5)"
"$PYTHON" "$TESTS_DIR/ref/compare_weights.py" w1.st w2.st 1e-5 >cmp.out
ok $? "2 ranks: same final weights as 1 rank: $(cat cmp.out)"
[ "$(grep -o '"n_test":[0-9]*' r2.json)" = '"n_test":100' ] &&
    [ "$(grep -o '"top1":[0-9.]*' r1.json)" = "$(grep -o '"top1":[0-9.]*' r2.json)" ]
ok $? "the test set split over 2 ranks: all 100 images, the same top-1"
"${RUN[@]}" -np 2 sh -c "$MB/lgp-tar-images -q --limit 800 --shard auto $DATA | $MB/lgp-augment -q $AUG |
    $MB/lgp-finetune $TINY --mixup 0.8 --cutmix 1.0 --num-classes 10 --batch 16 -o mix.ckpt" 2>errmix
ok $? "2 ranks with mixup/cutmix on train"
done_testing

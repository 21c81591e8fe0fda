#!/usr/bin/env bash
# lgp-cl-train learns on Fashion-MNIST two-view records (random crops + flips from
# tests/ref/cl_twin.py views): grafted on a short stage 1, over 40 steps the contrastive
# loss of the last 10 steps is below that of the first 10, and the collapse monitor (std
# of the l2-normalised online outputs, ~1/sqrt(E) = 0.125 when healthy) stays above 0.05.
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 64 s1data.lgps
"$PYTHON" "$TESTS_DIR/ref/cl_twin.py" views 1280 views.lgps 3
lgp-mim-train --model fmnist --width 48 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2 \
    --batch 32 --steps 2 --warmup-steps 1 --threads 2 -q -o s1.ckpt s1data.lgps
{ lgp-graft --lr-layer-wise 2e-3,5e-3 --mlp-dim 128 --moco-dim 64 s1.ckpt; cat views.lgps; } |
    lgp-cl-train --batch 32 --steps 40 --warmup-steps 5 --threads 2 -q --log log.jsonl -o cl.ckpt
ok $? "40 steps grafted on stage 1"
"$PYTHON" -c '
import json, sys
r = [json.loads(l) for l in open("log.jsonl")]
first = sum(x["ctr"] for x in r[:10]) / 10
last = sum(x["ctr"] for x in r[-10:]) / 10
cmin = min(x["collapse"] for x in r)
ms = [x["moco_m"] for x in r]
print("# ctr loss first 10 %.4f, last 10 %.4f; min collapse std %.4f; m %.5f..%.5f" % (first, last, cmin, ms[0], ms[-1]))
sys.exit(0 if len(r) == 40 and last < first - 0.05 and cmin > 0.05 and ms == sorted(ms) and ms[0] >= 0.99 else 1)
'
ok $? "loss falls, no collapse, momentum rises from 0.99"
done_testing

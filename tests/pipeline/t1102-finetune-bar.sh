#!/usr/bin/env bash
# Issue #16's bar, as the issue writes it: a 20-step MAE start fine-tuned for 180 steps
# of 64 on 12,000 Fashion-MNIST images (lgp-augment --recipe finetune --size 28, every
# lgp-finetune default: at 28 pixels the low-resolution form and recipe) reaches more
# than 60 % top-1 on 1,000 test images. Recorded: 67.3 (64.7, 66.1 with seeds 1, 2;
# pipelines/results/finetune-short/grid.md); MAE's ViT-B recipe gave 18.1. About 1.5
# min on 2 cores; skipped under sanitizers (the plain suite runs it).
. "$(dirname "$0")/lib.sh"
F=$FMNIST
# 2 threads, as the recorded runs (the thread count changes the float sums a little)
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
[ -r "$F/t10k-images-idx3-ubyte.gz" ] || { echo "1..0 # SKIP no Fashion-MNIST"; exit 0; }
if ldd "$LGP_BUILD/bin/lgp-finetune" 2>/dev/null | grep -q libasan; then
    echo "1..0 # SKIP a 180-step training run; the suite without sanitizers runs it"
    exit 0
fi
tar-images -q --limit 1280 "$F/train-images-idx3-ubyte.gz" | lgp-augment -q --recipe mae --size 28 |
    lgp-mask -q --patch 4 | lgp-mim-train -q --steps 20 --batch 64 --threads 2 -o stage1.ckpt
ok $? "a 20-step MAE start"
tar-images -q --limit 1000 "$F/t10k-images-idx3-ubyte.gz" >test.lgps
tar-images -q --limit 12000 "$F/train-images-idx3-ubyte.gz" | lgp-augment -q --recipe finetune --size 28 |
    lgp-finetune -q --init stage1.ckpt --test test.lgps --steps 180 --batch 64 --threads 2 --json ft.json -o ft.ckpt
ok $? "the bar's command runs (180 steps of 64)"
top1=$("$PYTHON" -c "import json; j = json.load(open('ft.json')); assert j['n_test'] == 1000 and j['steps'] == 180; print(j['top1'])")
ok $? "... and reports 1,000 test images after 180 steps"
"$PYTHON" -c "import sys; sys.exit(0 if float(sys.argv[1]) > 60 else 1)" "$top1"
ok $? "top-1 $top1 % > 60 % (chance 10 %)"
done_testing

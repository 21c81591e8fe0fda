#!/usr/bin/env bash
# pipelines/lgp.mk profiles for data that is not the demo (issue 18): a TRAIN without
# PROFILE gets the ImageNet recipe at MODEL/SIZE (profile own: heads 4096/256 at ViT-B,
# no demo shard, the exact shuffle with a kept index, no fixed epoch length), says what a
# run costs, and really trains: the MAE stage on a small plain tar of tars runs with its
# epoch length taken from the stream. PROFILE=imagenet is the paper's schedule.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$TESTS_DIR/.." && pwd)
MK=(make -f "$ROOT/pipelines/lgp.mk" LGP_BIN="$LGP_BUILD/bin" PYTHON="$PYTHON")
"${MK[@]}" -n TRAIN=x.tar TEST=y.tar MODEL=vit-base SIZE=224 PATCH=16 >own.n 2>&1
ok $? "make -n with your own TRAIN"
grep -q "lgp-graft .*--mlp-dim 4096 --moco-dim 256" own.n && grep -q "lgp-cl-train .*--mlp-dim 4096 --moco-dim 256" own.n
ok $? "the paper's heads (4096/256)"
! grep -q -- "--shard 0/6" own.n && ! grep -q -- "--samples-per-epoch" own.n && ! grep -q -- "--blr 1.5e-3" own.n
ok $? "no demo shard, no fixed epoch length, no demo learning rates"
grep -q "tar-images --shard 0/1 --seed 0 --shuffle full --index pipelines/out/own/seed0/../train.idx --epochs 400 x.tar" own.n
ok $? "exact shuffle with a kept index, the short schedule's 400 MAE epochs"
grep -q "lgp-augment --recipe eval --size 224 | lgp-embed" own.n; ok $? "test images through the eval view"
grep -q "^lgp.mk: profile own (short): vit-base/16 at 224.* h: plan ranks" own.n; ok $? "says what a run costs"
"${MK[@]}" -n PROFILE=imagenet TRAIN=x.tar TEST=y.tar >in.n 2>&1
grep -q -- "--epochs 1600 --warmup-epochs 40 --blr 1.5e-4 --accum 16" in.n && grep -q -- "--epochs 300 --warmup-epochs 40" in.n
ok $? "PROFILE=imagenet: MAE 1600 epochs at 256 x 16 = 4096 per step, stage 2 300"
"${MK[@]}" -n PROFILE=imagenet SCHEDULE=long TRAIN=x.tar >bad.n 2>&1
[ $? -ne 0 ] && grep -q "SCHEDULE=long: want paper or short" bad.n; ok $? "an unknown SCHEDULE is an error"
"${MK[@]}" -n PROFILE=imagenet100 CLASSES=c100.txt TRAIN=x.tar TEST=y.tar >i100.n 2>&1
[ "$(grep -c -- "--classes c100.txt --class-subset" i100.n)" -ge 4 ] && grep -q "vit-small/16 at 224, MAE 400" i100.n
ok $? "PROFILE=imagenet100: every read of TRAIN and TEST keeps the listed classes; ViT-S, short schedule"
"${MK[@]}" -n PROFILE=imagenet100 TRAIN=x.tar >i100.n 2>&1
[ $? -ne 0 ] && grep -q "give CLASSES=FILE" i100.n; ok $? "imagenet100 without CLASSES is an error"
"${MK[@]}" -n >quick.n 2>&1
grep -q -- "--shard 0/6 --seed 0 --shuffle 10000 --epochs 10" quick.n; ok $? "the demo keeps its own settings"

# The own profile really runs: MAE on 640 small JPEGs of a plain tar of tars, epoch
# length from the indexed stream (640 / 64 = 10 steps per epoch).
"$PYTHON" "$TESTS_DIR/ref/make_archives.py" sorted . 40 16
"${MK[@]}" -s TRAIN="$PWD/sorted.tar" OUT=out/seed0 MODEL=vit-tiny SIZE=28 PATCH=4 BATCH=64 MIM_ACCUM=1 MIM_EPOCHS=2 MIM_WARMUP=1 \
    MODEL_FLAGS="--width 32 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2" out/seed0/mae/stage1.ckpt >run.out 2>&1
ok $? "profile own trains the MAE stage on a plain tar"
[ $? -eq 0 ] || tail -n 5 run.out | sed 's/^/#   /'
[ -s out/train.idx ] && [ "$(tail -n 1 out/seed0/mae/train.jsonl | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["step"])')" = 20 ]
ok $? "the index is kept and 2 epochs are 20 steps (records_per_epoch 640 from the stream)"
done_testing

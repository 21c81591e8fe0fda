#!/usr/bin/env bash
# finetune-short.sh OUT — how the views and lgp-finetune's regularisers and lr decide a
# short fine-tune at 28 pixels (issue #16's bar: a 20-step MAE start, 180 steps of 64
# on 12,000 Fashion-MNIST images, < 1 pass), measured on a validation split, never the
# test set: train images 59,000-59,999 (outside the 12,000 trained on) as they are,
# which is how the bar's and the pipelines' test sets come (tar-images, no lgp-augment).
# The arms chose the low-resolution defaults of lgp-augment --recipe finetune and
# lgp-finetune (images of <= 32 pixels a side); the ImageNet views and MAE's ViT-B
# values are given in full where an arm uses them. The table goes to OUT/grid.md.
# Resumable: an arm whose JSON exists is not run again (so give a fresh OUT after
# changing an arm or the programs: the files are reused by name). About 1.5 min an arm on 2 idle
# cores (AMD EPYC). Uses the lgp programs on PATH; LGP_THREADS (default 2).
set -euo pipefail
out=${1:?usage: finetune-short.sh OUT}
F=${FMNIST:-/usr/share/datasets/fashion-mnist}
T=${LGP_THREADS:-2}
mkdir -p "$out"
cd "$out"
[ -s stage1.ckpt ] || tar-images -q --limit 1280 $F/train-images-idx3-ubyte.gz | lgp-augment -q --recipe mae --size 28 |
    lgp-mask -q --patch 4 | lgp-mim-train -q --steps 20 --batch 64 --threads "$T" -o stage1.ckpt
[ -s val.lgps ] || tar-images -q --skip 59000 --limit 1000 $F/train-images-idx3-ubyte.gz -o val.lgps
IMAGENET="--scale 0.08,1 --ratio 0.75,1.3333333333333333 --randaug 2,9 --erase-p 0.25"
MAE_B="--blr 5e-4 --mixup 0.8 --cutmix 1.0"
NOREG="--mixup 0 --cutmix 0 --smoothing 0 --drop-path 0"
{
    echo "180 steps of 64 (0.96 passes over 12,000 images) from a 20-step MAE start, top-1 on"
    echo "1,000 validation images as they are (train images 59,000-59,999); views:"
} >grid.md
# views NAME AUGMENT-FLAGS...: the 12,000 training images once through lgp-augment
views() {
    local n=$1
    shift
    echo "- \`$n\`: lgp-augment --size 28 $*" >>grid.md
    [ -s "$n.lgps" ] || tar-images -q --limit 12000 $F/train-images-idx3-ubyte.gz |
        lgp-augment -q --size 28 "$@" -o "$n.lgps"
}
views imagenet --recipe finetune $IMAGENET
views lowres --recipe finetune
views lowres1 --recipe finetune --seed 1
views s64 --recipe finetune --scale 0.64,1 --ratio 0.75,1.3333333333333333 --randaug 0,0 --erase-p 0
views s35 --recipe finetune --scale 0.35,1 --ratio 0.75,1.3333333333333333 --randaug 0,0 --erase-p 0
views eval --recipe eval
printf '\n| views | lgp-finetune flags | validation top-1 |\n' >>grid.md
echo "|---|---|---|" >>grid.md
# arm NAME VIEWS FLAGS...: 180 steps of 64 from stage1.ckpt, top-1 on the validation split
arm() {
    local n=$1 v=$2
    shift 2
    [ -s "val_$n.json" ] || lgp-finetune -q --init stage1.ckpt --test val.lgps --steps 180 --batch 64 \
        --threads "$T" --json "val_$n.json" "$@" -o /dev/null "$v.lgps"
    echo "| $v | ${*:-defaults (at 28 pixels: blr 5e-3, no mixup or cutmix)} | $(/usr/bin/python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['top1'])" "val_$n.json") |" >>grid.md
}
arm mae_imagenet imagenet $MAE_B
arm noreg_imagenet imagenet $NOREG --blr 5e-3
arm mae_lowres lowres $MAE_B
arm noreg_lowres lowres $NOREG --blr 5e-3
arm noreg_s64 s64 $NOREG --blr 5e-3
arm noreg_s35 s35 $NOREG --blr 5e-3
arm noreg_eval eval $NOREG --blr 5e-3
arm blr1e3_lowres lowres --blr 1e-3
arm def_lowres lowres
arm def_lowres1 lowres1 --seed 1
arm noreg_lowres1 lowres1 $NOREG --blr 5e-3 --seed 1

# After the choice, the bar itself: its command as the issue writes it (defaults), on
# the first 1,000 test images, for three view and fine-tuning seeds.
[ -s test.lgps ] || tar-images -q --limit 1000 $F/t10k-images-idx3-ubyte.gz -o test.lgps
{
    printf '\nThe bar, after the choice: `tar-images --limit 12000 train | lgp-augment --recipe finetune\n'
    printf -- '--size 28 | lgp-finetune --init stage1.ckpt --test test.lgps --steps 180 --batch 64`, top-1 on\n'
    printf 'the first 1,000 test images (seed 0 is that command; 1 and 2 add --seed to both programs):\n\n'
    echo "| seed | test top-1 |"
    echo "|---|---|"
} >>grid.md
for s in 0 1 2; do
    [ -s "bar$s.json" ] || tar-images -q --limit 12000 $F/train-images-idx3-ubyte.gz |
        lgp-augment -q --recipe finetune --size 28 --seed $((20240607 + s)) |
        lgp-finetune -q --init stage1.ckpt --test test.lgps --steps 180 --batch 64 --seed $s --threads "$T" \
            --json "bar$s.json" -o /dev/null
    echo "| $s | $(/usr/bin/python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['top1'])" "bar$s.json") |" >>grid.md
done
cat grid.md

#!/usr/bin/env bash
# lgp-gradconf: the per-part cosines between the MAE and the MoCo v3 gradient agree with
# a float64 PyTorch twin (tests/ref/gradconf_twin.py) to 1e-4; the issue's command on a
# stage-1 checkpoint writes 6 block cosines in [-1, 1] (and the pooled ones, of the
# summed gradients); the same seed gives the same
# bytes; checkpoints without heads or without a decoder say what was made up; bad input
# and too little of it fail loudly; lgp-cl-train --gradconf-every logs the cosines
# without changing what the run trains.
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
if "$PYTHON" -c 'import torch' 2>/dev/null; then
    mkdir twin
    expect_exit 0 "C writes the twin's inputs and its cosines" -- "$LGP_BUILD/tests/test_gradconf" --twin-write twin
    "$PYTHON" "$TESTS_DIR/ref/gradconf_twin.py" twin >twin.log 2>&1
    rc=$?
    sed 's/^/# /; s/^# #/#/' twin.log
    ok $rc "torch twin: per-block cosines within 1e-4, both gradients within 1e-4"
else
    echo "# SKIP the twin: python3-torch missing"
fi

# the issue's command: a 20-step MAE start, 512 two-view records, 8 batches of 64
tar-images -q --limit 1280 "$FMNIST/train-images-idx3-ubyte.gz" | lgp-augment -q --recipe mae --size 28 |
    lgp-mask -q --patch 4 | lgp-mim-train -q --steps 20 --batch 64 --blr 1.5e-3 --warmup-steps 2 --threads 2 -o stage1.ckpt
ok $? "a 20-step stage 1"
tar-images -q --limit 512 "$FMNIST/train-images-idx3-ubyte.gz" | lgp-augment -q --recipe moco --size 28 >views.lgps
lgp-gradconf --model stage1.ckpt --batch 64 --json g.json --threads 2 <views.lgps >table.txt 2>err
ok $? "lgp-gradconf --model stage1.ckpt --batch 64 --json g.json"
sed 's/^/# /' table.txt
grep -q "has no MoCo v3 heads: random ones" err
ok $? "says the stage-1 checkpoint's heads are made up"
"$PYTHON" - <<'PY'
import json, math, sys
g = json.load(open("g.json"))
b = g["blocks"]
good = (len(b) == 6 and [x["block"] for x in b] == list(range(6)) and g["batches"] == 8
        and all(-1 <= x["cosine"] <= 1 and -1 <= x["pooled"] <= 1 and x["n"] == 8 and len(x["quantiles"]) == 5
                and x["quantiles"] == sorted(x["quantiles"]) for x in b)
        and g["model"]["heads"] == "random" and g["model"]["decoder"] == "checkpoint"
        and len(g["per_batch"]) == 8 and all(len(r) == 8 for r in g["per_batch"]))
# the summary is the per-batch rows' mean
m = [sum(r[1 + i] for r in g["per_batch"]) / 8 for i in range(6)]
good = good and all(abs(m[i] - b[i]["cosine"]) < 1e-9 for i in range(6))
sys.exit(0 if good else 1)
PY
ok $? "6 block cosines in [-1, 1], quantiles ordered, the mean of the per-batch rows"
GC="lgp-gradconf -q --model stage1.ckpt --batch 32 --batches 2 --threads 2"
$GC --seed 1 --json a.json <views.lgps >a.txt && $GC --seed 1 --json b.json <views.lgps >b.txt &&
    $GC --seed 2 --json c.json <views.lgps >c.txt
ok $? "three short runs"
cmp -s a.json b.json && cmp -s a.txt b.txt
ok $? "the same seed gives the same bytes"
! cmp -s a.json c.json
ok $? "another seed (heads, masks) gives other cosines"
$GC --batches 1 --json one.json <views.lgps >/dev/null
"$PYTHON" -c '
import json, sys
g = json.load(open("one.json"))
row = g["per_batch"][0]
parts = [g["patch_embed"]] + g["blocks"] + [g["norm"]]
sys.exit(0 if all(abs(p["pooled"] - c) < 1e-12 and p["cosine"] == c for p, c in zip(parts, row)) else 1)'
ok $? "one batch: pooled = mean = that batch's cosine"

# a MoCo v3 checkpoint has no decoder; 'random' needs no file
lgp-cl-train -q --model fmnist --width 48 --depth 2 --heads 2 --batch 32 --steps 2 --warmup-steps 1 --threads 2 \
    -o moco.ckpt views.lgps
lgp-gradconf --model moco.ckpt --batch 32 --batches 2 --json m.json --threads 2 <views.lgps >/dev/null 2>err
ok $? "a MoCo v3 checkpoint"
grep -q "no MAE decoder: a random one" err && grep -q '"decoder":"random"' m.json && grep -q '"heads":"checkpoint"' m.json
ok $? "says its decoder is made up"
lgp-finetune -q --init stage1.ckpt --steps 2 --batch 32 --warmup-steps 1 --threads 2 -o ft.ckpt views.lgps &&
    lgp-gradconf -q --model ft.ckpt --batch 32 --batches 1 --json f.json --threads 2 <views.lgps >/dev/null &&
    grep -q '"heads":"random"' f.json && grep -q '"decoder":"random"' f.json
ok $? "a fine-tuned checkpoint: its classifier left out, MoCo heads and MAE decoder made up"
lgp-gradconf --model random --arch fmnist --depth 2 --batch 32 --batches 1 --threads 2 <views.lgps >r.txt 2>/dev/null
[ "$(grep -c '^block' r.txt)" -eq 2 ]
ok $? "--model random --arch fmnist --depth 2: 2 blocks"

# fail loudly
expect_exit 1 "more batches than records" -- lgp-gradconf -q --model stage1.ckpt --batch 64 --batches 9 views.lgps
expect_err_line "lgp-gradconf: views.lgps: ended after 512 records: 9 batches of 64 need 576" "says how many it needed"
expect_exit 2 "no --model" -- lgp-gradconf views.lgps
expect_exit 2 "--arch with a checkpoint" -- lgp-gradconf --model stage1.ckpt --arch vit-tiny views.lgps
expect_exit 2 "--width that is not the checkpoint's" -- lgp-gradconf --model stage1.ckpt --width 64 views.lgps
expect_exit 1 "a missing checkpoint" -- lgp-gradconf --model nope.ckpt views.lgps
expect_err_line "lgp-gradconf: nope.ckpt: *" "names it"
expect_exit 1 "--json into a missing folder, before any work" -- lgp-gradconf --model stage1.ckpt --json no/such/g.json views.lgps
tar-images -q --limit 64 "$FMNIST/train-images-idx3-ubyte.gz" | lgp-augment -q --recipe mae --size 28 >one.lgps
expect_exit 1 "one-view records" -- lgp-gradconf --model stage1.ckpt --batch 32 --batches 1 one.lgps
grep -q "view1" err
ok $? "names the missing view"

# lgp-cl-train --gradconf-every: the cosines in the log, the same training otherwise
J="--model fmnist --width 48 --depth 3 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2 --mim-weight 1
   --train-patch-embed --batch 32 --steps 6 --warmup-steps 1 --threads 2 -q"
# shellcheck disable=SC2086
lgp-cl-train $J --gradconf-every 2 --log a.jsonl -o a.ckpt views.lgps && lgp-cl-train $J --log b.jsonl -o b.ckpt views.lgps
ok $? "joint runs with and without --gradconf-every"
"$PYTHON" - <<'PY'
import json, sys
a = [json.loads(l) for l in open("a.jsonl")]
b = [json.loads(l) for l in open("b.jsonl")]
steps = [r["step"] for r in a if "gradconf" in r]
good = steps == [1, 3, 5] and all(len(r["gradconf"]) == 5 and all(-1 <= c <= 1 for c in r["gradconf"])
                                  for r in a if "gradconf" in r)
good = good and all(abs(x["loss"] - y["loss"]) <= 1e-4 * abs(y["loss"]) for x, y in zip(a, b)) and len(a) == len(b) == 6
print("# gradconf at steps", steps, "; last loss", a[-1]["loss"], b[-1]["loss"])
sys.exit(0 if good else 1)
PY
ok $? "cosines at steps 1, 3, 5 (patch, 3 blocks, norm); losses as without (1e-4)"
# shellcheck disable=SC2086
expect_exit 2 "--gradconf-every without --mim-weight" -- lgp-cl-train --model fmnist --depth 2 --batch 32 --steps 1 --gradconf-every 1 -o x.ckpt views.lgps
done_testing

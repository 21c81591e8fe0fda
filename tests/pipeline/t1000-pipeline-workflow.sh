#!/usr/bin/env bash
# The whole workflow of pipelines/lgp.mk (test profile: tiny model, 512 images, one
# epoch per stage, embeddings of 3000 train / 1000 test images): every target runs,
# every checkpoint and stream verifies, the table has every row, and the table, plots and
# results.json come from one run and agree. Then a stage that
# fails in the middle of a pipe fails its make target and leaves no artifact.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$TESTS_DIR/.." && pwd)
MK=(make -s -f "$ROOT/pipelines/lgp.mk" PROFILE=test LGP_BIN="$LGP_BUILD/bin" PYTHON="$PYTHON")
"${MK[@]}" OUT=out -j2 table plots >table.out 2>make.err
ok $? "make -f pipelines/lgp.mk PROFILE=test table plots"
[ $? -eq 0 ] || tail -n 5 make.err | sed 's/^/#   /'
for f in out/mae/stage1.ckpt out/grafted/stage2.ckpt out/mocov3/stage2.ckpt out/joint/stage2.ckpt \
         out/*/train.emb out/*/test.emb; do
    lgp-inspect --verify "$f" >/dev/null 2>&1; ok $? "$f verifies"
done
for r in "layer-grafted" "MAE only" "MoCo v3 only" "naive joint" "random-init" "raw pixels"; do
    grep "^| $r" table.out | grep -q -E '\| [0-9.]+ ± [0-9.]+ \| [0-9.]+ ± [0-9.]+ \| [0-9.]+ \|'
    ok $? "table row '$r' has 1%, 10% and kNN numbers" || { sed "s/^/#   /" abl.out abl.err | tail -n 12; }
done
[ -s out/mae/recon.png ]; ok $? "MAE reconstruction grid written"
[ -s out/loss.png ] && [ -s out/accuracy-1pct.png ]; ok $? "plots written"
# One panel per objective (MAE, contrastive) and per accuracy protocol (1%, 10%, kNN):
# pipelines/plots.sh makes each figure 620 or 520 pixels wide per panel.
"$PYTHON" - out/loss.png out/accuracy-1pct.png <<'PY'
import struct, sys
size = lambda p: struct.unpack(">II", open(p, "rb").read(24)[16:24])
assert size(sys.argv[1]) == (1240, 480), size(sys.argv[1])
assert size(sys.argv[2]) == (1560, 500), size(sys.argv[2])
PY
ok $? "loss.png has the MAE and contrastive panels, accuracy-1pct.png the 1%, 10% and kNN panels"
# results.json: one row per (run, protocol, shots, probe seed), and the table says what
# the rows say (both are made from the same probe files in one run).
"$PYTHON" - out/results.json table.out >agree.out 2>&1 <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
names = {"grafted": "layer-grafted", "mae": "MAE only", "mocov3": "MoCo v3 only", "joint": "naive joint",
         "random": "random-init", "pixels": "raw pixels"}
cols = [("paper-lambda", "1%"), ("paper-lambda-gap", "1%"), ("tuned-lambda", "1%"), ("paper-lambda", "10%"),
        ("tuned-lambda", "10%"), ("knn", "all")]
table = {}
for line in open(sys.argv[2]):
    for run, label in names.items():
        if line.startswith("| " + label):
            table[run] = [c.strip() for c in line.strip().strip("|").split("|")][1:7]
bad = 0
for run in names:
    for (p, s), c in zip(cols, table.get(run, [""] * 6)):
        v = [r["top1"] for r in rows if r["run"] == run and r["protocol"] == p and r["shots"] == s]
        want = 2 if p != "knn" else 1  # PROBE_SEEDS=2 in the test profile
        if len(v) != want or any(r["train_seed"] != 0 for r in rows):
            print(run, p, s, "rows:", len(v)); bad += 1; continue
        m = sum(v) / len(v)
        if abs(float(c.split()[0]) - m) > 0.006:
            print(run, p, s, "table", c, "rows mean", m); bad += 1
sys.exit(1 if bad else 0)
PY
ok $? "results.json has every run x protocol x shots x probe seed, and the table agrees with it"
sed 's/^/#   /' agree.out | head -n 5

# The ablation arms from the same stage-1 checkpoint: lr 0 leaves the lower two thirds
# (blocks 0-1 of 3) and cls exactly as MAE made them, uniform lr moves block 0.
"${MK[@]}" OUT=out ablation >abl.out 2>abl.err
ok $? "make ... ablation"
for r in "layer-grafted" "lower 2/3 frozen" "uniform lr" "lower 1/3 only" "every block"; do
    grep "$r" abl.out >row.txt
    grep -q -E '\| [0-9.]+ ± [0-9.]+ \| [0-9.]+ ± [0-9.]+ \| [0-9.]+ \|' row.txt; ok $? "ablation row '$r' has 1% (paper, tuned) and kNN numbers"
done
for f in mae/stage1 graft-lr0/stage2 graft-lr1/stage2; do lgp-inspect -q --to-safetensors "${f%%/*}.st" "out/$f.ckpt" >/dev/null; done
"$PYTHON" -c '
import sys; sys.path.insert(0, sys.argv[1])
from safetensors_torch import load
import numpy as np
m, z, u = load("mae.st")[0], load("graft-lr0.st")[0], load("graft-lr1.st")[0]
same = lambda a, b, k: np.array_equal(np.asarray(a[k]), np.asarray(b[k]))
low = [k for k in m if k.startswith(("blocks.0.", "blocks.1.")) or k == "cls_token"]
ok = low and all(same(m, z, k) for k in low) and not same(m, z, "blocks.2.mlp.fc1.weight") and not same(m, u, "blocks.0.mlp.fc1.weight")
sys.exit(0 if ok else 1)' "$TESTS_DIR/ref"
ok $? "graft-lr0 keeps blocks 0-1 and cls bit-exact, trains block 2; graft-lr1 trains block 0"

# The fine-tuning column: every pre-training row fine-tuned on the probes' first 10% subset.
"${MK[@]}" OUT=out finetune >ft.out 2>ft.err
ok $? "make ... finetune"
[ $? -eq 0 ] || tail -n 5 ft.err | sed 's/^/#   /'
"$PYTHON" - out/results.json ft.out out/subset-10pct.txt <<'PY'
import json, sys
rows = [r for r in json.load(open(sys.argv[1]))["rows"] if r["protocol"] == "finetune"]
assert sorted(r["run"] for r in rows) == sorted(["grafted", "mae", "mocov3", "joint", "random"]), rows
assert all(0 <= r["top1"] <= 100 and r["minutes"] > 0 and r["shots"] == "10%" for r in rows), rows
assert "10% fine-tune (min)" in open(sys.argv[2]).read()
n = sum(1 for l in open(sys.argv[3]) if l.strip())
assert 250 <= n <= 350, n  # 10% of the 3,000 embedded training images, per class
PY
ok $? "results.json has a finetune row per pre-training row, the table a fine-tune column, the subset 10%"
grep -q '"keep_list"' <(lgp-inspect --meta out/grafted/snapshots/ft-latest.ckpt 2>/dev/null) ||
    [ "$(grep -o '"n_test":[0-9]*' out/grafted/finetune-10pct.json)" = '"n_test":1000' ]
ok $? "fine-tuning is tested on the profile's 1,000 test images"
# Full fine-tuning: every training label (one row here: the random init needs no stage).
"${MK[@]}" OUT=out FT_RUNS=random finetune-full >ftall.out 2>ftall.err
ok $? "make ... finetune-full"
"$PYTHON" - out/results.json ftall.out out/random/full/finetune.jsonl <<'PY'
import json, sys
rows = [r for r in json.load(open(sys.argv[1]))["rows"] if r["protocol"] == "finetune"]
full = [r for r in rows if r["shots"] == "all"]
assert [r["run"] for r in full] == ["random"] and 0 <= full[0]["top1"] <= 100, rows
assert len([r for r in rows if r["shots"] == "10%"]) == 5, rows  # the 10% rows stay
assert "100% fine-tune (min)" in open(sys.argv[2]).read()
steps = [json.loads(l)["step"] for l in open(sys.argv[3]) if '"loss"' in l]
assert max(steps) >= 80, max(steps)  # all 3,000 images, 1 epoch of 32: ~94 steps, not the 10% subset's ~9
PY
ok $? "the 100% column: a finetune row with shots 'all', trained on every label"

# The gradient-conflict figure: lgp-gradconf on every checkpoint (and a random init), plots.
"${MK[@]}" OUT=out gradconf >gc.out 2>gc.err
ok $? "make ... gradconf"
[ $? -eq 0 ] || tail -n 5 gc.err | sed 's/^/#   /'
"$PYTHON" - <<'PY'
import json, sys
for r in ["random", "mae", "joint", "mocov3", "grafted"]:
    g = json.load(open(f"out/{r}/gradconf.json"))
    assert g["batches"] == 2 and len(g["blocks"]) == 3, (r, g)
    assert all(-1 <= b["cosine"] <= 1 and -1 <= b["pooled"] <= 1 for b in g["blocks"]), (r, g)
    want = {"random": ("random", None), "mae": ("checkpoint", "random"), "joint": ("checkpoint", "checkpoint")}
    if r in want:
        src = g["model"].get("decoder", "random"), g["model"].get("heads")
        assert r == "random" or src == want[r], (r, g["model"])
PY
ok $? "a gradconf.json per checkpoint: 3 blocks, cosines in [-1, 1]; what came from each file"
[ -s out/gradconf.png ] && [ -s out/mae/gradconf.png ] && [ -s out/grafted/gradconf.png ]
ok $? "the figure with every run and a box plot per checkpoint"

# A truncated training file: tar-images fails mid-pipe, the target fails, no checkpoint.
head -c 2000000 "$FMNIST/train-images-idx3-ubyte.gz" >trunc-images-idx3-ubyte.gz
cp "$FMNIST/train-labels-idx1-ubyte.gz" trunc-labels-idx1-ubyte.gz
"${MK[@]}" OUT=bad TRAIN="$PWD/trunc-images-idx3-ubyte.gz" bad/mae/stage1.ckpt >/dev/null 2>bad.err
rc=$?
[ $rc -ne 0 ]; ok $? "a failing stage fails the make target (exit $rc)"
[ ! -e bad/mae/stage1.ckpt ]; ok $? "and leaves no stage1.ckpt"
grep -q "tar-images: .*trunc-images-idx3-ubyte.gz" bad.err; ok $? "the failing program names its input"
done_testing

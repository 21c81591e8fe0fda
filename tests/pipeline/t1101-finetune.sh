#!/usr/bin/env bash
# lgp-finetune end to end at toy size: a stage-1 start fine-tuned on lgp-augment's
# finetune views, evaluated on a test file; the checkpoint, the JSON, bit-exact resume
# from snapshots and after SIGTERM, --eval-every, the class count from the input, and the loud ends
# (records without labels, labels out of range, a missing test file, a warmup longer
# than the run, options that differ on --resume), and the low-resolution defaults at
# <= 32 pixels (blr 5e-3, no mixup or cutmix) against MAE's ViT-B values above.
. "$(dirname "$0")/lib.sh"
FM=/usr/share/datasets/fashion-mnist
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
SMALL=(--width 32 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2)
tar-images -q --limit 256 "$FM/train-images-idx3-ubyte.gz" | lgp-augment -q --recipe mae --size 28 |
    lgp-mim-train -q "${SMALL[@]}" --steps 4 --batch 64 --warmup-steps 1 --threads 2 -o stage1.ckpt
ok $? "a small stage-1 start"
tar-images -q --limit 200 "$FM/t10k-images-idx3-ubyte.gz" >test.lgps
tar-images -q --limit 640 "$FM/train-images-idx3-ubyte.gz" | lgp-augment -q --recipe finetune --size 28 >views.lgps
ok $? "finetune views"

# mixup and cutmix given (at 28 pixels the defaults turn them off): the resumes below
# must reproduce their draws too
FT=(--init stage1.ckpt --batch 32 --steps 20 --warmup-steps 2 --threads 2 -q --mixup 0.8 --cutmix 1.0)
lgp-finetune "${FT[@]}" --test test.lgps --json ft.json --log ft.jsonl --checkpoint-dir full --save-every 1 --keep 100 \
    -o ft.ckpt views.lgps
ok $? "fine-tunes 20 steps"
"$PYTHON" - ft.json <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["protocol"] == "finetune" and j["program"] == "lgp-finetune", j
assert 0 <= j["top1"] <= j["top5"] <= 100, j
assert j["n_test"] == 200 and j["steps"] == 20 and j["num_classes"] == 10 and j["head"] == "linear", j
assert j["evals"][-1]["step"] == 20, j
PY
ok $? "--json: protocol, top1 <= top5, 200 test images, 10 classes from the input"
# --eval-every: evaluations at each epoch boundary and the end, in the JSON and the log,
# without changing what is trained.
EV=(--init stage1.ckpt --batch 32 --epochs 2 --samples-per-epoch 160 --warmup-steps 2 --threads 2 -q)
lgp-finetune "${EV[@]}" --test test.lgps --eval-every 1 --json ev.json --log ev.jsonl -o ev.ckpt views.lgps &&
    lgp-finetune "${EV[@]}" -o noev.ckpt views.lgps
ok $? "2 epochs with --eval-every 1, and without"
"$PYTHON" - <<'PY'
import json, sys
j = json.load(open("ev.json"))
log = [json.loads(l) for l in open("ev.jsonl")]
at = [r["step"] for r in log if "test_top1" in r]
assert [e["step"] for e in j["evals"]] == [5, 10], j["evals"]
assert at == [5, 10], at
assert abs(j["evals"][-1]["top1"] - j["top1"]) < 1e-9 and all(0 <= e["top1"] <= 100 for e in j["evals"]), j
PY
ok $? "evaluated at steps 5 (epoch 1) and 10 (the end), in the JSON and the JSONL log"
[ "$(lgp-inspect --hash ev.ckpt | cut -d' ' -f1)" = "$(lgp-inspect --hash noev.ckpt | cut -d' ' -f1)" ]
ok $? "evaluating does not change the trained weights"
lgp-inspect ft.ckpt 2>&1 | grep -q '"stage":"finetune"'; ok $? "checkpoint stage finetune"
lgp-inspect ft.ckpt 2>&1 | grep -q 'head.weight .*\[10, 32\]'; ok $? "head.weight [10, 32] under the timm name"
lgp-embed -q --model ft.ckpt -o emb.lgps test.lgps; ok $? "lgp-embed reads the fine-tuned encoder"

want=$(lgp-inspect --hash ft.ckpt | cut -d' ' -f1)
for k in 3 11 19; do
    s=$(printf 'full/ft-step%08d.ckpt' "$k")
    lgp-finetune --resume "$s" "${FT[@]}" --test test.lgps -o "r$k.ckpt" views.lgps
    got=$(lgp-inspect --hash "r$k.ckpt" | cut -d' ' -f1)
    [ "$got" = "$want" ]; ok $? "resume from step $k: weights, head and optimizer bit-identical"
done
size=$(stat -c %s views.lgps)
{ head -c $((size / 3)) views.lgps; sleep 6; tail -c +$((size / 3 + 1)) views.lgps; } |
    lgp-finetune "${FT[@]}" --log term.jsonl --checkpoint-dir term -o never.ckpt 2>term.err &
pid=$!
for _ in $(seq 50); do [ -s term.jsonl ] && break; sleep 0.1; done
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 1 ] && [ ! -e never.ckpt ]; ok $? "SIGTERM: exit 1, nothing under -o (rc $rc)"
lgp-finetune --resume term/ft-latest.ckpt "${FT[@]}" -o term.ckpt views.lgps
[ "$(lgp-inspect --hash term.ckpt | cut -d' ' -f1)" = "$want" ]; ok $? "resume after SIGTERM is bit-identical"

expect_exit 2 "--resume with another recipe is a usage error" -- \
    lgp-finetune --resume full/ft-step00000010.ckpt "${FT[@]}" --drop-path 0.3 -o x.ckpt views.lgps
expect_exit 1 "a missing test file fails before training" -- lgp-finetune "${FT[@]}" --test nope.lgps -o x.ckpt views.lgps
grep -q "nope.lgps" err; ok $? "... naming the file"
expect_exit 1 "a label outside the head's classes stops the run" -- \
    lgp-finetune "${FT[@]}" --num-classes 3 -o x.ckpt views.lgps
grep -q "label out of range" err; ok $? "... saying which record and why"
# test records: label 12 in the second, no label in a third file
"$PYTHON" - "$TESTS_DIR/ref" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[1])
import lgpstream as ls
img = bytes(28 * 28)
def rec(i, label):
    t = [("image", "u8", (28, 28, 1), img)]
    if label is not None:
        t.append(("label", "i64", (), struct.pack("<q", label)))
    return (f"t-{i}", t)
with open("bad.lgps", "wb") as f:
    ls.write_stream(f, {}, [rec(0, 1), rec(1, 12)])
with open("nolab.lgps", "wb") as f:
    ls.write_stream(f, {}, [rec(0, None)])
PY
for t in bad nolab; do
    expect_exit 1 "test file $t.lgps: the run stops before the checkpoint" -- \
        lgp-finetune "${FT[@]}" --test $t.lgps -o y.ckpt views.lgps
    grep -q "$t.lgps: record" err; ok $? "... naming the file and the record"
    [ ! -e y.ckpt ]; ok $? "... and nothing under -o"
done
# The probe's 10% subset, handed to fine-tuning: the same labelled images.
tar-images -q --limit 640 "$FM/train-images-idx3-ubyte.gz" | lgp-embed -q --pixels -o tr.emb
lgp-embed -q --pixels -o te.emb test.lgps
lgp-probe -q --shots 10% --seed 4 --write-subset sub.txt --test te.emb <tr.emb >p1.out
lgp-probe -q --shots-file sub.txt --test te.emb <tr.emb >p2.out
[ "$(awk '/^logreg/{print $3, $5}' p1.out)" = "$(awk '/^logreg/{print $3, $5}' p2.out)" ] && [ -s sub.txt ]
ok $? "lgp-probe --write-subset: --shots-file reads back the same subset (same n and top-1)"
tar-images -q --limit 640 "$FM/train-images-idx3-ubyte.gz" | lgp-augment -q --recipe finetune --keep-list sub.txt >sub.lgps
ok $? "lgp-augment --keep-list"
n=$(wc -l <sub.txt)
lgp-inspect sub.lgps | grep -q "records: $n" && lgp-inspect --meta sub.lgps | grep -q "\"records_per_epoch\":$n"
ok $? "... writes exactly the $n listed records and announces them as the epoch"
"$PYTHON" - sub.txt sub.lgps views.lgps <<'PY'
import subprocess, sys
want = [l.split()[0] for l in open(sys.argv[1]) if l.strip()]
def keys(path):
    out = subprocess.run(["lgp-inspect", "--keys", path], capture_output=True, text=True).stdout
    seen = [l.split("key '")[1].split("'")[0] for l in out.splitlines() if l.startswith("  record ")]
    return list(dict.fromkeys(seen))
got = keys(sys.argv[2])
assert got == want, (got[:3], want[:3])
PY
ok $? "... in the input's order, the keys the probe chose"
tar-images -q --limit 300 "$FM/train-images-idx3-ubyte.gz" | lgp-augment -q --recipe finetune --keep-list sub.txt >/dev/null 2>err
[ $? -eq 1 ] && grep -q "matched no record" err; ok $? "... a listed name missing from the input is an error"

lgp-finetune "${FT[@]}" --warmup-steps 40 -o w.ckpt views.lgps 2>warm.err
grep -q "warmup" warm.err; ok $? "a warmup as long as the run is said"

# meta FILE KEY...: the values of the checkpoint's numeric metadata KEYs, in order
meta() {
    local f=$1
    shift
    lgp-inspect --meta "$f" | "$PYTHON" -c '
import json, sys
t = sys.stdin.read()
m = json.loads(t[t.index("{"):t.rindex("}") + 1])
def find(o, k):
    if isinstance(o, dict):
        if k in o: return o[k]
        for v in o.values():
            r = find(v, k)
            if r is not None: return r
    return None
print(" ".join("%g" % find(m, k) for k in sys.argv[1:]))' "$@"
}
lgp-finetune --init stage1.ckpt --batch 32 --steps 4 --warmup-steps 1 --threads 2 --checkpoint-dir low --save-every 1 \
    -o d.ckpt views.lgps 2>d.err
[ "$(meta d.ckpt blr lr mixup cutmix smoothing)" = "0.005 0.000625 0 0 0.1" ]
ok $? "28 pixels, nothing given: blr 5e-3 (lr 6.25e-4 at 32), no mixup or cutmix, smoothing 0.1 ($(meta d.ckpt blr lr mixup cutmix smoothing))"
grep -q "28-pixel images: the low-resolution defaults (blr 0.005, mixup 0, cutmix 0" d.err; ok $? "... and says so"
lgp-finetune --init stage1.ckpt --batch 32 --steps 2 --warmup-steps 1 --threads 2 -q --test test.lgps --json dj.json \
    -o /dev/null views.lgps
"$PYTHON" - dj.json <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
r, v = j["recipe"], j["views"]
assert (r["blr"], r["mixup"], r["cutmix"], r["layer_decay"]) == (0.005, 0, 0, 0.75), r
assert v["recipe"] == "finetune" and v["form"].startswith("low-res") and v["views"][0]["scale"] == [1, 1], v
PY
ok $? "--json records the recipe in force and the input's views (lgp-augment's metadata)"
lgp-finetune --init stage1.ckpt --batch 32 --steps 2 --warmup-steps 1 --threads 2 -q --blr 5e-4 --mixup 0.8 \
    -o g.ckpt views.lgps
[ "$(meta g.ckpt blr mixup cutmix)" = "0.0005 0.8 0" ]; ok $? "--blr and --mixup given are kept, cutmix still 0"
tar-images -q --limit 64 "$FM/train-images-idx3-ubyte.gz" | lgp-augment -q --recipe finetune --size 48 >v48.lgps
lgp-finetune --model fmnist --img-size 48 --patch 8 "${SMALL[@]}" --batch 32 --steps 2 --warmup-steps 1 --threads 2 \
    -o big.ckpt v48.lgps 2>big.err
[ "$(meta big.ckpt blr mixup cutmix)" = "0.0005 0.8 1" ] && ! grep -q "low-resolution" big.err
ok $? "48 pixels: MAE's ViT-B values ($(meta big.ckpt blr mixup cutmix))"
LOW=(--init stage1.ckpt --batch 32 --steps 4 --warmup-steps 1 --threads 2 -q)
lgp-finetune --resume low/ft-step00000002.ckpt "${LOW[@]}" --smoothing 0.1 --mixup 0 -o rs.ckpt views.lgps
[ "$(lgp-inspect --hash rs.ckpt | cut -d' ' -f1)" = "$(lgp-inspect --hash d.ckpt | cut -d' ' -f1)" ]
ok $? "resume of a low-resolution run giving its own recipe (--smoothing 0.1 --mixup 0): accepted, bit-identical"
expect_exit 2 "... giving MAE's --mixup 0.8 instead is a usage error" -- \
    lgp-finetune --resume low/ft-step00000002.ckpt "${LOW[@]}" --mixup 0.8 -o x.ckpt views.lgps
lgp-finetune --resume full/ft-step00000010.ckpt "${FT[@]}" --smoothing 0.1 -o rs2.ckpt views.lgps
[ "$(lgp-inspect --hash rs2.ckpt | cut -d' ' -f1)" = "$want" ]
ok $? "resume of a run with --mixup 0.8 --cutmix 1.0 given, now also --smoothing 0.1: accepted, bit-identical"
lgp-finetune --resume full/ft-step00000010.ckpt --init stage1.ckpt --batch 32 --steps 20 --warmup-steps 2 --threads 2 -q \
    --smoothing 0.1 -o rs3.ckpt views.lgps
[ "$(lgp-inspect --hash rs3.ckpt | cut -d' ' -f1)" = "$want" ]
ok $? "... and with only --smoothing 0.1 given (its mixup and cutmix are not compared when not given)"
done_testing

#!/bin/bash
# lgp-augment: same seed -> same bytes (whatever --threads); records that carry their
# index (tar-images) draw the same wherever they are in a stream, records that do not
# draw by position (--start-index N on the stream without its first N records
# reproduces the uninterrupted run's views); two shards' k-th records draw
# independently; another seed/epoch gives other views, metadata records the recipe,
# shapes per recipe.
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=2
PY="$PYTHON"
[ -r "$FMNIST/t10k-images-idx3-ubyte.gz" ] || { echo "1..0 # SKIP no Fashion-MNIST"; exit 0; }
tar-images --uncompressed --limit 120 "$FMNIST/t10k-images-idx3-ubyte.gz" >in.lgps 2>/dev/null
tar-images --uncompressed --skip 40 --limit 80 "$FMNIST/t10k-images-idx3-ubyte.gz" >tail.lgps 2>/dev/null

# views.py A B [OFFSET]: records OFFSET.. of A equal B's records, view/crop tensors only
cat >views.py <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
from lgpstream import read_stream
a = [r for _, rs in read_stream(open(sys.argv[2], "rb").read()) for r in rs]
b = [r for _, rs in read_stream(open(sys.argv[3], "rb").read()) for r in rs]
off = int(sys.argv[4])
a = a[off:]
assert len(a) == len(b), (len(a), len(b))
diff = 0
for (ka, ta), (kb, tb) in zip(a, b):
    assert ka == kb, (ka, kb)
    for n in ta:
        if n.startswith("view") or n.startswith("crop"):
            diff += not (ta[n] == tb[n]).all()
print(diff)
PYEOF

A="lgp-augment --recipe moco --size 28 --uncompressed"
expect_exit 0 "moco run, 1 thread" -- $A --threads 1 in.lgps
mv out r1.lgps
expect_exit 0 "moco run, 2 threads" -- $A --threads 2 in.lgps
mv out r2.lgps
cmp -s r1.lgps r2.lgps; ok $? "--threads 1 and 2 write identical bytes"
$A in.lgps >r3.lgps 2>/dev/null
cmp -s r1.lgps r3.lgps; ok $? "a second run writes identical bytes"
$A tail.lgps >r4.lgps 2>/dev/null
d=$("$PY" views.py "$TESTS_DIR/ref" r1.lgps r4.lgps 40); [ "$d" = 0 ]; ok $? "records 40.. (tar-images --skip 40, their index with them) draw what they drew in the whole stream (tensors differing: $d)"
# the same records without their epoch/index tensors: drawn by position
"$PY" - "$TESTS_DIR/ref" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
from lgpstream import read_stream, write_stream
DT = {"uint8": "u8", "int64": "i64"}
for src, dst in (("in.lgps", "noidx.lgps"), ("tail.lgps", "noidx-tail.lgps")):
    (meta, recs), = list(read_stream(open(src, "rb").read()))
    out = ((k, [(n, DT[str(v.dtype)], v.shape, v.tobytes()) for n, v in t.items() if n not in ("index", "epoch")])
           for k, t in recs)
    with open(dst, "wb") as f:
        write_stream(f, meta, out)
PYEOF
$A noidx.lgps >n1.lgps 2>/dev/null && $A --start-index 40 noidx-tail.lgps >n4.lgps 2>/dev/null
d=$("$PY" views.py "$TESTS_DIR/ref" n1.lgps n4.lgps 40); [ "$d" = 0 ]; ok $? "without an index: --start-index 40 on records 40.. gives the same views (tensors differing: $d)"
$A --start-index 41 noidx-tail.lgps >r5.lgps 2>/dev/null
d=$("$PY" views.py "$TESTS_DIR/ref" n1.lgps r5.lgps 40); [ "$d" -gt 100 ]; ok $? "a wrong --start-index gives other views ($d tensors differ)"
# two ranks' shards: the k-th records are different images and draw different crops
tar-images -q --shard 0/2 --limit 40 "$FMNIST/t10k-images-idx3-ubyte.gz" | $A >s0.lgps 2>/dev/null
tar-images -q --shard 1/2 --limit 40 "$FMNIST/t10k-images-idx3-ubyte.gz" | $A >s1.lgps 2>/dev/null
"$PY" - "$TESTS_DIR/ref" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
from lgpstream import read_stream
a = [t for _, rs in read_stream(open("s0.lgps", "rb").read()) for _, t in rs]
b = [t for _, rs in read_stream(open("s1.lgps", "rb").read()) for _, t in rs]
same = sum((x["crop0"] == y["crop0"]).all() for x, y in zip(a, b))
print("# shards 0/2 and 1/2: %d of %d k-th records with the same crop" % (same, len(a)))
sys.exit(0 if len(a) == len(b) == 40 and same == 0 else 1)
PYEOF
ok $? "shards 0/2 and 1/2 draw independently (no k-th records with the same crop box)"
$A --seed 7 in.lgps >r6.lgps 2>/dev/null
d=$("$PY" views.py "$TESTS_DIR/ref" r1.lgps r6.lgps 0); [ "$d" -gt 400 ]; ok $? "another seed gives other views ($d of 480 differ)"
$A --epoch 1 in.lgps >r7.lgps 2>/dev/null
d=$("$PY" views.py "$TESTS_DIR/ref" r1.lgps r7.lgps 0); [ "$d" -gt 400 ]; ok $? "another epoch gives other views ($d of 480 differ)"

lgp-inspect --meta r1.lgps >meta.txt 2>&1
grep -q '"augment":{"recipe":"moco","size":28' meta.txt; ok $? "metadata records the recipe"
grep -q '"seed":20240607' meta.txt && grep -q '"classes"' meta.txt; ok $? "metadata keeps the input's keys and records the default seed"
lgp-inspect --records 1 r1.lgps >ins.txt 2>&1
grep -q 'view1 *u8 *\[28, 28, 1\]' ins.txt && grep -q 'crop1 *f32 *\[5\]' ins.txt && grep -q 'label *i64' ins.txt && ! grep -q ' image ' ins.txt
ok $? "moco record: view0/view1 u8 [28,28,1], crop f32 [5], label kept, image dropped"
lgp-augment --recipe eval --size 24 --keep-image in.lgps 2>/dev/null | lgp-inspect --records 1 - >ins2.txt 2>&1
grep -q 'view0 *u8 *\[24, 24, 1\]' ins2.txt && ! grep -q view1 ins2.txt && grep -q 'image *u8 *\[28, 28, 1\]' ins2.txt
ok $? "eval: one view [24,24,1]; --keep-image keeps image"
lgp-augment --recipe mae --size 16 in.lgps 2>err | lgp-inspect --verify - >v.txt 2>&1
grep -q "ok: 120 records" v.txt; ok $? "mae: 120 records out"
[ "$(cat err)" = "lgp-augment: records in 120, out 120, skipped 0 ($(sed -n 's/.*(\(.*\) s)$/\1/p' err) s)" ]; ok $? "summary line counts records in/out/skipped"
# The workers wait passively between batches unless OMP_WAIT_POLICY says otherwise: the
# program re-executes itself with it (spinning there took ~8x the CPU of the views).
# policy ENV...: lgp-augment's OMP_WAIT_POLICY while it waits for input
policy() {
    sleep 2 | env "$@" lgp-augment -q --recipe mae --size 16 >/dev/null 2>&1 &
    local pid=$! p=""
    for _ in $(seq 40); do
        p=$(tr '\0' '\n' </proc/$pid/environ 2>/dev/null | sed -n 's/^OMP_WAIT_POLICY=//p')
        [ -n "$p" ] && break
        sleep 0.05
    done
    wait $pid 2>/dev/null
    echo "${p:-unset}"
}
p=$(policy -u OMP_WAIT_POLICY); [ "$p" = passive ]; ok $? "workers wait passively by default (OMP_WAIT_POLICY=$p)"
p=$(policy OMP_WAIT_POLICY=active); [ "$p" = active ]; ok $? "OMP_WAIT_POLICY in the environment wins ($p)"
done_testing

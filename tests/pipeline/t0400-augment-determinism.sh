#!/bin/bash
# lgp-augment: same seed -> same bytes (whatever --threads), --start-index N on the
# stream without its first N records reproduces the uninterrupted run's views, another
# seed/epoch gives other views, metadata records the recipe, shapes per recipe.
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=2
PY="$PYTHON"
[ -r "$FMNIST/t10k-images-idx3-ubyte.gz" ] || { echo "1..0 # SKIP no Fashion-MNIST"; exit 0; }
tar-images --limit 120 "$FMNIST/t10k-images-idx3-ubyte.gz" >in.lgps 2>/dev/null
tar-images --skip 40 --limit 80 "$FMNIST/t10k-images-idx3-ubyte.gz" >tail.lgps 2>/dev/null

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
$A --start-index 40 tail.lgps >r4.lgps 2>/dev/null
d=$("$PY" views.py "$TESTS_DIR/ref" r1.lgps r4.lgps 40); [ "$d" = 0 ]; ok $? "--start-index 40 on records 40.. gives the same views (tensors differing: $d)"
$A --start-index 41 tail.lgps >r5.lgps 2>/dev/null
d=$("$PY" views.py "$TESTS_DIR/ref" r1.lgps r5.lgps 40); [ "$d" -gt 100 ]; ok $? "a wrong --start-index gives other views ($d tensors differ)"
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
done_testing

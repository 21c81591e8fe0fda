#!/bin/bash
# lgp-mask: exactly N - int(N * (1 - ratio)) masked patches in every record (random and
# block), ids_keep = the unmasked patches, same seed -> same bytes, --start-index
# reproduces the uninterrupted run, usage and data errors.
. "$(dirname "$0")/lib.sh"
PY="$PYTHON"
"$PY" - "$TESTS_DIR/ref" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from lgpstream import write_stream
recs = [("r%03d" % i, [("view0", "u8", (28, 28, 1), bytes(784)), ("label", "i64", (), np.int64(i).tobytes())])
        for i in range(300)]
write_stream(open("in.lgps", "wb"), {"source": "test"}, recs)
write_stream(open("tail.lgps", "wb"), {"source": "test"}, recs[100:])
PYEOF
cat >check.py <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
from lgpstream import read_stream
recs = [r for _, rs in read_stream(open(sys.argv[2], "rb").read()) for r in rs]
n, want = int(sys.argv[3]), int(sys.argv[4])
bad = 0
for k, t in recs:
    m = t["mask"]
    bad += bool(m.shape != (n,) or int(m.sum()) != want or set(m.tolist()) - {0, 1})
    if "ids_keep" in t:
        bad += bool(t["ids_keep"].tolist() != [i for i in range(n) if m[i] == 0])
print(len(recs), bad)
PYEOF
expect_exit 0 "random mask, patch 4 (grid from view0)" -- lgp-mask --patch 4 --ids-keep --uncompressed in.lgps
mv out rand.lgps
[ "$("$PY" check.py "$TESTS_DIR/ref" rand.lgps 49 37)" = "300 0" ]; ok $? "49 patches: exactly 37 masked and ids_keep right in all 300 records"
expect_exit 0 "block mask" -- lgp-mask --patch 4 --block --min-block 4 --ratio 0.4 --uncompressed in.lgps
[ "$("$PY" check.py "$TESTS_DIR/ref" out 49 20)" = "300 0" ]; ok $? "block: exactly 20 of 49 masked in every record"
lgp-mask --patch 2 --img-size 28 --ratio 0.9 --uncompressed in.lgps >r9.lgps 2>/dev/null
[ "$("$PY" check.py "$TESTS_DIR/ref" r9.lgps 196 177)" = "300 0" ]; ok $? "--img-size 28 --patch 2 --ratio 0.9: 177 of 196 masked"
lgp-mask --patch 4 --ids-keep --uncompressed in.lgps >again.lgps 2>/dev/null
cmp -s rand.lgps again.lgps; ok $? "same seed: identical bytes"
lgp-mask --patch 4 --ids-keep --uncompressed --start-index 100 tail.lgps >tail.out 2>/dev/null
"$PY" - "$TESTS_DIR/ref" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
from lgpstream import read_stream
a = [r for _, rs in read_stream(open("rand.lgps", "rb").read()) for r in rs][100:]
b = [r for _, rs in read_stream(open("tail.out", "rb").read()) for r in rs]
c = [r for _, rs in read_stream(open("r9.lgps", "rb").read()) for r in rs]
sys.exit(0 if len(a) == len(b) == 200 and all((x[1]["mask"] == y[1]["mask"]).all() for x, y in zip(a, b)) else 1)
PYEOF
ok $? "--start-index 100 on records 100.. reproduces their masks"
lgp-mask --patch 4 --seed 3 --uncompressed in.lgps >s3.lgps 2>/dev/null
cmp -s rand.lgps s3.lgps; [ $? -ne 0 ]; ok $? "another seed: other masks"
lgp-inspect --meta rand.lgps 2>/dev/null | grep -q '"mask":{"kind":"random","patch":4'; ok $? "metadata records the mask parameters"
expect_exit 2 "--ratio 1 refused" -- lgp-mask --ratio 1
expect_empty_out "--ratio 1: no stdout"
expect_exit 2 "--img-size not a multiple of --patch" -- lgp-mask --patch 5 --img-size 28
expect_exit 2 "unknown flag" -- lgp-mask --nope
# A patch that does not divide the views is a mismatch, not damage: fatal at the first
# record, with or without --strict, and nothing is written.
expect_exit 1 "patch 5 on 28-pixel views: fatal at the first record" -- lgp-mask --patch 5 -o m5.lgps in.lgps
expect_err_line "lgp-mask: in.lgps: record 0 'r000': image 28x28 is not a multiple of --patch 5" "one line naming input, record and the problem"
[ ! -e m5.lgps ]; ok $? "nothing under -o"
done_testing

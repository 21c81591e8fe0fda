#!/usr/bin/env bash
# lgp-decode on awkward files: progressive, grayscale, Adobe CMYK, 4:4:4, 1x1, 6000x4000,
# 10x3000, a PNG named .JPEG decode to the expected shapes; truncated, empty and garbage
# bytes are skipped with exactly one line each; --strict stops at the first one.
. "$(dirname "$0")/lib.sh"
MA="$TESTS_DIR/ref/make_archives.py"
"$PYTHON" "$MA" odd . || { ok 1 "fixtures"; done_testing; exit; }
tar-images --uncompressed odd.tar >odd.lgps 2>/dev/null

expect_exit 0 "mixed good and bad records" -- lgp-decode --uncompressed odd.lgps
mv out dec.lgps
cat >want.err <<'W'
lgp-decode: odd.lgps: odd/truncated: truncated JPEG (skipped)
lgp-decode: odd.lgps: odd/empty: empty image (skipped)
lgp-decode: odd.lgps: odd/garbage: not a JPEG (skipped)
lgp-decode: decoded 8, skipped 3
W
cmp -s err want.err; ok $? "one line per skipped record, then 'decoded 8, skipped 3'"
cmp -s err want.err || { diff err want.err | sed 's/^/#   /' | head -n 8; }
"$PYTHON" - "$MA" dec.lgps odd.json cmyk_ref.png >chk 2>&1 <<'PY'
import importlib.util, json, sys
import numpy as np
from PIL import Image
spec = importlib.util.spec_from_file_location("ma", sys.argv[1]); ma = importlib.util.module_from_spec(spec); spec.loader.exec_module(ma)
_, recs = ma.read_stream(sys.argv[2])
want = json.load(open(sys.argv[3]))["good"]
got = {k: ts for k, ts in recs}
bad = 0
if sorted(got) != sorted(want): print("keys", sorted(got)); bad += 1
for k, shape in want.items():
    t = got.get(k)
    if t is None or "jpeg" in t or "png" in t or t["image"][1] != shape: print("shape", k); bad += 1
cm = ma.as_array(got["odd/cmyk"]["image"]).astype(float)
ref = np.asarray(Image.open(sys.argv[4]).convert("RGB")).astype(float)
err = np.abs(cm - ref).mean()
print("cmyk mean abs diff vs PIL %.2f" % err)
if err > 6: bad += 1
print("bad", bad)
PY
grep -q '^bad 0$' chk; ok $? "every good file decoded to its shape; encoded tensor dropped; CMYK close to PIL"
grep -v '^bad 0$' chk | sed 's/^/#   /'

expect_exit 1 "--strict: the first bad record is fatal" -- lgp-decode --strict odd.lgps
expect_err_line "lgp-decode: odd.lgps: odd/truncated: truncated JPEG" "--strict: exactly one line"
expect_exit 0 "--max-pixels refuses the 6000x4000 image" -- lgp-decode --max-pixels 1000000 odd.lgps
grep -q '^lgp-decode: odd.lgps: odd/large: image too large (6000x4000, over 1000000 pixels) (skipped)$' err; ok $? "names the size"
grep -q '^lgp-decode: decoded 7, skipped 4$' err; ok $? "decoded 7, skipped 4"
expect_exit 0 "--gray" -- lgp-decode --gray --uncompressed odd.lgps
"$PYTHON" "$MA" dump out | grep -c '"image": \[0, \[[0-9]*, [0-9]*, 1\]\]' | grep -qx 8; ok $? "--gray: 8 images with 1 channel"
expect_exit 2 "--gray with --rgb" -- lgp-decode --gray --rgb odd.lgps
expect_exit 2 "unknown filter" -- lgp-decode --filter cubic odd.lgps
expect_exit 1 "not a stream" -- lgp-decode odd.tar
expect_empty_out "nothing on stdout"
done_testing

#!/usr/bin/env bash
# lgp-decode on extreme aspect ratios and empty images: the --size target is computed in
# 64 bits, so a 40000x1 image keeps its orientation, and a target too large to hold is a
# skipped record whose line names the member and both sizes (not a wrapped int, not an
# empty message); an `image` with a zero side ([0, 5, 3]) is skipped, not fatal.
. "$(dirname "$0")/lib.sh"
"$PYTHON" - "$TESTS_DIR/ref" <<'PY' || { ok 1 "fixtures"; done_testing; exit; }
import io, sys, tarfile
import numpy as np
from PIL import Image
sys.path.insert(0, sys.argv[1])
import lgpstream as L
ramp = lambda n: (np.arange(n) % 251).astype(np.uint8).tobytes()
recs = [("wide", [("image", "u8", [1, 40000, 1], ramp(40000))]),
        ("tall", [("image", "u8", [40000, 1, 1], ramp(40000))]),
        ("zero", [("image", "u8", [0, 5, 3], b"")]),
        ("thin", [("image", "u8", [4, 0, 1], b"")]),
        ("small", [("image", "u8", [2, 2, 1], b"\1\2\3\4")])]
with open("x.lgps", "wb") as f:
    L.write_stream(f, {"source": "t0312"}, recs)
with open("w.lgps", "wb") as f:
    L.write_stream(f, {"source": "t0312"}, recs[:2])
def add(tf, n, d):
    ti = tarfile.TarInfo(n); ti.size = len(d); tf.addfile(ti, io.BytesIO(d))
with tarfile.open("enc.tar", "w") as tf:
    for name, im, fmt in [("e/wide.png", Image.new("RGB", (40000, 1), (9, 99, 199)), "PNG"),
                          ("e/tallj.jpg", Image.new("L", (1, 30000), 128), "JPEG")]:
        b = io.BytesIO(); im.save(b, fmt); add(tf, name, b.getvalue())
PY
dump() { "$PYTHON" "$TESTS_DIR/ref/make_archives.py" dump "$1" | sed -n 's/.*"key": "\([^"]*\)".*"image": \[0, \(\[[^]]*\]\)\].*/\1 \2/p'; }

# Every record skipped: each is named, and a decode that passed nothing on fails.
expect_exit 1 "--size 65535: every record skipped, none fatal, the run fails" -- lgp-decode --uncompressed --size 65535 x.lgps
cat >want.err <<'W'
lgp-decode: x.lgps: wide: resized image too large (40000x1 to 2621400000x65535, over 134217728 pixels) (skipped)
lgp-decode: x.lgps: tall: resized image too large (1x40000 to 65535x2621400000, over 134217728 pixels) (skipped)
lgp-decode: x.lgps: zero: empty image tensor [0, 5, 3] (skipped)
lgp-decode: x.lgps: thin: empty image tensor [4, 0, 1] (skipped)
lgp-decode: x.lgps: small: resized image too large (2x2 to 65535x65535, over 134217728 pixels) (skipped)
lgp-decode: x.lgps: all 5 records skipped; nothing written
W
cmp -s err want.err; ok $? "one line per record naming the member and both sizes (W x H), aspect kept"
cmp -s err want.err || { diff err want.err | sed 's/^/#   /' | head -n 12; }

expect_exit 1 "--size 50000" -- lgp-decode --size 50000 x.lgps
grep -q '^lgp-decode: x.lgps: wide: resized image too large (40000x1 to 2000000000x50000, over 134217728 pixels) (skipped)$' err
ok $? "--size 50000: a message, not an empty one"

expect_exit 1 "--max-pixels at its maximum: the int limit per side still holds" -- \
    lgp-decode --max-pixels 9223372036854775807 --size 65535 w.lgps
grep -q '^lgp-decode: w.lgps: tall: resized image too large (1x40000 to 65535x2621400000, over 2147483647 on a side) (skipped)$' err
ok $? "names the per-side limit"

expect_exit 0 "--size 4: extreme aspect ratios resize" -- lgp-decode --uncompressed --size 4 x.lgps
dump out >shapes
printf '%s\n' 'wide [4, 160000, 1]' 'tall [160000, 4, 1]' 'small [4, 4, 1]' >want.shapes
cmp -s shapes want.shapes; ok $? "40000x1 -> 160000x4 and 1x40000 -> 4x160000: shorter side 4, orientation kept"
cmp -s shapes want.shapes || sed 's/^/#   /' shapes
grep -q '^lgp-decode: decoded 0, skipped 2, passed through 3$' err; ok $? "the two empty images skipped, counted"

expect_exit 0 "without --size an empty image is skipped too" -- lgp-decode x.lgps
grep -q '^lgp-decode: x.lgps: zero: empty image tensor \[0, 5, 3\] (skipped)$' err; ok $? "empty image named"
expect_exit 1 "--strict: an empty image is fatal" -- lgp-decode --strict --size 4 x.lgps
expect_err_line "lgp-decode: x.lgps: zero: empty image tensor \[0, 5, 3\]" "--strict: exactly one line"

tar-images --uncompressed enc.tar >enc.lgps 2>/dev/null
expect_exit 1 "encoded PNG/JPEG at --size 65535" -- lgp-decode --size 65535 enc.lgps
cat >want.err <<'W'
lgp-decode: enc.lgps: e/wide: resized image too large (40000x1 to 2621400000x65535, over 134217728 pixels) (skipped)
lgp-decode: enc.lgps: e/tallj: resized image too large (1x30000 to 65535x1966050000, over 134217728 pixels) (skipped)
lgp-decode: enc.lgps: all 2 records skipped; nothing written
W
cmp -s err want.err; ok $? "decoded images get the same check"
cmp -s err want.err || { diff err want.err | sed 's/^/#   /' | head -n 6; }
expect_exit 0 "encoded at --size 2" -- lgp-decode --uncompressed --size 2 enc.lgps
dump out >shapes
printf '%s\n' 'e/wide [2, 80000, 3]' 'e/tallj [60000, 2, 3]' >want.shapes
cmp -s shapes want.shapes; ok $? "PNG 40000x1 -> 80000x2, JPEG 1x30000 -> 2x60000"
cmp -s shapes want.shapes || sed 's/^/#   /' shapes
expect_exit 0 "encoded at --size 3 --center-crop 3" -- lgp-decode --uncompressed --size 3 --center-crop 3 enc.lgps
dump out | grep -c ' \[3, 3, 3\]$' | grep -qx 2; ok $? "a crop of a huge virtual resize is fine"
done_testing

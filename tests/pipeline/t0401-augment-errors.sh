#!/bin/bash
# lgp-augment error classes: usage errors exit 2 with one line and no stdout; garbage
# input exits 1; damaged records are skipped and counted (or fatal with --strict) while
# the good records still come out; a record of the wrong kind is fatal at the first.
. "$(dirname "$0")/lib.sh"
PY="$PYTHON"
expect_exit 2 "unknown flag" -- lgp-augment --bogus
expect_empty_out "unknown flag: no stdout"
grep -q "Try 'lgp-augment --help'" err; ok $? "unknown flag: hint line"
expect_exit 2 "unknown recipe" -- lgp-augment --recipe simclr
head -n 1 err | grep -q "^lgp-augment: --recipe: unknown recipe 'simclr'"; ok $? "unknown recipe: named on stderr"
expect_exit 2 "--scale MIN > MAX" -- lgp-augment --scale 0.9,0.2
expect_exit 2 "--size 0" -- lgp-augment --size 0
expect_exit 2 "--interp unknown" -- lgp-augment --interp cubic
expect_exit 0 "--help" -- lgp-augment --help
[ "$(for f in --recipe --size --scale --ratio --interp --hflip --jitter --brightness --contrast --saturation --hue --grayscale --blur --blur-sigma --solarize --crop-ratio --seed --epoch --start-index --threads --keep-image --dct-scale; do grep -q -- "$f" out || echo x; done)" = "" ]
ok $? "--help lists every flag"
grep -q "Single-channel" out; ok $? "--help documents the single-channel rule"
printf 'garbage, not a stream' >bad.lgps
expect_exit 1 "garbage input" -- lgp-augment bad.lgps
expect_empty_out "garbage input: no stdout"

# Damage is skipped: an undecodable JPEG among good records. A record of the wrong
# kind (no image at all, an f32 image) is a mismatch: fatal at the first, nothing out.
"$PY" - "$TESTS_DIR/ref" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from lgpstream import write_stream
img = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
lab = np.int64(3).tobytes()
good = lambda k: (k, [("image", "u8", img.shape, img.tobytes()), ("label", "i64", (), lab)])
badjpeg = b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 4
write_stream(open("mixed.lgps", "wb"), {"source": "test"},
             [good("good0"), ("badjpeg", [("jpeg", "u8", (len(badjpeg),), badjpeg)]), good("good1")])
write_stream(open("noimg.lgps", "wb"), {"source": "test"}, [good("good0"), ("noimg", [("label", "i64", (), lab)]), good("good1")])
write_stream(open("f32img.lgps", "wb"), {"source": "test"},
             [good("good0"), ("f32img", [("image", "f32", (2, 2, 1), np.zeros(4, np.float32).tobytes())])])
PYEOF
lgp-augment --size 8 mixed.lgps >mixed.out 2>err; rc=$?
ok $rc "damaged JPEG among good records: exit 0"
lgp-inspect --keys mixed.out 2>/dev/null | grep -c "key 'good" | grep -qx 2; ok $? "damaged JPEG: both good records out"
grep -q "mixed.lgps: badjpeg: .*(skipped)" err; ok $? "damaged record named on stderr"
grep -q "records in 3, out 2, skipped 1" err; ok $? "skips counted"
expect_exit 1 "--strict dies on the damaged record" -- lgp-augment --strict --size 8 mixed.lgps
expect_exit 1 "a record without an image: fatal" -- lgp-augment --size 8 -o n.lgps noimg.lgps
expect_err_line "lgp-augment: noimg.lgps: record 1 'noimg': no 'image', 'jpeg' or 'png' tensor (not an image stream)" \
    "... one line naming input, record and what is missing"
[ ! -e n.lgps ]; ok $? "... nothing under -o"
expect_exit 1 "an f32 image: fatal" -- lgp-augment --size 8 f32img.lgps
grep -q "record 1 'f32img': image: want u8" err; ok $? "... named"

# A reader that stops early (a trainer done with its steps) is success for the producers.
F=$FMNIST/train-images-idx3-ubyte.gz
tar-images -q --epochs 5 "$F" | lgp-augment -q --recipe mae --size 28 | lgp-mask -q --patch 4 | head -c 100000 >/dev/null
st="${PIPESTATUS[*]}"
[ "$st" = "0 0 0 0" ]; ok $? "reader gone: tar-images, augment, mask exit 0 ($st)"
tar-images -q "$F" | head -c 100000 | lgp-augment -q --size 28 >/dev/null 2>err
st="${PIPESTATUS[*]}"
[ "$st" = "0 0 1" ] && grep -q "truncated" err; ok $? "a truncated stream is still an error for its reader ($st)"
done_testing

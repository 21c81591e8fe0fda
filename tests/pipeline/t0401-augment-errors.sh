#!/bin/bash
# lgp-augment error classes: usage errors exit 2 with one line and no stdout; garbage
# input exits 1; records without a usable image are skipped and counted (or fatal
# with --strict) while the good records still come out.
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

# mixed good/bad: a record without image, one with an f32 image, two good ones
"$PY" - "$TESTS_DIR/ref" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from lgpstream import write_stream
img = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
lab = np.int64(3).tobytes()
recs = [("good0", [("image", "u8", img.shape, img.tobytes()), ("label", "i64", (), lab)]),
        ("noimg", [("label", "i64", (), lab)]),
        ("f32img", [("image", "f32", (2, 2, 1), np.zeros(4, np.float32).tobytes())]),
        ("good1", [("image", "u8", img.shape, img.tobytes()), ("label", "i64", (), lab)])]
write_stream(open("mixed.lgps", "wb"), {"source": "test"}, recs)
PYEOF
lgp-augment --size 8 mixed.lgps >mixed.out 2>err; rc=$?
ok $rc "mixed input: exit 0"
lgp-inspect --keys mixed.out 2>/dev/null | grep -c "key 'good" | grep -qx 2; ok $? "mixed input: both good records out"
grep -q "noimg: no 'image', 'jpeg' or 'png' tensor (skipped)" err && grep -q "f32img: image: want u8" err; ok $? "bad records named on stderr"
grep -q "records in 4, out 2, skipped 2" err; ok $? "skips counted"
expect_exit 1 "--strict dies on the bad record" -- lgp-augment --strict --size 8 mixed.lgps

# A reader that stops early (a trainer done with its steps) is success for the producers.
F=$FMNIST/train-images-idx3-ubyte.gz
tar-images -q --epochs 5 "$F" | lgp-augment -q --recipe mae --size 28 | lgp-mask -q --patch 4 | head -c 100000 >/dev/null
st="${PIPESTATUS[*]}"
[ "$st" = "0 0 0 0" ]; ok $? "reader gone: tar-images, augment, mask exit 0 ($st)"
tar-images -q "$F" | head -c 100000 | lgp-augment -q --size 28 >/dev/null 2>err
st="${PIPESTATUS[*]}"
[ "$st" = "0 0 1" ] && grep -q "truncated" err; ok $? "a truncated stream is still an error for its reader ($st)"
done_testing

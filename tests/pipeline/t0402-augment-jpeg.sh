#!/bin/bash
# lgp-augment on encoded JPEG/PNG records (partial crop decode) gives the same views as
# on the fully decoded images (lgp-decode), byte for byte, for every recipe.
. "$(dirname "$0")/lib.sh"
PY="$PYTHON"
"$PY" - <<'PYEOF'
import io, tarfile
import numpy as np
from PIL import Image
rng = np.random.default_rng(1)
with tarfile.open("imgs.tar", "w") as tf:
    for i, (w, h) in enumerate([(160, 120), (97, 131), (200, 75), (64, 64)]):
        y, x = np.mgrid[0:h, 0:w]
        a = np.stack([(x * 3 + y) % 256, (y * 5) % 256, (x * y) % 256], -1).astype(np.uint8)
        a = np.clip(a + rng.integers(0, 30, a.shape), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        fmt = "PNG" if i == 3 else "JPEG"
        Image.fromarray(a).save(buf, fmt, quality=90, **({"subsampling": 2} if fmt == "JPEG" else {}))
        ti = tarfile.TarInfo("root/c%d/img%d.%s" % (i % 2, i, "png" if i == 3 else "jpg"))
        ti.size = len(buf.getvalue())
        tf.addfile(ti, io.BytesIO(buf.getvalue()))
PYEOF
tar-images imgs.tar >enc.lgps 2>/dev/null; ok $? "fixture archive read"
lgp-decode enc.lgps >dec.lgps 2>/dev/null; ok $? "fixture decoded"
cat >cmpviews.py <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
from lgpstream import read_stream
a = [r for _, rs in read_stream(open(sys.argv[2], "rb").read()) for r in rs]
b = [r for _, rs in read_stream(open(sys.argv[3], "rb").read()) for r in rs]
assert len(a) == len(b) == 4, (len(a), len(b))
print(sum(int((ta[n] != tb[n]).any()) for (_, ta), (_, tb) in zip(a, b) for n in ta if n[:4] in ("view", "crop")))
PYEOF
for r in mae moco eval "moco --seed 5" "moco --seed 9" "mae --seed 3"; do
    lgp-augment --recipe $r --size 32 --uncompressed enc.lgps >a.lgps 2>/dev/null
    lgp-augment --recipe $r --size 32 --uncompressed dec.lgps >b.lgps 2>/dev/null
    d=$("$PY" cmpviews.py "$TESTS_DIR/ref" a.lgps b.lgps 2>&1); [ "$d" = 0 ]; ok $? "$r: encoded input gives the decoded input's views ($d tensors differ)"
done
lgp-augment --recipe moco --size 32 --dct-scale enc.lgps 2>/dev/null | lgp-inspect --records 4 - 2>/dev/null | grep -c 'view1 *u8 *\[32, 32, 3\]' | grep -qx 4
ok $? "--dct-scale: four RGB view pairs"
lgp-augment enc.lgps 2>/dev/null | lgp-inspect --records 1 - 2>/dev/null | grep -q ' jpeg '
[ $? -ne 0 ]; ok $? "jpeg bytes dropped by default"
done_testing

#!/usr/bin/env bash
# bench_decode.sh — decode + resize throughput of lgp-decode vs PIL on one core.
# N 500x375 q90 JPEGs (synthetic, textured), shorter side to 224 (bilinear, antialiased).
# lgp: `lgp-decode --size 224` on a pre-built tar-images stream (uncompressed output to
# /dev/null); PIL: Image.open(BytesIO).convert('RGB').resize((w, h), BILINEAR).
# usage: bench/bench_decode.sh [N]   (default 300); prints images/s and the ratio.
set -euo pipefail
N=${1:-300}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${LGP_BUILD:-$ROOT/build}/bin
PY=${PYTHON:-/usr/bin/python3}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$PY" - "$T/imgs.tar" "$N" <<'PY'
import io, sys, tarfile
import numpy as np
from PIL import Image, ImageFilter
out, n = sys.argv[1], int(sys.argv[2])
r = np.random.default_rng(0)
with tarfile.open(out, "w") as tf:
    for i in range(n):
        a = r.integers(0, 256, (375 // 4, 500 // 4, 3), dtype=np.uint8)
        im = Image.fromarray(a).resize((500, 375), Image.BICUBIC).filter(ImageFilter.DETAIL)
        b = io.BytesIO(); im.save(b, "JPEG", quality=90)
        ti = tarfile.TarInfo(f"b/img{i:05d}.jpg"); ti.size = b.tell(); b.seek(0); tf.addfile(ti, b)
PY
"$BIN/tar-images" --uncompressed "$T/imgs.tar" -o "$T/enc.lgps" 2>/dev/null
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
t0=$(date +%s.%N)
taskset -c 0 "$BIN/lgp-decode" -q --size 224 --uncompressed "$T/enc.lgps" >/dev/null
t1=$(date +%s.%N)
lgp=$(echo "$N / ($t1 - $t0)" | bc -l)
pil=$(taskset -c 0 "$PY" - "$T/imgs.tar" <<'PY'
import io, sys, tarfile, time
from PIL import Image
tf = tarfile.open(sys.argv[1]); blobs = [tf.extractfile(m).read() for m in tf.getmembers()]
t = time.perf_counter()
for b in blobs:
    im = Image.open(io.BytesIO(b)).convert("RGB"); w, h = im.size
    nw, nh = (224, int(224 * h / w)) if w <= h else (int(224 * w / h), 224)
    im.resize((nw, nh), Image.BILINEAR)
print(len(blobs) / (time.perf_counter() - t))
PY
)
printf 'lgp-decode --size 224: %.1f images/s\nPIL open+convert+resize: %.1f images/s\nratio: %.2fx\n' "$lgp" "$pil" "$(echo "$lgp / $pil" | bc -l)"

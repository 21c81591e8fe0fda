#!/bin/bash
# bench_augment.sh — lgp-augment --recipe moco vs torchvision's MoCo v3 / BYOL two-view
# transforms (PIL backend, up to the PIL images: no ToTensor/Normalize, since lgp-augment
# emits u8 views), one core each, on N decoded ImageNet-sized (500x375) RGB images to
# 224. Prints images/s for both and their ratio.
#   usage: bench/bench_augment.sh [N]   (LGP_BUILD, PYTHON as in the Makefile)
set -euo pipefail
N=${1:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LGP_BUILD=${LGP_BUILD:-$ROOT/build}
PYTHON=${PYTHON:-/usr/bin/python3}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$PYTHON" - "$ROOT/tests/ref" "$T/in.lgps" "$N" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from lgpstream import write_stream
rng = np.random.default_rng(0)
y, x = np.mgrid[0:375, 0:500]
def img(i):
    a = np.stack([128 + 100 * np.sin(x / (7 + i % 5) + y / 13), (x * y / 97 + i) % 256, (x + 2 * y) % 256], -1)
    return np.clip(a + rng.normal(0, 12, a.shape), 0, 255).astype(np.uint8)
recs = []
for i in range(int(sys.argv[3])):
    a = img(i)
    recs.append(("img%05d" % i, [("image", "u8", a.shape, a.tobytes()), ("label", "i64", (), np.int64(i % 10).tobytes())]))
write_stream(open(sys.argv[2], "wb"), {"source": "bench"}, recs)
PYEOF
t0=$(date +%s.%N)
"$LGP_BUILD/bin/lgp-augment" --recipe moco --threads 1 --uncompressed -q "$T/in.lgps" >/dev/null
t1=$(date +%s.%N)
lgp=$(echo "$N / ($t1 - $t0)" | bc -l)
tv=$("$PYTHON" - "$ROOT/tests/ref" "$T/in.lgps" <<'PYEOF'
import sys, time
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(1)
from PIL import Image, ImageFilter, ImageOps
import random
import torchvision.transforms as T
from lgpstream import read_stream
class Blur:
    def __call__(self, x):
        return x.filter(ImageFilter.GaussianBlur(radius=random.uniform(0.1, 2.0)))
class Solarize:
    def __call__(self, x):
        return ImageOps.solarize(x)
common = [T.RandomResizedCrop(224, scale=(0.08, 1.0)),
          T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8), T.RandomGrayscale(p=0.2)]
aug1 = T.Compose(common + [T.RandomApply([Blur()], p=1.0), T.RandomHorizontalFlip()])
aug2 = T.Compose(common + [T.RandomApply([Blur()], p=0.1), T.RandomApply([Solarize()], p=0.2), T.RandomHorizontalFlip()])
# parsed before timing (the pure-Python CRC is slow); lgp-augment's time includes its
# own stream reading and writing, so the ratio is conservative
ims = [Image.fromarray(t["image"]) for _, recs in read_stream(open(sys.argv[2], "rb").read()) for _, t in recs]
t0 = time.time()
for im in ims:
    aug1(im), aug2(im)
print(len(ims) / (time.time() - t0))
PYEOF
)
printf 'moco two views, 500x375 -> 224, 1 core: lgp-augment %.1f img/s, torchvision %.1f img/s, ratio %.2f\n' "$lgp" "$tv" "$(echo "$lgp / $tv" | bc -l)"

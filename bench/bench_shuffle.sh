#!/usr/bin/env bash
# bench_shuffle.sh — images per second of the data path on an ImageNet-like class-sorted
# tar of tars, with the exact shuffle (tar-images --shuffle full: positioned reads in a
# random order) against reading the archive in order (what a user gets without it) and
# against a WebDataset-style buffer; each as `tar-images | lgp-augment --recipe mae
# --size 224` and as tar-images alone (its read cost), page cache warm and, where this
# process may drop the cache (/proc/sys/vm/drop_caches writable), cold.
#
#   bench/bench_shuffle.sh
#
# Environment: LGP_BUILD (./build), PYTHON (/usr/bin/python3), BENCH_DIR (where the
# archive is made and kept: /tmp/lgp-bench-shuffle), BENCH_IMAGES (20000), BENCH_CLASSES
# (100), BENCH_THREADS (lgp-augment threads, 2), BENCH_OUT (also append the table here).
# The archive: BENCH_CLASSES inner tars (n00000000.tar, n00000001.tar, ...) of ~500x375
# JPEGs (quality 90, smooth content with noise, ~100 kB each, like ImageNet's), made once
# and reused.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${LGP_BUILD:-$here/../build}
py=${PYTHON:-/usr/bin/python3}
dir=${BENCH_DIR:-/tmp/lgp-bench-shuffle}
n=${BENCH_IMAGES:-20000}
nc=${BENCH_CLASSES:-100}
threads=${BENCH_THREADS:-2}
out=${BENCH_OUT:-/dev/null}
bin=$build/bin
[ -x "$bin/tar-images" ] && [ -x "$bin/lgp-augment" ] || { echo "bench_shuffle.sh: $bin: not built (make all)" >&2; exit 1; }
mkdir -p "$dir"
tarf=$dir/train-$n-$nc.tar
if [ ! -s "$tarf" ]; then
    echo "bench_shuffle.sh: making $tarf ($n images in $nc classes)" >&2
    "$py" - "$tarf" "$n" "$nc" <<'PY'
import io, sys, tarfile
import numpy as np
from PIL import Image
path, n, nc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
y, x = np.mgrid[0:375, 0:500].astype(np.float32)
def add(tf, name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); tf.addfile(ti, io.BytesIO(data))
with tarfile.open(path + ".tmp", "w") as outer:
    for c in range(nc):
        w = "n%08d" % c
        bio = io.BytesIO()
        with tarfile.open(fileobj=bio, mode="w") as inner:
            for k in range(n // nc + (c < n % nc)):
                a = rng.uniform(0, 6.3, 3)
                base = np.stack([127 + 100 * np.sin(x / 500 * 6.3 + a[i]) * np.cos(y / 375 * 3.1 + a[i]) for i in range(3)], -1)
                im = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
                b = io.BytesIO(); Image.fromarray(im).save(b, "JPEG", quality=90)
                add(inner, f"{w}_{k}.JPEG", b.getvalue())
        add(outer, f"{w}.tar", bio.getvalue())
import os; os.replace(path + ".tmp", path)
PY
fi
idx=$dir/train-$n-$nc.idx
"$bin/tar-images" -q --shuffle full --index "$idx" --limit 1 "$tarf" >/dev/null   # the index, once
mb=$(($(stat -c %s "$tarf") / 1048576))
cold_ok=0
if [ -w /proc/sys/vm/drop_caches ] && sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then cold_ok=1; fi

# rate CMD...: images per second of CMD (a pipeline reading the archive), wall clock
rate() {
    local t0 t1
    t0=$(date +%s.%N)
    bash -c "$*" >/dev/null
    t1=$(date +%s.%N)
    awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}
AUG="$bin/lgp-augment -q --recipe mae --size 224 --threads $threads --uncompressed"
declare -A R
for order in sequential buffer full; do
    case $order in
    sequential) TI="$bin/tar-images -q --uncompressed $tarf" ;;
    buffer) TI="$bin/tar-images -q --uncompressed --shuffle 10000 $tarf" ;;
    full) TI="$bin/tar-images -q --uncompressed --shuffle full --index $idx $tarf" ;;
    esac
    for cache in warm cold; do
        [ $cache = cold ] && [ $cold_ok = 0 ] && { R[$order,$cache,read]=n/a; R[$order,$cache,aug]=n/a; continue; }
        for what in read aug; do
            if [ $cache = cold ]; then sync; echo 3 >/proc/sys/vm/drop_caches; else cat "$tarf" >/dev/null; fi
            echo "bench_shuffle.sh: $order, cache $cache, $what" >&2
            if [ $what = read ]; then R[$order,$cache,$what]=$(rate "$TI"); else R[$order,$cache,$what]=$(rate "$TI | $AUG"); fi
        done
    done
done
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
flags=$(grep -m1 -o -w "avx512f" /proc/cpuinfo || echo "avx2 only")
{
    echo "bench_shuffle.sh: $n JPEGs (~$((mb * 1024 / n)) kB) in $nc class-sorted inner tars, $mb MB; $cpu ($flags); lgp-augment threads $threads"
    echo "order       | tar-images img/s warm | cold | + lgp-augment mae 224 warm | cold"
    for order in sequential buffer full; do
        printf '%-11s | %21s | %4s | %26s | %4s\n' "$order" "${R[$order,warm,read]}" "${R[$order,cold,read]}" "${R[$order,warm,aug]}" "${R[$order,cold,aug]}"
    done
    awk -v a="${R[full,warm,aug]}" -v b="${R[sequential,warm,aug]}" 'BEGIN { if (b > 0) printf "full / sequential with lgp-augment, warm: %.2fx\n", a / b }'
} | tee -a "$out"

#!/usr/bin/env bash
# lgp-embed across MPI ranks (the build from `make MPI=1`): each rank embeds its own
# tar-images shard and rank 0 writes one stream; 2 and 3 ranks (shards of unequal size,
# partial last batches) give every image of the 1-rank run exactly once, with the same
# label and the same feature. An image's forward does not read its batch neighbours, but
# where it sits in the batch can change its rounding: with OpenBLAS's Haswell/Zen sgemm
# kernels a row's result depends on its position in the product (measured |diff| up to
# 1.6e-6 on features of size ~1, also on one rank with --batch 37 against 100; its
# SkylakeX and Sandybridge kernels are bit for bit), so the bound is 2e-5.
. "$(dirname "$0")/lib.sh"
MB=${LGP_BUILD_MPI:-$LGP_BUILD/../build-mpi}/bin
if ! command -v mpirun >/dev/null || [ ! -x "$MB/lgp-embed" ]; then echo "1..0 # SKIP no MPI build"; exit 0; fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
RUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)
DATA=$FMNIST/t10k-images-idx3-ubyte.gz
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 64 s1data.lgps
lgp-mim-train --model fmnist --width 32 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2 \
    --batch 32 --steps 2 --warmup-steps 1 --threads 1 -q -o m.ckpt s1data.lgps
ok $? "a small model"
EMB="--model m.ckpt --batch 100 --threads 1 -q --uncompressed"
lgp-tar-images -q --limit 1001 "$DATA" | "$MB/lgp-embed" $EMB -o e1.lgps
ok $? "1 rank embeds 1001 images (a wrong answer for the comparison below)"
for np in 2 3; do
    "${RUN[@]}" -np $np sh -c "$MB/lgp-tar-images -q --shard auto $DATA | $MB/lgp-embed $EMB -o e$np.lgps" 2>err
    ok $? "$np ranks embed their shards of 10000 images"
done
lgp-tar-images -q "$DATA" | "$MB/lgp-embed" $EMB -o eall.lgps
cat >cmp.py <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[4])
from lgpstream import read_stream
def load(p):
    (meta, recs), = list(read_stream(open(p, "rb").read()))
    return meta, [k for k, _ in recs], dict(recs)
ma, ka, a = load(sys.argv[1])
mb, kb, b = load(sys.argv[2])
tol = float(sys.argv[3])
both = [k for k in a if k in b]
worst = max(float(np.abs(a[k]["feature"].astype(np.float64) - b[k]["feature"]).max()) for k in both)
bits = sum(np.array_equal(a[k]["feature"], b[k]["feature"]) for k in both)
lab = all(int(a[k]["label"]) == int(b[k]["label"]) for k in both)
dup = len(kb) - len(set(kb))
print(f"# {len(ka)} vs {len(kb)} records, {dup} duplicate keys, worst |diff| {worst:.3g}, "
      f"{bits} bitwise equal, labels {'agree' if lab else 'DIFFER'}, ranks {mb['embed'].get('ranks', 1)}")
sys.exit(0 if set(ka) == set(kb) and len(ka) == len(kb) and dup == 0 and lab and worst <= tol else 1)
PY
for np in 2 3; do
    "$PYTHON" cmp.py eall.lgps e$np.lgps 2e-5 "$TESTS_DIR/ref"
    ok $? "$np ranks: the same key -> (label, feature) map as 1 rank"
done
# The order: rank-interleaved per batch (rank 0's first 100, rank 1's first 100, ...).
"$PYTHON" - "$TESTS_DIR/ref" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from lgpstream import read_stream
(_, recs), = list(read_stream(open("e2.lgps", "rb").read()))
keys = [k for k, _ in recs][:400]
(_, all_), = list(read_stream(open("eall.lgps", "rb").read()))
src = [k for k, _ in all_]
want = src[0:200:2] + src[1:201:2] + src[200:400:2] + src[201:401:2]
sys.exit(0 if keys == want else 1)
PY
ok $? "2 ranks: records rank-interleaved per batch"
"$PYTHON" cmp.py eall.lgps e1.lgps 2e-5 "$TESTS_DIR/ref" >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "(the comparison fails on a stream missing images)"
"$PYTHON" cmp.py eall.lgps e2.lgps -1 "$TESTS_DIR/ref" >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "(and on features that differ by more than the tolerance)"
expect_exit 2 "--pixels is refused on 2 ranks" -- "${RUN[@]}" -np 2 "$MB/lgp-embed" --pixels -q
done_testing

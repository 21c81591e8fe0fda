#!/usr/bin/env bash
# The whole workflow of pipelines/lgp.mk (test profile: tiny model, 512 images, one
# epoch per stage, embeddings of 3000 train / 1000 test images): every target runs,
# every checkpoint and stream verifies, the table has every row. Then a stage that
# fails in the middle of a pipe fails its make target and leaves no artifact.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$TESTS_DIR/.." && pwd)
MK=(make -s -f "$ROOT/pipelines/lgp.mk" PROFILE=test LGP_BIN="$LGP_BUILD/bin" PYTHON="$PYTHON")
"${MK[@]}" OUT=out -j2 table >table.out 2>make.err
ok $? "make -f pipelines/lgp.mk PROFILE=test table"
[ $? -eq 0 ] || tail -n 5 make.err | sed 's/^/#   /'
for f in out/mae/stage1.ckpt out/grafted/stage2.ckpt out/mocov3/stage2.ckpt out/joint/stage2.ckpt \
         out/*/train.emb out/*/test.emb; do
    lgp-inspect --verify "$f" >/dev/null 2>&1; ok $? "$f verifies"
done
for r in "layer-grafted" "MAE only" "MoCo v3 only" "naive joint" "random-init" "raw pixels"; do
    grep "^| $r" table.out | grep -q -E '\| [0-9.]+ ± [0-9.]+ \| [0-9.]+ ± [0-9.]+ \| [0-9.]+ \|'
    ok $? "table row '$r' has 1%, 10% and kNN numbers"
done
[ -s out/mae/recon.png ]; ok $? "MAE reconstruction grid written"

# A truncated training file: tar-images fails mid-pipe, the target fails, no checkpoint.
head -c 2000000 "$FMNIST/train-images-idx3-ubyte.gz" >trunc-images-idx3-ubyte.gz
cp "$FMNIST/train-labels-idx1-ubyte.gz" trunc-labels-idx1-ubyte.gz
"${MK[@]}" OUT=bad TRAIN="$PWD/trunc-images-idx3-ubyte.gz" bad/mae/stage1.ckpt >/dev/null 2>bad.err
rc=$?
[ $rc -ne 0 ]; ok $? "a failing stage fails the make target (exit $rc)"
[ ! -e bad/mae/stage1.ckpt ]; ok $? "and leaves no stage1.ckpt"
grep -q "tar-images: .*trunc-images-idx3-ubyte.gz" bad.err; ok $? "the failing program names its input"
done_testing

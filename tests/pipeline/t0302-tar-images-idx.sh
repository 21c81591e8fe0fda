#!/usr/bin/env bash
# IDX input on Debian's Fashion-MNIST files: counts, shapes, class names, and labels and
# pixels of sampled records against an independent Python gzip parse; the header's
# records_per_epoch under --limit/--shard/--skip, and image_shape.
. "$(dirname "$0")/lib.sh"
MA="$TESTS_DIR/ref/make_archives.py"
TR="$FMNIST/train-images-idx3-ubyte.gz"; TE="$FMNIST/t10k-images-idx3-ubyte.gz"
if [ ! -f "$TR" ]; then echo "1..0 # SKIP no Fashion-MNIST in $FMNIST"; exit 0; fi

expect_exit 0 "train split" -- tar-images "$TR"
lgp-inspect --verify out | grep -q '^ok: 60000 records'; ok $? "60000 train records"
grep -q '^tar-images: 60000 records written, 0 bad members skipped$' err; ok $? "count on stderr"
tar-images "$TE" 2>/dev/null | lgp-inspect --records 1 >insp
grep -q 'records: 10000' insp; ok $? "10000 test records"
grep -q "record 0: key 't10k-00000'" insp; ok $? "key t10k-00000"
grep -q 'image  *u8   \[28, 28, 1\]' insp; ok $? "image u8 [28, 28, 1]"
grep -q '"classes":\["T-shirt/top","Trouser","Pullover","Dress","Coat","Sandal","Shirt","Sneaker","Bag","Ankle boot"\]' insp
ok $? "Fashion-MNIST class names in the metadata"

# sampled records vs Python: label and pixel sum
tar-images --uncompressed "$TE" >te.lgps 2>/dev/null
"$PYTHON" - "$MA" te.lgps "$TE" "${TE/images-idx3/labels-idx1}" >cmp.out 2>&1 <<'PY'
import gzip, importlib.util, struct, sys
import numpy as np
spec = importlib.util.spec_from_file_location("ma", sys.argv[1]); ma = importlib.util.module_from_spec(spec); spec.loader.exec_module(ma)
_, recs = ma.read_stream(sys.argv[2])
im = gzip.open(sys.argv[3]).read(); lb = gzip.open(sys.argv[4]).read()
bad = 0
for i in [0, 1, 2, 1234, 5000, 9999]:
    key, ts = recs[i]
    px = np.frombuffer(im, np.uint8, 784, 16 + 784 * i).reshape(28, 28, 1)
    got = ma.as_array(ts["image"])
    if key != "t10k-%05d" % i or int(ma.as_array(ts["label"])) != lb[8 + i] or not np.array_equal(got, px):
        print("mismatch at", i, key); bad += 1
labels = np.array([int(ma.as_array(t["label"])) for _, t in recs])
if not np.array_equal(labels, np.frombuffer(lb, np.uint8, 10000, 8)): print("label vector differs"); bad += 1
print("bad", bad)
PY
grep -q '^bad 0$' cmp.out; ok $? "labels (all 10000) and pixels (6 samples) match a Python gzip parse"
grep -v '^bad 0$' cmp.out | sed 's/^/#   /' | head -n 3

cp "$TE" images-idx3.gz
expect_exit 1 "no derivable labels file" -- tar-images images-idx3.gz
expect_err_line "tar-images: images-idx3.gz: cannot derive the labels file name (use --labels FILE)" "says to use --labels"
expect_exit 0 "--labels FILE for IDX" -- tar-images --limit 3 --labels "${TE/images-idx3/labels-idx1}" images-idx3.gz
lgp-inspect out | grep -q '"classes":\["0","1",'; ok $? "unrecognised IDX gets classes '0'..'9'"
head -c 5000 "$TE" >trunc-images-idx3-ubyte.gz
cp "${TE/images-idx3/labels-idx1}" trunc-labels-idx1-ubyte.gz
expect_exit 1 "truncated IDX" -- tar-images trunc-images-idx3-ubyte.gz
expect_err_line "tar-images: trunc-images-idx3-ubyte.gz: *" "truncated IDX: one line naming the file"
expect_empty_out "no partial stream for a truncated IDX"
# the header's records_per_epoch tells the truth under --limit/--shard, and image_shape
meta() { lgp-inspect --meta "$1" | grep -o "\"$2\":\(\[[^]]*\]\|[^],}]*\)"; }
tar-images --limit 512 "$TR" >lim.lgps 2>/dev/null
[ "$(meta lim.lgps records_per_epoch)" = '"records_per_epoch":512' ]; ok $? "--limit 512: records_per_epoch 512"
lgp-inspect --verify lim.lgps | grep -q '^ok: 512 records'; ok $? "--limit 512: 512 records"
[ "$(meta lim.lgps image_shape)" = '"image_shape":[28,28,1]' ]; ok $? "image_shape [28,28,1] (H, W, C) in the header"
for sh in 1/7:1429 5/7:1428; do # 10000 = 7 * 1428 + 4: shards 0..3 get one more
    tar-images --shard "${sh%:*}" "$TE" >sh.lgps 2>/dev/null
    [ "$(meta sh.lgps records_per_epoch)" = "\"records_per_epoch\":${sh#*:}" ] &&
        lgp-inspect --verify sh.lgps | grep -q "^ok: ${sh#*:} records"
    ok $? "--shard ${sh%:*}: records_per_epoch ${sh#*:}, and that many records"
done
tar-images --shard 1/7 --limit 20000 "$TE" 2>/dev/null >sl.lgps
[ "$(meta sl.lgps records_per_epoch)" = '"records_per_epoch":1429' ]; ok $? "--shard 1/7 --limit 20000: the shard's 1429"
tar-images --skip 100 --limit 512 "$TE" 2>/dev/null >sk.lgps
[ "$(meta sk.lgps records_per_epoch)" = '"records_per_epoch":612' ]; ok $? "--skip 100 --limit 512: 612, as the run it resumes"
tar-images --epochs 3 --limit 25000 "$TE" 2>/dev/null >ep.lgps
[ "$(meta ep.lgps records_per_epoch)" = '"records_per_epoch":10000' ]; ok $? "--epochs 3 --limit 25000: an epoch is still 10000"
printf 'x' >a.jpg && tar -cf a.tar a.jpg && tar-images a.tar 2>/dev/null >a.lgps
lgp-inspect --meta a.lgps | grep -q 'records_per_epoch\|image_shape'; [ $? -eq 1 ]
ok $? "archives announce neither records_per_epoch nor image_shape"

printf 'garbage' | gzip >g-images-idx3-ubyte.gz
expect_exit 1 "not an IDX file" -- tar-images g-images-idx3-ubyte.gz
expect_err_line "tar-images: g-images-idx3-ubyte.gz: not an IDX file (bad magic 67 61)" "bad magic named"
done_testing

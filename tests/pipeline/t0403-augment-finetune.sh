#!/bin/bash
# lgp-augment --recipe finetune (RandAugment + RandomErasing): two runs and two thread
# counts write the same bytes; keys and labels pass through; one view0 per record; the
# metadata records the RandAugment and erasing settings; turning RandAugment and
# erasing off keeps every crop (their draws come after the crop's); another seed gives
# other views; JPEG records give the decoded images' views; --help documents it all;
# the new flags reject bad values and other recipes. Most checks run the ImageNet form
# (given in full: at 28 pixels the default is the low-resolution form, checked at the end).
. "$(dirname "$0")/lib.sh"
PY="$PYTHON"
[ -r "$FMNIST/train-images-idx3-ubyte.gz" ] || { echo "1..0 # SKIP no Fashion-MNIST"; exit 0; }
tar-images --limit 64 "$FMNIST/train-images-idx3-ubyte.gz" 2>/dev/null | zstd -dqc >in.lgps
ok $? "fixture: 64 Fashion-MNIST records"

# cmp.py A B: records pairwise; prints "<records> <keys/labels differing> <views differing> <crops differing>"
cat >cmp.py <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
from lgpstream import read_stream
a = [r for _, rs in read_stream(open(sys.argv[2], "rb").read()) for r in rs]
b = [r for _, rs in read_stream(open(sys.argv[3], "rb").read()) for r in rs]
assert len(a) == len(b), (len(a), len(b))
lab = sum(ka != kb or (ta["label"] != tb["label"]).any() for (ka, ta), (kb, tb) in zip(a, b))
view = sum(int((ta["view0"] != tb["view0"]).any()) for (_, ta), (_, tb) in zip(a, b) if "view0" in ta and "view0" in tb)
crop = sum(int((ta["crop0"] != tb["crop0"]).any()) for (_, ta), (_, tb) in zip(a, b) if "crop0" in ta and "crop0" in tb)
print(len(a), lab, view, crop)
PYEOF

IMAGENET="--scale 0.08,1 --ratio 0.75,1.3333333333333333 --randaug 2,9 --erase-p 0.25"
A="lgp-augment --recipe finetune --size 28 $IMAGENET --uncompressed"
expect_exit 0 "finetune run" -- $A in.lgps
mv out r1.lgps
tar-images --limit 64 "$FMNIST/train-images-idx3-ubyte.gz" 2>/dev/null | $A >r2.lgps 2>/dev/null
cmp -s r1.lgps r2.lgps; ok $? "tar-images | lgp-augment --recipe finetune twice: identical bytes"
$A --threads 1 in.lgps >r3.lgps 2>/dev/null
cmp -s r1.lgps r3.lgps; ok $? "--threads 1 and the default write identical bytes"
read -r n lab view crop <<<"$("$PY" cmp.py "$TESTS_DIR/ref" in.lgps r1.lgps)"
[ "$n" = 64 ] && [ "$lab" = 0 ]; ok $? "64 records out, keys and labels as they came in ($lab differ)"
lgp-inspect --records 1 r1.lgps >ins.txt 2>&1
grep -q 'view0 *u8 *\[28, 28, 1\]' ins.txt && grep -q 'crop0 *f32 *\[5\]' ins.txt && grep -q 'label *i64' ins.txt &&
    ! grep -q 'view1' ins.txt && ! grep -q ' image ' ins.txt
ok $? "one view0 u8 [28, 28, 1] and crop0, label kept, image dropped"
lgp-inspect --meta r1.lgps >meta.txt 2>&1
grep -q '"augment":{"recipe":"finetune","size":28' meta.txt &&
    grep -q '"randaug":{"n":2,"m":9,"mstd":0.5,"p":0.5,' meta.txt &&
    grep -q '"erase":{"p":0.25,"area":\[0.02,0.333' meta.txt && grep -q '"seed":20240607' meta.txt
ok $? "metadata records the recipe, RandAugment, erasing and the seed"

$A --randaug 0,0 --erase-p 0 in.lgps >plain.lgps 2>/dev/null
read -r n lab view crop <<<"$("$PY" cmp.py "$TESTS_DIR/ref" r1.lgps plain.lgps)"
[ "$crop" = 0 ] && [ "$view" -gt 32 ]
ok $? "--randaug 0,0 --erase-p 0: the same crops ($crop differ), other views ($view of 64)"
lgp-augment --recipe mae --scale 0.08,1 --size 28 --uncompressed in.lgps >mae.lgps 2>/dev/null
read -r n lab view crop <<<"$("$PY" cmp.py "$TESTS_DIR/ref" mae.lgps plain.lgps)"
[ "$crop" = 0 ] && [ "$view" = 0 ]; ok $? "... and then it is mae with scale 0.08-1 ($view views, $crop crops differ)"
$A --seed 7 in.lgps >s7.lgps 2>/dev/null
read -r n lab view crop <<<"$("$PY" cmp.py "$TESTS_DIR/ref" r1.lgps s7.lgps)"
[ "$view" -gt 56 ]; ok $? "another seed gives other views ($view of 64)"

# JPEG records (partial crop decode) give the views of the decoded images
"$PY" - <<'PYEOF'
import io, tarfile
import numpy as np
from PIL import Image
rng = np.random.default_rng(3)
with tarfile.open("imgs.tar", "w") as tf:
    for i, (w, h) in enumerate([(160, 120), (97, 131), (200, 75)]):
        y, x = np.mgrid[0:h, 0:w]
        a = np.stack([(x * 3 + y) % 256, (y * 5) % 256, (x * y) % 256], -1).astype(np.uint8)
        a = np.clip(a + rng.integers(0, 30, a.shape), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, "JPEG", quality=90)
        ti = tarfile.TarInfo("root/c%d/img%d.jpg" % (i % 2, i))
        ti.size = len(buf.getvalue())
        tf.addfile(ti, io.BytesIO(buf.getvalue()))
PYEOF
tar-images imgs.tar 2>/dev/null | zstd -dqc >enc.lgps && lgp-decode --uncompressed enc.lgps >dec.lgps 2>/dev/null
ok $? "JPEG fixture read and decoded"
lgp-augment --recipe finetune --size 40 --erase-p 1 --uncompressed enc.lgps >je.lgps 2>/dev/null
lgp-augment --recipe finetune --size 40 --erase-p 1 --uncompressed dec.lgps >jd.lgps 2>/dev/null
read -r n lab view crop <<<"$("$PY" cmp.py "$TESTS_DIR/ref" je.lgps jd.lgps)"
[ "$n" = 3 ] && [ "$view" = 0 ] && [ "$crop" = 0 ]
ok $? "JPEG records: the decoded images' RGB views ($view of $n differ)"

expect_exit 0 "--help" -- lgp-augment --help
miss=$(for f in --randaug --randaug-mstd --erase-p; do grep -q -- "$f " out || echo "$f"; done)
grep -q "finetune" out && [ -z "$miss" ]
ok $? "--help lists the finetune recipe and --randaug, --randaug-mstd, --erase-p"
grep -q "default 2,9" out && grep -q "default 0.25" out; ok $? "--help gives their defaults"
expect_exit 2 "--randaug with --recipe mae" -- lgp-augment --recipe mae --randaug 2,9
[ "$(head -n 1 err)" = "lgp-augment: --randaug: only --recipe finetune has RandAugment and erasing" ]
ok $? "... named on stderr"
expect_empty_out "... no stdout"
expect_exit 2 "--randaug 11,9" -- lgp-augment --recipe finetune --randaug 11,9
expect_exit 2 "--randaug 2.5,9" -- lgp-augment --recipe finetune --randaug 2.5,9
expect_exit 2 "--randaug 2" -- lgp-augment --recipe finetune --randaug 2
expect_exit 2 "--erase-p 1.5" -- lgp-augment --recipe finetune --erase-p 1.5

# The low-resolution form (S <= 32): the whole image, flipped or not, nothing else;
# what is given is kept; 33 pixels and up get the ImageNet views.
expect_exit 0 "finetune at 28 pixels, no view flags" -- lgp-augment --recipe finetune --size 28 --uncompressed in.lgps
mv out low.lgps
grep -q "low-resolution form" err; ok $? "... says it takes the low-resolution form"
lgp-inspect --meta low.lgps >meta.txt 2>&1
grep -q '"form":"low-res (size <= 32)","low_res_set":\["scale","ratio","randaug","erase"\]' meta.txt &&
    grep -q '"scale":\[1,1\],"ratio":\[1,1\]' meta.txt &&
    grep -q '"randaug":{"n":0,' meta.txt && grep -q '"erase":{"p":0,' meta.txt
ok $? "... and records it: scale 1,1, ratio 1,1, RandAugment and erasing off"
cat >same.py <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from lgpstream import read_stream
a = [r for _, rs in read_stream(open(sys.argv[2], "rb").read()) for r in rs]
b = [r for _, rs in read_stream(open(sys.argv[3], "rb").read()) for r in rs]
same = flip = 0
for (_, ta), (_, tb) in zip(a, b):
    img, v, c = ta["image"].reshape(28, 28, 1), tb["view0"], tb["crop0"]
    if list(c[:4]) != [0, 0, 28, 28]: continue
    if c[4] == 0 and (v == img).all(): same += 1
    if c[4] == 1 and (v == img[:, ::-1]).all(): same += 1; flip += 1
print(len(b), same, flip)
PYEOF
read -r n same flip <<<"$("$PY" same.py "$TESTS_DIR/ref" in.lgps low.lgps)"
[ "$n" = 64 ] && [ "$same" = 64 ] && [ "$flip" -ge 16 ] && [ "$flip" -le 48 ]
ok $? "... every view is its image or its mirror ($same of $n; $flip mirrored)"
lgp-augment --recipe finetune --size 28 --randaug 2,9 --uncompressed in.lgps >lowra.lgps 2>/dev/null
lgp-inspect --meta lowra.lgps >meta.txt 2>&1
grep -q '"low_res_set":\["scale","ratio","erase"\]' meta.txt && grep -q '"scale":\[1,1\]' meta.txt &&
    grep -q '"randaug":{"n":2,"m":9,' meta.txt &&
    grep -q '"erase":{"p":0,' meta.txt
ok $? "--randaug given at 28 pixels: kept, the rest of the low-resolution form stays"
lgp-augment --recipe finetune --size 28 --randaug-mstd 0.3 --uncompressed in.lgps >lowms.lgps 2>/dev/null
lgp-inspect --meta lowms.lgps >meta.txt 2>&1
grep -q '"low_res_set":\["scale","ratio","erase"\]' meta.txt && grep -q '"randaug":{"n":2,"m":9,"mstd":0.29' meta.txt
ok $? "--randaug-mstd alone at 28 pixels asks for RandAugment: kept on"
lgp-augment --recipe finetune --size 33 --uncompressed in.lgps >big.lgps 2>err
lgp-inspect --meta big.lgps >meta.txt 2>&1
! grep -q '"form"' meta.txt && grep -q '"scale":\[0.08' meta.txt && grep -q '"randaug":{"n":2,"m":9,' meta.txt &&
    ! grep -q "low-resolution" err
ok $? "33 pixels: the ImageNet views, as recorded"
lgp-augment --recipe mae --size 28 --uncompressed in.lgps >mae28.lgps 2>/dev/null
lgp-inspect --meta mae28.lgps >meta.txt 2>&1
! grep -q '"form"' meta.txt && grep -q '"scale":\[0.2' meta.txt; ok $? "other recipes keep their views at 28 pixels"
done_testing

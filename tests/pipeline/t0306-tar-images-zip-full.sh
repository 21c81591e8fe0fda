#!/usr/bin/env bash
# tar-images --shuffle full on a zip (ImageFolder layout, written with Python's zipfile:
# stored and deflated JPEG and PNG members, directory entries, a deflated README, the
# members out of sorted order) reads it by position: no fallback line, every epoch a
# permutation of exactly the sequential run's records (keys, labels from the class
# folders, bytes, index), deterministic by seed, records_per_epoch announced, --index
# written (deflated members marked) and reused with the same bytes; a zip with a member
# that cannot be read by position (bzip2) falls back to the buffer with one line
# naming it and still gives every image.
. "$(dirname "$0")/lib.sh"
"$PYTHON" - "$TESTS_DIR/ref" <<'EOF' || { ok 1 "fixtures"; done_testing; exit; }
import random, sys, zipfile
sys.path.insert(0, sys.argv[1])
from make_archives import img, jpeg, png
classes = ["emu", "cat", "dog", "bird"]
members, k = [], 0
for c in classes:
    for i in range(12):
        im = img(24 + i % 3, 16 + k % 4, 500 + k)
        data, ext = (png(im), "png") if i % 5 == 4 else (jpeg(im, quality=70), "jpg")
        members.append((f"train/{c}/{c}{i:02d}.{ext}", data))
        k += 1
random.Random(5).shuffle(members)
order = {c: i for i, c in enumerate(sorted(classes))}
with open("expect.txt", "w") as f:
    for n, _ in members:
        f.write(f"{n.rsplit('.', 1)[0]} {order[n.split('/')[1]]}\n")
def write(path, readme_type):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("train/", b"")
        for c in sorted(classes):
            zf.writestr(f"train/{c}/", b"")
        zf.writestr("README.txt", b"four classes of twelve\n" * 20, compress_type=readme_type)
        for j, (n, data) in enumerate(members):
            zf.writestr(n, data, compress_type=zipfile.ZIP_DEFLATED if j % 2 else zipfile.ZIP_STORED)
write("x.zip", zipfile.ZIP_DEFLATED)
write("y.zip", zipfile.ZIP_BZIP2)
EOF
MA="$TESTS_DIR/ref/make_archives.py"
recs() { "$PYTHON" "$MA" records "$1"; } # 'epoch index label key hash' lines

tar-images -q --uncompressed x.zip >seq.lgps
recs seq.lgps >seq
cut -d' ' -f3,4 seq | awk '{print $2, $1}' | cmp -s - expect.txt
ok $? "sequential run: the 48 images in archive order, labels from the class folders"

expect_exit 0 "--shuffle full --seed 3 on a zip" -- tar-images --uncompressed --shuffle full --seed 3 -o full.lgps x.zip
! grep -q "falls back\|not a plain tar\|cannot" err; ok $? "read by position: no fallback line"
recs full.lgps >full
cut -d' ' -f2- full | sort | cmp -s - <(cut -d' ' -f2- seq | sort)
ok $? "exactly the sequential run's records (index, label, key, bytes)"
! cmp -s <(cut -d' ' -f4 full) <(cut -d' ' -f4 seq); ok $? "in another order"
lgp-inspect --meta full.lgps >meta
grep -q '"records_per_epoch": *48' meta && grep -q '"shuffle": *"full"' meta
ok $? "records_per_epoch 48 and shuffle full in the header"
tar-images -q --uncompressed --shuffle full --seed 3 x.zip >again.lgps
cmp -s again.lgps full.lgps; ok $? "same seed, same bytes"
tar-images -q --uncompressed --shuffle full --seed 4 x.zip >seed4.lgps
recs seed4.lgps >seed4
! cmp -s <(cut -d' ' -f4 seed4) <(cut -d' ' -f4 full) && cut -d' ' -f2- seed4 | sort | cmp -s - <(cut -d' ' -f2- seq | sort)
ok $? "another seed: another permutation of the same records"
tar-images -q --uncompressed --shuffle full --seed 3 --epochs 2 x.zip >e2.lgps
recs e2.lgps >e2
head -n 48 e2 | cmp -s - full && awk '$1 == 1' e2 | cut -d' ' -f2- | sort | cmp -s - <(cut -d' ' -f2- seq | sort)
ok $? "--epochs 2: epoch 0 as above, epoch 1 every image once more"

expect_exit 0 "--index: first run builds it" -- tar-images --uncompressed --shuffle full --seed 3 --index x.idx -o i1.lgps x.zip
grep -q "indexing 1 input" err && grep -q '^n 48$' x.idx; ok $? "it says it indexes and writes 48 entries"
grep -Eq '^0 [0-9]+ [0-9]+ [0-9]+ [jp]d[0-9]+ train/' x.idx && grep -Eq '^0 [0-9]+ [0-9]+ [0-9]+ [jp] train/' x.idx
ok $? "deflated members carry their compressed size, stored ones not"
expect_exit 0 "--index: second run" -- tar-images --uncompressed --shuffle full --seed 3 --index x.idx -o i2.lgps x.zip
grep -q "x.idx: 48 images indexed" err && ! grep -q "indexing" err; ok $? "reuses it without a pass"
cmp -s i1.lgps full.lgps && cmp -s i2.lgps full.lgps; ok $? "with or without the index: the same bytes"
tar-images -q --uncompressed --index x.idx x.zip | lgp-inspect --meta - | grep -q '"records_per_epoch": *48'
ok $? "a sequential run with --index announces records_per_epoch"

expect_exit 0 "a zip with a bzip2 member falls back to the buffer" -- tar-images --uncompressed --shuffle full -o y.lgps y.zip
[ "$(grep -c "y.zip: not a plain tar or zip readable by position (byte [0-9]*: README.txt: compression method 12 (bzip2).*falls back to a 10000-record buffer" err)" -eq 1 ]
ok $? "... saying so once, naming the member and its method"
recs y.lgps | cut -d' ' -f3- | sort | cmp -s - <(cut -d' ' -f3- seq | sort); ok $? "... and still gives every image"
done_testing

#!/usr/bin/env bash
# tar-images --shuffle full on a class-sorted tar of tars (ImageNet's train layout, 40
# classes of 16): the first 64 records span most classes (a buffer of 32 spans few),
# every epoch is a permutation of the sequential run's records (same keys, labels,
# bytes and index), 2 epochs give every image twice, shards are disjoint and complete,
# records_per_epoch is announced, --index is written, reused and rebuilt when the
# archive changes, a compressed tar falls back to the buffer with one line, a damaged
# header loses one member with one line (streaming and exact shuffle), and IDX input
# shuffles the same way.
. "$(dirname "$0")/lib.sh"
MA="$TESTS_DIR/ref/make_archives.py"
"$PYTHON" "$MA" sorted . 40 16 || { ok 1 "fixtures"; done_testing; exit; }
recs() { # recs FILE -> 'epoch index label key hash' lines
    "$PYTHON" "$MA" records "$1"
}
span64() { head -n 64 "$1" | cut -d' ' -f3 | sort -u | wc -l; }

tar-images -q --uncompressed sorted.tar >seq.lgps
recs seq.lgps >seq
[ "$(wc -l <seq)" -eq 640 ] && cut -d' ' -f4 seq | cmp -s - <(cut -d' ' -f1 expect.txt)
ok $? "sequential run: the 640 images in archive order"

expect_exit 0 "--shuffle full" -- tar-images --uncompressed --shuffle full --seed 1 -o full.lgps sorted.tar
recs full.lgps >full
s=$(span64 full)
[ "$s" -ge 25 ]; ok $? "the first 64 records span $s of 40 classes (>= 25)"
tar-images -q --uncompressed --shuffle 32 --seed 1 sorted.tar >buf.lgps
recs buf.lgps >buf
b=$(span64 buf)
[ "$b" -le 10 ]; ok $? "(a 32-record buffer spans $b)"
cut -d' ' -f2- full | sort | cmp -s - <(cut -d' ' -f2- seq | sort)
ok $? "one epoch: exactly the sequential run's records (index, label, key, bytes)"
! cmp -s <(cut -d' ' -f4 full) <(cut -d' ' -f4 seq); ok $? "in another order"

tar-images -q --uncompressed --shuffle full --seed 1 --epochs 2 sorted.tar >e2.lgps
recs e2.lgps >e2
head -n 640 e2 | cmp -s - full; ok $? "epoch 0 of --epochs 2 equals the one-epoch run"
[ "$(awk '$1 == 1' e2 | cut -d' ' -f2- | sort | cmp -s - <(cut -d' ' -f2- seq | sort) && echo y)" = y ]
ok $? "epoch 1 holds every image once more"
! cmp -s <(awk '$1 == 0 {print $4}' e2) <(awk '$1 == 1 {print $4}' e2); ok $? "epoch 1 is another permutation"
tar-images -q --uncompressed --shuffle full --seed 1 sorted.tar >again.lgps
cmp -s again.lgps full.lgps; ok $? "same seed, same bytes"

: >union
for i in 0 1 2; do
    tar-images -q --uncompressed --shuffle full --seed 1 --shard $i/3 sorted.tar >sh$i.lgps
    recs sh$i.lgps >sh$i
    cat sh$i >>union
done
cut -d' ' -f4 union | sort | cmp -s - <(cut -d' ' -f4 seq | sort); ok $? "3 shards: disjoint and complete"
cut -d' ' -f4 sh1 | cmp -s - <(sed -n '2~3p' full | cut -d' ' -f4); ok $? "shard 1/3 = positions 1, 4, 7, ... of the shared permutation"
lgp-inspect --meta sh1.lgps >meta1
grep -q '"records_per_epoch": *213' meta1 && grep -q '"shuffle": *"full"' meta1
ok $? "records_per_epoch 213 (640 / 3, shard 1) and shuffle full in the header"
tar-images -q --uncompressed --shuffle full --limit 100 sorted.tar | lgp-inspect --meta - | grep -q '"records_per_epoch": *100'
ok $? "records_per_epoch honours --limit"

expect_exit 0 "--index: first run builds it" -- tar-images --uncompressed --shuffle full --seed 1 --index sorted.idx -o i1.lgps sorted.tar
grep -q "indexing 1 input" err && [ -s sorted.idx ]; ok $? "it says it indexes and writes the index"
expect_exit 0 "--index: second run" -- tar-images --uncompressed --shuffle full --seed 1 --index sorted.idx -o i2.lgps sorted.tar
grep -q "sorted.idx: 640 images indexed" err && ! grep -q "indexing" err; ok $? "reuses it without a pass"
cmp -s i1.lgps full.lgps && cmp -s i2.lgps full.lgps; ok $? "with or without the index: the same bytes"
tar-images -q --uncompressed --index sorted.idx sorted.tar | lgp-inspect --meta - | grep -q '"records_per_epoch": *640'
ok $? "a sequential run with --index announces records_per_epoch"
touch -d '2001-01-01' sorted.tar
expect_exit 0 "--index after the archive changed" -- tar-images --uncompressed --shuffle full --seed 1 --index sorted.idx -o i3.lgps sorted.tar
grep -q "size or mtime differ.*indexing again" err && cmp -s i3.lgps full.lgps; ok $? "says the index is stale, rebuilds it, same bytes"
head -n -10 sorted.idx >cut.idx
expect_exit 1 "a truncated index file" -- tar-images --shuffle full --index cut.idx -o x.lgps sorted.tar
grep -q "cut.idx: line .*: damaged entry (remove it to rebuild)" err && [ ! -e x.lgps ]; ok $? "names the line, no output"
echo "something else" >other.idx
expect_exit 1 "a file that is no index" -- tar-images --shuffle full --index other.idx -o x.lgps sorted.tar
grep -q "other.idx: not an lgp image index" err && [ "$(cat other.idx)" = "something else" ]; ok $? "is left alone"

expect_exit 0 "a compressed tar falls back to the buffer" -- tar-images --uncompressed --shuffle full -o gz.lgps sorted.tar.gz
[ "$(grep -c "sorted.tar.gz: not a plain tar.*falls back to a 10000-record buffer" err)" -eq 1 ]; ok $? "... saying so once"
recs gz.lgps | cut -d' ' -f4 | sort | cmp -s - <(cut -d' ' -f4 seq | sort); ok $? "... and still gives every image"
expect_exit 1 "--index on a compressed tar is an error" -- tar-images --index gz.idx -o y.lgps sorted.tar.gz

# A damaged header in the middle of a plain tar: libarchive resynchronises at the next
# valid header, so one member is lost: said once, counted, the others kept; the exact
# shuffle cannot index the damage and falls back to streaming, which says the same.
"$PYTHON" -c '
import io, math, sys, tarfile
sys.path.insert(0, sys.argv[1])
from make_archives import img, jpeg
with tarfile.open("flat.tar", "w", format=tarfile.USTAR_FORMAT) as tf:
    for k in range(4):
        d = jpeg(img(40, 30, k)); ti = tarfile.TarInfo(f"cat/x{k}.jpg"); ti.size = len(d); tf.addfile(ti, io.BytesIO(d))
b = bytearray(open("flat.tar", "rb").read())
off = 512 + math.ceil(int(b[124:136].strip(b"\0 ").decode(), 8) / 512) * 512
b[off + 5] ^= 0x20
open("damaged.tar", "wb").write(b)' "$TESTS_DIR/ref"
expect_exit 0 "a tar with a damaged header" -- tar-images --uncompressed -o dmg.lgps damaged.tar
[ "$(grep -c "damaged.tar: byte [0-9]*: .*a member is lost (skipped)" err)" -eq 1 ] && grep -q "3 records written, 1 bad members skipped" err
ok $? "one line names the archive and the byte, 3 of 4 records kept"
expect_exit 0 "--shuffle full on it" -- tar-images --uncompressed --shuffle full -o dmgf.lgps damaged.tar
grep -q "cannot be indexed: --shuffle full falls back" err && grep -q "3 records written, 1 bad members skipped" err
ok $? "falls back to the buffer, same loss reported"

# A class subset (ImageNet-100 style): the listed classes, in the list's order, the
# others left out quietly and counted; the exact shuffle indexes only the subset.
printf 'n00001003\nn00001001\n' >sub.txt
expect_exit 0 "--classes --class-subset" -- tar-images --uncompressed --classes sub.txt --class-subset --shuffle full -o sub.lgps sorted.tar
recs sub.lgps >sub
[ "$(cut -d' ' -f3 sub | sort | uniq -c | tr -s ' ')" = "$(printf ' 16 0\n 16 1')" ] && grep -q "n00001003/" <(awk '$3 == 0' sub) &&
    grep -q "32 records written, 0 bad members skipped, 608 images of unlisted classes left out" err && ! grep -q "(skipped)" err
ok $? "32 images of the 2 listed classes, labels in list order, 608 left out without a message each"
lgp-inspect --meta sub.lgps | grep -q '"records_per_epoch": *32'; ok $? "records_per_epoch counts the subset"
expect_exit 0 "a sequential subset run with --index" -- tar-images --uncompressed --classes sub.txt --class-subset --index sub.idx -o subs.lgps sorted.tar
grep -q "32 records written, 0 bad members skipped, 608 images of unlisted classes left out" err; ok $? "counts the left-out images once, not once per pass"
printf 'n99999999\n' >none.txt
expect_exit 1 "a subset that matches nothing" -- tar-images --classes none.txt --class-subset -o none.lgps sorted.tar
grep -q "no image of the classes in none.txt" err; ok $? "says so"
expect_exit 2 "--class-subset without --classes" -- tar-images --class-subset sorted.tar

IDX="$FMNIST/t10k-images-idx3-ubyte.gz"
tar-images -q --uncompressed --shuffle full --seed 2 --limit 300 "$IDX" >idx.lgps
recs idx.lgps >idxr
[ "$(cut -d' ' -f2 idxr | sort -u | wc -l)" -eq 300 ] && [ "$(cut -d' ' -f2 idxr | sort -n | tail -n 1)" -gt 5000 ]
ok $? "IDX: 300 distinct images drawn from the whole file"
done_testing

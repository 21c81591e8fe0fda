#!/usr/bin/env bash
# tar-images on a folder (#18), without tarring it: the ImageNet-style tree of the
# sorted fixture (tree/<wnid>/<file>, 40 classes of 16) gives record for record what a
# plain tar of the same tree gives (key, label, bytes, index) and the same images as
# the tar of tars, its classes are the sorted folder names, records_per_epoch is always
# announced (with --shard and --limit too), --shuffle full reads it by position (every
# image once per epoch, mixed classes, shards disjoint and complete); a flat folder with
# --labels and WebDataset sidecars in a folder work as their tars do; hidden files,
# non-image files and .tar files in a folder are passed over silently, symlinks to files
# followed; an unreadable file and a dangling symlink are skipped with one line each;
# --index on a folder is written, reused, and stale once a file is added or changed.
. "$(dirname "$0")/lib.sh"
MA="$TESTS_DIR/ref/make_archives.py"
{ "$PYTHON" "$MA" sorted . 40 16 && "$PYTHON" "$MA" extract sorted.tar tree &&
  "$PYTHON" "$MA" tartree tree tree.tar; } || { ok 1 "fixtures"; done_testing; exit; }
recs() { "$PYTHON" "$MA" records "$1"; }
meta() { lgp-inspect --meta "$1" | sed -n 's/^ *meta: //p'; }
rpe() { meta "$1" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin).get("records_per_epoch", "none"))'; }
span64() { head -n 64 "$1" | cut -d' ' -f3 | sort -u | wc -l; }

expect_exit 0 "tar-images tree" -- tar-images --uncompressed -o dir.lgps tree
tar-images -q --uncompressed tree.tar >tar.lgps
recs dir.lgps >dir
recs tar.lgps >tar
[ "$(wc -l <dir)" -eq 640 ] && cmp -s dir tar; ok $? "a folder and a plain tar of it: the same 640 records (key, label, bytes, index)"
cut -d' ' -f4 dir | LC_ALL=C sort -c 2>/dev/null; ok $? "in byte-wise order of the paths"
tar-images -q --uncompressed sorted.tar >tot.lgps
cmp -s <(recs tot.lgps | cut -d' ' -f3- | sort) <(cut -d' ' -f3- dir | sort)
ok $? "the same keys, labels and bytes as the tar of tars"
meta dir.lgps | "$PYTHON" -c 'import json,sys; print("\n".join(json.load(sys.stdin)["classes"]))' >classes
find tree -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | LC_ALL=C sort | cmp -s - classes
ok $? "classes: the 40 sorted folder names"
[ "$(rpe dir.lgps)" = 640 ]; ok $? "records_per_epoch 640 in a sequential run"
[ "$(rpe tar.lgps)" = none ]; ok $? "(the plain tar without an index announces none)"
tar-images -q --uncompressed --shard 1/3 tree >s1.lgps
[ "$(rpe s1.lgps)" = 213 ] && [ "$(recs s1.lgps | wc -l)" -eq 213 ]; ok $? "--shard 1/3: records_per_epoch 213, 213 records"
[ "$(tar-images -q --uncompressed --limit 50 tree | lgp-inspect --meta - | grep -c '"records_per_epoch":50')" -eq 1 ]
ok $? "--limit 50: records_per_epoch 50"
[ "$(tar-images -q --uncompressed --shard 0/3 --limit 500 tree | lgp-inspect --meta - | grep -c '"records_per_epoch":214')" -eq 1 ]
ok $? "--shard 0/3 --limit 500: records_per_epoch 214"

# --shuffle full
expect_exit 0 "--shuffle full on a folder" -- tar-images --uncompressed --shuffle full --seed 1 --epochs 2 -o full.lgps tree
recs full.lgps >full
cmp -s <(awk '$1 == 0' full | cut -d' ' -f2- | sort) <(cut -d' ' -f2- dir | sort) &&
    cmp -s <(awk '$1 == 1' full | cut -d' ' -f2- | sort) <(cut -d' ' -f2- dir | sort)
ok $? "every image once per epoch, 2 epochs"
s=$(span64 full)
[ "$s" -ge 25 ]; ok $? "the first 64 records span $s of 40 classes (>= 25)"
! cmp -s <(awk '$1 == 0 {print $4}' full) <(cut -d' ' -f4 dir); ok $? "in another order than the folder's"
tar-images -q --uncompressed --shuffle full --seed 1 --epochs 2 tree.tar >fulltar.lgps
cmp -s full <(recs fulltar.lgps); ok $? "the same records as --shuffle full on the plain tar"
[ "$(rpe full.lgps)" = 640 ]; ok $? "records_per_epoch 640"
: >union
for i in 0 1 2; do
    tar-images -q --uncompressed --shuffle full --seed 1 --shard $i/3 tree >sh$i.lgps
    recs sh$i.lgps >>union
done
cut -d' ' -f4 union | sort | cmp -s - <(cut -d' ' -f4 dir | sort); ok $? "3 shards: disjoint and complete"
[ "$(rpe sh1.lgps)" = 213 ] && [ "$(tar-images -q --uncompressed --shuffle full --limit 100 tree | lgp-inspect --meta - | grep -c '"records_per_epoch":100')" -eq 1 ]
ok $? "records_per_epoch 213 for shard 1/3, 100 with --limit 100"

# a flat folder with --labels, in both label-file forms
mkdir flat
for c in n00001000 n00001001 n00001002; do cp tree/$c/${c}_[0-3].JPEG flat/; done
ls flat | sed -n 's/^\(n[0-9]*\)_.*/& \1/p' >labels.txt
sed 's/.* //' labels.txt >ids.txt # one label per line, for the images in sorted name order
"$PYTHON" "$MA" tartree flat flat.tar
tar-images -q --uncompressed --labels labels.txt flat >flat.lgps
tar-images -q --uncompressed --labels labels.txt flat.tar >flattar.lgps
recs flat.lgps >flatr
[ "$(wc -l <flatr)" -eq 12 ] && cmp -s flatr <(recs flattar.lgps); ok $? "flat folder + --labels: 12 records, as its tar gives them"
[ "$(cut -d' ' -f3 flatr | tr '\n' ' ')" = "0 0 0 0 1 1 1 1 2 2 2 2 " ]; ok $? "labels from the file"
tar-images -q --uncompressed --labels ids.txt flat | cmp -s <(recs /dev/stdin) flatr
ok $? "one label per line (sorted names, counted by the first pass over the folder): the same"

# WebDataset sidecars in a folder
mkdir -p wds/s0
cp tree/n00001000/n00001000_0.JPEG wds/s0/a.jpg; printf '2\n' >wds/s0/a.cls
cp tree/n00001000/n00001000_1.JPEG wds/s0/b.jpg; printf '{"label": 0}' >wds/s0/b.json
cp tree/n00001000/n00001000_2.JPEG wds/s0/c.jpg; printf '1\n' >wds/s0/c.cls
"$PYTHON" "$MA" tartree wds wds.tar
tar-images -q --uncompressed wds >wds.lgps
recs wds.lgps >wdsr
[ "$(cut -d' ' -f3,4 wdsr | tr '\n' ' ')" = "2 s0/a 0 s0/b 1 s0/c " ] && cmp -s wdsr <(tar-images -q --uncompressed wds.tar | recs /dev/stdin)
ok $? "WebDataset sidecars in a folder: labels from .cls and .json, as in its tar"

# hidden files, non-image files, .tar files, symlinks: passed over or followed silently
cp -r tree tree2
: >tree2/.DS_Store
cp tree/n00001005/n00001005_0.JPEG tree2/n00001005/._n00001005_0.JPEG # macOS AppleDouble
mkdir tree2/.git tree2/n00001007/.thumbs
cp tree/n00001005/n00001005_0.JPEG tree2/.git/x.jpg
cp tree/n00001005/n00001005_0.JPEG tree2/n00001007/.thumbs/t.jpg
echo notes >tree2/n00001003/notes.txt
cp sorted.tar tree2/n00001004/inner.tar
cp tree/n00001006/n00001006_1.JPEG outside.jpg
ln -s "$PWD/outside.jpg" tree2/n00001006/linked.JPEG
ln -s n00001001 tree2/n00009999 # a symlink to a folder: not followed (no class of its own)
expect_exit 0 "a folder with hidden, non-image and .tar files, and symlinks" -- tar-images -q --uncompressed -o t2.lgps tree2
[ ! -s err ]; ok $? "... says nothing"
"$PYTHON" "$MA" tartree tree2 tree2.tar
recs t2.lgps >t2
[ "$(wc -l <t2)" -eq 641 ] && cmp -s t2 <(tar-images -q --uncompressed tree2.tar | recs /dev/stdin)
ok $? "641 records (the linked file counts), as a tar without the hidden and .tar files gives them"
grep -q ' n00001006/linked ' t2 && ! grep -q ' n00001005/ \|\.git\|thumbs\|n00009999' t2; ok $? "the symlinked file in, hidden files out"
meta t2.lgps | grep -q '"classes":\["n00001000".*"n00001039"\]' && ! meta t2.lgps | grep -q 'inner\|sorted\|n00009999'
ok $? "classes: the folder names, not the .tar's stem nor the symlinked folder"

# unreadable files: one line each, the rest goes on (exit 0, as bad archive members)
cp -r tree tree3
rm tree3/n00001002/n00001002_3.JPEG
ln -s gone.JPEG tree3/n00001002/n00001002_3.JPEG
nbad=1
if [ "$(id -u)" -ne 0 ]; then chmod 000 tree3/n00001009/n00001009_7.JPEG; nbad=2; fi
expect_exit 0 "a dangling symlink (and, not as root, a chmod 000 file)" -- tar-images --uncompressed -o t3.lgps tree3
[ "$(grep -c 'tree3: n00001002/n00001002_3.JPEG: No such file or directory (skipped)' err)" -eq 1 ]
ok $? "one line names the folder and the dangling symlink"
if [ "$nbad" -eq 2 ]; then
    [ "$(grep -c 'tree3: n00001009/n00001009_7.JPEG: Permission denied (skipped)' err)" -eq 1 ]
    ok $? "one line names the unreadable file"
else echo "ok $((tap_n += 1)) # SKIP chmod 000 does not stop root from reading"; fi
grep -q "$((640 - nbad)) records written, $nbad bad members skipped" err; ok $? "the summary counts them"
[ "$(rpe t3.lgps)" = $((640 - nbad)) ] && [ "$(recs t3.lgps | wc -l)" -eq $((640 - nbad)) ]
ok $? "records_per_epoch $((640 - nbad)): the count leaves them out"
expect_exit 0 "--shuffle full on that folder" -- tar-images --uncompressed --shuffle full -o t3f.lgps tree3
[ "$(grep -c 'n00001002_3.JPEG' err)" -eq 1 ] && [ "$(recs t3f.lgps | wc -l)" -eq $((640 - nbad)) ]
ok $? "... one line too, and every other image"
mkdir closed
chmod 000 closed
if [ "$(id -u)" -ne 0 ]; then
    expect_exit 1 "an unreadable folder" -- tar-images -o x.lgps closed
    grep -q "closed: Permission denied" err && [ ! -e x.lgps ]; ok $? "names it, no output"
else for _ in 1 2; do echo "ok $((tap_n += 1)) # SKIP root reads a chmod 000 folder"; done; fi
chmod 755 closed

# --index on a folder
expect_exit 0 "--index on a folder: first run builds it" -- tar-images --uncompressed --shuffle full --seed 1 --index tree.idx -o i1.lgps tree
grep -q "indexing 1 input" err && head -n 1 tree.idx | grep -qx "lgp-imgindex 2" && grep -q "^input dir 641 [0-9a-f]* tree$" tree.idx &&
    grep -q "^0 0 [0-9]* 5 j n00001005/n00001005_3.JPEG$" tree.idx
ok $? "writes it: an input line 'dir FILES HASH' (641: README.txt too), entries named by relative path"
expect_exit 0 "--index: second run" -- tar-images --uncompressed --shuffle full --seed 1 --index tree.idx -o i2.lgps tree
grep -q "tree.idx: 640 images indexed" err && ! grep -q "indexing" err; ok $? "reuses it without a pass"
tar-images -q --uncompressed --shuffle full --seed 1 tree >noidx.lgps
cmp -s i1.lgps noidx.lgps && cmp -s i2.lgps noidx.lgps; ok $? "with or without the index: the same bytes"
cp tree/n00001007/n00001007_2.JPEG tree/n00001007/n00001007_new.JPEG
expect_exit 0 "--index after a file was added in a subfolder" -- tar-images --uncompressed --shuffle full --index tree.idx -o i3.lgps tree
grep -q "tree.idx: made for other inputs or an older tree (files added, removed or changed); indexing again" err &&
    [ "$(recs i3.lgps | wc -l)" -eq 641 ] && [ "$(rpe i3.lgps)" = 641 ]
ok $? "says it is stale, rebuilds it: 641 images"
touch -d '2001-01-01' tree/n00001020/n00001020_4.JPEG
expect_exit 0 "--index after a file's mtime changed (a sequential run)" -- tar-images --uncompressed --index tree.idx -o i4.lgps tree
grep -q "(files added, removed or changed); indexing again" err; ok $? "says it is stale"
tar-images --uncompressed --index tree.idx -o i5.lgps tree 2>err5
grep -q "tree.idx: 641 images indexed" err5 && cmp -s i4.lgps i5.lgps && [ "$(rpe i5.lgps)" = 641 ]
ok $? "then reuses it: the same bytes, records_per_epoch 641"
sed 's|^\(0 0 [0-9]* [0-9]* j \)n00001005/n00001005_3.JPEG$|\1../n00001005_3.JPEG|' tree.idx >bad.idx
expect_exit 1 "an entry naming a path outside the folder" -- tar-images --shuffle full --index bad.idx -o x.lgps tree
grep -q "bad.idx: line .*: damaged entry" err; ok $? "is a damaged index"
tar-images -q --uncompressed --index tar.idx tree.tar >/dev/null && sed -i '1s/ 2$/ 1/' tar.idx &&
    tar-images --uncompressed --index tar.idx tree.tar 2>err >/dev/null && grep -q "tar.idx: 640 images indexed" err
ok $? "an index file of version 1 (tar inputs) is still read"
done_testing

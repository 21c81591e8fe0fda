#!/usr/bin/env bash
# tar-images on every archive layout: ImageNet tar of tars (read in place), ImageFolder
# as tar / tar.gz / tar.zst / zip / stdin, WebDataset shards (.cls and .json), flat
# archives with --labels in both forms. A Python reader checks every key and label.
. "$(dirname "$0")/lib.sh"
MA="$TESTS_DIR/ref/make_archives.py"
"$PYTHON" "$MA" layouts . || { ok 1 "fixtures"; done_testing; exit; }
zstd -q folder.tar -o folder.tar.zst

check() { # check LAYOUT DESC -- tar-images args...
    local layout=$1 desc=$2; shift 3
    tar-images --uncompressed "$@" >s.lgps 2>err; local rc=$?
    [ $rc -eq 0 ] && "$PYTHON" "$MA" check s.lgps expect.json "$layout" >chk 2>&1
    ok $? "$desc"
    grep -q '^ok' chk || { sed 's/^/#   /' chk err | head -n 8; }
}
check imagenet "ImageNet tar of tars: label = wnid (sorted), key = wnid/stem" -- imagenet_train.tar
lgp-inspect --meta <(tar-images imagenet_train.tar 2>/dev/null) | grep -q '"classes":\["n01000001","n02000003","n03000002"\]'
ok $? "class list in the header metadata, sorted although the inner tars are not"
check folder "ImageFolder tar" -- folder.tar
check folder "ImageFolder tar.gz" -- folder.tar.gz
check folder "ImageFolder tar.zst" -- folder.tar.zst
check folder "ImageFolder zip" -- folder.zip
check folder "ImageFolder from stdin with --classes" -- --classes classes.txt - <folder.tar
check wds "WebDataset: two shards, .cls and .json labels" -- wds-000000.tar wds-000001.tar
check flat "flat archive + 'name label' file" -- --labels flat_labels.txt flat.tar
check flat "flat archive + one label per line in sorted name order" -- --labels flat_ids.txt flat.tar

# the test split holds only 2 classes: --classes keeps train's indices
tar-images --uncompressed --classes classes.txt folder_test.tar >t.lgps 2>/dev/null
"$PYTHON" "$MA" dump t.lgps >t.json
grep -q '"key": "test/emu/emux".*"label": 2' t.json && grep -q '"key": "test/dog/dogx".*"label": 1' t.json
ok $? "--classes: emu = 2, dog = 1 as in train (sorted: cat dog emu)"
tar-images --uncompressed folder_test.tar >t2.lgps 2>/dev/null
"$PYTHON" "$MA" dump t2.lgps | grep -q '"key": "test/emu/emux".*"label": 1'
ok $? "without --classes the test split would renumber (emu = 1): the reason for --classes"

expect_exit 1 "stdin with class-name labels and no --classes" -- tar-images - <folder.tar
expect_err_line "tar-images: -: labels are class names but there is no class list: pass --classes FILE (stdin cannot be pre-scanned)" "says to pass --classes"
expect_exit 0 "a class outside --classes is a skipped record, not a crash" -- tar-images --uncompressed --classes <(echo cat) folder.tar
[ "$(grep -c 'is not in the class list (skipped)' err)" -eq 6 ]; ok $? "one line per skipped image (2 dog + 4 emu)"
grep -q '^tar-images: 3 records written, 6 bad members skipped$' err; ok $? "the 3 cats still come out; counts at the end"
done_testing

#!/usr/bin/env bash
# tar-images on WebDataset sidecars whose label is no class index (overflowing, negative,
# fractional or empty .cls; {"cls":"x"}, {"label":1e300}, broken .json): each skips its
# image with exactly one line naming the archive and the member, the rest of the archive
# still comes out with the right labels, and the summary counts the skipped ones. The
# same rules hold for --labels values and for labels past the --classes list.
. "$(dirname "$0")/lib.sh"
"$PYTHON" - <<'PY' || { ok 1 "fixtures"; done_testing; exit; }
import io, tarfile
from PIL import Image
def jpg(i):
    b = io.BytesIO(); Image.new("RGB", (8, 8), (20 * i % 256, 0, 0)).save(b, "JPEG"); return b.getvalue()
def add(tf, n, d):
    ti = tarfile.TarInfo(n); ti.size = len(d); tf.addfile(ti, io.BytesIO(d))
side = [("k00.cls", b"0\n"), ("k01.cls", b"99999999999999999999999\n"), ("k02.cls", b"-5\n"),
        ("k03.cls", b"1.5"), ("k04.cls", b""), ("k05.json", b'{"cls":"x"}'),
        ("k06.json", b'{"label":1e300}'), ("k07.json", b'{"label":2}'), ("k08.json", b'{"label":'),
        ("k09.json", b'{"caption":"a"}'), ("k10.cls", b"1\n"), ("k11.cls", b"2147483648")]
with tarfile.open("wds.tar", "w") as tf:
    for i, (n, d) in enumerate(side):  # sidecar before and after its image, alternately
        k = n.split(".")[0]
        pair = [(k + ".jpg", jpg(i)), (n, d)]
        for m, data in (pair[::-1] if i % 2 else pair):
            add(tf, m, data)
with tarfile.open("flat.tar", "w") as tf:
    for k in range(3):
        add(tf, f"f{k}.jpg", jpg(k))
open("flat_labels.txt", "w").write("f0.jpg 1\nf1.jpg -2\nf2.jpg 0\n")
PY

expect_exit 0 "bad labels do not stop the archive" -- tar-images --uncompressed wds.tar
mv out wds.lgps
cat >want.err <<'W'
tar-images: wds.tar: k01.cls: bad label '99999999999999999999999': larger than 2147483647 (skipped)
tar-images: wds.tar: k02.cls: bad label '-5': negative (skipped)
tar-images: wds.tar: k03.cls: bad label '1.5': not an integer (skipped)
tar-images: wds.tar: k04.cls: bad label '': empty (skipped)
tar-images: wds.tar: k05.json: bad label '{"cls":"x"}': not a number (skipped)
tar-images: wds.tar: k06.json: bad label '{"label":1e300}': larger than 2147483647 (skipped)
tar-images: wds.tar: k08.json: bad label '{"label":': not valid JSON (skipped)
tar-images: wds.tar: k11.cls: bad label '2147483648': larger than 2147483647 (skipped)
tar-images: 4 records written, 8 bad members skipped (some records have no label: no .cls/.json, --labels or folder)
W
cmp -s err want.err; ok $? "one line per bad sidecar, naming archive and member; the summary counts them"
cmp -s err want.err || { diff err want.err | sed 's/^/#   /' | head -n 12; }
"$PYTHON" "$TESTS_DIR/ref/make_archives.py" dump wds.lgps >dump.json
"$PYTHON" - >chk <<'PY'
import json
got = [(r["key"], r["ints"].get("label")) for r in map(json.loads, open("dump.json"))]
want = [("k00", 0), ("k07", 2), ("k09", None), ("k10", 1)]
print("ok" if got == want else "got %r" % got)
PY
grep -qx ok chk; ok $? "the good records keep their labels; a .json without label/cls is metadata (no label)"
grep -vx ok chk | sed 's/^/#   /'

tar-images --uncompressed - <wds.tar >stdin.lgps 2>err
grep -c ': bad label ' err | grep -qx 8 && ! grep -q 'pre-scanned' err
ok $? "stdin: the same 8 lines, no 'cannot be pre-scanned' abort"
grep -q '^tar-images: -: k02.cls: bad label '"'"'-5'"'"': negative (skipped)$' err; ok $? "stdin: the input is named '-'"

printf 'a\nb\n' >two.txt
expect_exit 0 "--classes with 2 names" -- tar-images --classes two.txt wds.tar
grep -q "^tar-images: wds.tar: k07.json: bad label '{\"label\":2}': not below 2 classes (skipped)$" err
ok $? "a .json index past the class list is a bad label"
grep -q '^tar-images: 3 records written, 9 bad members skipped' err; ok $? "--classes: 3 written, 9 skipped"

expect_exit 0 "--labels with a negative value" -- tar-images --uncompressed --labels flat_labels.txt flat.tar
grep -q "^tar-images: flat.tar: f1: bad label '-2' in flat_labels.txt: negative (skipped)$" err
ok $? "--labels: one line naming the image and the labels file"
grep -q '^tar-images: 2 records written, 1 bad members skipped$' err; ok $? "--labels: the other two come out"

printf 'cat\n' >k0.cls
cp k0.cls k0.jpg  # the bytes do not matter: the label is looked at first
tar -cf named.tar k0.cls k0.jpg
expect_exit 1 "a class name in .cls without --classes" -- tar-images named.tar
expect_err_line "tar-images: named.tar: labels are class names but there is no class list: pass --classes FILE" \
    "asks for --classes without blaming stdin"
done_testing

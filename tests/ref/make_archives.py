#!/usr/bin/python3
"""make_archives.py — fixtures and independent references for the tar-images and
lgp-decode tests, written with PIL, tarfile and zipfile (never with lgp code).

usage:
  make_archives.py layouts DIR    archives in every layout tar-images reads, plus
                                  DIR/expect.json: {layout: [[key, class name], ...]}
  make_archives.py odd DIR        odd.tar: the awkward files of the decode tests
  make_archives.py quality DIR    q.jpg plus reference resizes (float PIL, no DCT scale)
  make_archives.py dump FILE      an uncompressed lgp stream as JSON lines:
                                  {"key", "tensors": {name: [dtype, shape]}, "ints": {...}}
  make_archives.py mae FILE REF.npy SIZE CROP   mean abs error of FILE's first image vs
                                  the float reference resize saved as REF.npy
  make_archives.py check FILE EXPECT LAYOUT   FILE holds exactly the expected records
  make_archives.py idxcheck IMAGES LABELS I...  print label and pixel sum of images I
  make_archives.py sorted DIR NCLASS PER   class-sorted tar of tars (+ .gz, expect.txt)
  make_archives.py records FILE   'epoch index label key hash' per record of a raw stream
  make_archives.py extract TAR DIR   a tar of tars as a folder tree: DIR/<inner stem>/<file>,
                                  other members at DIR/<name>
  make_archives.py tartree DIR OUT   a plain tar of DIR's files, names relative to DIR, in
                                  byte order, as tar-images reads a folder: hidden files and
                                  folders and .tar files left out, symlinks to files stored as
                                  the files, symlinks to folders not followed
"""
import gzip
import io
import json
import os
import struct
import sys
import tarfile
import zipfile

import numpy as np
from PIL import Image


def img(w, h, seed, mode="RGB"):
    """A smooth picture with some edges: gradients, a disc, low-amplitude noise."""
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a = 127 + 100 * np.sin(x / max(w, 1) * 6.3 + seed) * np.cos(y / max(h, 1) * 3.1)
    b = 255 * x / max(w - 1, 1)
    c = np.where((x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 3) ** 2, 220.0, 40.0)
    arr = np.stack([a, b, c], -1) + r.normal(0, 4, (h, w, 3))
    im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return im.convert(mode) if mode != "RGB" else im


def jpeg(im, **kw):
    bio = io.BytesIO()
    im.save(bio, "JPEG", quality=kw.pop("quality", 90), **kw)
    return bio.getvalue()


def png(im):
    bio = io.BytesIO()
    im.save(bio, "PNG")
    return bio.getvalue()


def add(tf, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    tf.addfile(ti, io.BytesIO(data))


CLASSES = ["cat", "dog", "emu"]


def layouts(d):
    exp = {}
    # ImageNet train: outer tar of per-class tars, deliberately not in sorted order.
    wnids = ["n03000002", "n01000001", "n02000003"]
    with tarfile.open(os.path.join(d, "imagenet_train.tar"), "w") as outer:
        rows = []
        for ci, w in enumerate(wnids):
            bio = io.BytesIO()
            with tarfile.open(fileobj=bio, mode="w") as inner:
                for k in range(3):
                    add(inner, f"{w}_{k}.JPEG", jpeg(img(40, 30, 10 * ci + k)))
                    rows.append([f"{w}/{w}_{k}", w])
            add(outer, f"{w}.tar", bio.getvalue())
    exp["imagenet"] = rows
    # ImageFolder: train/<class>/<file>, unsorted member order, as tar.gz and zip.
    rows, members = [], []
    for ci, c in enumerate(["dog", "cat", "emu"]):
        for k in range(2 + ci):
            members.append((f"train/{c}/{c}{k}.jpg", jpeg(img(32, 24, 100 + 10 * ci + k))))
            rows.append([f"train/{c}/{c}{k}", c])
    with tarfile.open(os.path.join(d, "folder.tar.gz"), "w:gz") as tf:
        for n, data in members:
            add(tf, n, data)
    with zipfile.ZipFile(os.path.join(d, "folder.zip"), "w") as zf:
        for n, data in members:
            zf.writestr(n, data)
    with tarfile.open(os.path.join(d, "folder.tar"), "w") as tf:
        for n, data in members:
            add(tf, n, data)
    exp["folder"] = rows
    # Test split with only two of the classes: needs --classes to share the mapping.
    with tarfile.open(os.path.join(d, "folder_test.tar"), "w") as tf:
        for c in ["emu", "dog"]:
            add(tf, f"test/{c}/{c}x.jpg", jpeg(img(32, 24, 7)))
    with open(os.path.join(d, "classes.txt"), "w") as f:
        f.write("\n".join(sorted(["dog", "cat", "emu"])) + "\n")
    # WebDataset: two shards, key.jpg + key.cls (class index) or key.json.
    rows = []
    for s in range(2):
        with tarfile.open(os.path.join(d, f"wds-{s:06d}.tar"), "w") as tf:
            for k in range(5):
                key = f"s{s}/sample{k:03d}"
                lab = (s * 5 + k) % 3
                add(tf, key + ".jpg", jpeg(img(20, 20, 200 + 5 * s + k)))
                if k % 2:
                    add(tf, key + ".json", json.dumps({"label": lab}).encode())
                else:
                    add(tf, key + ".cls", f"{lab}\n".encode())
                rows.append([key, CLASSES[lab]])
    exp["wds"] = rows
    # Flat archive + labels: 'name label' lines and one label per line (sorted names).
    rows, lines, ids = [], [], []
    with tarfile.open(os.path.join(d, "flat.tar"), "w") as tf:
        for k in [3, 1, 4, 0, 2]:
            n = f"val/ILSVRC2012_val_{k:08d}.JPEG"
            add(tf, n, jpeg(img(24, 24, 300 + k)))
            c = CLASSES[k % 3]
            rows.append([n[:-5], c])
            lines.append(f"ILSVRC2012_val_{k:08d}.JPEG {c}")
    for k in range(5):
        ids.append(str(k % 3))
    with open(os.path.join(d, "flat_labels.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(d, "flat_ids.txt"), "w") as f:
        f.write("\n".join(ids) + "\n")
    exp["flat"] = rows
    with open(os.path.join(d, "expect.json"), "w") as f:
        json.dump(exp, f)


def odd(d):
    """Awkward files; expect.json lists which must decode and to what shape."""
    base = img(64, 48, 1)
    cmyk = img(32, 32, 2).convert("CMYK")
    good = {
        "progressive.JPEG": (jpeg(base, progressive=True), [48, 64, 3]),
        "gray.JPEG": (jpeg(img(40, 30, 3, "L")), [30, 40, 3]),
        "cmyk.JPEG": (jpeg(cmyk), [32, 32, 3]),
        "444.JPEG": (jpeg(base, subsampling=0), [48, 64, 3]),
        "one.JPEG": (jpeg(img(1, 1, 4)), [1, 1, 3]),
        "large.JPEG": (jpeg(img(6000, 4000, 5), quality=75), [4000, 6000, 3]),
        "tall.JPEG": (jpeg(img(10, 3000, 6)), [3000, 10, 3]),
        "png_named.JPEG": (png(img(30, 20, 7)), [20, 30, 3]),
    }
    full = jpeg(img(64, 48, 8))
    bad = {
        "truncated.JPEG": (full[: len(full) // 2], "truncated JPEG"),
        "empty.JPEG": (b"", "empty image"),
        "garbage.JPEG": (b"this is not an image at all" * 10, "not a JPEG"),
    }
    with tarfile.open(os.path.join(d, "odd.tar"), "w") as tf:
        for n, (data, _) in list(good.items()) + list(bad.items()):
            add(tf, "odd/" + n, data)
    exp = {"good": {"odd/" + k[: k.index(".")]: v[1] for k, v in good.items()},
           "bad": {"odd/" + k[: k.index(".")]: v[1] for k, v in bad.items()}}
    with open(os.path.join(d, "odd.json"), "w") as f:
        json.dump(exp, f)
    # CMYK reference: PIL's own RGB view of the same file, for a colour check.
    Image.open(io.BytesIO(good["cmyk.JPEG"][0])).convert("RGB").save(os.path.join(d, "cmyk_ref.png"))


def quality(d):
    """q.jpg (500x375, q90) and float references: full-resolution PIL decode, resize in
    float per channel ('F' mode, antialiased bilinear) — no DCT scaling, no u8 rounding
    between passes."""
    data = jpeg(img(500, 375, 9), quality=90)
    with tarfile.open(os.path.join(d, "q.tar"), "w") as tf:
        add(tf, "q/q.jpg", data)
    src = Image.open(io.BytesIO(data)).convert("RGB")
    for size, crop in [(224, 224), (64, 0), (100, 96)]:
        w, h = src.size
        nw, nh = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
        chans = [np.asarray(ch.convert("F").resize((nw, nh), Image.BILINEAR)) for ch in src.split()]
        ref = np.stack(chans, -1)
        if crop:
            top, left = int(round((nh - crop) / 2.0)), int(round((nw - crop) / 2.0))
            ref = ref[top:top + crop, left:left + crop]
        np.save(os.path.join(d, f"ref_{size}_{crop}.npy"), ref)


def read_stream(path):
    """Parses an uncompressed lgp stream (formats/STREAM.md) into (meta, [records])."""
    b = open(path, "rb").read()
    assert b[:4] == b"LGPS", "not a raw lgp stream (use --uncompressed)"
    (ml,) = struct.unpack_from("<I", b, 8)
    meta = json.loads(b[12:12 + ml])
    p, recs = 12 + ml + 4, []
    dts = {0: ("u1", 1), 1: ("i1", 1), 2: ("<i4", 4), 3: ("<i8", 8), 6: ("<f4", 4), 7: ("<f8", 8), 8: ("S", 1), 9: ("S", 1)}
    while b[p:p + 4] == b"LREC":
        (bl,) = struct.unpack_from("<Q", b, p + 4)
        body, q = b[p + 12:p + 12 + bl], 0
        (kl,) = struct.unpack_from("<I", body, q)
        key = body[4:4 + kl].decode()
        q = 4 + kl
        (nt,) = struct.unpack_from("<I", body, q)
        q += 4
        ts = {}
        for _ in range(nt):
            (nl,) = struct.unpack_from("<H", body, q)
            name = body[q + 2:q + 2 + nl].decode()
            q += 2 + nl
            dt, nd = body[q], body[q + 1]
            shape = struct.unpack_from("<%dQ" % nd, body, q + 2)
            q += 2 + 8 * nd
            (nb,) = struct.unpack_from("<Q", body, q)
            q += 8
            q += (-q) % 8
            raw = body[q:q + nb]
            q += nb
            ts[name] = (dt, list(shape), raw)
        recs.append((key, ts))
        p += 12 + bl + 4
    assert b[p:p + 4] == b"LEND", "no end record"
    return meta, recs


def as_array(t):
    dt, shape, raw = t
    code = {0: "u1", 3: "<i8"}[dt]
    return np.frombuffer(raw, code).reshape(shape)


def dump(path):
    _, recs = read_stream(path)
    for key, ts in recs:
        ints = {n: int(as_array(t)) for n, t in ts.items() if t[0] == 3 and t[1] == []}
        print(json.dumps({"key": key, "tensors": {n: [t[0], t[1]] for n, t in ts.items()}, "ints": ints}))


def mae(path, ref_path):
    _, recs = read_stream(path)
    got = as_array(recs[0][1]["image"]).astype(np.float64)
    ref = np.load(ref_path).astype(np.float64)
    if got.shape != ref.shape:
        print(f"shape {got.shape} != {ref.shape}")
        sys.exit(1)
    print("%.4f %.4f" % (np.abs(got - ref).mean(), np.abs(got - ref).max()))


def check(path, expect_path, layout):
    """Every expected (key, class) exactly once; labels through the stream's class list
    (or the fixture's CLASSES when the stream has none); encoded bytes open in PIL."""
    meta, recs = read_stream(path)
    classes = meta.get("classes") or CLASSES
    exp = sorted(map(tuple, json.load(open(expect_path))[layout]))
    got = []
    for key, ts in recs:
        got.append((key, classes[int(as_array(ts["label"]))]))
        Image.open(io.BytesIO(ts["jpeg"][2])).load()
    if sorted(got) != exp:
        print("got ", sorted(got))
        print("want", exp)
        sys.exit(1)
    print("ok %d records" % len(got))


def sorted_tar(d, nclass, per):
    """sorted.tar: ImageNet's train layout in class order (wnid-sorted inner tars, each
    class's images together), a pax-named member in one class and a loose README; the
    same bytes as sorted.tar.gz; expect.txt lists 'key class' in archive order."""
    rows = []
    with tarfile.open(os.path.join(d, "sorted.tar"), "w", format=tarfile.PAX_FORMAT) as outer:
        add(outer, "README.txt", b"not an image\n")
        for ci in range(nclass):
            w = "n%08d" % (1000 + ci)
            bio = io.BytesIO()
            with tarfile.open(fileobj=bio, mode="w", format=tarfile.GNU_FORMAT) as inner:
                for k in range(per):
                    name = f"{w}_{k}.JPEG" if (ci, k) != (3, 1) else f"{w}_{'x' * 120}_{k}.JPEG"
                    add(inner, name, jpeg(img(24 + k % 3, 16 + ci % 4, 1000 * ci + k), quality=70))
                    rows.append(f"{w}/{name.rsplit('.', 1)[0]} {w}")
            add(outer, f"{w}.tar", bio.getvalue())
    with open(os.path.join(d, "sorted.tar"), "rb") as f, gzip.open(os.path.join(d, "sorted.tar.gz"), "wb") as g:
        g.write(f.read())
    with open(os.path.join(d, "expect.txt"), "w") as f:
        f.write("\n".join(rows) + "\n")


def records(path):
    """'epoch index label key sha1-of-bytes' per record of an uncompressed stream."""
    import hashlib
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from lgpstream import read_stream
    with open(path, "rb") as f:
        data = f.read()
    for _, recs in read_stream(data):
        for key, t in recs:
            img = t.get("jpeg", t.get("png", t.get("image")))
            h = hashlib.sha1(np.asarray(img).tobytes()).hexdigest()[:16]
            print(int(np.asarray(t["epoch"]).ravel()[0]), int(np.asarray(t["index"]).ravel()[0]),
                  int(np.asarray(t["label"]).ravel()[0]), key, h)


def extract(tar, d):
    with tarfile.open(tar) as outer:
        for m in outer.getmembers():
            if not m.isfile():
                continue
            data = outer.extractfile(m).read()
            if not m.name.lower().endswith(".tar"):
                os.makedirs(os.path.join(d, os.path.dirname(m.name)), exist_ok=True)
                with open(os.path.join(d, m.name), "wb") as f:
                    f.write(data)
                continue
            sub = os.path.join(d, os.path.basename(m.name)[:-4])
            with tarfile.open(fileobj=io.BytesIO(data)) as inner:
                for im in inner.getmembers():
                    if im.isfile():
                        os.makedirs(os.path.join(sub, os.path.dirname(im.name)), exist_ok=True)
                        with open(os.path.join(sub, im.name), "wb") as f:
                            f.write(inner.extractfile(im).read())


def tartree(d, out):
    names = []
    for root, dirs, files in os.walk(d):  # followlinks=False: symlinked folders are not entered
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        for fn in files:
            p = os.path.join(root, fn)
            if fn.startswith(".") or fn.lower().endswith(".tar") or not os.path.isfile(p):
                continue
            names.append(os.path.relpath(p, d))
    names.sort(key=os.fsencode)
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        for n in names:
            with open(os.path.join(d, n), "rb") as f:
                add(tf, n, f.read())


def idxcheck(images, labels, idx):
    with gzip.open(images) as f:
        im = f.read()
    with gzip.open(labels) as f:
        lb = f.read()
    n, h, w = struct.unpack(">III", im[4:16])
    for i in idx:
        px = np.frombuffer(im, np.uint8, h * w, 16 + i * h * w)
        print(i, lb[8 + i], int(px.astype(np.int64).sum()))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "layouts":
        layouts(sys.argv[2])
    elif cmd == "odd":
        odd(sys.argv[2])
    elif cmd == "quality":
        quality(sys.argv[2])
    elif cmd == "dump":
        dump(sys.argv[2])
    elif cmd == "mae":
        mae(sys.argv[2], sys.argv[3])
    elif cmd == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "sorted":
        sorted_tar(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "records":
        records(sys.argv[2])
    elif cmd == "extract":
        extract(sys.argv[2], sys.argv[3])
    elif cmd == "tartree":
        tartree(sys.argv[2], sys.argv[3])
    elif cmd == "idxcheck":
        idxcheck(sys.argv[2], sys.argv[3], [int(x) for x in sys.argv[4:]])
    else:
        sys.exit(__doc__)

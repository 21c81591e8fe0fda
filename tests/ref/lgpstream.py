#!/usr/bin/python3
"""lgpstream.py — an independent Python implementation of the raw lgp stream format
(formats/STREAM.md), used by tests to make fixtures and to check what the C programs
write. Raw streams only (pipe a zstd stream through `zstd -d` first).

  lgpstream.py fmnist N OUT     write the first N Fashion-MNIST training images as
                                records {image u8 [28,28,1], label i64, index i64}
  lgpstream.py dump IN          print key and tensor names/shapes of every record
  lgpstream.py drop IN OUT A B  copy a one-part raw stream without its records A..B-1
  lgpstream.py damage IN OUT A B  the same stream with the checksums of records A..B-1 broken
"""
import gzip
import json
import struct
import sys

import numpy as np

DTYPES = ["u8", "i8", "i32", "i64", "f16", "bf16", "f32", "f64", "str", "json"]
NP = {"u8": np.uint8, "i8": np.int8, "i32": np.int32, "i64": np.int64, "f16": np.float16,
      "f32": np.float32, "f64": np.float64}

_T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _T.append(c)


def crc32c(data, crc=0):
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def encode_record(key, tensors):
    """tensors: list of (name, dtype name, shape, bytes)."""
    k = key.encode()
    body = bytearray(struct.pack("<I", len(k)) + k + struct.pack("<I", len(tensors)))
    for name, dt, shape, data in tensors:
        n = name.encode()
        body += struct.pack("<H", len(n)) + n + struct.pack("<BB", DTYPES.index(dt), len(shape))
        body += b"".join(struct.pack("<Q", s) for s in shape) + struct.pack("<Q", len(data))
        body += b"\0" * ((8 - len(body) % 8) % 8)
        body += data
    return b"LREC" + struct.pack("<Q", len(body)) + bytes(body) + struct.pack("<I", crc32c(body))


def write_stream(f, meta, records):
    m = json.dumps(meta, separators=(",", ":")).encode()
    h = b"LGPS" + struct.pack("<BBHI", 1, 0, 0, len(m)) + m
    f.write(h + struct.pack("<I", crc32c(h)))
    n = 0
    for key, tensors in records:
        f.write(encode_record(key, tensors))
        n += 1
    e = b"LEND" + struct.pack("<Q", n)
    f.write(e + struct.pack("<I", crc32c(e)))


def read_stream(data):
    """Yields (meta, [(key, {name: ndarray or str})]) per concatenated raw stream."""
    p = 0
    while p < len(data):
        assert data[p:p + 4] == b"LGPS", "bad magic"
        (mlen,) = struct.unpack_from("<I", data, p + 8)
        meta = json.loads(data[p + 12:p + 12 + mlen])
        assert struct.unpack_from("<I", data, p + 12 + mlen)[0] == crc32c(data[p:p + 12 + mlen])
        p += 16 + mlen
        recs = []
        while data[p:p + 4] == b"LREC":
            (blen,) = struct.unpack_from("<Q", data, p + 4)
            body = data[p + 12:p + 12 + blen]
            assert struct.unpack_from("<I", data, p + 12 + blen)[0] == crc32c(body), "record crc"
            recs.append(decode_body(body))
            p += 16 + blen
        assert data[p:p + 4] == b"LEND", "no end record"
        (n,) = struct.unpack_from("<Q", data, p + 4)
        assert n == len(recs), "count"
        p += 16
        yield meta, recs


def decode_body(body):
    (klen,) = struct.unpack_from("<I", body, 0)
    key = body[4:4 + klen].decode()
    q = 4 + klen
    (nt,) = struct.unpack_from("<I", body, q)
    q += 4
    out = {}
    for _ in range(nt):
        (nl,) = struct.unpack_from("<H", body, q)
        name = body[q + 2:q + 2 + nl].decode()
        q += 2 + nl
        dt, nd = body[q], body[q + 1]
        q += 2
        shape = struct.unpack_from("<%dQ" % nd, body, q)
        q += 8 * nd
        (nb,) = struct.unpack_from("<Q", body, q)
        q += 8
        q += (8 - q % 8) % 8
        raw = body[q:q + nb]
        q += nb
        d = DTYPES[dt]
        out[name] = raw.decode() if d in ("str", "json") else (
            np.frombuffer(raw, dtype=NP[d]).reshape(shape) if d in NP else raw)
    return key, out


FMNIST = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]


def fmnist(n, out, split="train"):
    with gzip.open(f"{FMNIST}/{split}-images-idx3-ubyte.gz") as f:
        img = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)
    with gzip.open(f"{FMNIST}/{split}-labels-idx1-ubyte.gz") as f:
        lab = np.frombuffer(f.read(), np.uint8, offset=8)
    recs = ((f"{split}-{i:05d}", [("image", "u8", (28, 28, 1), img[i].tobytes()),
                                  ("label", "i64", (), struct.pack("<q", int(lab[i]))),
                                  ("index", "i64", (), struct.pack("<q", i))]) for i in range(n))
    with open(out, "wb") as f:
        write_stream(f, {"classes": CLASSES, "records_per_epoch": n, "source": "lgpstream.py"}, recs)


def drop(src, out, a, b):
    """Copies the records' bytes as they are (same header, end record recounted)."""
    with open(src, "rb") as f:
        data = f.read()
    (mlen,) = struct.unpack_from("<I", data, 8)
    p = 16 + mlen
    parts, n, i = [data[:p]], 0, 0
    while data[p:p + 4] == b"LREC":
        (blen,) = struct.unpack_from("<Q", data, p + 4)
        if not a <= i < b:
            parts.append(data[p:p + 16 + blen])
            n += 1
        p += 16 + blen
        i += 1
    e = b"LEND" + struct.pack("<Q", n)
    with open(out, "wb") as f:
        f.write(b"".join(parts) + e + struct.pack("<I", crc32c(e)))


def damage(src, out, a, b):
    """Copies a raw stream with the checksums of records a..b-1 broken (framing intact)."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    (mlen,) = struct.unpack_from("<I", data, 8)
    p, i = 16 + mlen, 0
    while data[p:p + 4] == b"LREC":
        (blen,) = struct.unpack_from("<Q", data, p + 4)
        if a <= i < b:
            data[p + 12 + blen] ^= 0xFF
        p += 16 + blen
        i += 1
    with open(out, "wb") as f:
        f.write(bytes(data))


def main():
    if sys.argv[1] == "fmnist":
        fmnist(int(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "train")
    elif sys.argv[1] == "drop":
        drop(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "damage":
        damage(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "dump":
        with open(sys.argv[2], "rb") as f:
            for meta, recs in read_stream(f.read()):
                print("meta", json.dumps(meta))
                for key, t in recs:
                    print(key, " ".join(f"{k}:{getattr(v, 'shape', len(v))}" for k, v in t.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

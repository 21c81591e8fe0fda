"""Read lgp tensor streams (formats/STREAM.md) from Python: records as NumPy arrays.

Needs only NumPy and zstandard (Debian: python3-numpy, python3-zstandard); no other
lgp code. Copy this file next to your script, or put lgp's formats/ folder on
PYTHONPATH.

    import lgpstream

    with lgpstream.open("test.emb") as r:          # a path, "-" (stdin) or a binary file
        print(r.meta["embed"])                     # header metadata of the stream (a dict)
        for key, t in r:                           # every record of every stream
            print(key, t["label"], t["feature"].shape)

    for key, t, meta in lgpstream.records(sys.stdin.buffer):   # the same, as a generator
        ...
    keys, arrays, meta = lgpstream.stack("test.emb")  # arrays["feature"]: [N, C]

A stream is raw (starts with b"LGPS") or zstd-compressed (one or more frames); streams
may be concatenated (`cat a.lgps b.lgps`), raw and zstd mixed, and a Reader reads
through all of them: ``r.meta`` is the header of the stream the last record came from,
``r.metas`` every header seen so far, ``r.count`` the records read, ``r.compressed()``
whether that stream is zstd.

A record is returned as ``(key, tensors)``: the key (str) and a dict from tensor name
to value, in the record's order:

  - numbers (u8, i8, i32, i64, f16, f32, f64): a NumPy array of the tensor's dtype and
    shape (0-d for a scalar such as ``label``: ``int(t["label"])``). The arrays are
    read-only views of the record's bytes; ``.copy()`` one to modify it.
  - bf16 (NumPy has no bfloat16): a float32 array with the same values.
  - str and json: a Python str (``json.loads`` the latter; a checkpoint's ``__meta__``).

What the C reader checks is checked here too: magic, version, the limits of STREAM.md,
field sizes, header and record CRC-32C, the end record's count, and (by zstandard) each
zstd frame's content checksum. A problem raises StreamError("<name>: record N:
problem"); a stream that ends early is "truncated". The CRC-32C runs in pure Python
(about 15 MB/s): ``check_crc=False`` is much faster, and for zstd streams still detects
damage, as each frame's checksum covers every byte (a raw stream then has no check).

lgp-inspect --to-npz writes the same arrays as ``stack`` into a file np.load reads.
"""
import builtins
import json
import struct
import sys

import numpy as np
import zstandard

__all__ = ["StreamError", "Reader", "open", "records", "stack", "crc32c"]

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_DTYPES = {0: "<u1", 1: "<i1", 2: "<i4", 3: "<i8", 4: "<f2", 5: "bf16", 6: "<f4", 7: "<f8",
           8: "str", 9: "json"}
_SIZES = {0: 1, 1: 1, 2: 4, 3: 8, 4: 2, 5: 2, 6: 4, 7: 8, 8: 1, 9: 1}
_MAX_META, _MAX_KEY, _MAX_NAME, _MAX_NDIM, _MAX_TENSORS = 64 << 20, 4096, 1024, 8, 65536
_MAX_BODY = 1 << 40


class StreamError(ValueError):
    """A stream that is not an lgp stream, is damaged, or ends early."""


def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC_T = _crc_table()


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli) of bytes-like data, as STREAM.md uses it."""
    c = crc ^ 0xFFFFFFFF
    t = _CRC_T
    for b in bytes(data):
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


class _Bytes:
    """The input as the parser sees it: raw runs as they are, runs of zstd frames
    decompressed. Raw input is handed over only as far as the parser asks, so at a
    stream boundary the next bytes (raw or zstd) are still undecided."""

    def __init__(self, f, name):
        self.f, self.name = f, name
        self.raw = bytearray()   # input read from f, not yet used
        self.buf = bytearray()   # bytes for the parser: buf[pos:] not yet read
        self.pos = 0
        self.dec = None          # decompressor of the zstd frame being read
        self.zstd = False        # inside a run of zstd frames
        self.end = False         # f is exhausted
        self.offset = 0          # bytes handed to the parser so far

    def _fill(self, n):
        while len(self.raw) < n and not self.end:
            # at most 16 MiB a read: a lying length ends in "truncated", not a huge allocation
            chunk = self.f.read(min(max(n - len(self.raw), 1 << 16), 1 << 24))
            if not chunk:
                self.end = True
            else:
                self.raw += chunk

    def _start_frame(self):
        """Does a zstd frame start here (skippable frames are passed over)?"""
        while True:
            self._fill(8)
            magic = int.from_bytes(self.raw[:4], "little") if len(self.raw) >= 8 else 0
            if 0x184D2A50 <= magic <= 0x184D2A5F:
                skip = 8 + int.from_bytes(self.raw[4:8], "little")
                self._fill(skip)
                if len(self.raw) < skip:
                    return False
                del self.raw[:skip]
                continue
            if self.raw[:4] == _ZSTD_MAGIC:
                self.dec = zstandard.ZstdDecompressor().decompressobj()
                return True
            return False

    def _more(self, want):
        """Appends more bytes to buf: False at the end of the input."""
        if self.zstd and self.dec is None and not self._start_frame():
            self.zstd = False  # the frames ended: raw bytes follow (or nothing)
        if not self.zstd:
            self._fill(want)
            if not self.raw:
                return False
            take = min(want, len(self.raw))
            self.buf += self.raw[:take]
            del self.raw[:take]
            return True
        self._fill(1)
        if not self.raw:
            raise StreamError(f"{self.name}: truncated (a zstd frame ends early)")
        data = bytes(self.raw[:1 << 14])  # small bites: highly compressed data stays small
        del self.raw[:len(data)]
        try:
            out = self.dec.decompress(data)
        except zstandard.ZstdError as e:
            raise StreamError(f"{self.name}: {e}") from None
        if self.dec.eof:
            self.raw[:0] = self.dec.unused_data
            self.dec = None
        self.buf += out
        return True

    def boundary(self):
        """Where a stream may start: picks raw or zstd from the next bytes. False when the
        input has ended."""
        if len(self.buf) > self.pos:
            return True
        if not (self.zstd and self.dec is not None):
            self.zstd = self._start_frame()
        while len(self.buf) == self.pos:
            if not self._more(1):
                return False
        return True

    def read(self, n):
        """Exactly n bytes, or fewer at the end of the input."""
        while len(self.buf) - self.pos < n and self._more(n - (len(self.buf) - self.pos)):
            pass
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += len(out)
        self.offset += len(out)
        if self.pos > (1 << 20) and 2 * self.pos > len(self.buf):  # drop what was read, now and then
            del self.buf[:self.pos]
            self.pos = 0
        return out


def _decode_body(body, where):
    """(key, tensors) from a record body; raises StreamError naming the field."""
    def need(at, n):
        if at + n > len(body):
            raise StreamError(f"{where}: field past the end of the record body")

    need(0, 4)
    (klen,) = struct.unpack_from("<I", body, 0)
    if klen > _MAX_KEY:
        raise StreamError(f"{where}: key of {klen} bytes exceeds {_MAX_KEY}")
    need(4, klen + 4)
    key = body[4:4 + klen].decode("utf-8", "replace")
    (nt,) = struct.unpack_from("<I", body, 4 + klen)
    if nt > _MAX_TENSORS:
        raise StreamError(f"{where}: {nt} tensors exceed {_MAX_TENSORS}")
    q, out = 8 + klen, {}
    for _ in range(nt):
        need(q, 2)
        (nl,) = struct.unpack_from("<H", body, q)
        if nl > _MAX_NAME:
            raise StreamError(f"{where}: tensor name of {nl} bytes exceeds {_MAX_NAME}")
        need(q + 2, nl + 2)
        name = body[q + 2:q + 2 + nl].decode("utf-8", "replace")
        code, nd = body[q + 2 + nl], body[q + 3 + nl]
        q += 4 + nl
        if code not in _DTYPES or nd > _MAX_NDIM or (code >= 8 and nd != 1) or "\0" in name:
            raise StreamError(f"{where}: tensor '{name}': bad dtype {code}, rank {nd} or name")
        need(q, 8 * nd + 8)
        shape = struct.unpack_from(f"<{nd}Q", body, q)
        (nbytes,) = struct.unpack_from("<Q", body, q + 8 * nd)
        q += 8 * nd + 8
        q += -q % 8
        numel = 1
        for s in shape:
            numel *= s
        if numel * _SIZES[code] != nbytes or q + nbytes > len(body):
            raise StreamError(f"{where}: tensor '{name}': {nbytes} bytes do not fit its shape {list(shape)}")
        if name in out:
            raise StreamError(f"{where}: tensor '{name}' appears twice")
        out[name] = _value(body, q, code, shape, nbytes)
        q += nbytes
    if q != len(body):
        raise StreamError(f"{where}: {len(body) - q} unused bytes at the record end")
    return key, out


def _value(body, at, code, shape, nbytes):
    dt = _DTYPES[code]
    if dt in ("str", "json"):
        return body[at:at + nbytes].decode("utf-8", "replace")
    if dt == "bf16":  # the high half of a float32
        u = np.frombuffer(body, "<u2", nbytes // 2, at).astype("<u4") << 16
        return u.view("<f4").reshape(shape)
    return np.frombuffer(body, dt, nbytes // _SIZES[code], at).reshape(shape)


class Reader:
    """Iterates (key, tensors) over every record of every stream in src (a path, "-"
    for stdin, or a binary file object, which is not closed). See the module doc."""

    def __init__(self, src, check_crc=True):
        if isinstance(src, (str, bytes)) or hasattr(src, "__fspath__"):
            self.name = "stdin" if src == "-" else str(src)
            self._f = sys.stdin.buffer if src == "-" else builtins.open(src, "rb")
            self._own = src != "-"
        else:
            self.name, self._f, self._own = getattr(src, "name", "<stream>"), src, False
        self.check_crc = check_crc
        self._in = _Bytes(self._f, self.name)
        self.meta, self.metas, self.count = None, [], 0
        self._index = 0  # records of the current stream
        if not self._header():
            raise StreamError(f"{self.name}: empty input (not an lgp stream)")

    def _fail(self, what):
        place = f"record {self._index}" if self.meta is not None else f"byte {self._in.offset}"
        raise StreamError(f"{self.name}: {place}: {what}")

    def _header(self):
        """Reads a stream header if the input goes on: True, or False at its end."""
        if not self._in.boundary():
            return False
        self.meta = None
        h = self._in.read(12)
        if h[:4] != b"LGPS":
            self._fail("not an lgp stream (bad magic)")
        if len(h) < 12:
            self._fail("truncated")
        version, flags, _, mlen = struct.unpack_from("<BBHI", h, 4)
        if version != 1:
            self._fail(f"unsupported version {version}")
        if mlen > _MAX_META:
            self._fail(f"metadata of {mlen} bytes exceeds {_MAX_META}")
        m = self._in.read(mlen + 4)
        if len(m) < mlen + 4:
            self._fail("truncated")
        if self.check_crc and struct.unpack_from("<I", m, mlen)[0] != crc32c(h + m[:mlen]):
            self._fail("not an lgp stream (bad header checksum)")
        self.meta = json.loads(m[:mlen])
        self.metas.append(self.meta)
        self._zstd = self._in.zstd
        self._index = 0
        return True

    def _next(self):
        """The next record of the current stream, or None after its end record."""
        tag = self._in.read(4)
        if tag == b"LEND":
            e = self._in.read(12)
            if len(e) < 12:
                self._fail("truncated")
            (n,) = struct.unpack_from("<Q", e, 0)
            if self.check_crc and struct.unpack_from("<I", e, 8)[0] != crc32c(tag + e[:8]):
                self._fail("end record checksum mismatch")
            if n != self._index:
                self._fail(f"end record counts {n} records, {self._index} were read")
            return None
        if tag != b"LREC":
            self._fail("truncated" if len(tag) < 4 else f"bad record tag {tag!r}")
        b = self._in.read(8)
        if len(b) < 8:
            self._fail("truncated")
        (blen,) = struct.unpack("<Q", b)
        if blen > _MAX_BODY:
            self._fail(f"record body of {blen} bytes exceeds 2^40")
        body = self._in.read(blen + 4)
        if len(body) < blen + 4:
            self._fail("truncated")
        if self.check_crc and struct.unpack_from("<I", body, blen)[0] != crc32c(memoryview(body)[:blen]):
            self._fail("record checksum mismatch")
        rec = _decode_body(body[:blen], f"{self.name}: record {self._index}")
        self._index += 1
        self.count += 1
        return rec

    def __iter__(self):
        while True:
            rec = self._next()
            if rec is not None:
                yield rec
            elif not self._header():
                return

    def compressed(self):
        """Is the stream being read (the one r.meta describes) zstd-compressed?"""
        return self._zstd

    def close(self):
        if self._own:
            self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open(src, check_crc=True):  # noqa: A001 (the module is used as lgpstream.open)
    """A Reader over src: a path, "-" (stdin) or a binary file object."""
    return Reader(src, check_crc)


def records(src, check_crc=True):
    """Yields (key, tensors, meta) for every record of every stream in src."""
    with Reader(src, check_crc) as r:
        for key, t in r:
            yield key, t, r.meta


def stack(src, check_crc=True):
    """All records at once, as lgp-inspect --to-npz stacks them: (keys, arrays, meta),
    keys a list of str, arrays a dict name -> array [N, ...] (a list for text tensors),
    meta the first stream's header. Every record must hold the same tensors with the
    same shapes; StreamError names the first that does not."""
    keys, cols = [], {}
    with Reader(src, check_crc) as r:
        meta = r.meta
        for key, t in r:
            if keys and set(t) != set(cols):
                raise StreamError(f"{r.name}: record {len(keys)} '{key}': tensors {sorted(t)}, "
                                  f"the first record's {sorted(cols)}")
            for name, v in t.items():
                col = cols.setdefault(name, [])
                if col and not isinstance(v, str) and (v.shape != col[0].shape or v.dtype != col[0].dtype):
                    raise StreamError(f"{r.name}: record {len(keys)} '{key}': tensor '{name}' is "
                                      f"{v.dtype} {list(v.shape)}, the first record's {col[0].dtype} "
                                      f"{list(col[0].shape)}")
                col.append(v)
            keys.append(key)
    arrays = {n: c if c and isinstance(c[0], str) else np.stack(c) for n, c in cols.items()}
    return keys, arrays, meta

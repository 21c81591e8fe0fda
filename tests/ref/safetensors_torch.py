#!/usr/bin/python3
"""safetensors_torch.py — the PyTorch side of the safetensors interchange test.

Debian has no safetensors package, so this script reads and writes the format itself
(8-byte little-endian header length, JSON header, byte buffer) with torch tensors.

  safetensors_torch.py write OUT      write a fixed set of tensors (every dtype lgp knows)
  safetensors_torch.py check IN       load IN and compare with the same fixed set
"""
import json
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "I8": torch.int8,
          "U8": torch.uint8}
NAMES = {v: k for k, v in DTYPES.items()}


def fixture():
    g = torch.Generator().manual_seed(1234)
    t = {
        "patch_embed.proj.weight": torch.randn(8, 1, 4, 4, generator=g),
        "blocks.0.attn.qkv.weight": torch.randn(24, 8, generator=g),
        "blocks.0.attn.qkv.bias": torch.randn(24, generator=g),
        "cls_token": torch.randn(1, 1, 8, generator=g),
        "half": torch.randn(3, 5, generator=g).half(),
        "bhalf": torch.randn(7, generator=g).bfloat16(),
        "double": torch.randn(2, 2, generator=g).double(),
        "step": torch.tensor(12345, dtype=torch.int64),
        "ids": torch.arange(-3, 3, dtype=torch.int32),
        "small": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "pixels": torch.randint(0, 256, (2, 3, 1), generator=g, dtype=torch.uint8),
        "empty": torch.zeros(0, 4),
    }
    return t


def save(path, tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        c = t.contiguous()
        b = (c.view(torch.int16) if t.dtype == torch.bfloat16 else c).numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    buf = data[8 + n:]
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        dt = DTYPES[e["dtype"]]
        raw = bytearray(buf[b:end])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.zeros(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if raw else torch.zeros(0, dtype=dt)
        out[name] = t.reshape(e["shape"])
    return out, meta


def main():
    mode, path = sys.argv[1], sys.argv[2]
    want = fixture()
    if mode == "write":
        save(path, want, {"format": "pt", "writer": "torch"})
        return 0
    got, meta = load(path)
    bad = [k for k in want if k not in got or got[k].dtype != want[k].dtype
           or got[k].shape != want[k].shape or not torch.equal(got[k], want[k])]
    extra = [k for k in got if k not in want]
    if bad or extra:
        print(f"mismatch: {bad} unexpected: {extra}", file=sys.stderr)
        return 1
    print(f"ok: {len(got)} tensors identical, metadata keys {sorted(meta)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

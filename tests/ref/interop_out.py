#!/usr/bin/python3
"""interop_out.py — the reading side of t1200 (lgp-inspect --to-npz / --to-safetensors,
formats/lgpstream.py), with NumPy, zstandard and PyTorch only: no lgp code but the
reader under test (formats/lgpstream.py) and the test-only stream writer
(tests/ref/lgpstream.py) for hand-made fixtures.

  interop_out.py handmade DIR          DIR/hand.lgps (raw; every numeric dtype NumPy has,
                                       0-d and n-d, a str tensor, non-ASCII keys) with
                                       DIR/hand.expected.npz written by np.savez; also
                                       DIR/var.lgps (a shape that changes at record 1)
                                       and DIR/bf16.lgps
  interop_out.py same-npz A B          A and B (np.load, no pickle) hold the same arrays:
                                       names, dtypes, shapes, values
  interop_out.py check-npz NPZ STREAM  NPZ = the stream stacked by formats/lgpstream.py;
                                       prints "name dtype shape" per array
  interop_out.py check-st ST STREAM    the same for a safetensors file read by hand (keys
                                       from __metadata__ "keys", header from "lgp_meta")
  interop_out.py encoder IMGS ST FEAT [ST FEAT ...]
                                       each encoder-only ST holds exactly the timm ViT
                                       encoder keys, loads into a plain PyTorch ViT with
                                       load_state_dict(strict=True), and its cls token
                                       after the final norm on IMGS equals FEAT's
                                       features (lgp-embed --pool cls) to 1e-5
  interop_out.py count STREAM|-        "records streams compressed" as formats/lgpstream.py
                                       reads them (exit 1 with the error on a bad stream)
"""
import importlib.util
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


reader = _module(os.path.join(HERE, "..", "..", "formats", "lgpstream.py"), "lgpstream_reader")
ST_DT = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
         "I8": np.int8, "U8": np.uint8}


def handmade(d):
    ref = _module(os.path.join(HERE, "lgpstream.py"), "lgpstream_ref")
    rng = np.random.default_rng(5)
    keys = ["α-0", "b", "ccc/😀"]
    caps = ["", "naïve", "漢字 and more"]
    cols = {"x": rng.standard_normal((3, 2, 3)).astype(np.float32),
            "n": np.array([-7, 0, 2**31 - 1], np.int32),
            "h": rng.standard_normal((3, 4)).astype(np.float16),
            "u": rng.integers(0, 256, (3, 2), dtype=np.uint8),
            "s": np.array([-128, 0, 127], np.int8),
            "d": np.array([[np.pi], [-np.inf], [1e300]], np.float64),
            "label": np.array([3, -1, 2**40], np.int64)}
    codes = {np.float32: "f32", np.int32: "i32", np.float16: "f16", np.uint8: "u8", np.int8: "i8",
             np.float64: "f64", np.int64: "i64"}
    meta = {"source": "interop_out.py", "note": "hand-made"}
    recs = [(keys[i], [(n, codes[a.dtype.type], a.shape[1:], a[i].tobytes()) for n, a in cols.items()] +
             [("caption", "str", (len(caps[i].encode()),), caps[i].encode())]) for i in range(3)]
    with open(os.path.join(d, "hand.lgps"), "wb") as f:
        ref.write_stream(f, meta, recs)
    np.savez(os.path.join(d, "hand.expected.npz"), key=np.array(keys), **cols, caption=np.array(caps),
             __meta__=np.array(json.dumps(meta, separators=(",", ":"))))
    x = np.zeros(3, np.float32).tobytes()
    var = [("a", [("x", "f32", (2, 3), np.zeros(6, np.float32).tobytes())]), ("b", [("x", "f32", (3, 3), x * 3)])]
    with open(os.path.join(d, "var.lgps"), "wb") as f:
        ref.write_stream(f, {}, var)
    with open(os.path.join(d, "bf16.lgps"), "wb") as f:
        ref.write_stream(f, {}, [("a", [("w", "bf16", (2,), struct.pack("<HH", 0x3F80, 0xC000))])])


def same_npz(a, b):
    za, zb = np.load(a, allow_pickle=False), np.load(b, allow_pickle=False)
    bad = sorted(set(za.files) ^ set(zb.files))
    for n in sorted(set(za.files) & set(zb.files)):
        x, y = za[n], zb[n]
        if x.dtype != y.dtype or x.shape != y.shape or not np.array_equal(x, y):
            bad.append(f"{n}: {x.dtype} {x.shape} vs {y.dtype} {y.shape}")
        else:
            print(n, x.dtype, x.shape)
    for b_ in bad:
        print("mismatch:", b_)
    return 1 if bad else 0


def compare(stream, arrays, got_keys, got_meta):
    """The arrays, keys and header read from a file against the stream as
    formats/lgpstream.py stacks it."""
    want_keys, want, want_meta = reader.stack(stream)
    bad = []
    if list(got_keys) != want_keys:
        bad.append(f"keys {list(got_keys)[:3]} vs {want_keys[:3]}")
    if got_meta != want_meta:
        bad.append("header metadata differs")
    for n, w in want.items():
        g = arrays.get(n)
        if isinstance(w, list):
            w = np.array(w)
        if g is None or g.dtype != w.dtype or g.shape != w.shape or not np.array_equal(g, w, equal_nan=w.dtype.kind == "f"):
            bad.append(f"{n}: {None if g is None else (g.dtype, g.shape)} vs {w.dtype} {w.shape}")
        else:
            print(n, g.dtype, g.shape)
    extra = set(arrays) - set(want)
    if extra:
        bad.append(f"arrays not in the stream: {sorted(extra)}")
    print("key", np.asarray(got_keys).dtype, np.asarray(got_keys).shape)
    for b in bad:
        print("mismatch:", b)
    return 1 if bad else 0


def check_npz(npz, stream):
    z = np.load(npz, allow_pickle=False)
    arrays = {n: z[n] for n in z.files if n not in ("key", "__meta__")}
    return compare(stream, arrays, z["key"].tolist(), json.loads(str(z["__meta__"])))


def st_read(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    hdr = json.loads(raw[8:8 + n])
    meta = hdr.pop("__metadata__", {})
    out = {}
    for k, v in hdr.items():
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + b:8 + n + e], ST_DT[v["dtype"]]).reshape(v["shape"])
    return out, meta


def check_st(path, stream):
    arrays, meta = st_read(path)
    return compare(stream, arrays, json.loads(meta["keys"]), json.loads(meta["lgp_meta"]))


def timm_keys(depth):
    ks = ["cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias"]
    for i in range(depth):
        for m in ("norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2"):
            ks += [f"blocks.{i}.{m}.weight", f"blocks.{i}.{m}.bias"]
    return ks + ["norm.weight", "norm.bias"]


def encoder(imgs, pairs):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Attention(nn.Module):
        def __init__(self, C, H):
            super().__init__()
            self.H = H
            self.qkv = nn.Linear(C, 3 * C)
            self.proj = nn.Linear(C, C)

        def forward(self, x):
            B, T, C = x.shape
            D = C // self.H
            q, k, v = self.qkv(x).reshape(B, T, 3, self.H, D).permute(2, 0, 3, 1, 4)
            a = ((q @ k.transpose(-2, -1)) * D ** -0.5).softmax(dim=-1)
            return self.proj((a @ v).transpose(1, 2).reshape(B, T, C))

    class Mlp(nn.Module):
        def __init__(self, C, F_):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(C, F_), nn.Linear(F_, C)

        def forward(self, x):
            return self.fc2(F.gelu(self.fc1(x)))

    class Block(nn.Module):
        def __init__(self, C, H, r):
            super().__init__()
            self.norm1, self.attn = nn.LayerNorm(C, eps=1e-6), Attention(C, H)
            self.norm2, self.mlp = nn.LayerNorm(C, eps=1e-6), Mlp(C, r * C)

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class PatchEmbed(nn.Module):
        def __init__(self, P, c, C):
            super().__init__()
            self.proj = nn.Conv2d(c, C, P, P)

        def forward(self, x):
            return self.proj(x).flatten(2).transpose(1, 2)

    class ViT(nn.Module):  # timm VisionTransformer(num_classes=0, global_pool='token')
        def __init__(self, img_size, patch_size, in_chans, embed_dim, depth, num_heads, mlp_ratio):
            super().__init__()
            N = (img_size // patch_size) ** 2
            self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
            self.pos_embed = nn.Parameter(torch.zeros(1, N + 1, embed_dim))
            self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
            self.norm = nn.LayerNorm(embed_dim, eps=1e-6)

        def forward(self, x):
            x = self.patch_embed(x)
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
            for b in self.blocks:
                x = b(x)
            return self.norm(x)[:, 0]

    _, images, _ = reader.stack(imgs)
    x = torch.from_numpy(images["image"].astype(np.float32) / 255).permute(0, 3, 1, 2)
    bad = 0
    for st, feat in pairs:
        tensors, meta = st_read(st)
        cfg = {k: int(meta[k]) for k in ("img_size", "patch_size", "in_chans", "embed_dim", "depth", "num_heads",
                                         "mlp_ratio")}
        want = timm_keys(cfg["depth"])
        if list(tensors) != want:
            print(f"{st}: keys {sorted(set(tensors) ^ set(want))} differ from a timm ViT's")
            bad += 1
            continue
        model = ViT(**cfg)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)
        mean = torch.tensor(json.loads(meta["mean"])).view(1, -1, 1, 1)
        std = torch.tensor(json.loads(meta["std"])).view(1, -1, 1, 1)
        with torch.no_grad():
            got = model((x - mean) / std).numpy()
        keys, emb, _ = reader.stack(feat)
        diff = float(np.abs(got - emb["feature"]).max())
        okay = diff <= 1e-5 and meta["global_pool"] == "token" and meta["num_classes"] == "0"
        print(f"{os.path.basename(st)}: {len(tensors)} timm keys, strict load, {len(keys)} images, "
              f"max |torch - lgp-embed| {diff:.2e}{'' if okay else ' (too large)'}")
        bad += not okay
    return 1 if bad else 0


def count(src):
    try:
        with reader.open(src) as r:
            n = sum(1 for _ in r)
            print(n, len(r.metas), "zstd" if r.compressed() else "raw")
    except reader.StreamError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "handmade":
        return handmade(args[0]) or 0
    if cmd == "same-npz":
        return same_npz(*args)
    if cmd == "check-npz":
        return check_npz(*args)
    if cmd == "check-st":
        return check_st(*args)
    if cmd == "encoder":
        return encoder(args[0], list(zip(args[1::2], args[2::2])))
    if cmd == "count":
        return count(args[0])
    print(f"unknown command {cmd}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""cl_twin.py — the PyTorch half of the stage-2 (MoCo v3) twin test, and a two-view
Fashion-MNIST fixture maker.

  cl_twin.py check DIR   reads DIR/in.safetensors (online encoder + heads, momentum
                         copies, BN stats, views x1/x2, group lr_scale per tensor and the
                         step's m, lr, tau in __metadata__; written by
                         `test_clstate --twin-write DIR MODE`) and DIR/c.safetensors (the C
                         results), runs one MoCo v3 step in torch — momentum update,
                         k1 k2, q1 q2, loss, backward, torch.optim.AdamW with LGP's param
                         groups (utils_mae/lr_decay.py param_groups_lrd_moco) — and
                         compares: loss rel 1e-5, every gradient and BN statistic rel 1e-4,
                         momentum weights rel 1e-6, updated weights (as updates) rel 1e-3.
                         Exit 0 if all match; prints one TAP-ish '#' line per tensor group.
  cl_twin.py views N OUT [SEED]  write N Fashion-MNIST training images as two-view
                         records {view0, view1 u8 [28,28,1], label, index}: each view a
                         random 20..28 crop resized back to 28 (nearest) and a random flip.

The encoder is written out here (timm block layout, as tests/ref/mae_twin.py); the heads
and the loss are MoCo v3's moco/builder.py (tests/ref/moco_twin.py).
"""
import json
import math
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from mae_twin import block, st_load  # noqa: E402
from moco_twin import build_mlp, contrastive_loss  # noqa: E402


def encoder(p, cfg, x, pre=""):
    P, C = cfg["patch"], cfg["width"]
    t = F.conv2d(x, p[pre + "patch_embed.proj.weight"], p[pre + "patch_embed.proj.bias"], stride=P)
    t = t.flatten(2).transpose(1, 2)
    cls = p[pre + "cls_token"].expand(x.shape[0], -1, -1)
    t = torch.cat([cls, t], dim=1) + p[pre + "pos_embed"]
    q = {k[len(pre):]: v for k, v in p.items() if k.startswith(pre)} if pre else p
    for i in range(cfg["depth"]):
        t = block(t, q, "blocks.%d." % i, cfg["heads"])
    t = F.layer_norm(t, (C,), p[pre + "norm.weight"], p[pre + "norm.bias"], eps=1e-6)
    return t[:, 0]


def load_head(mod, t, prefix):
    sd = {k[len(prefix):]: v.clone() for k, v in t.items() if k.startswith(prefix)}
    missing, unexpected = mod.load_state_dict(sd, strict=False)
    assert all("num_batches" in k for k in missing) and not unexpected, (missing, unexpected)


def run(t, meta):
    cfg = json.loads(meta["config"])
    m, lr, tau, wd = float(meta["m"]), float(meta["lr"]), float(meta["tau"]), float(meta["weight_decay"])
    scales = json.loads(meta["lr_scale"])  # name -> lr_scale, absent: frozen
    enc_names = [k for k in t if not k.startswith(("head.", "predictor.", "momentum.", "x1", "x2"))]
    p = {k: torch.nn.Parameter(t[k].clone()) for k in enc_names}
    pm = {k: t["momentum." + k].clone() for k in enc_names}
    c, f, e = cfg["width"], int(meta["mlp_dim"]), int(meta["moco_dim"])
    proj, pred, projm = build_mlp(3, c, f, e), build_mlp(2, e, f, e), build_mlp(3, c, f, e)
    load_head(proj, t, "head.")
    load_head(pred, t, "predictor.")
    load_head(projm, t, "momentum.head.")
    for k in enc_names:
        if k not in scales:
            p[k].requires_grad_(False)
    x1, x2 = t["x1"], t["x2"]
    # LGP / MoCo v3 forward: online first, then the momentum update and the keys
    q1 = pred(proj(encoder(p, cfg, x1)))
    q2 = pred(proj(encoder(p, cfg, x2)))
    with torch.no_grad():
        online = [p[k] for k in enc_names] + list(proj.parameters())
        moment = [pm[k] for k in enc_names] + list(projm.parameters())
        for pb, pmm in zip(online, moment):
            pmm.data = pmm.data * m + pb.data * (1. - m)
        pmd = {k: v for k, v in pm.items()}
        k1 = projm(encoder(pmd, cfg, x1))
        k2 = projm(encoder(pmd, cfg, x2))
    loss = contrastive_loss(q1, k2, tau) + contrastive_loss(q2, k1, tau)
    loss.backward()
    out = {"loss": loss.detach().reshape(1)}
    named = dict(p)
    named.update({"head." + k: v for k, v in proj.named_parameters()})
    named.update({"predictor." + k: v for k, v in pred.named_parameters()})
    for k, v in named.items():
        if v.requires_grad:
            out["grad." + k] = v.grad.detach().clone()
    for k in enc_names:
        out["momentum." + k] = pm[k]
    for k, v in projm.state_dict().items():
        if "num_batches" not in k:
            out["momentum.head." + k] = v.clone()
    for pre, mod in (("head.", proj), ("predictor.", pred)):
        for k, v in mod.state_dict().items():
            if "running" in k:
                out[pre + k] = v.clone()
    # AdamW with one group per (lr_scale, decay): LGP's param_groups_lrd_moco
    groups = {}
    for k, v in named.items():
        if not v.requires_grad:
            continue
        key = (scales[k], v.ndim >= 2)
        groups.setdefault(key, []).append(v)
    opt = torch.optim.AdamW([{"params": ps, "lr": lr * s, "weight_decay": wd if dec else 0.0}
                             for (s, dec), ps in groups.items()], betas=(0.9, 0.999), eps=1e-8)
    before = {k: v.detach().clone() for k, v in named.items()}
    opt.step()
    for k, v in named.items():
        if v.requires_grad:
            out["update." + k] = v.detach() - before[k]
    return out


def tol_of(name):
    if name == "loss":
        return 1e-5
    if name.startswith("update."):
        return 1e-3
    if name.startswith("momentum.") and "running" not in name:
        return 1e-6
    return 1e-4


def check(d):
    torch.set_num_threads(2)
    t, meta = st_load(d + "/in.safetensors")
    got, _ = st_load(d + "/c.safetensors")
    ref = run(t, meta)
    worst, bad = {}, 0
    # Gradients that are analytically zero (norm.bias and the key part of qkv.bias: a
    # shift the following BN / softmax removes) are rounding noise on both sides, and
    # AdamW's first step turns noise into ±lr. A reference gradient below 1e-6 x the
    # largest gradient counts as zero (the C one must then stay below 1e-4 x that largest
    # gradient); updates are compared only where |grad| > 1e-4 x the largest gradient.
    gmax = max(v.abs().max().item() for k, v in ref.items() if k.startswith("grad."))
    for n, r in ref.items():
        if n not in got:
            print(f"# {n}: missing from the C output")
            bad += 1
            continue
        g = got[n].float()
        r = r.float()
        if tuple(g.shape) != tuple(r.shape):
            print(f"# {n}: shape {tuple(g.shape)}, want {tuple(r.shape)}")
            bad += 1
            continue
        if n.startswith("update."):
            keep = ref["grad." + n[7:]].abs() > 1e-4 * gmax
            if not keep.any():
                continue
            g, r = g[keep], r[keep]
        scale = r.abs().max().item()
        if n.startswith("grad.") and scale < 1e-6 * gmax:
            scale = gmax  # analytically zero: the C value must be as small, relative to gmax
        err = (g - r).abs().max().item() / scale if scale > 0 else (g - r).abs().max().item()
        grp = n.split(".")[0] if "." in n else n
        if n.startswith("momentum.") and "running" in n:
            grp = "momentum-stats"
        elif "running" in n:
            grp = "stats"
        worst[grp] = max(worst.get(grp, 0.0), err)
        if err > tol_of(n):
            print(f"# {n}: rel {err:.3e} > {tol_of(n):g}  FAIL")
            bad += 1
    for grp, err in sorted(worst.items()):
        print(f"# {grp:16s} worst rel {err:.3e}")
    print(f"# loss C {got['loss'].item():.7f} torch {ref['loss'].item():.7f}")
    return 1 if bad else 0


def views(n, out, seed=0):
    from lgpstream import FMNIST, CLASSES, write_stream
    import gzip
    with gzip.open(f"{FMNIST}/train-images-idx3-ubyte.gz") as f:
        img = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)
    with gzip.open(f"{FMNIST}/train-labels-idx1-ubyte.gz") as f:
        lab = np.frombuffer(f.read(), np.uint8, offset=8)
    rng = np.random.default_rng(seed)

    def view(x):
        s = int(rng.integers(20, 29))
        i, j = int(rng.integers(0, 29 - s)), int(rng.integers(0, 29 - s))
        idx = (np.arange(28) * s // 28)
        v = x[i:i + s, j:j + s][idx][:, idx]
        if rng.random() < 0.5:
            v = v[:, ::-1]
        return np.ascontiguousarray(v)

    recs = ((f"train-{i:05d}", [("view0", "u8", (28, 28, 1), view(img[i]).tobytes()),
                                ("view1", "u8", (28, 28, 1), view(img[i]).tobytes()),
                                ("label", "i64", (), struct.pack("<q", int(lab[i]))),
                                ("index", "i64", (), struct.pack("<q", i))]) for i in range(n))
    with open(out, "wb") as f:
        write_stream(f, {"classes": CLASSES, "records_per_epoch": n, "source": "cl_twin.py views"}, recs)


def main():
    if sys.argv[1] == "check":
        return check(sys.argv[2])
    if sys.argv[1] == "views":
        views(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 0)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""gradconf_twin.py — the PyTorch half of lgp-gradconf's twin test (tests/pipeline/t1300).

  gradconf_twin.py DIR   reads DIR/in.safetensors (the online encoder, MAE decoder and
                         MoCo v3 heads, the momentum copies, BN statistics, views x1 x2,
                         the MAE term's masks ids_keep/mask; written by
                         `test_gradconf --twin-write DIR`) and DIR/c.safetensors (the C
                         per-part cosines and both gradients), and computes in float64:

                         g_CL  = d/dθ [ctr(q1, k2) + ctr(q2, k1)]  (MoCo v3, keys from the
                                 momentum branch without gradient, heads' BN in train mode)
                         g_MIM = d/dθ MAE(x1 under the C masks)     (models_mae.py, norm_pix)

                         on the same weights, and per part (patch_embed.*, blocks.<l>.*,
                         norm.*) cos(g_MIM, g_CL) over the part's flattened parameters.
                         Checks: every cosine within 1e-4 (absolute) of C's; each part's
                         gradients by norm-relative error <= 1e-4.
                         TAP-ish '#' lines; exit 1 on any failure.

The encoder and loss pieces are the other twins' (cl_twin.py, mae_twin.py, moco_twin.py).
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from cl_twin import encoder, load_head  # noqa: E402
from ft_twin import st_load  # noqa: E402
from mae_twin import mae_loss  # noqa: E402
from moco_twin import build_mlp, contrastive_loss  # noqa: E402


def part_of(name, depth):
    if name.startswith("patch_embed."):
        return "patch_embed"
    m = re.match(r"blocks\.(\d+)\.", name)
    if m:
        return "block %d" % int(m.group(1))
    if name in ("norm.weight", "norm.bias"):
        return "norm"
    return None


def main():
    d = sys.argv[1]
    torch.set_num_threads(2)
    t, meta = st_load(d + "/in.safetensors")
    got, _ = st_load(d + "/c.safetensors")
    t = {k: (v.double() if v.is_floating_point() else v) for k, v in t.items()}
    cfg = json.loads(meta["config"])
    tau, f, e = float(meta["tau"]), int(meta["mlp_dim"]), int(meta["moco_dim"])
    skip = ("head.", "predictor.", "momentum.", "x1", "x2", "ids_keep", "mask")
    names = [k for k in t if not k.startswith(skip) or k == "mask_token"]
    p = {k: torch.nn.Parameter(t[k].clone()) for k in names}
    pm = {k: t["momentum." + k].clone() for k in names if "momentum." + k in t}
    c = cfg["width"]
    proj, pred, projm = build_mlp(3, c, f, e).double(), build_mlp(2, e, f, e).double(), build_mlp(3, c, f, e).double()
    load_head(proj, t, "head.")
    load_head(pred, t, "predictor.")
    load_head(projm, t, "momentum.head.")
    x1, x2 = t["x1"], t["x2"]
    # MoCo v3: queries from the online branch, keys from the momentum one (m = 1: as is)
    q1 = pred(proj(encoder(p, cfg, x1)))
    q2 = pred(proj(encoder(p, cfg, x2)))
    with torch.no_grad():
        k1 = projm(encoder(pm, cfg, x1))
        k2 = projm(encoder(pm, cfg, x2))
    lc = contrastive_loss(q1, k2, tau) + contrastive_loss(q2, k1, tau)
    lc.backward()
    g_cl = {k: (v.grad.clone() if v.grad is not None else torch.zeros_like(v)) for k, v in p.items()}
    for v in p.values():
        v.grad = None
    lm, _ = mae_loss(p, cfg, x1, t["ids_keep"].long(), t["mask"])
    lm.backward()
    g_mim = {k: (v.grad.clone() if v.grad is not None else torch.zeros_like(v)) for k, v in p.items()}
    parts = {}
    for k in names:
        q = part_of(k, cfg["depth"])
        if q is not None:
            parts.setdefault(q, []).append(k)
    order = ["patch_embed"] + ["block %d" % i for i in range(cfg["depth"])] + ["norm"]
    bad = 0
    cl_loss, mim_loss = got["losses"].tolist()
    print(f"# losses: contrastive C {cl_loss:.7f} torch {lc.item():.7f}; MAE C {mim_loss:.7f} torch {lm.item():.7f}")
    if abs(cl_loss - lc.item()) > 1e-5 * abs(lc.item()) or abs(mim_loss - lm.item()) > 1e-5 * abs(lm.item()):
        print("# losses differ  FAIL")
        bad += 1
    for i, q in enumerate(order):
        a = torch.cat([g_mim[k].flatten() for k in parts[q]])
        b = torch.cat([g_cl[k].flatten() for k in parts[q]])
        cos = (a @ b / (a.norm() * b.norm())).item()
        ca = torch.cat([got["g_mim." + k].double().flatten() for k in parts[q]])
        cb = torch.cat([got["g_ctr." + k].double().flatten() for k in parts[q]])
        ea, eb = ((ca - a).norm() / a.norm()).item(), ((cb - b).norm() / b.norm()).item()
        cc = got["cos"][i].item()
        fail = abs(cc - cos) > 1e-4 or ea > 1e-4 or eb > 1e-4
        bad += fail
        print(f"# {q:12s} cos C {cc:+.6f} torch {cos:+.6f}  grad rel MIM {ea:.1e} CL {eb:.1e}{'  FAIL' if fail else ''}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

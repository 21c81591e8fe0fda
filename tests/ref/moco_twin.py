#!/usr/bin/python3
"""moco_twin.py — the PyTorch half of the MoCo v3 head twin test.

The heads and the loss are written as in facebookresearch/moco-v3 (moco/builder.py:
_build_mlp, contrastive_loss, _update_momentum_encoder, MoCo.forward), on feature
matrices instead of encoder outputs. Debian has no safetensors package, so the format
(8-byte LE header length, JSON header, byte buffer) is read and written by hand.

  moco_twin.py make IN [SEED]         write heads, features, m and tau to IN
  moco_twin.py check GROUP IN OUT     recompute the step in torch from IN and compare
                                      with the C results in OUT (from `test_moco twin`);
                                      GROUP: forward | grads | momentum | stats
                                      exit 0 if every tensor of the group matches
  moco_twin.py bench B C F E ITERS    time the same step in torch (2 threads)

Tolerance: normwise relative error max|c - t| / max|t| per tensor, 1e-5 for forward
values and running statistics, 1e-4 for gradients; the momentum update bit for bit.
"""
import json
import struct
import sys

import torch
import torch.nn as nn

B, C, F, E = 64, 96, 128, 32
TAU, M = 0.2, 0.99


def build_mlp(num_layers, input_dim, mlp_dim, output_dim, last_bn=True):
    # moco/builder.py MoCo._build_mlp, verbatim in structure
    mlp = []
    for l in range(num_layers):
        dim1 = input_dim if l == 0 else mlp_dim
        dim2 = output_dim if l == num_layers - 1 else mlp_dim
        mlp.append(nn.Linear(dim1, dim2, bias=False))
        if l < num_layers - 1:
            mlp.append(nn.BatchNorm1d(dim2))
            mlp.append(nn.ReLU(inplace=True))
        elif last_bn:
            # follow SimCLR's design
            mlp.append(nn.BatchNorm1d(dim2, affine=False))
    return nn.Sequential(*mlp)


def contrastive_loss(q, k, T):
    # moco/builder.py MoCo.contrastive_loss on one rank (gather = identity, rank 0)
    q = nn.functional.normalize(q, dim=1)
    k = nn.functional.normalize(k, dim=1)
    logits = torch.einsum('nc,mc->nm', [q, k]) / T
    N = logits.shape[0]
    labels = torch.arange(N, dtype=torch.long)
    return nn.CrossEntropyLoss()(logits, labels) * (2 * T)


def save(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        b = t.detach().contiguous().numpy().tobytes()
        dt = {torch.float32: "F32", torch.float64: "F64"}[t.dtype]
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
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
    base, out = 8 + n, {}
    for name, d in header.items():
        if name == "__metadata__":
            continue
        dt = {"F32": torch.float32, "F64": torch.float64}[d["dtype"]]
        b, e = d["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[base + b:base + e]), dtype=dt).reshape(d["shape"])
    return out


def state(prefix, mod):
    return {prefix + k: v.clone() for k, v in mod.state_dict().items() if "num_batches" not in k}


def make(path, seed=600):
    torch.manual_seed(seed)
    proj, pred, projm = build_mlp(3, C, F, E), build_mlp(2, E, F, E), build_mlp(3, C, F, E)
    with torch.no_grad():
        for mod in (proj, pred):  # non-trivial BN affine and running stats
            for m in mod:
                if isinstance(m, nn.BatchNorm1d):
                    if m.affine:
                        m.weight.add_(0.3 * torch.randn_like(m.weight))
                        m.bias.add_(0.3 * torch.randn_like(m.bias))
                    m.running_mean.add_(0.1 * torch.randn_like(m.running_mean))
                    m.running_var.add_(0.1 * torch.rand_like(m.running_var))
        # momentum projector: the online one some steps ago
        projm.load_state_dict(proj.state_dict())
        for p in projm.parameters():
            p.add_(0.05 * torch.randn_like(p))
    t = {}
    t.update({"head." + k: v for k, v in state("", proj).items()})
    t.update({"predictor." + k: v for k, v in state("", pred).items()})
    t.update({"momentum.head." + k: v for k, v in state("", projm).items()})
    for n in ("x1", "x2"):
        t[n] = torch.randn(B, C)
    for n in ("y1", "y2"):  # the momentum encoder sees the views a little differently
        t[n] = t["x" + n[1]] + 0.1 * torch.randn(B, C)
    t["m"] = torch.tensor([M], dtype=torch.float64)
    t["tau"] = torch.tensor([TAU], dtype=torch.float32)
    save(path, t)


def run(inp):
    """One MoCo v3 step on features; returns every tensor the C side writes."""
    c, f, e = inp["x1"].shape[1], inp["head.0.weight"].shape[0], inp["head.6.weight"].shape[0]
    proj, pred, projm = build_mlp(3, c, f, e), build_mlp(2, e, f, e), build_mlp(3, c, f, e)
    for prefix, mod in (("head.", proj), ("predictor.", pred), ("momentum.head.", projm)):
        sd = {k[len(prefix):]: v for k, v in inp.items() if k.startswith(prefix)}
        missing, _ = mod.load_state_dict(sd, strict=False)
        assert all("num_batches" in k for k in missing), missing
    m, tau = float(inp["m"][0]), float(inp["tau"][0])
    x1 = inp["x1"].clone().requires_grad_()
    x2 = inp["x2"].clone().requires_grad_()
    # MoCo.forward
    q1 = pred(proj(x1))
    q2 = pred(proj(x2))
    with torch.no_grad():
        for param_b, param_m in zip(proj.parameters(), projm.parameters()):
            param_m.data = param_m.data * m + param_b.data * (1. - m)
        k1 = projm(inp["y1"])
        k2 = projm(inp["y2"])
    loss = contrastive_loss(q1, k2, tau) + contrastive_loss(q2, k1, tau)
    loss.backward()
    out = {"loss": loss.detach().reshape(1), "q1": q1, "q2": q2, "k1": k1, "k2": k2,
           "grad.x1": x1.grad, "grad.x2": x2.grad}
    qn = nn.functional.normalize(q1.detach(), dim=1)
    out["collapse"] = qn.std(dim=0).mean().reshape(1)
    for prefix, mod in (("head.", proj), ("predictor.", pred)):
        for k, p in mod.named_parameters():
            out["grad." + prefix + k] = p.grad
        out.update({prefix + k: v for k, v in state("", mod).items()})
    out.update({"momentum.head." + k: v for k, v in state("", projm).items()})
    return {k: v.detach() for k, v in out.items()}


def group_of(name):
    if name.startswith("grad."):
        return "grads"
    if name.startswith("momentum.") and "running" not in name:
        return "momentum"
    if "running" in name:
        return "stats"
    if name in ("loss", "q1", "q2", "k1", "k2", "collapse"):
        return "forward"
    return None  # online parameters: inputs passed back unchanged


def check(group, inp_path, out_path):
    ref = run(load(inp_path))
    got = load(out_path)
    tol = {"forward": 1e-5, "stats": 1e-5, "grads": 1e-4, "momentum": 0.0}[group]
    bad = 0
    names = [n for n in ref if group_of(n) == group]
    for n in names:
        if n not in got:
            print(f"# {n}: missing from the C output")
            bad += 1
            continue
        r, g = ref[n].float(), got[n].float()
        if tuple(r.shape) != tuple(g.shape):
            print(f"# {n}: shape {tuple(g.shape)}, want {tuple(r.shape)}")
            bad += 1
            continue
        err = ((g - r).abs().max() / r.abs().max().clamp_min(1e-30)).item()
        flag = err > tol
        bad += flag
        print(f"# {n:32s} rel {err:.2e} (tol {tol:g}){'  FAIL' if flag else ''}")
    if not names:
        print(f"# no tensors in group {group}")
        bad += 1
    return 1 if bad else 0


def bench(b, c, f, e, iters):
    import time
    proj, pred, projm = build_mlp(3, c, f, e), build_mlp(2, e, f, e), build_mlp(3, c, f, e)
    projm.load_state_dict(proj.state_dict())
    xs = [torch.randn(b, c) for _ in range(4)]
    best, loss = 1e30, None
    for it in range(iters + 1):  # iteration 0 warms up
        t0 = time.perf_counter()
        for p in list(proj.parameters()) + list(pred.parameters()):
            p.grad = None
        x1, x2 = xs[0].requires_grad_(), xs[1].requires_grad_()
        q1, q2 = pred(proj(x1)), pred(proj(x2))
        with torch.no_grad():
            for param_b, param_m in zip(proj.parameters(), projm.parameters()):
                param_m.data = param_m.data * 0.99 + param_b.data * (1. - 0.99)
            k1, k2 = projm(xs[2]), projm(xs[3])
        loss = contrastive_loss(q1, k2, 0.2) + contrastive_loss(q2, k1, 0.2)
        loss.backward()
        dt = time.perf_counter() - t0
        if it:
            best = min(best, dt)
    print(f"torch heads step B={b} C={c} F={f} E={e}: best {best * 1e3:.1f} ms over {iters} iters "
          f"(loss {loss.item():.4f}, {torch.get_num_threads()} threads)")
    return 0


def main():
    torch.set_num_threads(2)
    if len(sys.argv) in (3, 4) and sys.argv[1] == "make":
        make(sys.argv[2], *map(int, sys.argv[3:]))
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3], sys.argv[4])
    if len(sys.argv) == 7 and sys.argv[1] == "bench":
        return bench(*map(int, sys.argv[2:]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

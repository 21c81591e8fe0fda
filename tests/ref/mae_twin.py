#!/usr/bin/python3
"""mae_twin.py — an independent PyTorch implementation of the MAE (models_mae.py layout,
timm names, no timm import), driven by tests/unit/test_mae --twin-write.

  mae_twin.py DIR   reads DIR/in.safetensors (weights, images, per-step masks and
                    ids_keep, config + optimiser settings in __metadata__), runs
                    `steps` AdamW steps (torch.optim.AdamW, param groups: no decay on
                    1-d tensors, pos embeds frozen) and writes DIR/out.safetensors:
                    losses[steps], lrs[steps], pred (step 0), grad.<name> (step 0),
                    final.<name>, update.<name> (final - initial).

Safetensors is read and written by hand (Debian has no safetensors package).
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F

DT = {"F32": torch.float32, "U8": torch.uint8, "I32": torch.int32, "I64": torch.int64}


def st_load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    meta = hdr.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for k, v in hdr.items():
        a, b = v["data_offsets"]
        buf = bytearray(raw[base + a:base + b])
        t = torch.frombuffer(buf, dtype=DT[v["dtype"]]) if b > a else torch.zeros(0, dtype=DT[v["dtype"]])
        out[k] = t.reshape(v["shape"]).clone()
    return out, meta


def st_save(path, tensors):
    hdr, blobs, off = {}, [], 0
    for k, t in tensors.items():
        b = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def block(x, p, pre, H):
    B, T, C = x.shape
    D = C // H
    h = F.layer_norm(x, (C,), p[pre + "norm1.weight"], p[pre + "norm1.bias"], eps=1e-6)
    qkv = F.linear(h, p[pre + "attn.qkv.weight"], p[pre + "attn.qkv.bias"])
    qkv = qkv.reshape(B, T, 3, H, D).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    a = ((q @ k.transpose(-2, -1)) * D ** -0.5).softmax(dim=-1)
    y = (a @ v).transpose(1, 2).reshape(B, T, C)
    x = x + F.linear(y, p[pre + "attn.proj.weight"], p[pre + "attn.proj.bias"])
    h = F.layer_norm(x, (C,), p[pre + "norm2.weight"], p[pre + "norm2.bias"], eps=1e-6)
    h = F.gelu(F.linear(h, p[pre + "mlp.fc1.weight"], p[pre + "mlp.fc1.bias"]))
    return x + F.linear(h, p[pre + "mlp.fc2.weight"], p[pre + "mlp.fc2.bias"])


def patchify(imgs, P):
    B, c, S, _ = imgs.shape
    G = S // P
    x = imgs.reshape(B, c, G, P, G, P)
    x = torch.einsum("nchpwq->nhwpqc", x)
    return x.reshape(B, G * G, P * P * c)


def mae_loss(p, cfg, imgs, ids_keep, mask):
    P, C, Cd = cfg["patch"], cfg["width"], cfg["dec_width"]
    B = imgs.shape[0]
    x = F.conv2d(imgs, p["patch_embed.proj.weight"], p["patch_embed.proj.bias"], stride=P)
    x = x.flatten(2).transpose(1, 2)  # [B, N, C], row-major patches
    N = x.shape[1]
    x = x + p["pos_embed"][:, 1:, :]
    K = ids_keep.shape[1]
    x = torch.gather(x, 1, ids_keep.unsqueeze(-1).repeat(1, 1, C))
    cls = (p["cls_token"] + p["pos_embed"][:, :1, :]).expand(B, -1, -1)
    x = torch.cat([cls, x], dim=1)
    for i in range(cfg["depth"]):
        x = block(x, p, "blocks.%d." % i, cfg["heads"])
    x = F.layer_norm(x, (C,), p["norm.weight"], p["norm.bias"], eps=1e-6)
    x = F.linear(x, p["decoder_embed.weight"], p["decoder_embed.bias"])
    # ids_shuffle = kept patches first, then the masked ones; ids_restore unshuffles
    masked = torch.sort(mask.long(), dim=1, stable=True)[1][:, K:]
    ids_shuffle = torch.cat([ids_keep, masked], dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    mask_tokens = p["mask_token"].repeat(B, N + 1 - x.shape[1], 1)
    x_ = torch.cat([x[:, 1:, :], mask_tokens], dim=1)
    x_ = torch.gather(x_, 1, ids_restore.unsqueeze(-1).repeat(1, 1, Cd))
    x = torch.cat([x[:, :1, :], x_], dim=1) + p["decoder_pos_embed"]
    for i in range(cfg["dec_depth"]):
        x = block(x, p, "decoder_blocks.%d." % i, cfg["dec_heads"])
    x = F.layer_norm(x, (Cd,), p["decoder_norm.weight"], p["decoder_norm.bias"], eps=1e-6)
    pred = F.linear(x, p["decoder_pred.weight"], p["decoder_pred.bias"])[:, 1:, :]
    target = patchify(imgs, P)
    if cfg["norm_pix"]:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)  # unbiased, as torch defaults
        target = (target - mean) / (var + 1.0e-6) ** 0.5
    loss = ((pred - target) ** 2).mean(dim=-1)
    maskf = mask.float()
    return (loss * maskf).sum() / maskf.sum(), pred


def lr_at(s, total, warmup, base, min_lr):
    if s < warmup:
        return base * s / warmup
    return min_lr + (base - min_lr) * 0.5 * (1.0 + math.cos(math.pi * (s - warmup) / (total - warmup)))


def main():
    d = sys.argv[1]
    torch.set_num_threads(2)
    t, meta = st_load(d + "/in.safetensors")
    cfg = json.loads(meta["config"]) if isinstance(meta["config"], str) else meta["config"]
    num = {k: float(meta[k]) for k in ("base_lr", "min_lr", "weight_decay", "beta1", "beta2", "eps")}
    steps, warmup = int(meta["steps"]), int(meta["warmup"])
    imgs, masks, ids = t.pop("images"), t.pop("masks"), t.pop("ids_keep").long()
    p = {k: torch.nn.Parameter(v) for k, v in t.items()}
    init = {k: v.detach().clone() for k, v in p.items()}
    for k in ("pos_embed", "decoder_pos_embed"):
        p[k].requires_grad_(False)
    decay = [v for k, v in p.items() if v.requires_grad and v.ndim >= 2 and not k.endswith(".bias")]
    no_decay = [v for k, v in p.items() if v.requires_grad and (v.ndim < 2 or k.endswith(".bias"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": num["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=num["base_lr"], betas=(num["beta1"], num["beta2"]), eps=num["eps"])
    out, losses, lrs = {}, [], []
    for s in range(steps):
        opt.zero_grad()
        loss, pred = mae_loss(p, cfg, imgs, ids[s], masks[s])
        loss.backward()
        losses.append(loss.item())
        if s == 0:
            out["pred"] = pred.detach().clone()
            for k, v in p.items():
                if v.requires_grad:
                    out["grad." + k] = v.grad.detach().clone()
        lr = lr_at(s, steps, warmup, num["base_lr"], num["min_lr"])
        lrs.append(lr)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
    out["losses"] = torch.tensor(losses)
    out["lrs"] = torch.tensor(lrs, dtype=torch.float64)
    for k, v in p.items():
        out["final." + k] = v
        out["update." + k] = v.detach() - init[k]
    st_save(d + "/out.safetensors", out)
    print("mae_twin: loss %.7f -> %.7f over %d steps" % (losses[0], losses[-1], steps))


if __name__ == "__main__":
    main()

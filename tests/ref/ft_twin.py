#!/usr/bin/python3
"""ft_twin.py — the PyTorch half of the fine-tuning twin test: one lgp-finetune optimizer
step (two micro-batches, gradient accumulation) written from scratch in torch float64.

  ft_twin.py DIR   reads DIR/in.safetensors (every parameter under its timm name, the
                   images x<k> before mixing, labels<k>, the drop path scales drop<k>
                   [2L, B], the mixup draws, K, smoothing, layer decay, lr and the AdamW
                   settings in __metadata__; written by `test_finetune --twin-write DIR
                   MODE`) and DIR/c.safetensors (the C results), and redoes the step:

                   - timm ViT forward: Conv2d patch embedding, cls token, the fixed
                     pos_embed, pre-norm blocks with timm DropPath on both residual
                     branches (the keep mask is the C draw's; the rate of block i is
                     linspace(0, drop_path, L)[i] and a kept branch is divided by the keep
                     probability, as timm does), final LayerNorm (eps 1e-6), cls token;
                   - the head: Linear "head" (MAE) or "head.0" (no bias) then "head.1"
                     (MoCo v3 --tuneFromFirstFC);
                   - timm Mixup(mode="batch") given the draw: x = lam x + (1 - lam)
                     x.flip(0), or cutmix x[..., box] = x.flip(0)[..., box] with lam from
                     the box area; timm mixup_target with label smoothing;
                     SoftTargetCrossEntropy; loss / accum, backward per micro-batch;
                   - torch.optim.AdamW over MAE's util/lr_decay.py param_groups_lrd
                     (lr_scale = decay^(L + 1 - layer_id); no weight decay for 1-d tensors,
                     cls_token and pos_embed; pos_embed not trained), one step at lr.

                   Checks (TAP on stdout, exit 1 on any failure): loss rel 1e-5; logits,
                   and every gradient after micro-batch 0 and after both, by norm-relative
                   error ||g_c - g_t|| / ||g_t|| <= 1e-4; the mixed images and targets
                   abs 1e-6; the drop scales are 0 or 1/keep; the C table's lr scales,
                   no-wd and frozen flags are the rules above; every parameter after the
                   AdamW step |a_c - a_t| / max(1, |a_t|) <= 1e-5, both for torch's step
                   on torch's gradients (elements with |g| > 1e-3 max|g| of their tensor:
                   AdamW's first step is lr * sign(g), so rounding noise on an analytically
                   zero gradient, such as the key part of qkv.bias, decides a sign) and for
                   torch's step on the C gradients (every element).

Safetensors is read by hand (Debian has no safetensors package); no timm import.
"""
import json
import struct
import sys

import torch
import torch.nn.functional as F

DT = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}


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


# ---- the model (timm VisionTransformer layout) ----

def drop_path(x, keep_mask, keep_prob):
    """timm DropPath in training mode with its random tensor fixed to keep_mask [B]."""
    if keep_prob >= 1.0:
        return x
    random_tensor = keep_mask.to(x.dtype).reshape(-1, 1, 1)
    return x * random_tensor.div(keep_prob)


def attention(x, p, pre, H):
    B, T, C = x.shape
    D = C // H
    qkv = F.linear(x, p[pre + "qkv.weight"], p[pre + "qkv.bias"]).reshape(B, T, 3, H, D).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    a = ((q @ k.transpose(-2, -1)) * D ** -0.5).softmax(dim=-1)
    y = (a @ v).transpose(1, 2).reshape(B, T, C)
    return F.linear(y, p[pre + "proj.weight"], p[pre + "proj.bias"])


def mlp(x, p, pre):
    return F.linear(F.gelu(F.linear(x, p[pre + "fc1.weight"], p[pre + "fc1.bias"])), p[pre + "fc2.weight"],
                    p[pre + "fc2.bias"])


def block(x, p, pre, H, keep, keep_prob):
    C = x.shape[-1]
    x = x + drop_path(attention(F.layer_norm(x, (C,), p[pre + "norm1.weight"], p[pre + "norm1.bias"], eps=1e-6),
                                p, pre + "attn.", H), keep[0], keep_prob)
    x = x + drop_path(mlp(F.layer_norm(x, (C,), p[pre + "norm2.weight"], p[pre + "norm2.bias"], eps=1e-6),
                          p, pre + "mlp."), keep[1], keep_prob)
    return x


def forward(p, cfg, x, keep, dpr, first_fc):
    P, C = cfg["patch"], cfg["width"]
    t = F.conv2d(x, p["patch_embed.proj.weight"], p["patch_embed.proj.bias"], stride=P).flatten(2).transpose(1, 2)
    t = torch.cat([p["cls_token"].expand(x.shape[0], -1, -1), t], dim=1) + p["pos_embed"]
    for i in range(cfg["depth"]):
        t = block(t, p, "blocks.%d." % i, cfg["heads"], keep[2 * i:2 * i + 2], 1.0 - dpr[i])
    feat = F.layer_norm(t, (C,), p["norm.weight"], p["norm.bias"], eps=1e-6)[:, 0]
    if first_fc:
        return F.linear(F.linear(feat, p["head.0.weight"]), p["head.1.weight"], p["head.1.bias"])
    return F.linear(feat, p["head.weight"], p["head.bias"])


# ---- timm Mixup(mode="batch") and its targets, SoftTargetCrossEntropy ----

def one_hot(y, K, on, off):
    return torch.full((y.shape[0], K), off, dtype=torch.float64).scatter_(1, y.long().view(-1, 1), on)


def mixup_target(y, K, lam, smoothing):
    off = smoothing / K
    on = 1.0 - smoothing + off
    return one_hot(y, K, on, off) * lam + one_hot(y.flip(0), K, on, off) * (1.0 - lam)


def mix(x, draw):
    """x mixed as timm's Mixup._mix_batch given the draw; returns (x, lam)."""
    mixed, cutmix, lam, y0, y1, x0, x1 = draw
    if not mixed:
        return x, 1.0
    if cutmix:
        H, W = x.shape[-2:]
        x = x.clone()
        x[:, :, y0:y1, x0:x1] = x.flip(0)[:, :, y0:y1, x0:x1]
        return x, 1.0 - (y1 - y0) * (x1 - x0) / float(H * W)  # timm's correct_lam
    return x * lam + x.flip(0) * (1.0 - lam), lam


def soft_target_ce(z, t):
    return torch.sum(-t * F.log_softmax(z, dim=-1), dim=-1).mean()


# ---- MAE util/lr_decay.py ----

def layer_id(name, num_layers):
    if name in ("cls_token", "pos_embed") or name.startswith("patch_embed"):
        return 0
    if name.startswith("blocks."):
        return int(name.split(".")[1]) + 1
    return num_layers


def param_groups_lrd(named, weight_decay, layer_decay, L, no_wd=("pos_embed", "cls_token")):
    """MAE's param_groups_lrd (num_layers = L + 1): one group per (layer, decay)."""
    num_layers = L + 1
    scales = [layer_decay ** (num_layers - i) for i in range(num_layers + 1)]
    groups, rules = {}, {}
    for n, v in named.items():
        if not v.requires_grad:
            continue
        decay = not (v.ndim == 1 or n in no_wd)
        lid = layer_id(n, num_layers)
        key = (lid, decay)
        groups.setdefault(key, {"params": [], "lr_scale": scales[lid], "weight_decay": weight_decay if decay else 0.0})
        groups[key]["params"].append(v)
        rules[n] = (scales[lid], decay)
    return list(groups.values()), rules


def adamw_step(named, grads, meta, rules_out=None):
    """One torch.optim.AdamW step with MAE's groups on the given gradients."""
    lr = float(meta["lr"])
    groups, rules = param_groups_lrd(named, float(meta["weight_decay"]), float(meta["layer_decay"]),
                                     json.loads(meta["config"])["depth"])
    for g in groups:
        g["lr"] = lr * g["lr_scale"]  # MAE util/lr_sched.adjust_learning_rate
    for n, v in named.items():
        if v.requires_grad:
            v.grad = grads[n].clone()
    opt = torch.optim.AdamW(groups, lr=lr, betas=(float(meta["beta1"]), float(meta["beta2"])), eps=float(meta["eps"]))
    opt.step()
    if rules_out is not None:
        rules_out.update(rules)
    return {n: v.detach().clone() for n, v in named.items()}


# ---- the step ----

def run(inp, meta):
    cfg = json.loads(meta["config"])
    L, B, K, accum = cfg["depth"], int(meta["B"]), int(meta["K"]), int(meta["accum"])
    first_fc = meta["mode"] == "firstfc"
    smoothing = float(meta["smoothing"])
    dpr = [v.item() for v in torch.linspace(0, float(meta["drop_path"]), L)]  # timm's stochastic depth decay rule
    skip = ("x", "labels", "drop")
    names = [k for k in inp if not (k.startswith(skip) and k.rstrip("0123456789") in skip)]
    p = {k: torch.nn.Parameter(inp[k].double().clone()) for k in names}
    p["pos_embed"].requires_grad_(False)  # fixed sin-cos in lgp's fine-tuning
    ref = {}
    for k in range(accum):
        x, drop = inp["x%d" % k].double(), inp["drop%d" % k].double()
        keep = drop != 0  # the C draw's keep mask; the scale is timm's own
        ref["drop%d" % k] = torch.stack([keep[j].double() / (1.0 - dpr[j // 2]) if dpr[j // 2] > 0
                                         else torch.ones(B, dtype=torch.float64) for j in range(2 * L)])
        draw = meta["mix%d" % k].split()
        draw = [int(draw[0]), int(draw[1]), float(draw[2])] + [int(v) for v in draw[3:]]
        xm, lam = mix(x, draw)
        if draw[1]:
            ref["lam%d" % k] = torch.tensor([lam], dtype=torch.float64)
        target = mixup_target(inp["labels%d" % k], K, lam, smoothing) if draw[0] else \
            one_hot(inp["labels%d" % k], K, 1.0 - smoothing + smoothing / K, smoothing / K)
        z = forward(p, cfg, xm, keep, dpr, first_fc)
        loss = soft_target_ce(z, target)
        (loss / accum).backward()
        ref["loss%d" % k] = loss.detach().reshape(1)
        ref["logits%d" % k] = z.detach()
        ref["target%d" % k] = target
        ref["xmix%d" % k] = xm
        for n, v in p.items():
            if v.requires_grad:
                ref[("grad0." if k == 0 else "grad.") + n] = v.grad.detach().clone()
    grads = {n: v.grad.detach().clone() for n, v in p.items() if v.requires_grad}
    before = {n: v.detach().clone() for n, v in p.items()}
    rules = {}
    after = adamw_step(p, grads, meta, rules)
    for n, v in after.items():
        ref["after." + n] = v
    return ref, grads, before, rules


def main():
    torch.set_num_threads(2)
    d = sys.argv[1]
    inp, meta = st_load(d + "/in.safetensors")
    got, _ = st_load(d + "/c.safetensors")
    got = {k: v.double() for k, v in got.items()}
    ref, grads, before, rules = run(inp, meta)
    mode = meta["mode"]
    n_test, bad = 0, 0

    def tap(good, text):
        nonlocal n_test, bad
        n_test += 1
        bad += 0 if good else 1
        print("%s %d - %s: %s" % ("ok" if good else "not ok", n_test, mode, text))

    def norm_rel(c, t):
        return ((c - t).norm() / max(t.norm().item(), 1e-30)).item()

    def after_err(c, t, keep=None):
        e = (c - t).abs() / t.abs().clamp(min=1.0)
        if keep is not None:
            e = e[keep]
        return e.max().item() if e.numel() else 0.0

    accum = int(meta["accum"])
    for k in range(accum):
        lc, lt = got["loss%d" % k].item(), ref["loss%d" % k].item()
        e = abs(lc - lt) / abs(lt)
        tap(e <= 1e-5, "micro-batch %d loss C %.7f torch %.7f rel %.2e" % (k, lc, lt, e))
        e = (got["xmix%d" % k] - ref["xmix%d" % k]).abs().max().item()
        tap(e <= 1e-6, "micro-batch %d mixed images abs %.2e" % (k, e))
        e = (got["target%d" % k] - ref["target%d" % k]).abs().max().item()
        tap(e <= 1e-6, "micro-batch %d mixup targets abs %.2e" % (k, e))
        e = (inp["drop%d" % k].double() - ref["drop%d" % k]).abs().max().item()
        tap(e <= 1e-6, "micro-batch %d drop scales are 0 or 1/keep of linspace rates, abs %.2e (%d of %d dropped)"
            % (k, e, int((inp["drop%d" % k] == 0).sum()), inp["drop%d" % k].numel()))
        if "lam%d" % k in ref:
            lc = float(meta["mix%d" % k].split()[2])
            tap(abs(lc - ref["lam%d" % k].item()) <= 1e-12, "micro-batch %d cutmix lam %.6f = 1 - box area" % (k, lc))
        e = norm_rel(got["logits%d" % k], ref["logits%d" % k])
        tap(e <= 1e-4, "micro-batch %d logits norm-rel %.2e" % (k, e))

    # the C table against MAE's param_groups_lrd and lgp's fixed pos_embed
    c_rules = json.loads(meta["c_lr_scale"])
    wrong = []
    for n, v in c_rules.items():
        s, nowd, frozen = v.split()
        if n not in rules:
            if frozen != "1":
                wrong.append("%s trains (frozen in the twin)" % n)
            continue
        if frozen == "1":
            wrong.append("%s frozen" % n)
        if abs(float(s) - rules[n][0]) > 1e-6 * rules[n][0]:
            wrong.append("%s lr_scale %s, want %.9g" % (n, s, rules[n][0]))
        if (nowd == "1") == rules[n][1]:
            wrong.append("%s weight decay %s, want %s" % (n, "off" if nowd == "1" else "on", "on" if rules[n][1] else "off"))
    tap(not wrong and set(c_rules) == set(before), "table: lr scales, no-wd and frozen as param_groups_lrd%s"
        % ("" if not wrong else " (" + "; ".join(wrong) + ")"))

    # torch's AdamW step on the C gradients: the optimizer and its groups alone
    cb = {n: torch.nn.Parameter(v.clone(), requires_grad=n in grads) for n, v in before.items()}
    after_cg = adamw_step(cb, {n: got["grad." + n] for n in grads}, meta)

    worst = {}
    for n in before:
        parts, good = [], True
        for pre, tol in (("grad0.", 1e-4), ("grad.", 1e-4)):
            if n not in grads:
                continue
            if pre + n not in got:
                parts.append(pre + " missing")
                good = False
                continue
            e = norm_rel(got[pre + n], ref[pre + n])
            worst[pre] = max(worst.get(pre, 0.0), e)
            good &= e <= tol
            parts.append("%s %.2e" % (pre.rstrip("."), e))
        g = grads.get(n)
        keep = g.abs() > 1e-3 * g.abs().max() if g is not None else None
        e = after_err(got["after." + n], ref["after." + n], keep)
        e2 = after_err(got["after." + n], after_cg[n])
        worst["after"] = max(worst.get("after", 0.0), e)
        worst["after(C grads)"] = max(worst.get("after(C grads)", 0.0), e2)
        good &= e <= 1e-5 and e2 <= 1e-5
        parts.append("after %.2e after(C grads) %.2e" % (e, e2))
        tap(good, "%s: %s" % (n, " ".join(parts)))
    for k, v in sorted(worst.items()):
        print("# %s worst %-16s %.3e" % (mode, k, v))
    print("1..%d" % n_test)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""torch_cl.py — the PyTorch side of bench/bench_cl.sh: training images per second of one
MoCo v3 step (momentum update, keys of both views from the momentum encoder + projector,
queries from the online encoder + projector + predictor, symmetric contrastive loss,
backward, AdamW, zero_grad) with the model of tests/ref/cl_twin.py (the twin lgp's stage 2
is tested against: timm blocks, moco/builder.py heads and loss), on random images,
torch.set_num_threads(THREADS).

  torch_cl.py CONFIG BATCH STEPS WARMUP THREADS MLP_DIM MOCO_DIM

Prints one "key=value ..." line; peak_rss_mb includes the torch import (base_rss_mb).
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import torch  # noqa: E402

from cl_twin import encoder  # noqa: E402
from moco_twin import build_mlp, contrastive_loss  # noqa: E402
from torch_mae import CONFIGS, block_params, report, rss_mb  # noqa: E402


def main():
    name, B, steps, warmup, threads, fdim, edim = sys.argv[1], *map(int, sys.argv[2:8])
    torch.set_num_threads(threads)
    base = rss_mb()
    img, P, c, C, L, H, r, *_ = CONFIGS[name]
    N = (img // P) ** 2
    shapes = {"cls_token": [1, 1, C], "pos_embed": [1, N + 1, C], "patch_embed.proj.weight": [C, c, P, P],
              "patch_embed.proj.bias": [C], "norm.weight": [C], "norm.bias": [C]}
    for i in range(L):
        block_params(shapes, "blocks.%d." % i, C, r * C)
    g = torch.Generator().manual_seed(1)
    p = {k: torch.nn.Parameter(torch.randn(s, generator=g) * 0.02, requires_grad="pos_embed" not in k)
         for k, s in shapes.items()}
    pm = {k: v.detach().clone() for k, v in p.items()}
    cfg = {"patch": P, "width": C, "depth": L, "heads": H}
    proj, pred, projm = build_mlp(3, C, fdim, edim), build_mlp(2, edim, fdim, edim), build_mlp(3, C, fdim, edim)
    projm.load_state_dict(proj.state_dict())
    for q in projm.parameters():
        q.requires_grad_(False)
    params = [v for v in p.values() if v.requires_grad] + list(proj.parameters()) + list(pred.parameters())
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1)
    x1, x2 = torch.randn(B, c, img, img, generator=g), torch.randn(B, c, img, img, generator=g)
    m, tau, times, losses = 0.99, 0.2, [], []
    online = list(p.values()) + list(proj.parameters())
    moment = list(pm.values()) + list(projm.parameters())
    for s in range(warmup + steps):
        t0 = time.perf_counter()
        with torch.no_grad():  # moco/main_moco.py: the momentum update first, then the keys
            for a, b in zip(online, moment):
                b.mul_(m).add_(a.detach(), alpha=1 - m)
            k1, k2 = projm(encoder(pm, cfg, x1)), projm(encoder(pm, cfg, x2))
        q1, q2 = pred(proj(encoder(p, cfg, x1))), pred(proj(encoder(p, cfg, x2)))
        loss = contrastive_loss(q1, k2, tau) + contrastive_loss(q2, k1, tau)
        opt.zero_grad()
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if s >= warmup:
            times.append(dt)
            losses.append(loss.item())
    report(name, B, threads, times, losses, base)


if __name__ == "__main__":
    main()

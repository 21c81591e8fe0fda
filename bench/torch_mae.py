#!/usr/bin/python3
"""torch_mae.py — the PyTorch side of bench/bench_mae.sh: training images per second of
one MAE step (zero_grad, forward, backward, AdamW) with the model of tests/ref/mae_twin.py
(the twin the engine is tested against, same layers and loss), on random images and
random masks, torch.set_num_threads(THREADS).

  torch_mae.py CONFIG BATCH STEPS WARMUP THREADS

Prints one "key=value ..." line like bench_mae's. peak_rss_mb is the process's peak
resident memory (it includes the ~300 MB of the torch import, reported as base_rss_mb).
"""
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import torch  # noqa: E402

from mae_twin import mae_loss  # noqa: E402

# common/nn/vit.c's named configs (img, P, c, C, L, H, mlp, Cd, Ld, Hd, norm_pix, mask ratio)
CONFIGS = {
    "fmnist": (28, 4, 1, 192, 6, 3, 4, 128, 2, 4, 1, 0.75),
    "vit-tiny": (224, 16, 3, 192, 12, 3, 4, 512, 8, 16, 1, 0.75),
    "vit-small": (224, 16, 3, 384, 12, 6, 4, 512, 8, 16, 1, 0.75),
    "vit-base": (224, 16, 3, 768, 12, 12, 4, 512, 8, 16, 1, 0.75),
}


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def report(name, B, threads, times, losses, base):
    """The one "key=value ..." line the bench scripts parse (times: timed steps only)."""
    sec, best = sum(times) / len(times), min(times)
    print("torch version=%s config=%s batch=%d threads=%d steps=%d sec_per_step=%.4f img_per_s=%.2f "
          "best_sec=%.4f best_img_per_s=%.2f peak_rss_mb=%.1f base_rss_mb=%.1f loss=%.6f"
          % (torch.__version__, name, B, threads, len(times), sec, B / sec, best, B / best, rss_mb(), base,
             sum(losses) / len(losses)))


def block_params(p, pre, C, F):
    shapes = {"norm1.weight": [C], "norm1.bias": [C], "attn.qkv.weight": [3 * C, C],
              "attn.qkv.bias": [3 * C], "attn.proj.weight": [C, C], "attn.proj.bias": [C],
              "norm2.weight": [C], "norm2.bias": [C], "mlp.fc1.weight": [F, C],
              "mlp.fc1.bias": [F], "mlp.fc2.weight": [C, F], "mlp.fc2.bias": [C]}
    for k, s in shapes.items():
        p[pre + k] = s


def make_params(cfg):
    img, P, c, C, L, H, r, Cd, Ld, Hd, _, _ = cfg
    N, Q = (img // P) ** 2, P * P * c
    s = {"cls_token": [1, 1, C], "pos_embed": [1, N + 1, C], "patch_embed.proj.weight": [C, c, P, P],
         "patch_embed.proj.bias": [C]}
    for i in range(L):
        block_params(s, "blocks.%d." % i, C, r * C)
    s.update({"norm.weight": [C], "norm.bias": [C], "decoder_embed.weight": [Cd, C],
              "decoder_embed.bias": [Cd], "mask_token": [1, 1, Cd], "decoder_pos_embed": [1, N + 1, Cd]})
    for i in range(Ld):
        block_params(s, "decoder_blocks.%d." % i, Cd, r * Cd)
    s.update({"decoder_norm.weight": [Cd], "decoder_norm.bias": [Cd], "decoder_pred.weight": [Q, Cd],
              "decoder_pred.bias": [Q]})
    g = torch.Generator().manual_seed(1)
    p = {}
    for k, shape in s.items():
        t = torch.randn(shape, generator=g) * 0.02
        if k.endswith("norm1.weight") or k.endswith("norm2.weight") or k in ("norm.weight", "decoder_norm.weight"):
            t = torch.ones(shape)
        p[k] = torch.nn.Parameter(t, requires_grad="pos_embed" not in k)
    return p


def main():
    name, B, steps, warmup, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    base = rss_mb()
    cfg = CONFIGS[name]
    img, P, c, C, L, H, r, Cd, Ld, Hd, norm_pix, ratio = cfg
    d = {"patch": P, "width": C, "dec_width": Cd, "depth": L, "heads": H, "dec_depth": Ld,
         "dec_heads": Hd, "norm_pix": norm_pix}
    N = (img // P) ** 2
    K = int(N * (1 - ratio))
    p = make_params(cfg)
    opt = torch.optim.AdamW([v for v in p.values() if v.requires_grad], lr=1e-4, betas=(0.9, 0.95),
                            weight_decay=0.05)
    g = torch.Generator().manual_seed(2)
    imgs = torch.randn(B, c, img, img, generator=g)
    times, losses = [], []
    for s in range(warmup + steps):
        t0 = time.perf_counter()
        ids_keep = torch.argsort(torch.rand(B, N, generator=g), dim=1)[:, :K]
        mask = torch.ones(B, N)
        mask.scatter_(1, ids_keep, 0.0)
        opt.zero_grad()
        loss, _ = mae_loss(p, d, imgs, ids_keep, mask)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if s >= warmup:
            times.append(dt)
            losses.append(loss.item())
    report(name, B, threads, times, losses, base)


if __name__ == "__main__":
    main()

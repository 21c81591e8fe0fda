#!/usr/bin/python3
"""pil_golden.py — the PIL/torchvision-semantics twin of common/data/resize.c and
common/data/augment.c, used by tests/unit/test_resize.c and test_augment.c.

usage: pil_golden.py OP H W C IN.raw OUT.raw [ARGS...]

IN.raw holds H*W*C bytes (u8, HWC); OUT.raw receives the result, u8 HWC.
ops:
  resize FILTER DW DH [X0 Y0 X1 Y1]   Image.resize((DW, DH), FILTER, box=...)
  brightness F | contrast F | saturation F   ImageEnhance (= torchvision F.adjust_*)
  hue F                                torchvision F_pil.adjust_hue (uint8 wrap)
  grayscale                            convert('L'), replicated to C channels
  blur SIGMA                           ImageFilter.GaussianBlur(radius=SIGMA)
  solarize                             ImageOps.solarize(threshold=128)
  eval SIZE CROP_RATIO FILTER          Resize(int(SIZE / CROP_RATIO)) + CenterCrop(SIZE)
  view X Y W H S FILTER JIT O0 O1 O2 O3 BF CF SF HF GRAY BLUR SIGMA SOL FLIP
                                       one training view with the given draws, in the
                                       MoCo v3 order (crop+resize, jitter ops in order
                                       O0..O3, grayscale, blur, solarize, flip)
"""
import sys

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
           "lanczos": Image.LANCZOS, "box": Image.BOX}


def to_image(a):
    return Image.fromarray(a[:, :, 0], "L") if a.shape[2] == 1 else Image.fromarray(a, "RGB")


def adjust_hue(img, f):
    if img.mode == "L":
        return img
    h, s, v = img.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    with np.errstate(over="ignore"):
        np_h += np.array(f * 255).astype(np.int64).astype(np.uint8)
    return Image.merge("HSV", (Image.fromarray(np_h, "L"), s, v)).convert("RGB")


def center_crop(img, size):
    w, h = img.size
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def eval_view(img, size, crop_ratio, filt):
    w, h = img.size
    rs = int(size / crop_ratio)
    rw, rh = (rs, int(rs * h / w)) if w <= h else (int(rs * w / h), rs)
    return center_crop(img.resize((rw, rh), FILTERS[filt]), size)


def train_view(img, a):
    x, y, w, h, s = (int(v) for v in a[0:5])
    img = img.crop((x, y, x + w, y + h)).resize((s, s), FILTERS[a[5]])
    jit, order, f = int(a[6]), [int(v) for v in a[7:11]], [float(v) for v in a[11:15]]
    gray, blur, sigma, sol, flip = int(a[15]), int(a[16]), float(a[17]), int(a[18]), int(a[19])
    ops = [lambda i: ImageEnhance.Brightness(i).enhance(f[0]),
           lambda i: ImageEnhance.Contrast(i).enhance(f[1]),
           lambda i: i if i.mode == "L" else ImageEnhance.Color(i).enhance(f[2]),
           lambda i: adjust_hue(i, f[3])]
    if jit:
        for k in order:
            img = ops[k](img)
    if gray and img.mode == "RGB":
        g = np.array(img.convert("L"))
        img = Image.fromarray(np.repeat(g[:, :, None], 3, axis=2), "RGB")
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(radius=sigma))
    if sol:
        img = ImageOps.solarize(img, threshold=128)
    if flip:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    return img


def main(argv):
    op, h, w, c, fin, fout = argv[1], int(argv[2]), int(argv[3]), int(argv[4]), argv[5], argv[6]
    args = argv[7:]
    a = np.fromfile(fin, dtype=np.uint8).reshape(h, w, c)
    img = to_image(a)
    if op == "resize":
        box = tuple(float(x) for x in args[3:7]) if len(args) >= 7 else None
        out = img.resize((int(args[1]), int(args[2])), FILTERS[args[0]], box=box)
    elif op == "brightness":
        out = ImageEnhance.Brightness(img).enhance(float(args[0]))
    elif op == "contrast":
        out = ImageEnhance.Contrast(img).enhance(float(args[0]))
    elif op == "saturation":
        out = ImageEnhance.Color(img).enhance(float(args[0]))
    elif op == "hue":
        out = adjust_hue(img, float(args[0]))
    elif op == "grayscale":
        g = np.array(img.convert("L"))
        out = np.repeat(g[:, :, None], c, axis=2)
    elif op == "blur":
        out = img.filter(ImageFilter.GaussianBlur(radius=float(args[0])))
    elif op == "solarize":
        out = ImageOps.solarize(img, threshold=128)
    elif op == "eval":
        out = eval_view(img, int(args[0]), float(args[1]), args[2])
    elif op == "view":
        out = train_view(img, args)
    else:
        sys.exit("pil_golden.py: unknown op " + op)
    np.ascontiguousarray(np.array(out, dtype=np.uint8)).tofile(fout)


if __name__ == "__main__":
    main(sys.argv)

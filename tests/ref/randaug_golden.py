#!/usr/bin/python3
"""randaug_golden.py — the timm/PIL twin of the RandAugment ops in
common/data/augment_randaug.c and of a whole finetune view without erasing, used by
tests/unit/test_augment.c. Written from timm's auto_augment.py (level rules, PIL calls,
create_transform's hparams: bicubic, fill round(255 * ImageNet mean)).

usage: randaug_golden.py OP H W C IN.raw OUT.raw [ARGS...]

IN.raw holds H*W*C bytes (u8, HWC); OUT.raw receives the result, u8 HWC.
ops:
  ra [NAME M NEG]...        timm ops (NAME as in _RAND_INCREASING_TRANSFORMS) at
                            magnitude M, NEG 1 taking the negative sign, each on the
                            input; OUT.raw gets the results back to back
  ftview X Y W H S FLIP [NAME M NEG]...
                            crop (X, Y, W, H), resize to S bicubic, flip, then the ops
"""
import sys

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

FILL = (124, 116, 104)  # create_transform: round(255 * IMAGENET_DEFAULT_MEAN)


def to_image(a):
    return Image.fromarray(a[:, :, 0], "L") if a.shape[2] == 1 else Image.fromarray(a, "RGB")


def fill_for(img):
    # PIL refuses an RGB fill for "L" images; lgp uses the fill's luma there
    if img.mode == "L":
        return Image.new("RGB", (1, 1), FILL).convert("L").getpixel((0, 0))
    return FILL


def affine(img, m):
    return img.transform(img.size, Image.AFFINE, m, resample=Image.BICUBIC, fillcolor=fill_for(img))


def solarize_add(img, add, thresh=128):
    lut = [min(255, i + add) if i < thresh else i for i in range(256)]
    return img.point(lut * (3 if img.mode == "RGB" else 1))


def op(img, name, m, neg):
    lvl = m / 10.0
    s = -1.0 if neg else 1.0
    enh = max(0.1, 1.0 + s * (lvl * 0.9))
    w, h = img.size
    if name == "AutoContrast":
        return ImageOps.autocontrast(img)
    if name == "Equalize":
        return ImageOps.equalize(img)
    if name == "Invert":
        return ImageOps.invert(img)
    if name == "Rotate":
        return img.rotate(s * (lvl * 30.0), resample=Image.BICUBIC, fillcolor=fill_for(img))
    if name == "PosterizeIncreasing":
        return ImageOps.posterize(img, 4 - int(lvl * 4))
    if name == "SolarizeIncreasing":
        return ImageOps.solarize(img, 256 - int(lvl * 256))
    if name == "SolarizeAdd":
        return solarize_add(img, int(lvl * 110))
    if name == "ColorIncreasing":
        return img if img.mode == "L" else ImageEnhance.Color(img).enhance(enh)
    if name == "ContrastIncreasing":
        return ImageEnhance.Contrast(img).enhance(enh)
    if name == "BrightnessIncreasing":
        return ImageEnhance.Brightness(img).enhance(enh)
    if name == "SharpnessIncreasing":
        return ImageEnhance.Sharpness(img).enhance(enh)
    if name == "ShearX":
        return affine(img, (1, s * (lvl * 0.3), 0, 0, 1, 0))
    if name == "ShearY":
        return affine(img, (1, 0, 0, s * (lvl * 0.3), 1, 0))
    if name == "TranslateXRel":
        return affine(img, (1, 0, s * (lvl * 0.45) * w, 0, 1, 0))
    if name == "TranslateYRel":
        return affine(img, (1, 0, 0, 0, 1, s * (lvl * 0.45) * h))
    sys.exit("randaug_golden.py: unknown RandAugment op " + name)


def main(argv):
    name, h, w, c, fin, fout = argv[1], int(argv[2]), int(argv[3]), int(argv[4]), argv[5], argv[6]
    args = argv[7:]
    img = to_image(np.fromfile(fin, dtype=np.uint8).reshape(h, w, c))
    if name == "ra":
        out = np.concatenate([np.array(op(img, args[i], float(args[i + 1]), int(args[i + 2]))).ravel()
                              for i in range(0, len(args), 3)])
    elif name == "ftview":
        x, y, cw, ch, s, flip = (int(v) for v in args[0:6])
        out = img.crop((x, y, x + cw, y + ch)).resize((s, s), Image.BICUBIC)
        if flip:
            out = out.transpose(Image.FLIP_LEFT_RIGHT)
        for i in range(6, len(args), 3):
            out = op(out, args[i], float(args[i + 1]), int(args[i + 2]))
    else:
        sys.exit("randaug_golden.py: unknown op " + name)
    np.ascontiguousarray(np.array(out, dtype=np.uint8)).tofile(fout)


if __name__ == "__main__":
    main(sys.argv)

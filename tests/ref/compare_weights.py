#!/usr/bin/python3
"""compare_weights.py A.safetensors B.safetensors TOL [PREFIX-TO-SKIP...]

Compares every tensor of two safetensors files (same names, shapes and dtypes) by the
norm-relative error ||a - b|| / max(||b||, 1e-12); prints the worst and exits 1 if it
exceeds TOL. Tensors whose names start with a listed prefix are skipped.

The key third of every attn.qkv.bias is left out: softmax ignores a constant added to a
whole row of scores, so its true gradient is exactly zero and AdamW turns float
rounding noise into full-size steps there (the same in PyTorch); it does not change
any output of the model."""
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from safetensors_torch import load  # noqa: E402


def main():
    a, _ = load(sys.argv[1])
    b, _ = load(sys.argv[2])
    tol = float(sys.argv[3])
    skip = tuple(sys.argv[4:])
    if sorted(a) != sorted(b):
        print(f"different tensor names: {sorted(set(a) ^ set(b))[:5]}", file=sys.stderr)
        return 1
    worst, name = 0.0, ""
    for k in a:
        if skip and k.startswith(skip):
            continue
        x, y = a[k].double().numpy().copy(), b[k].double().numpy().copy()
        if k.endswith("attn.qkv.bias") and x.ndim == 1:
            c = x.shape[0] // 3
            x[c:2 * c] = y[c:2 * c] = 0
        if x.shape != y.shape:
            print(f"{k}: shapes {x.shape} and {y.shape}", file=sys.stderr)
            return 1
        e = np.linalg.norm(x - y) / max(np.linalg.norm(y), 1e-12)
        if e > worst:
            worst, name = e, k
    print(f"worst relative difference {worst:.3g} ({name})")
    return 0 if worst <= tol else 1


if __name__ == "__main__":
    sys.exit(main())

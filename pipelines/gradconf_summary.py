#!/usr/bin/python3
"""gradconf_summary.py RESULTS SEED... — the gradient-conflict table over training seeds.

Reads RESULTS/seed<S>/<run>-gradconf.json (lgp-gradconf's JSON, recorded by `make ...
gradconf record`) for every run and seed given, and prints a Markdown table: per run and
part (patch embedding, each block, final norm) the pooled cosine between the MAE and the
MoCo v3 gradient (of the gradients summed over the batches), mean ± std over the
training seeds, and the number of seeds whose pooled cosine is negative.
"""
import json
import os
import statistics
import sys

RUNS = ["random", "mae", "joint", "mocov3", "grafted"]


def main():
    res, seeds = sys.argv[1], sys.argv[2:]
    table = {}
    depth = None
    batches = set()
    for run in RUNS:
        per_seed = []
        for s in seeds:
            p = os.path.join(res, f"seed{s}", f"{run}-gradconf.json")
            if not os.path.exists(p):
                sys.exit(f"gradconf_summary.py: {p} is missing: run `make ... SEED={s} gradconf record` first")
            g = json.load(open(p))
            parts = [g["patch_embed"]] + g["blocks"] + [g["norm"]]
            depth = len(g["blocks"])
            batches.add((g["batches"], g["batch"]))
            per_seed.append([q["pooled"] for q in parts])
        table[run] = per_seed
    names = ["patch"] + [str(i) for i in range(depth)] + ["norm"]
    (nb, b), = batches if len(batches) == 1 else [(None, None)]
    print(f"## Gradient conflict: cos(g_MAE, g_MoCo) per block, pooled over {nb} batches of {b}, "
          f"mean ± std over training seeds {', '.join(seeds)}\n")
    print("| checkpoint | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for run in RUNS:
        cells = []
        for k in range(len(names)):
            v = [r[k] for r in table[run] if r[k] is not None]
            m = statistics.mean(v)
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            neg = sum(x < 0 for x in v)
            cells.append(f"{m:+.3f} ± {sd:.3f} ({neg}/{len(v)} < 0)")
        print(f"| {run} | " + " | ".join(cells) + " |")
    print("\nA checkpoint without one objective's head gets a random one (lgp-gradconf): MAE "
          "(no MoCo projector/predictor), MoCo v3 and grafted (no MAE decoder); random and "
          "joint need none.")


if __name__ == "__main__":
    main()

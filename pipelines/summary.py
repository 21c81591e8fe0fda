#!/usr/bin/python3
"""summary.py — the comparison over training seeds: merges the results.json of several
seed runs (pipelines/out/<profile>/seed<S>/results.json, one `make ... SEED=S` each) into
one results.json and a results.md.

  summary.py --out DIR [--name results|ablation] SEED_RESULTS.json...

For each run, protocol and shots, a training seed's score is the mean over its probe
seeds; the table gives the mean ± std of those over the training seeds. Below it,
layer-grafted minus every other row paired by training seed (seed S is the same data
order and augmentations for every row, and the same labelled subsets), for both
logistic-regression protocols at 1% and 10% and fine-tuning where it was run (a column
that not every seed has says how many it has)."""
import argparse
import json
import os

NAMES = {"grafted": "layer-grafted", "mae": "MAE only", "mocov3": "MoCo v3 only", "joint": "naive joint MIM + CL",
         "random": "random-init (floor)", "pixels": "raw pixels (floor)",
         "graft-lr0": "grafted, lower 2/3 frozen (lr 0)", "graft-lr1": "grafted, uniform lr (1x)",
         "graft-third": "grafted, 0.1x on the lower 1/3", "graft-all": "grafted, 0.1x on every block"}
COLUMNS = [("paper-lambda", "1%"), ("paper-lambda-gap", "1%"), ("tuned-lambda", "1%"), ("paper-lambda", "10%"),
           ("tuned-lambda", "10%"), ("finetune", "10%"), ("finetune", "all"), ("knn", "all")]
HEADERS = {("paper-lambda", "1%"): "1% paper λ", ("paper-lambda-gap", "1%"): "1% paper λ, cyanure stop",
           ("tuned-lambda", "1%"): "1% tuned λ", ("paper-lambda", "10%"): "10% paper λ",
           ("tuned-lambda", "10%"): "10% tuned λ", ("finetune", "10%"): "10% fine-tune",
           ("finetune", "all"): "100% fine-tune", ("knn", "all"): "kNN"}


def mean_std(v):
    m = sum(v) / len(v)
    s = (sum((x - m) ** 2 for x in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else 0.0
    return m, s


def per_seed(rows, run, protocol, shots):
    """training seed -> mean over its probe seeds"""
    acc = {}
    for r in rows:
        if r["run"] == run and r["protocol"] == protocol and r["shots"] == shots:
            acc.setdefault(r["train_seed"], []).append(r["top1"])
    return {s: sum(v) / len(v) for s, v in acc.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="results", help="file names in OUT: NAME.json, NAME.md")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    rows, profile, settings, seeds = [], None, set(), []
    for path in a.inputs:
        d = json.load(open(path))
        profile = profile or d.get("profile")
        settings.add(d.get("settings", ""))
        seed_rows = d["rows"]
        s = {r["train_seed"] for r in seed_rows}
        if len(s) != 1 or s & set(seeds):
            raise SystemExit(f"summary.py: {path}: expected the rows of one new training seed, got {sorted(s)}")
        seeds += sorted(s)
        rows += seed_rows
    os.makedirs(a.out, exist_ok=True)
    tmp = os.path.join(a.out, a.name + ".json.tmp")
    with open(tmp, "w") as f:
        json.dump({"profile": profile, "train_seeds": seeds, "settings": sorted(settings), "rows": rows}, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(a.out, a.name + ".json"))
    runs = [r for r in NAMES if any(x["run"] == r for x in rows)]
    columns = [c for c in COLUMNS if any(r["protocol"] == c[0] and r["shots"] == c[1] for r in rows)]
    lines = [f"## lgp {a.name}, profile `{profile}`, training seeds {', '.join(map(str, seeds))}", "",
             "Mean ± std over training seeds of each seed's mean over probe seeds (top-1 %).", "",
             "| pre-training | " + " | ".join(HEADERS[c] for c in columns) + " |", "|---|" + "---|" * len(columns)]
    for run in runs:
        cells = []
        for p, s in columns:
            v = list(per_seed(rows, run, p, s).values())
            # a column not every seed ran (fine-tuning) says how many it has
            few = f" ({len(v)} seed{'s' if len(v) > 1 else ''})" if 0 < len(v) < len(seeds) else ""
            spread = f" ± {mean_std(v)[1]:.2f}" if len(v) > 1 else ""
            cells.append("n/a" if not v else f"{mean_std(v)[0]:.2f}{spread}{few}")
        lines.append(f"| {NAMES[run]} | " + " | ".join(cells) + " |")
    lines += ["", "Layer-grafted minus each row, paired by training seed:", "",
              "| against | protocol | shots | mean difference ± std | seeds won |", "|---|---|---|---|---|"]
    for run in runs:
        if run == "grafted":
            continue
        for p, s in [c for c in columns if c[0] != "knn"]:
            g, o = per_seed(rows, "grafted", p, s), per_seed(rows, run, p, s)
            common = sorted(set(g) & set(o))
            if not common:
                continue
            m, sd = mean_std([g[k] - o[k] for k in common])
            won = sum(g[k] > o[k] for k in common)
            spread = f" ± {sd:.2f}" if len(common) > 1 else ""
            lines.append(f"| {NAMES[run]} | {p} | {s} | {m:+.2f}{spread} | {won}/{len(common)} |")
    lines += ["", "Settings: " + "; ".join(f"`{x}`" for x in sorted(settings)), ""]
    md = os.path.join(a.out, a.name + ".md")
    with open(md + ".tmp", "w") as f:
        f.write("\n".join(lines))
    os.replace(md + ".tmp", md)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

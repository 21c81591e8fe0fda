#!/usr/bin/python3
"""results.py — the comparison table (markdown) from the probe JSON files of a run folder.

  results.py --out DIR --profile NAME --runs "grafted mae ..." --settings "K=V ..."

Each row is one pre-training (or floor); columns are 1% and 10% logistic regression
(mean ± std over the probe seeds) and kNN top-1, then the training wall time read from
each stage's JSONL log. Below the table, layer-grafted against every other row at 1%,
paired by probe seed: seed k draws the same labelled subset for every row, so the
per-seed difference removes the subset's own luck (which is most of the ± above)."""
import argparse
import json
import os

ROWS = {
    "grafted": "layer-grafted (MAE lower layers + MoCo v3, lr-layer-wise)",
    "mae": "MAE only (stage 1 probed directly)",
    "mocov3": "MoCo v3 only (from scratch)",
    "joint": "naive joint MIM + CL",
    "random": "random-init encoder (floor)",
    "pixels": "raw pixels (floor)",
}


def cell(path):
    if not os.path.exists(path):
        return "n/a"
    res = json.load(open(path))
    mean = [r for r in res if "seeds" in r]
    if mean:
        r = mean[0]
        return f"{r['top1']:.2f} ± {r['top1_std']:.2f}"
    return f"{res[0]['top1']:.2f}"


def per_seed(path):
    if not os.path.exists(path):
        return {}
    return {r["seed"]: r["top1"] for r in json.load(open(path)) if "seeds" not in r and "seed" in r}


def paired(out, runs):
    base = per_seed(os.path.join(out, "grafted", "probe-1pct.json"))
    lines = []
    for run in runs:
        other = per_seed(os.path.join(out, run, "probe-1pct.json"))
        seeds = sorted(set(base) & set(other))
        if run == "grafted" or len(seeds) < 2:
            continue
        d = [base[k] - other[k] for k in seeds]
        mean = sum(d) / len(d)
        std = (sum((x - mean) ** 2 for x in d) / (len(d) - 1)) ** 0.5
        wins = sum(x > 0 for x in d)
        lines.append(f"| {run} | {mean:+.2f} ± {std:.2f} | {wins}/{len(d)} |")
    return lines


def train_minutes(d, run):
    stages = {"grafted": ["mae", "grafted"], "mae": ["mae"], "mocov3": ["mocov3"], "joint": ["joint"]}
    total = 0.0
    for s in stages.get(run, []):
        log = os.path.join(d, s, "train.jsonl")
        if not os.path.exists(log):
            return "n/a"
        last = None
        for line in open(log):
            last = json.loads(line)
        total += last["time"] if last else 0
    return f"{total / 60:.1f}" if run in stages else "0"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--profile")
    ap.add_argument("--runs")
    ap.add_argument("--settings")
    a = ap.parse_args()
    print(f"## lgp results, profile `{a.profile}`\n")
    print("| pre-training | 1% logreg top-1 | 10% logreg top-1 | kNN top-1 | training min |")
    print("|---|---|---|---|---|")
    for run in a.runs.split():
        d = os.path.join(a.out, run)
        print(f"| {ROWS.get(run, run)} | {cell(os.path.join(d, 'probe-1pct.json'))} | "
              f"{cell(os.path.join(d, 'probe-10pct.json'))} | {cell(os.path.join(d, 'probe-knn.json'))} | "
              f"{train_minutes(a.out, run)} |")
    pairs = paired(a.out, a.runs.split())
    if pairs:
        print("\nLayer-grafted minus each other row, 1% logreg, paired by probe seed (same labelled subset):\n")
        print("| against | mean difference ± std | seeds won |")
        print("|---|---|---|")
        print("\n".join(pairs))
    print(f"\nSettings: `{a.settings}`\n")
    print("Top-1 in percent on the Fashion-MNIST test set (10,000 images) unless TEST says otherwise; "
          "logreg is the paper's protocol (row-centred, L2-normalised features, multinomial "
          "logistic regression without intercept, lambda = 2.5e-4 / n), mean ± std over the "
          "probe seeds' subsets; kNN: k = 20, T = 0.07, all training labels.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

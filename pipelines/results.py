#!/usr/bin/python3
"""results.py — results.json and the comparison table (markdown) from the probe JSON files
of a run folder.

  results.py --out DIR --profile NAME --runs "grafted mae ..." --settings "K=V ..."
             [--train-seed S] [--json DIR/results.json]

results.json holds one row per (run, training seed, protocol, shots, probe seed):
{"run", "train_seed", "protocol" (paper-lambda | tuned-lambda | knn), "shots" (1% | 10% |
all), "probe_seed", "top1"}; the table and the plots (plots.sh) are computed from those
rows. Columns: 1% and 10% logistic regression with the paper's fixed lambda and with
lambda chosen by 5-fold cross-validation inside the labelled subset (the test set is
never used for a choice), mean ± std over the probe seeds; kNN top-1; the training wall
time read from each stage's JSONL log. Below the table, layer-grafted against every other
row, paired by probe seed (seed k draws the same labelled subset for every row, so the
per-seed difference removes the subset's own luck), for both protocols at 1%."""
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
# probe file -> (protocol, shots)
PROBES = {
    "probe-1pct.json": ("paper-lambda", "1%"),
    "probe-1pct-tuned.json": ("tuned-lambda", "1%"),
    "probe-10pct.json": ("paper-lambda", "10%"),
    "probe-10pct-tuned.json": ("tuned-lambda", "10%"),
    "probe-knn.json": ("knn", "all"),
}
COLUMNS = [("paper-lambda", "1%"), ("tuned-lambda", "1%"), ("paper-lambda", "10%"), ("tuned-lambda", "10%"),
           ("knn", "all")]


def collect(out, runs, train_seed):
    """Every per-seed result of every probe file, as results.json rows."""
    rows = []
    for run in runs:
        for name, (protocol, shots) in PROBES.items():
            path = os.path.join(out, run, name)
            if not os.path.exists(path):
                continue
            for r in json.load(open(path)):
                if "seeds" in r:  # the aggregate entry: recomputed from the rows
                    continue
                rows.append({"run": run, "train_seed": train_seed, "protocol": protocol, "shots": shots,
                             "probe_seed": r.get("seed", 0), "top1": r["top1"]})
    return rows


def select(rows, run, protocol, shots):
    return {r["probe_seed"]: r["top1"] for r in rows
            if r["run"] == run and r["protocol"] == protocol and r["shots"] == shots}


def mean_std(v):
    m = sum(v) / len(v)
    s = (sum((x - m) ** 2 for x in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else 0.0
    return m, s


def cell(rows, run, protocol, shots):
    v = list(select(rows, run, protocol, shots).values())
    if not v:
        return "n/a"
    if len(v) == 1:
        return f"{v[0]:.2f}"
    m, s = mean_std(v)
    return f"{m:.2f} ± {s:.2f}"


def paired(rows, runs, protocol):
    base = select(rows, "grafted", protocol, "1%")
    lines = []
    for run in runs:
        other = select(rows, run, protocol, "1%")
        seeds = sorted(set(base) & set(other))
        if run == "grafted" or len(seeds) < 2:
            continue
        m, s = mean_std([base[k] - other[k] for k in seeds])
        wins = sum(base[k] > other[k] for k in seeds)
        lines.append(f"| {run} | {protocol} | {m:+.2f} ± {s:.2f} | {wins}/{len(seeds)} |")
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
    ap.add_argument("--train-seed", type=int, default=0)
    ap.add_argument("--json", help="write results.json here (atomically)")
    a = ap.parse_args()
    runs = a.runs.split()
    rows = collect(a.out, runs, a.train_seed)
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"profile": a.profile, "settings": a.settings, "rows": rows}, f, indent=1)
            f.write("\n")
        os.replace(tmp, a.json)
    print(f"## lgp results, profile `{a.profile}`, training seed {a.train_seed}\n")
    print("| pre-training | 1% paper λ | 1% tuned λ | 10% paper λ | 10% tuned λ | kNN top-1 | training min |")
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        cells = " | ".join(cell(rows, run, p, s) for p, s in COLUMNS)
        print(f"| {ROWS.get(run, run)} | {cells} | {train_minutes(a.out, run)} |")
    pairs = paired(rows, runs, "paper-lambda") + paired(rows, runs, "tuned-lambda")
    if pairs:
        print("\nLayer-grafted minus each other row at 1%, paired by probe seed (same labelled subset):\n")
        print("| against | protocol | mean difference ± std | seeds won |")
        print("|---|---|---|---|")
        print("\n".join(pairs))
    print(f"\nSettings: `{a.settings}`\n")
    print("Top-1 in percent on the Fashion-MNIST test set (10,000 images) unless TEST says otherwise. "
          "logreg: row-centred, L2-normalised features, multinomial logistic regression without "
          "intercept, L-BFGS to a gradient-norm tolerance of 1e-6 relative (cap 2000 iterations); "
          "paper λ = 2.5e-4 / n; tuned λ = the best of 1e-8..1e-1 by 5-fold cross-validation inside "
          "the labelled subset. Mean ± sample std (n - 1) over the probe seeds' subsets. kNN: k = 20, T = 0.07, all "
          "training labels. Rows of results.json carry every number.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

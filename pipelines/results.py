#!/usr/bin/python3
"""results.py — results.json and the comparison table (markdown) from the probe JSON files
of a run folder.

  results.py --out DIR --profile NAME --runs "grafted mae ..." --settings "K=V ..."
             [--train-seed S] [--json DIR/results.json]

results.json holds one row per (run, training seed, protocol, shots, probe seed):
{"run", "train_seed", "protocol" (paper-lambda | paper-lambda-gap | tuned-lambda | knn |
finetune, the last with its "minutes"), "shots" (1% | 10% | all), "probe_seed", "top1"}; the table and the plots (plots.sh) are computed from those
rows. Columns (those with data): 1% and 10% logistic regression with the paper's fixed
lambda (also under cyanure's duality-gap stopping rule at 1%) and with lambda chosen by
5-fold cross-validation inside the labelled subset (the test set is never used for a
choice), mean ± std over the probe seeds; kNN top-1; each stage's training wall time
read from its JSONL log. Below the table, layer-grafted against every other
row, paired by probe seed (seed k draws the same labelled subset for every row, so the
per-seed difference removes the subset's own luck), for every protocol at 1%.
--title names the table (results, ablation); --probes limits it to some probe files.
--base FILE (a recorded results.json of the same training seed and settings) completes a
seed after its run folder is gone: every (run, protocol, shots) that OUT has no file for
comes from FILE, and so do the stage times FILE has (the original run's)."""
import argparse
import json
import os

ROWS = {
    "grafted": "layer-grafted (MAE lower layers + MoCo v3, lr-layer-wise)",
    "mae": "MAE only (stage 1 probed directly)",
    "mocov3": "MoCo v3 only (from scratch)",
    "joint": "naive joint MIM + CL (ctr + MIM_WEIGHT x MAE, patch embedding trained)",
    "random": "random-init encoder (floor)",
    "pixels": "raw pixels (floor)",
    "graft-lr0": "grafted, lower 2/3 frozen (lr 0)",
    "graft-lr1": "grafted, uniform lr (1x) from the MAE init",
    "graft-third": "grafted, 0.1x on the lower 1/3 only",
    "graft-all": "grafted, 0.1x on every block (heads 1x)",
}
# probe file -> (protocol, shots)
PROBES = {
    "probe-1pct.json": ("paper-lambda", "1%"),
    "probe-1pct-gap.json": ("paper-lambda-gap", "1%"),
    "probe-1pct-tuned.json": ("tuned-lambda", "1%"),
    "probe-10pct.json": ("paper-lambda", "10%"),
    "probe-10pct-tuned.json": ("tuned-lambda", "10%"),
    "probe-knn.json": ("knn", "all"),
    "finetune-10pct.json": ("finetune", "10%"),
    "finetune-all.json": ("finetune", "all"),
}
COLUMNS = [("paper-lambda", "1%"), ("paper-lambda-gap", "1%"), ("tuned-lambda", "1%"), ("paper-lambda", "10%"),
           ("tuned-lambda", "10%"), ("finetune", "10%"), ("finetune", "all"), ("knn", "all")]
HEADERS = {("paper-lambda", "1%"): "1% paper λ", ("paper-lambda-gap", "1%"): "1% paper λ, cyanure stop",
           ("tuned-lambda", "1%"): "1% tuned λ", ("paper-lambda", "10%"): "10% paper λ",
           ("tuned-lambda", "10%"): "10% tuned λ", ("finetune", "10%"): "10% fine-tune (min)",
           ("finetune", "all"): "100% fine-tune (min)",
           ("knn", "all"): "kNN top-1"}


def collect(out, runs, train_seed, probes):
    """Every per-seed result of the probe files named (all if None), as results.json rows."""
    rows = []
    for run in runs:
        for name, (protocol, shots) in PROBES.items():
            if probes is not None and name not in probes:
                continue
            path = os.path.join(out, run, name)
            if not os.path.exists(path):
                continue
            data = json.load(open(path))
            if isinstance(data, dict):  # lgp-finetune: one run on the first probe seed's subset
                rows.append({"run": run, "train_seed": train_seed, "protocol": protocol, "shots": shots,
                             "probe_seed": train_seed, "top1": data["top1"],
                             "minutes": data.get("seconds", 0) / 60})
                continue
            for r in data:
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
    if protocol == "finetune":
        mins = [r.get("minutes", 0) for r in rows if r["run"] == run and r["protocol"] == protocol and r["shots"] == shots]
        return f"{v[0]:.2f} ({mins[0]:.1f})"
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


def stage_minutes(d, stage):
    """The wall time of one training stage from its JSONL log (None if there is none)."""
    log = os.path.join(d, stage, "train.jsonl")
    if not os.path.exists(log):
        return None
    last = None
    for line in open(log):
        last = json.loads(line)
    return last["time"] / 60 if last else 0.0


def train_minutes(d, run):
    """Each stage's wall time in minutes: 'stage 1 + stage 2' for the grafted rows."""
    if run in ("random", "pixels"):
        return "0"
    stages = ["mae", run] if run == "grafted" or run.startswith("graft-") else [run]
    t = [stage_minutes(d, s) for s in stages]
    if any(x is None for x in t):
        return "n/a"
    return " + ".join(f"{x:.1f}" for x in t)


def load_base(path, settings, train_seed):
    """A recorded results.json, refused when another seed's or other settings' (rows made
    under them would mix two experiments in one table)."""
    if not os.path.exists(path):
        raise SystemExit(f"results.py: {path} is missing: record the seed first (make ... SEED={train_seed} table record)")
    b = json.load(open(path))
    if b.get("settings") != settings:
        raise SystemExit(f"results.py: {path}: recorded with settings `{b.get('settings')}`, not `{settings}`")
    seeds = {r["train_seed"] for r in b["rows"]}
    if seeds != {train_seed}:
        raise SystemExit(f"results.py: {path}: rows of training seeds {sorted(seeds)}, not {train_seed}")
    return b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--profile")
    ap.add_argument("--runs")
    ap.add_argument("--settings")
    ap.add_argument("--train-seed", type=int, default=0)
    ap.add_argument("--json", help="write results.json here (atomically)")
    ap.add_argument("--title", default="results")
    ap.add_argument("--probes", help="probe files to read, e.g. '1pct 1pct-tuned knn' (default: all)")
    ap.add_argument("--base", help="a recorded results.json whose rows fill what OUT lacks")
    ap.add_argument("--check-base", action="store_true", help="only check that --base fits; write nothing")
    a = ap.parse_args()
    b = load_base(a.base, a.settings, a.train_seed) if a.base else None
    if a.check_base:
        return 0
    runs = a.runs.split()
    probes = None if a.probes is None else {f"probe-{p}.json" for p in a.probes.split()}
    rows = collect(a.out, runs, a.train_seed, probes)
    minutes = {run: train_minutes(a.out, run) for run in runs}
    if b:
        have = {(r["run"], r["protocol"], r["shots"]) for r in rows}
        rows = [r for r in b["rows"] if r["run"] in runs and (r["run"], r["protocol"], r["shots"]) not in have] + rows
        # the recorded stage times are the original run's (a stage made again to complete
        # the seed may have run beside other work)
        for run, m in b.get("train_minutes", {}).items():
            if run in minutes and m != "n/a":
                minutes[run] = m
    columns = [c for c in COLUMNS if any(r["protocol"] == c[0] and r["shots"] == c[1] for r in rows)]
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"profile": a.profile, "settings": a.settings, "train_minutes": minutes, "rows": rows}, f, indent=1)
            f.write("\n")
        os.replace(tmp, a.json)
    print(f"## lgp {a.title}, profile `{a.profile}`, training seed {a.train_seed}\n")
    print("| pre-training | " + " | ".join(HEADERS[c] for c in columns) + " | training min |")
    print("|---|" + "---|" * len(columns) + "---|")
    for run in runs:
        cells = " | ".join(cell(rows, run, p, s) for p, s in columns)
        print(f"| {ROWS.get(run, run)} | {cells} | {minutes[run]} |")
    pairs = []
    for p in ("paper-lambda", "paper-lambda-gap", "tuned-lambda"):
        pairs += paired(rows, runs, p)
    if pairs:
        print("\nLayer-grafted minus each other row at 1%, paired by probe seed (same labelled subset):\n")
        print("| against | protocol | mean difference ± std | seeds won |")
        print("|---|---|---|---|")
        print("\n".join(pairs))
    print(f"\nSettings: `{a.settings}`\n")
    print("Top-1 in percent on the Fashion-MNIST test set (10,000 images) unless TEST says otherwise. "
          "logreg: row-centred, L2-normalised features, multinomial logistic regression without "
          "intercept, L-BFGS to a gradient-norm tolerance of 1e-6 relative (cap 2000 iterations); "
          "paper λ = 2.5e-4 / n; cyanure stop = the same fit stopped at cyanure's relative duality gap "
          "of 1e-3 (cap 300 iterations); tuned λ = the best of 1e-8..1e-1 by 5-fold cross-validation inside "
          "the labelled subset. Mean ± sample std (n - 1) over the probe seeds' subsets. kNN: k = 20, T = 0.07, all "
          "training labels. 10% fine-tune: lgp-finetune on lgp-augment --recipe finetune views (MAE's ViT-B "
          "recipe; runs made from 2026-12-05 on take its low-resolution form at <= 32 pixels: whole image + flip, "
          "blr 5e-3, no mixup or cutmix; FT_AUG and FT_FLAGS change them) on the "
          "first probe seed's 10% subset, top-1 on the test set, one run; in brackets its wall time in minutes; "
          "100% fine-tune: the same on every training label for FT_FULL_EPOCHS epochs. "
          "Training min: each stage's wall time (stage 1 + stage 2 for the grafted rows). "
          "Rows of results.json carry every number.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

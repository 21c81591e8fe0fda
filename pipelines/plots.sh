#!/usr/bin/env bash
# plots.sh OUT — the PNG figures of a pipeline run folder, drawn by gnuplot:
#   loss.png          the training losses from the JSONL logs, one panel per objective:
#                     MAE (the MAE run, and the joint run's "mim" term) and contrastive
#                     (grafted stage 2, MoCo v3 and the joint run's "ctr" term), by epoch;
#   accuracy-1pct.png frozen-feature top-1 from results.json, one panel each for 1% and
#                     10% of the labels (logistic regression, lambda tuned by
#                     cross-validation where the run has it, else the paper's lambda) and
#                     kNN on all labels; bars are the mean over the probe seeds, error bars
#                     ± their sample std (for a summary of several training seeds,
#                     results.json from summary.py: over the training seeds' means); the
#                     floors (random init, raw pixels) in grey, after a gap.
# Each figure is written to a temporary name and renamed, so a failure leaves the old one.
set -euo pipefail
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$out" "$tmp" <<'PY'
import json, os, sys

out, tmp = sys.argv[1], sys.argv[2]
res = os.path.join(out, "results.json")
doc = json.load(open(res)) if os.path.exists(res) else {"rows": []}
rows = doc["rows"]
seeds = sorted({r["train_seed"] for r in rows})
who = "profile %s, training seed%s %s" % (doc.get("profile", "?"), "s" if len(seeds) > 1 else "", ", ".join(map(str, seeds)))
COLOR = {"mae": "#1f77b4", "grafted": "#d62728", "mocov3": "#2ca02c", "joint": "#9467bd"}


def q(s):  # a gnuplot string
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def epochs(run, key):
    """(epoch at the end of the step, value) of one JSONL log's key; a step logged twice
    (a resumed run appends) keeps its last value."""
    path = os.path.join(out, run, "train.jsonl")
    if not os.path.exists(path):
        return []
    by_step = {}
    for line in open(path):
        r = json.loads(line)
        if key in r:
            by_step[r["step"]] = (r["epoch"], r[key])
    per = {}
    for st in sorted(by_step):
        per.setdefault(by_step[st][0], []).append(by_step[st][1])
    return [(e + (i + 1) / len(per[e]), x) for e in sorted(per) for i, x in enumerate(per[e])]


# ---- loss.png: one panel per objective ----
panels = [("MAE loss (normalised-pixel MSE on the masked patches)",
           [("mae", "loss", "MAE only (stage 1 of grafted)", "solid"), ("joint", "mim", "naive joint: its MAE term", "dash")]),
          ("contrastive loss (MoCo v3 InfoNCE, 2τ-scaled)",
           [("grafted", "ctr", "layer-grafted (stage 2)", "solid"), ("mocov3", "ctr", "MoCo v3 only", "solid"),
            ("joint", "ctr", "naive joint: its contrastive term", "dash")])]
drawn = []
for title, curves in panels:
    plots = []
    for run, key, label, dash in curves:
        pts = epochs(run, key)
        if not pts:
            continue
        f = os.path.join(tmp, f"{run}-{key}.dat")
        with open(f, "w") as fh:
            fh.writelines(f"{e:.6f} {v:.8g}\n" for e, v in pts)
        plots.append(f"{q(f)} using 1:2 with lines lw 2 lc rgb {q(COLOR[run])}"
                     f"{' dt 2' if dash == 'dash' else ''} title {q(label)}")
    if plots:
        drawn.append((title, plots))
if drawn:
    g = [f"set terminal pngcairo size {620 * len(drawn)},480 font ',10'",
         f"set output {q(os.path.join(tmp, 'loss.png'))}",
         f"set multiplot layout 1,{len(drawn)} title {q('Training losses by objective (' + who + ')')} font ',12'",
         "set xlabel 'epoch'", "set ylabel 'loss (per step)'", "set key top right", "set grid"]
    for title, plots in drawn:
        g += [f"set title {q(title)}", "plot " + ", ".join(plots)]
    g.append("unset multiplot")
    open(os.path.join(tmp, "loss.gp"), "w").write("\n".join(g) + "\n")

# ---- accuracy-1pct.png: 1%, 10% and kNN panels ----
METHODS = [("grafted", "grafted"), ("mae", "MAE"), ("mocov3", "MoCo v3"), ("joint", "joint")]
FLOORS = [("random", "random init"), ("pixels", "raw pixels")]


def stats(run, protocol, shots):
    """mean, sample std, n: over the probe seeds for one training seed; over the training
    seeds' means (each over its probe seeds) for a summary of several (summary.py)."""
    sel = [r for r in rows if r["run"] == run and r["protocol"] == protocol and r["shots"] == shots]
    if not sel:
        return None
    by_seed = {}
    for r in sel:
        by_seed.setdefault(r["train_seed"], []).append(r["top1"])
    v = [sum(x) / len(x) for x in by_seed.values()] if len(seeds) > 1 else [r["top1"] for r in sel]
    m = sum(v) / len(v)
    s = (sum((x - m) ** 2 for x in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else 0.0
    return m, s, len(v)


def choose(shots):
    """Tuned lambda where every run that has this subset has it, else the paper's."""
    runs = {r["run"] for r in rows if r["shots"] == shots and r["protocol"] in ("tuned-lambda", "paper-lambda")}
    tuned = {r["run"] for r in rows if r["shots"] == shots and r["protocol"] == "tuned-lambda"}
    return ("tuned-lambda", "λ tuned by 5-fold CV") if runs and runs <= tuned else ("paper-lambda", "the paper's λ")


panels = []
for shots, what in (("1%", "1% of the labels"), ("10%", "10% of the labels")):
    protocol, how = choose(shots)
    panels.append((f"{what}\nlogistic regression, {how}", protocol, shots, True))
many = len(seeds) > 1  # kNN is one run per training seed: error bars only over several
panels.append(("all labels\nkNN (k = 20)" + ("" if many else "\none run: no error bars"), "knn", "all", many))
blocks = []
for title, protocol, shots, bars in panels:
    lines, x, n = [], 0, set()
    for group, color in ((METHODS, "#4a7ab5"), (FLOORS, "#a0a0a0")):
        x += 1 if lines else 0  # the gap between the methods and the floors
        for run, label in group:
            st = stats(run, protocol, shots)
            if st:
                lines.append(f'{x} "{label}" {st[0]:.3f} {st[1]:.3f} {int(color[1:], 16)}\n')
                n.add(st[2])
                x += 1
    if not lines:
        continue
    f = os.path.join(tmp, f"acc-{len(blocks)}.dat")
    open(f, "w").writelines(lines)
    lo = min(float(l.split()[-3]) - float(l.split()[-2]) for l in lines)
    lo = max(0, int(lo / 10) * 10 - 10)
    unit = "training seeds" if len(seeds) > 1 else "probe seeds"
    seeds_txt = f"\nmean ± std over {min(n)} {unit}" if bars and max(n) > 1 else ""
    blocks.append((title + seeds_txt, f, lo, x - 1, bars and max(n) > 1))
if not blocks:
    sys.exit(f"plots.sh: {res}: no accuracy rows (make ... table first)")
g = [f"set terminal pngcairo size {520 * len(blocks)},500 font ',10'",
     f"set output {q(os.path.join(tmp, 'accuracy-1pct.png'))}",
     f"set multiplot layout 1,{len(blocks)} title {q('Frozen-feature top-1 on the test set (' + who + '); error bars: ± sample std over ' + ('training seeds (each the mean of its probe seeds)' if len(seeds) > 1 else 'probe seeds') + '; grey: the floors')} font ',12'",
     "set style fill solid 0.8 border -1", "set boxwidth 0.7", "unset key", "set grid ytics",
     "set ylabel 'top-1 (%)'", "set xtics rotate by -30 nomirror"]
for title, f, lo, xmax, err in blocks:
    style = f"using 1:3:4:5:xtic(2) with boxerrorbars lc rgb variable" if err else \
            f"using 1:3:5:xtic(2) with boxes lc rgb variable"
    top = "($3+$4)" if err else "3"
    g += [f"set title {q(title)}", f"set xrange [-0.6:{xmax}+0.6]", f"set yrange [{lo}:100]",
          f"plot {q(f)} {style}, '' using 1:{top}:(sprintf('%.1f',$3)) with labels offset 0,0.8"]
g.append("unset multiplot")
open(os.path.join(tmp, "acc.gp"), "w").write("\n".join(g) + "\n")
PY
for f in loss acc; do
    if [ -e "$tmp/$f.gp" ]; then gnuplot "$tmp/$f.gp"; fi
done
made=""
for f in loss accuracy-1pct; do
    if [ -e "$tmp/$f.png" ]; then
        cp "$tmp/$f.png" "$out/.$f.png.tmp" && mv "$out/.$f.png.tmp" "$out/$f.png"
        made="$made $out/$f.png"
    fi
done
echo "plots:$made" >&2

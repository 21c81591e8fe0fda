#!/usr/bin/env bash
# plots.sh OUT — PNG plots from a pipeline run folder with gnuplot: loss curves of every
# training stage (from the JSONL logs) and the 1% accuracy of every run.
set -euo pipefail
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plot=""
for s in mae grafted mocov3 joint; do
    log="$out/$s/train.jsonl"
    [ -f "$log" ] || continue
    /usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l); print(r["step"], r["loss"])' "$log" >"$tmp/$s.dat"
    plot="$plot${plot:+, }'$tmp/$s.dat' using 1:2 with lines title '$s'"
done
if [ -n "$plot" ]; then
    gnuplot -e "set terminal png size 900,500; set output '$out/loss.png'; set xlabel 'step'; set ylabel 'loss'; set logscale y; set key top right; plot $plot"
fi
# The 1% bars: mean ± std over probe seeds of the tuned-lambda rows of results.json.
/usr/bin/python3 - "$out" >"$tmp/acc.dat" <<'PY'
import json, os, sys
rows = json.load(open(os.path.join(sys.argv[1], "results.json")))["rows"]
for run in ["grafted", "mae", "mocov3", "joint", "random", "pixels"]:
    v = [r["top1"] for r in rows if r["run"] == run and r["protocol"] == "tuned-lambda" and r["shots"] == "1%"]
    if v:
        m = sum(v) / len(v)
        s = (sum((x - m) ** 2 for x in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else 0.0
        print(f'"{run}" {m:.2f} {s:.2f}')
PY
# Bars start 10 points under the lowest one (differences of a point must be visible) and
# the x range leaves half a bar of margin at both ends.
read -r n lo < <(awk '{ v = $2 - $3; if (NR == 1 || v < m) m = v } END { l = int(m / 10) * 10 - 10; print NR, (l < 0 ? 0 : l) }' "$tmp/acc.dat")
gnuplot -e "set terminal png size 700,450; set output '$out/accuracy-1pct.png'; set style fill solid 0.6; set boxwidth 0.6; set ylabel 'top-1 % (1% labels, tuned lambda)'; set xrange [-0.6:$n-0.4]; set yrange [$lo:100]; unset key; plot '$tmp/acc.dat' using 0:2:3:xtic(1) with boxerrorbars, '' using 0:(\$2+\$3+1.5):(sprintf('%.1f',\$2)) with labels"
echo "plots: $out/loss.png $out/accuracy-1pct.png" >&2

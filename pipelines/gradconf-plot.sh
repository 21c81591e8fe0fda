#!/usr/bin/env bash
# gradconf-plot.sh OUT RUN... — the gradient-conflict figures from lgp-gradconf's JSON
# files OUT/<run>/gradconf.json: OUT/gradconf.png, the pooled cosine between the MAE and
# the MoCo v3 gradient per block (of the gradients summed over the batches, where their
# sampling noise cancels) for every run in one figure, and OUT/<run>/gradconf.png, one
# box plot per checkpoint of the per-batch cosines (box 25-75%, whiskers min-max, line
# at the median, x at the pooled value).
set -euo pipefail
out=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plot=""
i=0
for run in "$@"; do
    j="$out/$run/gradconf.json"
    [ -f "$j" ] || { echo "gradconf-plot.sh: $j is missing" >&2; exit 1; }
    # x: 0 = patch_embed, 1..L = blocks, L+1 = norm; columns x, mean, q25, q75, min, max, median, pooled
    /usr/bin/python3 - "$j" >"$tmp/$run.dat" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
parts = [g["patch_embed"]] + g["blocks"] + [g["norm"]]
for x, p in enumerate(parts):
    q = p["quantiles"]
    if p["cosine"] is None:
        continue
    print(x, p["cosine"], q[1], q[3], q[0], q[4], q[2], p["pooled"])
PY
    L=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["blocks"]))' "$j")
    tics="set xtics ('patch' 0, $(seq 1 "$L" | awk '{ printf "%s\"%d\" %d", (NR > 1 ? ", " : ""), $1 - 1, $1 }'), 'norm' $((L + 1)))"
    gnuplot -e "set terminal png size 700,450; set output '$out/$run/gradconf.png';
        set title 'Gradient conflict, $run checkpoint: cos(g_{MAE}, g_{MoCo}) over $(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batches"])' "$j") batches';
        set xlabel 'block'; set ylabel 'cosine'; $tics; set xrange [-0.7:$L+1.7]; set boxwidth 0.5;
        set style fill empty; set grid ytics; unset key;
        plot '$tmp/$run.dat' using 1:3:5:6:4 with candlesticks whiskerbars lw 1.5,
             '' using 1:7:7:7:7 with candlesticks lw 2, '' using 1:8 with points pt 2 ps 1.5 lc 'black',
             0 with lines dt 2 lc 'black'"
    off=$(awk -v i="$i" -v n="$#" 'BEGIN { printf "%.3f", (i - (n - 1) / 2) * 0.08 }')
    plot="$plot${plot:+, }'$tmp/$run.dat' using (\$1+$off):8 with linespoints lw 2 title '$run'"
    i=$((i + 1))
done
gnuplot -e "set terminal png size 900,500; set output '$out/gradconf.png';
    set title 'cos(g_{MAE}, g_{MoCo}) per block, of the gradients summed over the batches';
    set xlabel 'block (patch = patch embedding, norm = final norm)'; set ylabel 'cos(g_{MAE}, g_{MoCo})';
    $tics; set xrange [-0.5:$L+1.5]; set grid ytics; set key outside right; plot $plot, 0 with lines dt 2 lc 'black' notitle"
echo "plots: $out/gradconf.png and one per run" >&2

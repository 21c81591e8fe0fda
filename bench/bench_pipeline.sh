#!/usr/bin/env bash
# bench_pipeline.sh — what the live pipeline costs the trainer: lgp-mim-train fed by
# `tar-images | lgp-augment --recipe mae | lgp-mask` (as pipelines/lgp.mk runs stage 1)
# against the same trainer reading the same records from a file made beforehand, in
# alternating rounds; then lgp-augment's cost per image for each recipe.
#
#   bench/bench_pipeline.sh        (LGP_BUILD, PYTHON as in the Makefile)
#
# Environment: BENCH_THREADS (2: the trainer's threads, as the pipelines give it),
# BENCH_ROUNDS (4), BENCH_BATCH (256), BENCH_STEPS (40 timed steps), BENCH_WARMUP (2),
# BENCH_AUG_N (20000 images per recipe), BENCH_FEED_NICE (empty: the feeding stages'
# own default; a number runs them under `nice -n N`, to compare), BENCH_LEVEL (empty:
# their default zstd level; N gives them --level N). Throughput is the
# trainer's own, from its JSONL log between the end of the warm-up and the last step,
# so both sides are timed the same way; upstream stages run at their defaults
# (lgp-augment: 2 worker threads). The verdict is the median of the rounds' live/file
# ratios: each round runs the two back to back, so a slow spell of the machine hits
# both sides of a ratio rather than one side of the best-of.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${LGP_BUILD:-$here/../build}
py=${PYTHON:-/usr/bin/python3}
threads=${BENCH_THREADS:-2} rounds=${BENCH_ROUNDS:-4} B=${BENCH_BATCH:-256}
steps=${BENCH_STEPS:-40} warm=${BENCH_WARMUP:-2} augn=${BENCH_AUG_N:-20000}
nice=(); [ -z "${BENCH_FEED_NICE:-}" ] || nice=(nice -n "$BENCH_FEED_NICE")
level=(); [ -z "${BENCH_LEVEL:-}" ] || level=(--level "$BENCH_LEVEL")
train=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
[ -f "$train" ] || { echo "bench_pipeline.sh: $train: not found (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
# No OMP_WAIT_POLICY here: each stage runs with its own default, as a user's pipeline does.
export PATH=$build/bin:$PATH
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=$((B * (steps + warm)))
feed() { "${nice[@]}" tar-images -q "${level[@]}" --limit "$n" "$train" |
    "${nice[@]}" lgp-augment -q "${level[@]}" --recipe mae --size 28 --seed 0 |
    "${nice[@]}" lgp-mask -q "${level[@]}" --patch 7 --seed 0; }
train() { lgp-mim-train -q --model fmnist --patch 7 --img-size 28 --batch "$B" --steps $((steps + warm)) \
    --warmup-steps 1 --threads "$threads" --log "$1" -o "$T/out.ckpt" "${@:2}"; }
feed >"$T/views.lgps"
for ((r = 1; r <= rounds; r++)); do
    echo "bench_pipeline.sh: round $r/$rounds: from the file, then live" >&2
    train "$T/file$r.jsonl" "$T/views.lgps"
    feed | train "$T/live$r.jsonl"
done
cmp -s <(feed) "$T/views.lgps" || { echo "bench_pipeline.sh: the live stream differs from the file" >&2; exit 1; }

# lgp-augment alone per recipe: decoded 28x28 images in, views out (to /dev/null)
tar-images -q --limit "$augn" "$train" >"$T/images.lgps"
for recipe in mae moco finetune eval; do
    t0=$(date +%s.%N)
    lgp-augment -q --recipe "$recipe" --size 28 --seed 0 "$T/images.lgps" >/dev/null
    t1=$(date +%s.%N)
    echo "augment $recipe $augn $t0 $t1" >>"$T/aug"
done

"$py" - "$T" "$rounds" "$warm" "$B" "$threads" <<'PY'
import json, sys
d, rounds, warm, B, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def rate(f):
    t = [json.loads(l)["time"] for l in open(f)]
    return B * (len(t) - warm) / (t[-1] - t[warm - 1])
fr = [rate(f"{d}/file{r}.jsonl") for r in range(1, rounds + 1)]
lv = [rate(f"{d}/live{r}.jsonl") for r in range(1, rounds + 1)]
print("MAE stage, fmnist config, batch %d, trainer threads %s" % (B, threads))
print("from a file  img/s per round: %s" % " ".join("%.1f" % x for x in fr))
print("live pipeline img/s per round: %s" % " ".join("%.1f" % x for x in lv))
ratios = sorted(l / f for f, l in zip(fr, lv))
k = len(ratios)
med = ratios[k // 2] if k % 2 else (ratios[k // 2 - 1] + ratios[k // 2]) / 2
print("live/file per round: %s" % " ".join("%.3f" % (l / f) for f, l in zip(fr, lv)))
print("best: file %.1f, live %.1f, live/file %.3f; median of the rounds' ratios %.3f" % (max(fr), max(lv), max(lv) / max(fr), med))
for l in open(f"{d}/aug"):
    _, recipe, n, t0, t1 = l.split()
    dt = float(t1) - float(t0)
    print("lgp-augment --recipe %-8s 28x28: %7.1f us/image (%d images, %.2f s, 2 worker threads)"
          % (recipe, 1e6 * dt / int(n), int(n), dt))
PY

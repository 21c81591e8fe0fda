#!/usr/bin/env bash
# bench_cl.sh — training images per second of one MoCo v3 step (two views: momentum
# update, momentum forward of both, online forward + backward of both, AdamW) for the
# Fashion-MNIST config, lgp-cl-train against the PyTorch twin (bench/torch_cl.py, the
# model of tests/ref/cl_twin.py), same threads, alternating rounds, in one run.
#
#   bench/bench_cl.sh
#
# lgp is timed as the whole program (reading and converting its two-view stream
# included) from its per-step JSONL log, after WARMUP steps; torch on tensors already in
# memory. Environment: LGP_BUILD (./build), PYTHON (/usr/bin/python3), BENCH_THREADS (2),
# BENCH_ROUNDS (2), BENCH_BATCH (256), BENCH_STEPS (4), BENCH_WARMUP (1), MLP_DIM (1024),
# MOCO_DIM (128) — the heads of pipelines/lgp.mk. Fairness: as bench_mae.sh (passive
# OpenMP waits, the same AVX-512 OpenBLAS core for torch).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${LGP_BUILD:-$here/../build}
py=${PYTHON:-/usr/bin/python3}
threads=${BENCH_THREADS:-2} rounds=${BENCH_ROUNDS:-2} B=${BENCH_BATCH:-256}
steps=${BENCH_STEPS:-4} warm=${BENCH_WARMUP:-1} F=${MLP_DIM:-1024} E=${MOCO_DIM:-128}
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_WAIT_POLICY=passive
# BENCH_ISA=avx2 on an AVX-512 machine stands in for an AVX2-only one: oneDNN, OpenBLAS
# and torch's own kernels are held to AVX2, and lgp's own loops too when its build is
# one for x86-64-v3 (`make NATIVE=x86-64-v3 BUILD=build-avx2 all build-avx2/bench/bench_mae`,
# taken by default when it exists; the portable build would pick their AVX-512 versions).
if [ "${BENCH_ISA:-}" = avx2 ]; then
    export DNNL_MAX_CPU_ISA=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2
    if [ -z "${LGP_BUILD:-}" ] && [ -d "$here/../build-avx2" ]; then build=$here/../build-avx2; fi
    grep -q 'NATIVE=x86-64-v3' "$build/flags" 2>/dev/null ||
        echo "${0##*/}: note: $build is not an x86-64-v3 build: lgp's own loops may run AVX-512" >&2
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=$((B * (steps + warm)))
"$build/bin/tar-images" -q --limit "$n" /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz |
    "$build/bin/lgp-augment" -q --recipe moco --size 28 --uncompressed >"$T/views.lgps"
# peak resident memory of a child (the trainer re-execs itself once: same process)
maxrss='import resource, subprocess, sys
subprocess.run(sys.argv[2:], check=True)
open(sys.argv[1], "w").write("%.1f" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024))'
sg=$("$build/bench/bench_mae" --sgemm --threads "$threads")
core=$(sed -n 's/^sgemm .* core=\([^ ]*\).*/\1/p' <<<"$sg" | head -n 1)
gemm=$(sed -n 's/^sgemm .*gemm=\([^ ]*\) in_use=1.*/\1/p' <<<"$sg" | tr / ' ')
# shellcheck source=bench/torch_alloc.sh
. "$here/torch_alloc.sh"
for ((r = 1; r <= rounds; r++)); do
    echo "bench_cl.sh: fmnist batch $B round $r/$rounds" >&2
    "$py" -c "$maxrss" "$T/rss$r" "$build/bin/lgp-cl-train" --model fmnist --mlp-dim "$F" --moco-dim "$E" --batch "$B" --steps $((steps + warm)) \
        --warmup-steps 1 --threads "$threads" -q --log "$T/log$r.jsonl" -o "$T/out.ckpt" "$T/views.lgps"
    LD_PRELOAD=$torch_preload OPENBLAS_CORETYPE=$core "$py" "$here/torch_cl.py" fmnist "$B" "$steps" "$warm" "$threads" "$F" "$E" >>"$T/torch"
done
"$py" - "$T" "$rounds" "$warm" "$B" "$gemm" "$core" <<'PY'
import json, sys
d, rounds, warm, B = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print("lgp's matrix products: %s; torch's: OpenBLAS %s" % (sys.argv[5], sys.argv[6]))
lgp = []
for r in range(1, rounds + 1):
    t = [json.loads(l)["time"] for l in open(f"{d}/log{r}.jsonl")]
    lgp.append(B * (len(t) - warm) / (t[-1] - t[warm - 1]))
tr = [dict(x.split("=", 1) for x in l.split()[1:]) for l in open(f"{d}/torch")]
tor = [float(x["img_per_s"]) for x in tr]
print("MoCo v3 step, fmnist config (192/6/3, 49+1 tokens), heads %s, batch %d, %s threads"
      % ("1024/128", B, tr[0]["threads"]))
print("lgp-cl-train img/s per round: %s" % " ".join("%.1f" % x for x in lgp))
print("torch %s img/s per round: %s" % (tr[0]["version"], " ".join("%.1f" % x for x in tor)))
rss = max(float(open(f"{d}/rss{r}").read()) for r in range(1, rounds + 1))
print("best: lgp %.1f, torch %.1f, ratio %.2fx; peak RSS lgp %.0f MB, torch %s MB (import %s MB)"
      % (max(lgp), max(tor), max(lgp) / max(tor), rss, tr[0]["peak_rss_mb"], tr[0]["base_rss_mb"]))
PY
torch_alloc_note

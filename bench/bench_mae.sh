#!/usr/bin/env bash
# bench_mae.sh — training images per second of one MAE step (zero_grad, forward, backward,
# AdamW), lgp (build/bench/bench_mae) against the PyTorch twin (bench/torch_mae.py, the
# model of tests/ref/mae_twin.py), on this machine, same thread count, in one run; plus
# lgp's FLOP rate against the machine's cblas_sgemm peak and the peak memory of both.
#
#   bench/bench_mae.sh            (or `make bench`)
#
# Environment: LGP_BUILD (default ./build), PYTHON (/usr/bin/python3), BENCH_THREADS (2),
# BENCH_ROUNDS (2: lgp and torch alternate, so load from other work hits both alike),
# BENCH_CASES ("fmnist:256:4:1 vit-base:64:1:1:1" = config:batch:steps:warmup[:rounds]),
# BENCH_OUT (a file that receives the raw key=value lines too).
#
# Fairness: both run with OMP_WAIT_POLICY=passive (what lgp programs set for themselves,
# common/util/threads.h) and with OpenBLAS' AVX-512 kernels: torch loads the same Debian
# OpenBLAS, which misdetects this CPU as "Prescott" (SSE3) unless OPENBLAS_CORETYPE is
# set; lgp corrects that at load time, torch gets the same core through the variable.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${LGP_BUILD:-$here/../build}
py=${PYTHON:-/usr/bin/python3}
threads=${BENCH_THREADS:-2}
rounds=${BENCH_ROUNDS:-2}
cases=${BENCH_CASES:-"fmnist:256:4:1 vit-base:64:1:1:1"}
out=${BENCH_OUT:-/dev/null}
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
# shellcheck source=bench/torch_alloc.sh
. "$here/torch_alloc.sh"
bin=$build/bench/bench_mae
[ -x "$bin" ] || { echo "bench_mae.sh: $bin: not built (make $bin)" >&2; exit 1; }

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
run() { "$@" | tee -a "$raw" >>"$out"; }

run "$bin" --sgemm --threads "$threads"
core=$(sed -n 's/^sgemm .* core=\([^ ]*\).*/\1/p' "$raw" | head -n 1)
for c in $cases; do
    IFS=: read -r name batch steps warmup nr <<<"$c"
    nr=${nr:-$rounds}
    for ((r = 0; r < nr; r++)); do
        echo "bench_mae.sh: $name batch $batch round $((r + 1))/$nr" >&2
        run "$bin" -q --config "$name" --batch "$batch" --steps "$steps" --warmup "$warmup" --threads "$threads"
        LD_PRELOAD=$torch_preload OPENBLAS_CORETYPE=$core run "$py" "$here/torch_mae.py" "$name" "$batch" "$steps" "$warmup" "$threads"
    done
done
run "$bin" --sgemm --threads "$threads"

# Summary: per case the best round of each side (mean over that round's timed steps).
"$py" - "$raw" <<'EOF'
import sys
rows = []
for line in open(sys.argv[1]):
    kind, *kv = line.split()
    rows.append((kind, dict(x.split("=", 1) for x in kv)))
# the peak: the best square sgemm of any backend built in (start and end of the run)
sg = {}
for k, d in rows:
    if k == "sgemm":
        sg[d["gemm"]] = max(sg.get(d["gemm"], 0.0), float(d["gflops"]))
peak_gemm, peak = max(sg.items(), key=lambda kv: kv[1])
core = next(d["core"] for k, d in rows if k == "sgemm")
lgp_gemm = next(d["gemm"] for k, d in rows if k == "lgp")
cases = []
for k, d in rows:
    if k != "sgemm" and (d["config"], d["batch"]) not in cases:
        cases.append((d["config"], d["batch"]))
print("sgemm peak (best of 2048^3 products, %s threads): %.1f GFLOP/s with %s (%s)" % (
    rows[0][1]["threads"], peak, peak_gemm.replace("/", " "),
    ", ".join("%s %.1f" % (g.replace("/", " "), v) for g, v in sg.items())))
print("lgp's matrix products: %s; torch's: OpenBLAS %s" % (lgp_gemm.replace("/", " "), core))
print("%-9s %5s | %9s %9s %6s | %8s %8s | %7s %8s | %8s %8s" % (
    "config", "batch", "lgp img/s", "torch", "ratio", "lgp GF/s", "of peak", "GF/step",
    "lgp s/st", "lgp MB", "torch MB"))
for cfg, b in cases:
    def best(kind):
        rs = [d for k, d in rows if k == kind and d["config"] == cfg and d["batch"] == b]
        return max(rs, key=lambda d: float(d["img_per_s"]))
    l, t = best("lgp"), best("torch")
    li, ti = float(l["img_per_s"]), float(t["img_per_s"])
    print("%-9s %5s | %9.1f %9.1f %5.2fx | %8.1f %7.0f%% | %7.1f %8.3f | %8.0f %8.0f" % (
        cfg, b, li, ti, li / ti, float(l["gflops"]), 100 * float(l["gflops"]) / peak,
        float(l["gflop_per_step"]), float(l["sec_per_step"]), float(l["peak_rss_mb"]),
        float(t["peak_rss_mb"])))
EOF
torch_alloc_note

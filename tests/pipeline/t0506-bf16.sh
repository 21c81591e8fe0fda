#!/usr/bin/env bash
# --bf16 (common/nn/gemm.h): the trainers' matrix products on bf16 operands with fp32
# sums, weights and AdamW. Where it cannot run (OpenBLAS, or no AVX512_BF16) a trainer
# stops before it writes anything; where it can, a short MAE run stays within bf16's
# rounding of the fp32 run (parity), is not the fp32 run (the path is taken), repeats its
# own bytes, records "bf16 products" in its checkpoint, and a resume without --bf16 warns.
. "$(dirname "$0")/lib.sh"
tar-images --limit 192 "$FMNIST/train-images-idx3-ubyte.gz" 2>/dev/null |
    lgp-augment --recipe mae --size 28 --seed 5 2>/dev/null | lgp-mask --patch 7 --seed 5 >views.lgps 2>/dev/null
ok $? "views: tar-images | lgp-augment | lgp-mask"
RUN=(lgp-mim-train --model fmnist --patch 7 --width 64 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2
     --batch 32 --steps 6 --warmup-steps 2 --blr 1e-3 --threads 2 -q --seed 5)

expect_exit 2 "--bf16 on OpenBLAS" -- env LGP_GEMM=openblas "${RUN[@]}" --bf16 -o bad.ckpt views.lgps
# a usage error: the line, then the --help hint
[[ $(head -n 1 err) == "lgp-mim-train: --bf16: needs oneDNN (LGP_GEMM=onednn) and a CPU with AVX512_BF16; here: openblas "* ]] &&
    [ "$(sed -n 2p err)" = "Try 'lgp-mim-train --help' for more information." ] && [ "$(wc -l <err)" -eq 2 ]
ok $? "--bf16 on OpenBLAS: one line saying what it needs and what is here"
[ ! -e bad.ckpt ]; ok $? "--bf16 refused: nothing written"

# Whether this machine can: oneDNN built in and the CPU's AVX512_BF16 (a machine that
# has both must run it; one that lacks either must refuse it, as above).
can=0
ldd "$LGP_BUILD/bin/lgp-mim-train" 2>/dev/null | grep -q libdnnl && grep -qw avx512_bf16 /proc/cpuinfo &&
    [ -z "${ONEDNN_MAX_CPU_ISA:-}${DNNL_MAX_CPU_ISA:-}" ] && can=1
if [ $can -eq 0 ]; then
    "${RUN[@]}" --bf16 -o no.ckpt views.lgps 2>err0
    [ $? -eq 2 ] && [ ! -e no.ckpt ] && grep -q "^lgp-mim-train: --bf16: needs oneDNN" err0
    ok $? "no oneDNN or no AVX512_BF16 here: --bf16 refused (exit 2)"
    tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP bf16 parity: no oneDNN or no AVX512_BF16 here"
    done_testing
fi
"${RUN[@]}" --log fp32.jsonl -o fp32.ckpt views.lgps
ok $? "fp32: 6 steps"
for r in 1 2; do
    "${RUN[@]}" --bf16 --log "bf$r.jsonl" -o "bf$r.ckpt" views.lgps
    ok $? "--bf16, run $r: 6 steps"
done
cmp -s bf1.ckpt bf2.ckpt; ok $? "--bf16: the same seed gives the same bytes"
! cmp -s bf1.ckpt fp32.ckpt; ok $? "--bf16 is not the fp32 run (the bf16 products ran)"
losses_close fp32.jsonl bf1.jsonl 6 1e-7 1e-2
ok $? "--bf16 against fp32: per-step losses within 1e-2 relative over 6 AdamW steps"
m=$(lgp-inspect --meta bf1.ckpt | grep -o '"gemm":"[^"]*"')
case "$m" in *", bf16 products\"") true ;; *) false ;; esac; ok $? "the checkpoint records bf16 ($m)"
"${RUN[@]}" --bf16 --steps 4 --checkpoint-dir snap --save-every 2 -o four.ckpt views.lgps 2>/dev/null
"${RUN[@]}" --steps 4 --resume snap/mim-latest.ckpt -o resumed.ckpt views.lgps 2>err1
[ $? -eq 0 ] && grep -q "bf16 products, this run's on onednn" err1
ok $? "resuming a --bf16 run without it continues with a warning"
done_testing

#!/usr/bin/env bash
# The engine's two matrix-product backends (common/nn/gemm.h) train the same model: the
# same short MAE run under LGP_GEMM=openblas and the default (oneDNN where built in) gives
# per-step losses within float rounding of each other, each backend repeats its own
# bytes, and an unknown LGP_GEMM stops a program before it reads or writes anything.
. "$(dirname "$0")/lib.sh"
tar-images --limit 192 "$FMNIST/train-images-idx3-ubyte.gz" 2>/dev/null |
    lgp-augment --recipe mae --size 28 --seed 5 2>/dev/null | lgp-mask --patch 7 --seed 5 >views.lgps 2>/dev/null
ok $? "views: tar-images | lgp-augment | lgp-mask"
RUN=(lgp-mim-train --model fmnist --patch 7 --width 64 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2
     --batch 32 --steps 6 --warmup-steps 2 --blr 1e-3 --threads 2 -q --seed 5)
for b in default openblas; do
    for r in 1 2; do
        if [ $b = default ]; then "${RUN[@]}" --log "$b$r.jsonl" -o "$b$r.ckpt" views.lgps
        else LGP_GEMM=$b "${RUN[@]}" --log "$b$r.jsonl" -o "$b$r.ckpt" views.lgps; fi
        ok $? "$b backend, run $r: 6 steps"
    done
    cmp -s "${b}1.ckpt" "${b}2.ckpt"; ok $? "$b backend: the same seed gives the same bytes"
done
# Which backend the default is: a build without oneDNN (DNNL=0) compares OpenBLAS with
# itself, which proves nothing, so that comparison is skipped there and says so.
has_dnnl=0
ldd "$LGP_BUILD/bin/lgp-mim-train" 2>/dev/null | grep -q libdnnl && has_dnnl=1
if [ $has_dnnl -eq 1 ]; then
losses_close openblas1.jsonl default1.jsonl 6 0 1e-3
ok $? "default (onednn) and openblas backends: per-step losses within 1e-3 relative over 6 AdamW steps"
else
    tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP built without oneDNN (DNNL=0): the default is OpenBLAS"
fi

# The checkpoint says which backend trained it; resuming under another one warns (the
# run goes on, but not bit for bit), under the same one it does not.
m=$(lgp-inspect --meta openblas1.ckpt | grep -o '"gemm":"[^"]*"')
case "$m" in '"gemm":"openblas '*) true ;; *) false ;; esac; ok $? "the checkpoint records the backend ($m)"
"${RUN[@]}" --steps 4 --checkpoint-dir snap --save-every 2 -o four.ckpt views.lgps 2>/dev/null
LGP_GEMM=openblas "${RUN[@]}" --steps 4 --resume snap/mim-latest.ckpt -o resumed.ckpt views.lgps 2>err1
rc=$?
want=$(lgp-inspect --meta four.ckpt | sed -n 's/.*"gemm":"\([^"]*\)".*/\1/p')
if [ $has_dnnl -eq 1 ]; then
    [ $rc -eq 0 ] && grep -q "snap/mim-latest.ckpt: its steps so far ran on $want, this run's on openblas" err1
    ok $? "resuming under another backend continues with a warning naming both (exit $rc)"
else
    tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP built without oneDNN (DNNL=0): one backend only"
fi
"${RUN[@]}" --steps 4 --resume snap/mim-latest.ckpt -o resumed2.ckpt views.lgps 2>err2
[ $? -eq 0 ] && ! grep -q "not bit for bit" err2; ok $? "resuming under the same backend: no warning"

expect_exit 1 "an unknown LGP_GEMM" -- env LGP_GEMM=bogus "${RUN[@]}" -o bad.ckpt views.lgps
expect_err_line "lgp-mim-train: LGP_GEMM=bogus: unknown or not built in (openblas*)" "an unknown LGP_GEMM: one line naming the variable and the choices"
[ ! -e bad.ckpt ]; ok $? "an unknown LGP_GEMM: nothing written"
done_testing

#!/usr/bin/env bash
# Every program once under valgrind (memcheck): a short run on tiny data must show no
# invalid read/write, no use of uninitialised values and no definitely-lost block
# (--error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite). One thread
# each: OpenMP/OpenBLAS pools only add "possibly lost" noise. tests/valgrind.supp holds
# suppressions for what is not ours. Programs run ~30x slower here, so the data is tiny.
. "$(dirname "$0")/lib.sh"
if ldd "$LGP_BUILD/bin/lgp-inspect" 2>/dev/null | grep -q libasan; then
    echo "1..0 # SKIP sanitizer build: valgrind cannot run ASan binaries (it runs in the normal suite)"; exit 0
fi
if ! command -v valgrind >/dev/null; then echo "1..0 # SKIP valgrind not installed"; exit 0; fi
TE="$FMNIST/t10k-images-idx3-ubyte.gz"
if [ ! -f "$TE" ]; then echo "1..0 # SKIP no Fashion-MNIST in $FMNIST"; exit 0; fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive  # no re-exec under valgrind
# valgrind 3.19 cannot execute AVX-512, which -march=native emits on such CPUs: then use
# (and bring up to date) a build for x86-64-v3 (AVX2) in $LGP_BUILD_VG, and hold OpenBLAS
# to its AVX2 kernels (it picks SkylakeX's AVX-512 ones on such CPUs, or when told to).
BIN="$LGP_BUILD/bin"
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    ROOT=$(cd "$TESTS_DIR/.." && pwd)
    LGP_BUILD_VG=${LGP_BUILD_VG:-$ROOT/build-vg}
    if ! make -s -C "$ROOT" BUILD="$LGP_BUILD_VG" EXTRA_CFLAGS=-march=x86-64-v3 -j2 all >make-vg.log 2>&1; then
        ok 1 "build for valgrind in $LGP_BUILD_VG"; sed 's/^/#   /' make-vg.log | tail -n 5; done_testing; exit
    fi
    BIN="$LGP_BUILD_VG/bin"
    export OPENBLAS_CORETYPE=Haswell
fi
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --suppressions="$TESTS_DIR/valgrind.supp" --num-callers=20)

# Known reports awaiting a fix in a file this test does not own, as TAP TODO items (they
# still run and print their report; prove does not count them as failures). Remove a
# name once its program is clean.
#   tar-images-*: bin/lgp-tar-images.c main() never frees c.classes, c.classes_sorted
#   (sv_push at :87, via set_classes :161) and c.class_of_sorted (calloc at :163).
TODO_NAMES=" "

# vg NAME OUT -- CMD...: CMD under valgrind, stdout to OUT; ok if valgrind saw nothing
# and the program itself succeeded (valgrind's own verdict is exit 99).
vg() {
    local name=$1 out=$2; shift 3
    "${VG[@]}" --log-file="vg-$name.log" "$@" >"$out" 2>"err-$name"
    local rc=$?
    local clean=1
    [ $rc -eq 0 ] && [ ! -s "vg-$name.log" ] && clean=0
    if [[ $TODO_NAMES == *" $name "* ]]; then # TAP TODO: reported, not counted as a failure
        tap_n=$((tap_n + 1))
        echo "$([ $clean -eq 0 ] || echo "not ")ok $tap_n - $name: clean under valgrind (exit $rc) # TODO known leak, see TODO_NAMES"
    else
        ok $clean "$name: clean under valgrind (exit $rc)"
    fi
    if [ $rc -ne 0 ] || [ -s "vg-$name.log" ]; then
        sed 's/^/#   /' "err-$name" | head -n 5
        grep -v '^==[0-9]*== *$' "vg-$name.log" | sed 's/^/#   /' | head -n 40
    fi
}

# fixtures (outside valgrind): a tar of small JPEGs and PNGs, one of them undecodable
"$PYTHON" - <<'PY'
import io, tarfile
import numpy as np
from PIL import Image
rng = np.random.default_rng(0)
with tarfile.open("imgs.tar", "w") as t:
    for i in range(6):
        im = Image.fromarray(rng.integers(0, 255, (40 + 3 * i, 36, 3), dtype=np.uint8))
        b = io.BytesIO()
        if i == 4: im.convert("L").save(b, "PNG")
        else: im.save(b, "JPEG", quality=80, progressive=(i == 2))
        d = b.getvalue() if i != 5 else b.getvalue()[:200]  # one truncated JPEG
        ti = tarfile.TarInfo(f"c{i % 2}/img{i}.jpg"); ti.size = len(d)
        t.addfile(ti, io.BytesIO(d))
PY

vg tar-images-idx fm.lgps -- "$BIN/lgp-tar-images" --limit 64 -q "$TE"
vg tar-images-tar imgs.lgps -- "$BIN/lgp-tar-images" -q imgs.tar
vg decode dec.lgps -- "$BIN/lgp-decode" --size 24 --center-crop 24 -q imgs.lgps
vg augment-moco views.lgps -- "$BIN/lgp-augment" --recipe moco --size 28 --threads 1 -q fm.lgps
vg augment-mae-jpeg mae-jpeg.lgps -- "$BIN/lgp-augment" --recipe mae --size 32 --threads 1 -q imgs.lgps
"$BIN/lgp-augment" --recipe mae --size 28 -q fm.lgps >mae.lgps 2>/dev/null
vg mask masked.lgps -- "$BIN/lgp-mask" --patch 4 --ids-keep -q mae.lgps
MODEL=(--model fmnist --width 32 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2)
vg mim-train mim.out -- "$BIN/lgp-mim-train" "${MODEL[@]}" --batch 8 --steps 2 --warmup-steps 1 --threads 1 -q -o s1.ckpt masked.lgps
vg graft graft.out -- "$BIN/lgp-graft" --lr-layer-wise 1e-4,1e-3 --mlp-dim 64 --moco-dim 16 -q -o s2.ckpt s1.ckpt
vg cl-train cl.out -- "$BIN/lgp-cl-train" --init s2.ckpt --batch 8 --steps 2 --warmup-steps 1 --threads 1 -q -o cl.ckpt views.lgps
vg embed emb.lgps -- "$BIN/lgp-embed" --model cl.ckpt --batch 16 --threads 1 -q fm.lgps
vg probe probe.out -- "$BIN/lgp-probe" --train emb.lgps --test emb.lgps --shots 2 -q
vg inspect-verify verify.out -- "$BIN/lgp-inspect" --verify cl.ckpt
vg inspect-safetensors st.out -- "$BIN/lgp-inspect" --to-safetensors cl.safetensors cl.ckpt
done_testing

#!/usr/bin/env bash
# Decode + resize quality against a float reference (PIL full-resolution decode, float
# per-channel antialiased bilinear resize, torchvision crop arithmetic): mean absolute
# error below 2 grey levels, with and without libjpeg DCT scaling; IDX pass-through.
. "$(dirname "$0")/lib.sh"
MA="$TESTS_DIR/ref/make_archives.py"
"$PYTHON" "$MA" quality . || { ok 1 "fixtures"; done_testing; exit; }
tar-images q.tar >q.lgps 2>/dev/null
for cfg in "224 224" "64 0" "100 96"; do
    # shellcheck disable=SC2086
    set -- $cfg
    args="--size $1"; [ "$2" != 0 ] && args="$args --center-crop $2"
    for dct in "" --no-dct-scale; do
        # shellcheck disable=SC2086
        lgp-decode $args $dct --uncompressed q.lgps >d.lgps 2>/dev/null
        r=$("$PYTHON" "$MA" mae d.lgps "ref_$1_$2.npy")
        awk -v r="$r" 'BEGIN { split(r, a, " "); exit !(a[1] < 2.0) }'; ok $? "$args ${dct:-(DCT scaling)}: mean abs error ${r%% *} < 2"
    done
done
# the DCT-scaled decode really took the short cut (64 from 375 rows: 1/4 scale)
lgp-decode --size 64 --uncompressed q.lgps >a.lgps 2>/dev/null
lgp-decode --size 64 --no-dct-scale --uncompressed q.lgps >b.lgps 2>/dev/null
! cmp -s a.lgps b.lgps; ok $? "--no-dct-scale changes the pixels (DCT scaling was used)"
if [ -f "$FMNIST/t10k-images-idx3-ubyte.gz" ]; then
    tar-images --limit 2 "$FMNIST/t10k-images-idx3-ubyte.gz" 2>/dev/null | lgp-decode --size 56 --rgb 2>err | lgp-inspect --records 1 >insp
    grep -q 'image  *u8   \[56, 56, 3\]' insp; ok $? "IDX image passes through, resized to 56 and made RGB"
    grep -q '^lgp-decode: decoded 0, skipped 0, passed through 2$' err; ok $? "pass-through counted"
fi
done_testing

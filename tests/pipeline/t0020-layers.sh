#!/usr/bin/env bash
# The layering of docs/LAYERS.md holds: every #include of formats/ and common/ stays in
# its layer or the layers below it, every common/ module sits in a layer folder, each
# layer's own header (common/nn/nn.h, ...) compiles on its own, and a function prefix
# (lgp_<word>_) is exported by one header only, so a grep leads to its file.
. "$(dirname "$0")/lib.sh"
ROOT="$TESTS_DIR/.."
"$PYTHON" "$TESTS_DIR/ref/layers.py" "$ROOT" >layers.out 2>&1
ok $? "every include follows docs/LAYERS.md"
sed 's/^/#   /' layers.out | head -n 10
CFLAGS_PKG=$(pkg-config --cflags openblas libzstd libarchive libjpeg libpng zlib 2>/dev/null)
for d in util nn data eval model train; do
    h="common/$d/$d.h"
    [ -f "$ROOT/$h" ]; ok $? "$h exists"
    # shellcheck disable=SC2086
    echo "#include \"$h\"" | cc -std=c11 -D_GNU_SOURCE -fsyntax-only -Wall -Werror -x c - -I"$ROOT" $CFLAGS_PKG 2>cc.err
    ok $? "$h compiles on its own"
    sed 's/^/#   /' cc.err | head -n 5
done
# A breach is caught: a copy of the tree's layer rules run on a file that breaks them.
mkdir -p fake/common/nn fake/common/eval fake/formats
echo '#include "common/eval/knn.h"' >fake/common/nn/x.h
: >fake/common/eval/knn.h
"$PYTHON" "$TESTS_DIR/ref/layers.py" fake >fake.out 2>&1
[ $? -ne 0 ] && grep -q "layer nn includes common/eval/knn.h" fake.out; ok $? "a breach is reported"
mkdir -p fake2/common/nn
printf 'int lgp_vit_a(void);\n' >fake2/common/nn/vit.h
printf '#include "common/nn/vit.h"\nint lgp_vit_b(void);\n' >fake2/common/nn/mae.h
"$PYTHON" "$TESTS_DIR/ref/layers.py" fake2 >fake2.out 2>&1
[ $? -ne 0 ] && grep -q "lgp_vit_\*: exported by common/nn/mae.h, common/nn/vit.h" fake2.out; ok $? "a prefix exported by two headers is reported"
done_testing

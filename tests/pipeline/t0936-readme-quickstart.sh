#!/usr/bin/env bash
# The README's quick start as pasted (issue 19): its first shell block, the set-up lines
# and `make smoke`, runs at the repository root in a shell started with `env -i` (no PATH
# or variable of ours), with these visible changes only, each of which must apply:
#   bash .ci/deps  -> bash -n .ci/deps  (checked, not run: it installs Debian packages)
#   make           -> the build is LGP_BUILD's, not built again (make -q says it is current)
#   $PWD/build/bin -> $LGP_BUILD/bin
#   make smoke     -> the same target on LGP_BUILD (-o all: no rebuild), its output in the
#                     test's folder, and two of the six rows (RUNS="grafted pixels") to
#                     stay under a minute; t1000 runs every row of the test profile.
# Then, in the same shell, the programs answer by name from LGP_BUILD/bin, and the documented alternative to
# the PATH line, `make install PREFIX=...`, installs programs that run.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$TESTS_DIR/.." && pwd)
readme_block "On a fresh Debian 12 machine" >quick.sh
[ -s quick.sh ]; ok $? "the README's quick-start block is found"
grep -q '^make smoke' quick.sh; ok $? "it offers make smoke"
readme_cmd quick.sh "bash .ci/deps" "bash -n .ci/deps"
readme_cmd quick.sh "make" "make -q BUILD=$LGP_BUILD all || echo 'note: $LGP_BUILD is older than the sources' >&2"
# shellcheck disable=SC2016  # the README's text, $ and all
readme_cmd quick.sh 'export PATH="$PWD/build/bin:$PATH"' "export PATH=\"$LGP_BUILD/bin:\$PATH\""
readme_cmd quick.sh "make smoke" "make -o all smoke BUILD=$LGP_BUILD SMOKE_OUT=$T/smoke RUNS='grafted pixels'"
cat >>quick.sh <<SH
[ "\$(command -v lgp-mim-train)" = "$LGP_BUILD/bin/lgp-mim-train" ]
SH
cat >>quick.sh <<'SH'
for p in tar-images lgp-decode lgp-augment lgp-mask lgp-mim-train lgp-graft lgp-cl-train lgp-embed lgp-probe lgp-inspect; do
    "$p" --version >/dev/null
done
SH
(cd "$ROOT" && fresh_bash "$T/quick.sh") >quick.out 2>quick.err
rc=$?
ok $rc "the quick start runs to the end in a fresh shell (exit $rc)"
[ $rc -eq 0 ] || sed 's/^/#   /' quick.err | tail -n 8
grep -q '^| layer-grafted' quick.out && grep -q '^| raw pixels' quick.out; ok $? "make smoke prints the table"
grep -q "^smoke: every stage ran" quick.out; ok $? "and says where its outputs are"
for f in mae/stage1.ckpt grafted/stage2.ckpt grafted/train.emb pixels/test.emb; do
    lgp-inspect --verify "smoke/$f" >/dev/null 2>&1; ok $? "smoke/$f verifies"
done
[ ! -e "$ROOT/build/smoke" ] || [ "$ROOT/build/smoke" -ot quick.sh ]; ok $? "nothing written to the repository's build/smoke"

# make install PREFIX=DIR: programs, the tar-images name and man pages, runnable by name.
(cd "$ROOT" && fresh_bash -c "make -s -o all install BUILD=$LGP_BUILD PREFIX=$T/prefix >/dev/null &&
    export PATH=\"$T/prefix/bin:\$PATH\" && tar-images --version && lgp-probe --help") >inst.out 2>inst.err
ok $? "make install PREFIX=DIR: the programs run by name from DIR/bin"
[ -L prefix/bin/tar-images ] && [ -f prefix/share/man/man1/lgp-mim-train.1 ]; ok $? "with tar-images and the man pages"
done_testing

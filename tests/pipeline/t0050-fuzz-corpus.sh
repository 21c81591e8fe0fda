#!/usr/bin/env bash
# Replays every fuzz corpus (tests/fuzz/corpus/<target>/) through its target's replay
# build, so each input the fuzzers found interesting stays a regression test (under
# ASan/UBSan in `make check SAN=1`).
. "$(dirname "$0")/lib.sh"
for d in "$TESTS_DIR"/fuzz/corpus/*/; do
    name=$(basename "$d")
    exe="$LGP_BUILD/fuzz/$name-replay"
    if [ ! -x "$exe" ]; then ok 1 "$name: replay driver missing ($exe)"; continue; fi
    "$exe" "$d" >replay.out 2>replay.err
    rc=$?
    n=$(grep -c '^ok' replay.out)
    ok $rc "$name: $n corpus inputs replayed without a crash or sanitizer report"
    [ $rc -eq 0 ] || sed 's/^/#   /' replay.err | head -n 20
done
done_testing

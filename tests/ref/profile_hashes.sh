#!/usr/bin/env bash
# profile_hashes.sh BUILD OUT — runs the pipelines' test profile with the programs of
# BUILD into OUT and prints the hash of every checkpoint and embedding it wrote, so two
# builds can be compared for identical behaviour (issue 20: refactors change no byte).
set -euo pipefail
build=$(cd "$1" && pwd) out=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
make -s -f "$root/pipelines/lgp.mk" PROFILE=test OUT="$out" LGP_BIN="$build/bin" PYTHON=/usr/bin/python3 table >/dev/null 2>&1
cd "$out"
for f in $(find . -name '*.ckpt' -o -name '*.emb' | grep -v snapshots | sort); do
    printf '%s %s\n' "$("$build/bin/lgp-inspect" --hash "$f" | cut -d' ' -f1)" "$f"
done

#!/usr/bin/env bash
# Data order: --shard partitions exactly, --shuffle is a seeded permutation (same seed
# same order, other seed other order, each record once per epoch), --epochs reshuffles,
# --skip resumes mid-stream, --limit stops; archives and IDX behave the same.
. "$(dirname "$0")/lib.sh"
MA="$TESTS_DIR/ref/make_archives.py"
"$PYTHON" "$MA" layouts . >/dev/null || { ok 1 "fixtures"; done_testing; exit; }
IDX="$FMNIST/t10k-images-idx3-ubyte.gz"

keys() { # keys ARGS... -> one "epoch index key" line per record
    tar-images --uncompressed "$@" >k.lgps 2>/dev/null || return 1
    "$PYTHON" "$MA" dump k.lgps | "$PYTHON" -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l); print(r["ints"]["epoch"], r["ints"]["index"], r["key"])'
}
for src in "wds-000000.tar wds-000001.tar" "$IDX"; do
    name=${src%% *}; name=${name##*/}
    # shellcheck disable=SC2086
    keys $src | cut -d' ' -f3 >order
    sort order >all
    n=$(wc -l <all)
    : >union
    # shellcheck disable=SC2086
    for i in 0 1 2; do keys --shard $i/3 $src | cut -d' ' -f3 >>union; done
    sort union | cmp -s - all; ok $? "$name: 3 shards partition the $n records exactly"
    # shellcheck disable=SC2086
    keys --shard 1/3 $src | cut -d' ' -f3 >s1
    cmp -s s1 <(sed -n '2~3p' order); ok $? "$name: shard 1/3 = records 1, 4, 7, ... of the archive order"
    # shellcheck disable=SC2086
    { keys --shuffle 7 --seed 5 $src >a; keys --shuffle 7 --seed 5 $src >b; keys --shuffle 7 --seed 6 $src >c; }
    cmp -s a b; ok $? "$name: same seed, same order"
    ! cmp -s a c; ok $? "$name: other seed, other order"
    cut -d' ' -f3 a | sort | cmp -s - all; ok $? "$name: shuffled epoch holds every record exactly once"
    ! cut -d' ' -f3 a | cmp -s - order; ok $? "$name: shuffled order differs from archive order"
    # shellcheck disable=SC2086
    keys --shuffle 7 --seed 5 --epochs 2 $src >e2
    head -n "$n" e2 | cmp -s - a; ok $? "$name: epoch 0 of --epochs 2 equals the single-epoch run"
    [ "$(awk '$1 == 1' e2 | cut -d' ' -f3 | sort | cmp -s - all && echo y)" = y ]; ok $? "$name: epoch 1 holds every record once"
    ! cmp -s <(awk '$1 == 0 {print $3}' e2) <(awk '$1 == 1 {print $3}' e2); ok $? "$name: epoch 1 is reshuffled"
    awk '$1 == 1 {print $2, $3}' e2 | sort -n | cut -d' ' -f2 | cmp -s - order
    ok $? "$name: index is each image's position in the source order, whatever the shuffle"
    # shellcheck disable=SC2086
    keys --shuffle 7 --seed 5 --epochs 2 --skip 3 --limit 4 $src >sk
    sed -n 4,7p e2 | cmp -s - sk; ok $? "$name: --skip 3 --limit 4 = records 3..6 of the full run"
done
OMPI_COMM_WORLD_RANK=2 OMPI_COMM_WORLD_SIZE=3 keys --shard auto wds-000000.tar wds-000001.tar >au
keys --shard 2/3 wds-000000.tar wds-000001.tar >expected
cmp -s au expected; ok $? "--shard auto takes OMPI_COMM_WORLD_RANK/SIZE"
SLURM_PROCID=0 SLURM_NTASKS=2 keys --shard auto wds-000000.tar wds-000001.tar >au
keys --shard 0/2 wds-000000.tar wds-000001.tar >expected
cmp -s au expected; ok $? "--shard auto takes SLURM_PROCID/NTASKS"
env -u OMPI_COMM_WORLD_RANK -u SLURM_PROCID tar-images --shard auto wds-000000.tar >out 2>err
[ $? -eq 2 ]; ok $? "--shard auto without the environment is a usage error"
expect_exit 2 "--shard 3/3 is out of range" -- tar-images --shard 3/3 wds-000000.tar
expect_exit 2 "--epochs 2 on stdin" -- tar-images --epochs 2 -
[ "$(head -n 1 err)" = "tar-images: --epochs 2 needs to re-read the input; stdin can be read only once" ]; ok $? "--epochs on stdin: says why"
expect_empty_out "no data on a usage error"
done_testing

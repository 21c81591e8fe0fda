#!/usr/bin/env bash
# Seeds beyond 2^53 survive metadata exactly: stream headers (tar-images, lgp-augment)
# and lgp-mim-train checkpoints hold the seed digit for digit, a resumed run reads it
# back exactly (same bytes as the uninterrupted run), and a seed one apart trains
# differently (so a rounded seed could not pass the resume check).
. "$(dirname "$0")/lib.sh"
MAXU=18446744073709551615 # 2^64 - 1
BIG=9007199254740993      # 2^53 + 1, the first integer a double cannot hold

# 96 records = 6 full steps of 16: every run below finishes all its steps.
tar-images --limit 96 --seed "$MAXU" "$FMNIST/train-images-idx3-ubyte.gz" 2>/dev/null |
    lgp-augment --recipe mae --size 28 --seed "$BIG" >views.lgps 2>/dev/null
ok $? "views: tar-images | lgp-augment"
lgp-inspect --meta views.lgps >views.meta
grep -q "\"shard\":\"0/1\",\"seed\":$MAXU," views.meta; ok $? "tar-images header: seed $MAXU exact"
grep -q "\"augment\":{.*\"seed\":$BIG," views.meta; ok $? "lgp-augment header: seed $BIG exact"
lgp-mask --patch 4 --seed "$MAXU" <views.lgps 2>/dev/null | lgp-inspect --meta >mask.meta
grep -q "\"mask\":{.*\"seed\":$MAXU," mask.meta; ok $? "lgp-mask header: seed $MAXU exact"

TINY=(--model fmnist --width 32 --depth 1 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2
      --batch 16 --steps 6 --warmup-steps 2 --samples-per-epoch 96 --blr 1e-3 --threads 2 -q)
K=3 # the step a resumed run starts from

for seed in "$BIG" "$MAXU"; do
    lgp-mim-train "${TINY[@]}" --seed "$seed" --checkpoint-dir "ck$seed" --save-every 1 --keep 100 \
        -o "full$seed.ckpt" views.lgps
    ok $? "seed $seed: uninterrupted run of 6 steps"
    snap=$(printf '%s/mim-step%08d.ckpt' "ck$seed" "$K")
    lgp-inspect --meta "full$seed.ckpt" | grep -q "\"seed\":$seed,\"step\":6,"
    ok $? "seed $seed: checkpoint metadata holds the seed exactly"
    lgp-inspect --meta "$snap" | grep -q "\"seed\":$seed,\"step\":$K,"
    ok $? "seed $seed: step-$K snapshot holds the seed exactly"
    lgp-mim-train --resume "$snap" -q -o "res$seed.ckpt" views.lgps
    ok $? "seed $seed: resume from step $K"
    lgp-inspect --meta "res$seed.ckpt" | grep -q "\"seed\":$seed,\"step\":6,"
    ok $? "seed $seed: resumed checkpoint keeps the seed"
    want=$(lgp-inspect --hash "full$seed.ckpt" | cut -d' ' -f1)
    got=$(lgp-inspect --hash "res$seed.ckpt" | cut -d' ' -f1)
    [ -n "$want" ] && [ "$got" = "$want" ]
    ok $? "seed $seed: resumed run bit-identical to the uninterrupted one ($got)"
done

# The nearest double of 2^53+1 is 2^53: that seed must give other weights, or the
# resume check above could not tell an exact seed from a rounded one.
lgp-mim-train "${TINY[@]}" --seed 9007199254740992 -o near.ckpt views.lgps
ok $? "seed 2^53: run"
near=$(lgp-inspect --hash near.ckpt | cut -d' ' -f1)
big=$(lgp-inspect --hash "full$BIG.ckpt" | cut -d' ' -f1)
[ -n "$near" ] && [ "$near" != "$big" ]; ok $? "seeds 2^53 and 2^53+1 train differently"
done_testing

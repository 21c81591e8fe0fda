#!/usr/bin/env bash
# Concatenated streams (issue 14, item 5): every reader reads all of them, checking each
# end record, and rejects trailing bytes that are not a stream.
. "$(dirname "$0")/lib.sh"
TINY=(--width 32 --depth 1 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2 --threads 2 -q)
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 64 a.lgps
lgp-augment --recipe mae --size 28 -q a.lgps >v.lgps   # zstd
lgp-augment --recipe mae --size 28 --uncompressed -q a.lgps >vr.lgps
lgp-augment --recipe moco --size 28 -q a.lgps >m.lgps

cat v.lgps vr.lgps >vv.lgps
expect_exit 0 "lgp-mim-train: two concatenated streams give 8 steps of 16" -- lgp-mim-train "${TINY[@]}" --steps 8 --batch 16 -o two.ckpt vv.lgps
lgp-inspect --meta two.ckpt | grep -q '"records_consumed":128'; ok $? "... all 128 records used"
{ cat v.lgps; printf 'garbage'; } >vg.lgps
expect_exit 1 "lgp-mim-train: trailing garbage is fatal" -- lgp-mim-train "${TINY[@]}" --steps 8 --batch 16 -o x.ckpt vg.lgps
grep -q "vg.lgps: .*not an lgp stream" err; ok $? "... naming the input"
[ ! -e x.ckpt ]; ok $? "... nothing under -o"

lgp-mim-train "${TINY[@]}" --steps 2 --batch 16 -o s1.ckpt v.lgps
lgp-graft -q --mlp-dim 32 --moco-dim 16 -o g.ckpt s1.ckpt
{ cat g.ckpt m.lgps m.lgps; } | lgp-cl-train -q --threads 2 --steps 8 --batch 16 -o cl.ckpt
ok $? "lgp-cl-train: graft, then two view streams: 8 steps of 16"
{ cat g.ckpt m.lgps; printf 'x'; } | lgp-cl-train -q --threads 2 --steps 8 --batch 16 -o x.ckpt 2>/dev/null
[ $? -eq 1 ] && [ ! -e x.ckpt ]; ok $? "lgp-cl-train: a trailing byte is fatal"

expect_exit 0 "lgp-embed --pixels on two streams" -- lgp-embed --pixels -o e.lgps vv.lgps
lgp-inspect e.lgps | grep -q "records: 128"; ok $? "... writes all 128"
expect_exit 0 "lgp-embed --model on two streams" -- lgp-embed --model s1.ckpt -o f.lgps vv.lgps
lgp-inspect f.lgps | grep -q "records: 128"; ok $? "... writes all 128"
expect_exit 1 "lgp-embed: trailing garbage is fatal" -- lgp-embed --pixels -o x.lgps vg.lgps
[ ! -e x.lgps ]; ok $? "... nothing under -o"
cat a.lgps a.lgps >aa.lgps
{ cat a.lgps; printf 'garbage'; } >ag.lgps
# filter NAME IN GARBAGE_IN -- CMD...: 128 records out of two streams; trailing garbage exits 1
filter() {
    local name=$1 in=$2 bad=$3; shift 4
    "$@" "$in" 2>/dev/null | lgp-inspect - 2>/dev/null | grep -q "records: 128"; ok $? "$name: 128 records out of two streams"
    "$@" "$bad" >/dev/null 2>&1
    [ $? -eq 1 ]; ok $? "$name: trailing garbage exits 1"
}
filter lgp-augment aa.lgps ag.lgps -- lgp-augment --recipe mae --size 28
filter lgp-decode aa.lgps ag.lgps -- lgp-decode
filter lgp-mask vv.lgps vg.lgps -- lgp-mask --patch 4
lgp-inspect vv.lgps | grep -c "records: 64" | grep -q 2; ok $? "lgp-inspect shows both streams"
lgp-inspect vg.lgps >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "lgp-inspect: trailing garbage exits 1"
done_testing

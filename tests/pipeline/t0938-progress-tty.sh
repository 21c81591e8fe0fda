#!/usr/bin/env bash
# One live line per pipeline (issue 19; common/util/log.c): on a terminal (a pty from
# util-linux `script`) the trainer at the end of the pipe draws the live line with an
# ETA, and the stages feeding it (tar-images, lgp-decode, lgp-augment, lgp-mask) draw
# none, printing only their summary lines, each of which first erases the line it lands
# on; --progress gives a feeder its live count back. lgp-embed draws images done of those
# the header announces, with an ETA; lgp-probe --lambda auto the seed and fit. Not on a
# terminal (logs): no \r or escape sequence at all, the trainer's plain step lines.
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || { echo "1..0 # SKIP no script(1) (util-linux) for a pty"; exit 0; }
D=$FMNIST/train-images-idx3-ubyte.gz
TINY="--model fmnist --width 32 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2 --threads 1"
FEED="tar-images --shard 0/20 --epochs 2 $D | lgp-decode | lgp-augment --recipe mae | lgp-mask"
tty() { script -qec "$1" "$2" </dev/null >/dev/null; } # CMD TYPESCRIPT: CMD with a pty as stdout and stderr
# has FILE REGEX...: each Python regex (bytes) occurs in FILE; `!REGEX`: does not
has() { "$PYTHON" - "$@" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
bad = 0
for pat in sys.argv[2:]:
    neg = pat.startswith("!")
    found = re.search(pat[neg:].encode(), data) is not None
    if found == neg:
        bad += 1
        print(f"# {'found' if neg else 'missing'}: {pat[neg:]}")
sys.exit(1 if bad else 0)
PY
}
# live TEXT: the regex of a live line beginning with TEXT: \r, TEXT, more, erase to the end, no newline
live() { printf '\\r%s[^\\r\\n]*\\x1b\\[K' "$1"; }

tty "$FEED | lgp-mim-train $TINY --batch 64 --epochs 2 -o t.ckpt" t.ts
ok $? "the MAE pipeline runs on a terminal"
has t.ts "$(live 'lgp-mim-train: step 92/92 epoch 1 loss [0-9.]+ lr [0-9.e-]+ [0-9]+ img/s ETA 0s')"
ok $? "the trainer draws the live line, ending on its last step with the ETA"
has t.ts "!$(live '(tar-images|lgp-decode|lgp-augment|lgp-mask)')"
ok $? "no feeding stage draws a live line"
has t.ts '\r\x1b\[Ktar-images: 6000 records written' '\r\x1b\[Klgp-decode: decoded 0, skipped 0, passed through 6000' \
    '\r\x1b\[Klgp-augment: records in 6000, out 6000' '\r\x1b\[Klgp-mask: records in 6000, out 6000'
ok $? "each feeding stage prints its summary line, erasing the line it lands on"
has t.ts '\r\x1b\[Klgp-mim-train: trained 92 steps'; ok $? "and the trainer its own"

tty "tar-images --progress --shard 0/20 $D | lgp-augment --recipe mae -o v.lgps" p.ts
ok $? "tar-images --progress | lgp-augment on a terminal"
has p.ts "$(live 'tar-images: 2048 records')" "!$(live 'lgp-augment')"
ok $? "--progress gives the feeder its live count; the others stay quiet"

tty "tar-images --limit 3000 $D | lgp-embed --model t.ckpt --batch 64 -o tr.emb" e.ts
ok $? "lgp-embed on a terminal"
has e.ts "$(live 'lgp-embed: 3000/3000 images \(100%\) [0-9]+ img/s ETA 0s')" "!$(live 'tar-images')"
ok $? "lgp-embed draws images done of the 3000 announced, with an ETA"
tar-images -q --limit 1000 --shard 1/20 "$D" | lgp-embed -q --model t.ckpt -o te.emb
tty "lgp-probe --train tr.emb --test te.emb --lambda auto --seed 7 --seeds 2 --shots 1%" pr.ts
ok $? "lgp-probe --lambda auto on a terminal"
has pr.ts "$(live 'lgp-probe: logreg --lambda auto: seed 7 \(1 of 2\), fit 1/41 ')" \
    "$(live 'lgp-probe: logreg --lambda auto: seed 8 \(2 of 2\), fit 1/41 ETA [0-9]+')"
ok $? "lgp-probe draws the seed and the fit of 41, with an ETA"

# Not a terminal: the same pipeline's log has plain lines only.
bash -o pipefail -c "$FEED | lgp-mim-train $TINY --batch 64 --epochs 2 --log-every 50 -o l.ckpt" 2>log.err
ok $? "the MAE pipeline with stderr to a file"
has log.err '!\r' '!\x1b' '\nlgp-mim-train: step 50/92 epoch 1 loss' '\ntar-images: 6000 records written' '\nlgp-mask: records in 6000'
ok $? "its log: no \\r or escape sequence; plain step lines and every summary"
tar-images -q --limit 3000 "$D" >img.lgps
lgp-embed --model t.ckpt -o x.emb img.lgps 2>emb.err </dev/null
[ "$(wc -l <emb.err)" -eq 1 ] && has emb.err '!\r' '^lgp-embed: embedded 3000 images'; ok $? "lgp-embed's log: one summary line"
done_testing

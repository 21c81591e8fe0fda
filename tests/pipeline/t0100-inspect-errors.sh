#!/usr/bin/env bash
# lgp-inspect on damaged and non-stream inputs: exit 1, one line on stderr naming the
# input; usage errors exit 2; --help goes to stdout.
. "$(dirname "$0")/lib.sh"

: >empty.lgps
expect_exit 1 "empty file" -- lgp-inspect empty.lgps
expect_err_line "lgp-inspect: empty.lgps: byte 0: empty input (not an lgp stream)" "empty: one line naming the file"

printf 'GIF89a garbage' >gif.lgps
expect_exit 1 "wrong magic" -- lgp-inspect --verify gif.lgps
expect_err_line "lgp-inspect: gif.lgps: *not an lgp stream (bad magic)" "magic: one line"
expect_empty_out "verify prints nothing on failure"

"$PYTHON" "$TESTS_DIR/ref/safetensors_torch.py" write w.safetensors
lgp-inspect --from-safetensors w.safetensors -o w.ckpt
expect_exit 0 "verify a good checkpoint" -- lgp-inspect --verify w.ckpt
grep -q '^ok: 1 records in 1 stream$' out; ok $? "verify reports the count"

size=$(stat -c %s w.ckpt)
head -c $((size - 5)) w.ckpt >trunc.ckpt
expect_exit 1 "truncated checkpoint" -- lgp-inspect --verify trunc.ckpt
expect_err_line "lgp-inspect: trunc.ckpt: *truncated*" "truncated: one line"
expect_empty_out "no verdict on stdout for a truncated file"

cp w.ckpt flip.ckpt
printf '\xff' | dd of=flip.ckpt bs=1 seek=$((size / 2)) conv=notrunc status=none
expect_exit 1 "flipped byte" -- lgp-inspect --verify flip.ckpt

expect_exit 2 "unknown option" -- lgp-inspect --bogus
grep -q "unrecognized option '--bogus'" err; ok $? "names the bad option"
grep -q "Try 'lgp-inspect --help'" err; ok $? "points to --help"
expect_exit 2 "bad option value" -- lgp-inspect --records=abc w.ckpt
expect_exit 0 "--help" -- lgp-inspect --help
grep -q '^example:' out; ok $? "--help shows an example"
expect_exit 0 "--version" -- lgp-inspect --version
grep -q 'zstd' out; ok $? "--version names the libraries"

# a closed downstream stops the writer quietly (SIGPIPE, no message)
"$PYTHON" - <<'PY'
import struct, json
n = 1 << 22
h = json.dumps({"big": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}).encode()
h += b" " * ((8 - len(h) % 8) % 8)
open("big.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + bytes(4 * n))
PY
lgp-inspect --from-safetensors big.safetensors --uncompressed 2>err2 | head -c 10 >/dev/null
[ ! -s err2 ]; ok $? "| head: upstream stops without a message"
done_testing

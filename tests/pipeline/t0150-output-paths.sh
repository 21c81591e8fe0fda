#!/usr/bin/env bash
# Output paths are never damaged and unusable ones are refused before any work:
# devices, FIFOs and /dev/stdout are written in place (/dev/null stays a device, /dev/full
# is a write error), a symlink's target is replaced and the link kept; a folder, a
# missing or read-only folder, a read-only file are refused with one line
# "prog: PATH: cannot write: reason" and exit 1 (an empty name is a usage error, 2);
# stdout write errors (`--help > /dev/full`) exit 1; SIGTERM/SIGINT/SIGHUP leave no
# temporary behind; a --log write error makes a trainer exit 1.
. "$(dirname "$0")/lib.sh"
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 64 data.lgps
"$PYTHON" "$TESTS_DIR/ref/safetensors_torch.py" write w.safetensors
lgp-inspect --from-safetensors w.safetensors -o w.ckpt
lgp-embed --pixels -q data.lgps >f.emb
no_tmp() { [ -z "$(find . -name '.*.tmp.*' | head -n 1)" ]; }

# --- in place: devices, FIFOs, our own descriptors --------------------------------
expect_exit 0 "-o /dev/null" -- lgp-mask -q --patch 4 -o /dev/null data.lgps
expect_exit 0 "lgp-decode -o /dev/null" -- lgp-decode -q -o /dev/null data.lgps
expect_exit 0 "lgp-probe --json /dev/null" -- lgp-probe -q --method knn --train f.emb --test f.emb --json /dev/null
expect_exit 0 "lgp-inspect --to-safetensors /dev/null" -- lgp-inspect -q --to-safetensors /dev/null w.ckpt
[ -c /dev/null ]; ok $? "/dev/null is still a character device"
expect_exit 1 "-o /dev/full" -- lgp-mask -q --patch 4 -o /dev/full data.lgps
expect_err_line "lgp-mask: /dev/full: write error: No space left on device" "/dev/full: one line"
expect_exit 1 "lgp-probe --json /dev/full" -- lgp-probe -q --method knn --train f.emb --test f.emb --json /dev/full
grep -q "^lgp-probe: /dev/full: .*No space left on device" err; ok $? "--json /dev/full: says why"
expect_exit 1 "lgp-inspect --to-safetensors /dev/full" -- lgp-inspect --to-safetensors /dev/full w.ckpt
expect_err_line "lgp-inspect: /dev/full: write error: No space left on device" "--to-safetensors /dev/full: one line"
[ -c /dev/full ]; ok $? "/dev/full is still a character device"

mkfifo fifo
cat fifo >from-fifo.lgps &
reader=$!
expect_exit 0 "-o FIFO" -- lgp-decode -q -o fifo data.lgps
wait $reader
[ -p fifo ]; ok $? "the FIFO is still a FIFO"
lgp-inspect --verify from-fifo.lgps >/dev/null; ok $? "the FIFO's reader got the whole stream"

lgp-mask -q --patch 4 -o /dev/stdout data.lgps >>two.lgps
lgp-mask -q --patch 4 -o /dev/stdout data.lgps >>two.lgps
[ "$(lgp-inspect --verify two.lgps)" = "ok: 128 records in 2 streams" ]; ok $? "-o /dev/stdout writes our stdout (>> appends)"
lgp-mask -q --patch 4 -o /dev/fd/3 data.lgps 3>fd3.lgps
lgp-inspect --verify fd3.lgps >/dev/null; ok $? "-o /dev/fd/3 writes descriptor 3"
expect_exit 1 "-o /dev/fd/3 on a closed descriptor" -- lgp-mask -q --patch 4 -o /dev/fd/3 data.lgps
expect_err_line "lgp-mask: /dev/fd/3: cannot write: *" "closed descriptor: one line"

# --- symlinks: the target is replaced, the link kept; a replaced file keeps its mode --
mkdir sub
echo old >sub/target.lgps
chmod 640 sub/target.lgps
ln -s sub/target.lgps link.lgps
expect_exit 0 "-o through a symlink" -- lgp-mask -q --patch 4 -o link.lgps data.lgps
[ -L link.lgps ] && [ "$(readlink link.lgps)" = sub/target.lgps ]; ok $? "the link is still the same link"
lgp-inspect --verify sub/target.lgps >/dev/null; ok $? "its target holds the new stream"
[ "$(stat -c %a sub/target.lgps)" = 640 ]; ok $? "the target kept its mode 640"
ln -s sub/w.safetensors st-link
expect_exit 0 "--to-safetensors through a dangling symlink" -- lgp-inspect -q --to-safetensors st-link w.ckpt
[ -L st-link ] && [ -f sub/w.safetensors ]; ok $? "the link's target was created, the link kept"
no_tmp; ok $? "no temporary left anywhere"

# --- unusable paths: refused before any work -------------------------------------
# The inputs are missing on purpose: the output is refused before any input is opened.
# Each case is a command line with @ where the output path goes.
mkdir adir
with() { local w; args=(); for w in $1; do [ "$w" = @ ] && args+=("$2") || args+=("$w"); done; }
for c in "lgp-mask -o @ missing.in" "lgp-decode -o @ missing.in" "lgp-augment -o @ missing.in" \
         "lgp-tar-images -o @ missing.in" "lgp-embed --pixels -o @ missing.in" "lgp-graft -o @ missing.in" \
         "lgp-probe --train missing.in --test missing.in --json @" "lgp-inspect --to-safetensors @ missing.in" \
         "lgp-inspect --from-safetensors missing.in -o @"; do
    prog=${c%% *} flag=${c%% @*} flag=${flag##* }
    with "$c" adir
    expect_exit 1 "$prog $flag a folder" -- "${args[@]}"
    expect_err_line "$prog: adir: cannot write: Is a directory" "$prog $flag folder: one line, before any work"
    expect_empty_out "$prog $flag folder: nothing on stdout"
    with "$c" nodir/x
    expect_exit 1 "$prog $flag in a missing folder" -- "${args[@]}"
    expect_err_line "$prog: nodir/x: cannot write: No such file or directory" "$prog $flag missing folder: one line"
    with "$c" ""
    expect_exit 2 "$prog $flag ''" -- "${args[@]}"
    grep -q "^$prog: $flag: empty file name$" err; ok $? "$prog $flag '': a usage error naming the flag"
done

mkdir rodir
echo x >rofile
ro=
if [ "$(id -u)" -ne 0 ]; then
    chmod 555 rodir && chmod 444 rofile && ro="chmod"
elif chattr +i rodir rofile 2>/dev/null; then
    # root ignores permission bits, not the immutable flag; undo it before the cleanup
    trap 'chattr -i "$T/rodir" "$T/rofile" 2>/dev/null; rm -rf "$T"' EXIT
    ro=chattr
fi
if [ -n "$ro" ]; then
    expect_exit 1 "read-only folder ($ro)" -- lgp-mask -o rodir/x.lgps missing.in
    expect_err_line "lgp-mask: rodir/x.lgps: cannot write: *" "read-only folder: one line"
    expect_exit 1 "read-only file ($ro)" -- lgp-probe --train f.emb --test f.emb --json rofile
    expect_err_line "lgp-probe: rofile: cannot write: *" "read-only file: one line"
    [ "$(cat rofile)" = x ]; ok $? "the read-only file is untouched"
else
    echo "ok $((tap_n += 1)) # SKIP read-only paths: running as root without chattr +i (root ignores permission bits)"
fi

# --- write errors on stdout ----------------------------------------------------------
expect_exit 1 "lgp-inspect FILE > /dev/full" -- sh -c 'lgp-inspect data.lgps >/dev/full'
expect_err_line "lgp-inspect: write error on standard output: No space left on device" "one line"
for prog in lgp-tar-images tar-images lgp-decode lgp-augment lgp-mask lgp-mim-train lgp-graft \
            lgp-cl-train lgp-embed lgp-probe lgp-inspect; do
    expect_exit 1 "$prog --help > /dev/full" -- sh -c "$prog --help >/dev/full"
    expect_err_line "$prog: write error on standard output: No space left on device" "$prog --help: one line"
done
expect_exit 1 "--version > /dev/full" -- sh -c 'lgp-probe --version >/dev/full'
expect_exit 1 "lgp-probe table > /dev/full" -- sh -c 'lgp-probe -q --method knn --train f.emb --test f.emb >/dev/full'
[ "$(grep -c 'write' err)" -eq 1 ]; ok $? "lgp-probe > /dev/full: one line about it"

# --- signals remove the temporary ----------------------------------------------------
# wait_tmp NAME: until the writer's temporary of NAME exists (5 s at most)
wait_tmp() { for _ in $(seq 50); do compgen -G ".$1.tmp.*" >/dev/null && return 0; sleep 0.1; done; return 1; }
TR="$FMNIST/train-images-idx3-ubyte.gz"
if [ -f "$TR" ]; then
    tar-images -q --epochs 100 "$TR" -o big.lgps &
    pid=$!
    wait_tmp big.lgps; ok $? "tar-images: its temporary appears"
    kill -TERM $pid; wait $pid; rc=$?
    [ $rc -eq 143 ]; ok $? "tar-images: SIGTERM kills it (status $rc)"
    no_tmp && [ ! -e big.lgps ]; ok $? "tar-images: no temporary and no output left"
else
    echo "ok $((tap_n += 1)) # SKIP tar-images SIGTERM: no Fashion-MNIST in $FMNIST"
fi
# A stream without its end record, held open: the writers wait for more input.
head -c -16 data.lgps >open-ended.lgps
# (A background job of a script starts with SIGINT ignored, a run under nohup with
# SIGHUP ignored, and an ignored signal stays ignored: env --default-signal gives them
# back, as an interactive shell would.)
for sig in TERM INT HUP; do
    mkfifo slow.$sig
    env --default-signal=INT,HUP,TERM lgp-decode -q -o dec.$sig.lgps slow.$sig &
    pid=$!
    { cat open-ended.lgps; exec sleep 30; } >slow.$sig &
    feeder=$!
    wait_tmp dec.$sig.lgps; ok $? "lgp-decode: its temporary appears ($sig)"
    kill -$sig $pid; { wait $pid; rc=$?; } 2>/dev/null
    kill $feeder 2>/dev/null; wait $feeder 2>/dev/null
    [ $rc -gt 128 ]; ok $? "lgp-decode: SIG$sig kills it (status $rc)"
    no_tmp && [ ! -e dec.$sig.lgps ]; ok $? "lgp-decode: SIG$sig leaves no temporary and no output"
done
# exit(1) half-way (a bad record under --strict) also removes the temporary
expect_exit 1 "lgp-mask --strict on a truncated stream" -- lgp-mask -q --patch 4 --strict -o m.lgps open-ended.lgps
no_tmp && [ ! -e m.lgps ]; ok $? "an error exit leaves no temporary"

# --- a --log that cannot be written makes a trainer fail (its checkpoint is still saved) -
TINY=(--model fmnist --width 32 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2
      --batch 16 --steps 3 --warmup-steps 1 --threads 1 --log-every 1)
expect_exit 1 "lgp-mim-train --log /dev/full" -- lgp-mim-train "${TINY[@]}" -q --log /dev/full -o log.ckpt data.lgps
expect_err_line "lgp-mim-train: /dev/full: write error: No space left on device*" "--log /dev/full: one line"
lgp-inspect --verify log.ckpt >/dev/null; ok $? "the checkpoint was still written"
# A pipe between stages holds 1 MiB (or the system's pipe-max-size, if smaller and the
# user may not pass it), so a producer runs batches ahead of the stage it feeds; the
# writer and the reader each widen it.
want=$(cat /proc/sys/fs/pipe-max-size 2>/dev/null || echo 1048576)
[ "$want" -gt 1048576 ] && want=1048576
pipesz() { "$PYTHON" -c 'import fcntl, sys; print(fcntl.fcntl(0, 1032))'; }  # F_GETPIPE_SZ of stdin
got=$(tar-images -q --limit 4 "$FMNIST/t10k-images-idx3-ubyte.gz" |
    "$PYTHON" -c 'import fcntl, sys; sys.stdin.buffer.read(); print(fcntl.fcntl(0, 1032))')  # once the writer is done
[ "$got" -ge "$want" ] && [ "$got" -le 1048576 ]; ok $? "a stream writer widens the pipe it writes ($got bytes, want $want)"
got=$(true | pipesz)
[ "$got" -lt 1048576 ]; ok $? "(a pipe no stage touches keeps the kernel's default: $got)"
{ sleep 2; cat data.lgps; } | lgp-inspect --verify - >/dev/null 2>&1 &
reader=$!
got=""
for _ in $(seq 30); do
    sleep 0.05
    got=$(pipesz </proc/$reader/fd/0 2>/dev/null) && [ "${got:-0}" -ge "$want" ] && break
done
wait $reader
[ "${got:-0}" -ge "$want" ] && [ "$got" -le 1048576 ]; ok $? "a stream reader widens the pipe it reads ($got bytes)"
done_testing

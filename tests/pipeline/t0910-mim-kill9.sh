#!/usr/bin/env bash
# kill -9 at random moments while lgp-mim-train writes a snapshot after every step: the
# latest snapshot on disk must always load and verify. KILL_TRIALS (default 200) sets
# the count; each trial resumes from the latest snapshot, so resume-after-crash is
# exercised too. Reports: trials, snapshots verified, corrupt (goal 0).
. "$(dirname "$0")/lib.sh"
trials=${KILL_TRIALS:-200}
"$PYTHON" "$TESTS_DIR/ref/lgpstream.py" fmnist 4096 data.lgps
TINY=(--model fmnist --width 32 --depth 2 --heads 2 --dec-width 32 --dec-depth 1 --dec-heads 2
      --batch 16 --steps 250 --warmup-steps 3 --threads 1 -q --checkpoint-dir ck --save-every 1 --keep 2)
RANDOM=12345
# One thread from the start: OpenBLAS starts its pool at load, before --threads 1, and
# hundreds of short-lived processes next to the MPI tests can hit a container's
# process limit (its "pthread_create failed" would read as a trainer error here).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
verified=0 corrupt=0 none=0 finished=0
for ((i = 0; i < trials; i++)); do
    args=("${TINY[@]}")
    if [ -e ck/mim-latest.ckpt ]; then args=(--resume ck/mim-latest.ckpt -q --checkpoint-dir ck --save-every 1 --keep 2); fi
    lgp-mim-train "${args[@]}" -o final.ckpt data.lgps 2>>trainer.err &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 400 + 20)))"
    if ! kill -9 $pid 2>/dev/null; then
        wait $pid; finished=$((finished + 1)); rm -rf ck final.ckpt; continue
    fi
    wait $pid 2>/dev/null
    if [ ! -e ck/mim-latest.ckpt ]; then none=$((none + 1)); continue; fi
    if lgp-inspect --verify ck/mim-latest.ckpt >/dev/null 2>verify.err; then
        verified=$((verified + 1))
    else
        corrupt=$((corrupt + 1))
        echo "# trial $i: corrupt: $(cat verify.err)"
    fi
done
stray=$(find ck -name '*.tmp.*' 2>/dev/null | wc -l)
echo "# kill -9 trials $trials: latest snapshot verified $verified, corrupt $corrupt, no snapshot yet $none, run finished before the kill $finished, stray temporaries now $stray"
[ "$corrupt" -eq 0 ]; ok $? "no corrupt snapshot in $trials kill -9 trials ($verified verified)"
[ "$verified" -gt $((trials / 2)) ]; ok $? "most trials had a snapshot to verify ($verified)"
[ "$stray" -le 1 ]; ok $? "temporaries of killed writers are cleaned up ($stray left)"
grep -v -e '^$' -e 'Killed' trainer.err >unexpected.err
[ ! -s unexpected.err ]; ok $? "the trainer printed no error"
sed 's/^/#   /' unexpected.err | head -n 5
done_testing

#!/usr/bin/env bash
# resume.sh OUT WHAT STAGE... — what `make -f pipelines/lgp.mk resume` prints: for each
# training stage of the run folder OUT, what running the same make command again would
# do with it. STAGE is RUN:PREFIX:OUTPUT[:started]: the stage writes OUT/RUN/OUTPUT and
# snapshots OUT/RUN/snapshots/PREFIX-latest.ckpt (lgp.mk's RESUME rule); `started` lists
# it only when it has begun (the ablation arms and fine-tuning rows, which `table` does
# not make). WHAT names the run for the heading (PROFILE=... SEED=...). Reads the
# snapshots' metadata with lgp-inspect --meta; trains nothing, writes nothing.
set -euo pipefail
out=$1 what=$2
shift 2
echo "resume: $out ($what), stage by stage, if the same make command runs again:"
command -v lgp-inspect >/dev/null ||
    echo "resume: lgp-inspect is not on PATH (LGP_BIN=DIR names where the programs are): snapshots cannot be read" >&2
skipped=0
for st in "$@"; do
    IFS=: read -r run prefix output started <<<"$st"
    dir=$out/$run snap=$out/$run/snapshots/$prefix-latest.ckpt name=$run
    [ "$prefix" = ft ] && name="$run fine-tune"
    if [ -e "$dir/$output" ]; then
        state="done" how="$run/$output exists"
    elif [ -e "$snap" ]; then
        # "step S of T complete": the metadata of the newest snapshot
        if pos=$(lgp-inspect --meta "$snap" 2>/dev/null | sed -n 's/^  meta: //p' | /usr/bin/python3 -c '
import json, sys
m = json.loads(sys.stdin.read())
print(m["step"], m["schedule"]["total_steps"], "complete" if m.get("complete") else "stopped")' 2>/dev/null); then
            read -r step total complete <<<"$pos"
            state="continue"
            how="from $run/snapshots/$prefix-latest.ckpt at step $step of $total"
            [ "$complete" = complete ] && how="$how (trained to the end: only its output is written)"
        else
            state="continue?" how="$snap cannot be read (lgp-inspect --meta); make would try --resume with it"
        fi
    elif [ -n "$started" ] && ! compgen -G "$dir/snapshots/$prefix-*.ckpt" >/dev/null; then
        skipped=$((skipped + 1))
        continue
    else
        state="from scratch" how="no snapshot"
        [ -L "$snap" ] && how="$snap points to a missing file: no snapshot"
    fi
    printf '  %-17s %-13s %s\n' "$name" "$state" "$how"
done
[ "$skipped" -eq 0 ] || echo "  ($skipped ablation arm(s) or fine-tuning row(s) not started are not listed)"

#!/usr/bin/env bash
# The README's workflow, run as written (issues 14, 19): its shell block is taken from
# README.md and run after the quick start's set-up lines (its PATH line pointing at
# LGP_BUILD/bin; the lines that install packages, build and run `make smoke` left to
# t0936) in a shell started with `env -i`, made small (one epoch of --limit records,
# fewer images embedded) by substitutions that must each apply, and every trainer must
# train the steps it planned.
. "$(dirname "$0")/lib.sh"
readme_block "On a fresh Debian 12 machine" >setup.sh
readme_cmd setup.sh "bash .ci/deps" ": packages: see t0936"
readme_cmd setup.sh "make" ": LGP_BUILD is built"
# shellcheck disable=SC2016  # the README's text, $ and all
readme_cmd setup.sh 'export PATH="$PWD/build/bin:$PATH"' "export PATH=\"$LGP_BUILD/bin:\$PATH\""
readme_cmd setup.sh "make smoke" ": make smoke: see t0936"
readme_block "The workflow as a user types it" >block.sh
[ -s block.sh ]; ok $? "the README's workflow block is found"
sub() { # FROM TO COUNT: replace, and fail the test if FROM did not occur COUNT times
    local n; n=$(grep -oF -- "$1" block.sh | wc -l)
    [ "$n" -eq "$3" ]; ok $? "the block has '$1' $3 times ($n)"
    FROM="$1" TO="$2" "$PYTHON" -c 'import os; p="block.sh"; s=open(p).read(); open(p,"w").write(s.replace(os.environ["FROM"], os.environ["TO"]))'
}
sub "D=/usr/share/datasets/fashion-mnist" "D=$FMNIST" 1
sub "tar-images --shuffle 10000 --epochs 10" "tar-images --shuffle 10000 --epochs 1 --limit 512" 2
sub "lgp-mim-train --model fmnist --epochs 10" "lgp-mim-train --model fmnist --epochs 1 --log mim.jsonl" 1
sub "lgp-cl-train --epochs 10" "lgp-cl-train --epochs 1 --log cl.jsonl" 1
sub "tar-images \$D/t10k-images-idx3-ubyte.gz" "tar-images --limit 300 \$D/t10k-images-idx3-ubyte.gz" 1
sub "tar-images \$D/train-images-idx3-ubyte.gz |" "tar-images --limit 1000 \$D/train-images-idx3-ubyte.gz |" 1
cat setup.sh block.sh >run.sh
fresh_bash run.sh >run.out 2>run.err
rc=$?
ok $rc "the workflow runs to the end (exit $rc)"
[ $rc -eq 0 ] || sed 's/^/#   /' run.err | tail -n 8
for st in stage1 stage2; do
    meta=$(lgp-inspect --meta $st.ckpt 2>/dev/null)
    step=$(grep -o '"step":[0-9]*' <<<"$meta" | head -1 | cut -d: -f2)
    total=$(grep -o '"total_steps":[0-9]*' <<<"$meta" | head -1 | cut -d: -f2)
    [ "${step:-0}" -eq 2 ] && [ "${total:-0}" -eq 2 ] && grep -q '"complete":true' <<<"$meta"
    ok $? "$st: trained the 2 steps it planned (512 records of batch 256; step $step of $total)"
done
grep -q "trained 2 steps" <(grep lgp-mim-train run.err); ok $? "lgp-mim-train says it trained 2 steps"
grep -q "trained 2 steps" <(grep lgp-cl-train run.err); ok $? "lgp-cl-train says it trained 2 steps"
[ "$(wc -l <mim.jsonl)" -eq 2 ] && [ "$(wc -l <cl.jsonl)" -eq 2 ]; ok $? "each log has 2 steps"
lgp-inspect test.emb | grep -q "records: 300"; ok $? "test.emb holds the 300 test images"
grep -q "^logreg  1%" run.out; ok $? "lgp-probe prints its table"

# The fine-tuning block, after the workflow's stage2.ckpt.
readme_block "Fine-tuning, the paper's other protocol" >block.sh
[ -s block.sh ]; ok $? "the README's fine-tuning block is found"
sub "tar-images \$D/t10k-images-idx3-ubyte.gz" "tar-images --limit 100 \$D/t10k-images-idx3-ubyte.gz" 1
sub "tar-images --epochs 100" "tar-images --epochs 1 --limit 256" 1
sub "lgp-finetune --init stage2.ckpt --epochs 100" "lgp-finetune --init stage2.ckpt --epochs 1" 1
{ cat setup.sh; echo "D=$FMNIST"; cat block.sh; } >ft.sh
fresh_bash ft.sh >ft.out 2>ft.err
rc=$?
ok $rc "the fine-tuning block runs to the end (exit $rc)"
[ $rc -eq 0 ] || sed 's/^/#   /' ft.err | tail -n 8
grep -q '"n_test":100' ft.json && grep -q '"steps":4' ft.json; ok $? "it trained 4 steps of 64 and tested 100 images"
done_testing

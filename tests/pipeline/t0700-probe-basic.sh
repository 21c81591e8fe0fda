#!/usr/bin/env bash
# lgp-probe end to end on generated embedding streams: separable clusters give 100 %,
# a listed subset agrees with scikit-learn, seeds and JSON output, and every error
# class exits 1 or 2 with one line on stderr and nothing on stdout.
. "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
if ! "$PYTHON" -c 'import numpy, sklearn' 2>/dev/null; then echo "1..0 # SKIP numpy/sklearn missing"; exit 0; fi
fx="$LGP_BUILD/tests/test_probe_fixture"
ref="$TESTS_DIR/ref/probe_ref.py"
"$PYTHON" "$ref" embed sep.st 1000 500 32 10 0.05 1 && "$fx" write sep.st sep 10
"$PYTHON" "$ref" embed mix.st 2000 1000 64 10 2.0 2 && "$fx" write mix.st mix
ok $? "fixture streams written"

expect_exit 0 "separable clusters, all methods" -- lgp-probe --train sep-train.lgps --test sep-test.lgps --method all --shots 5 --json sep.json -q
row() { awk -v m="$1" -v s="$2" '$1 == m && $4 == s { print $2, $3, $5, $6 }' out; }
[ "$(grep -c '^[a-z]' out)" -eq 4 ] && [ "$(row logreg 0)" = "5 50 100.00 100.00" ]; ok $? "table: header + 3 rows, logreg 100% on 50 samples"
"$PYTHON" -c 'import json,sys; r=json.load(open("sep.json")); sys.exit(not (len(r)==3 and all(x["top1"]==100 and x["top5"]==100 and x["shots"]=="5" and x["n_train"]==50 for x in r)))'
ok $? "JSON: three results, top1 = top5 = 100, settings recorded"

expect_exit 0 "train on stdin, 3 seeds" -- lgp-probe --test mix-test.lgps --seeds 3 --seed 7 -q < mix-train.lgps
[ -n "$(row logreg mean3)" ] && [ "$(row logreg 9 | cut -d' ' -f1-2)" = "1% 20" ]; ok $? "seeds 7..9 and a mean row"
lgp-probe --test mix-test.lgps --seeds 3 --seed 7 -q < mix-train.lgps > out2 2>/dev/null
cmp -s out out2; ok $? "deterministic: a second run prints the same table"

for i in $(seq 0 7 700); do printf 'train/%06d\n' "$i"; done > list.txt
expect_exit 0 "--shots-file" -- lgp-probe --train mix-train.lgps --test mix-test.lgps --shots-file list.txt --json list.json -q
[ "$(row logreg 0 | cut -d' ' -f1-2)" = "file 101" ]; ok $? "listed subset has 101 samples"
expect_exit 0 "top-1 equals scikit-learn's on the listed subset" -- "$PYTHON" "$ref" check mix.st list.txt list.json

# Errors: usage (2) and data (1), one line on stderr, nothing on stdout.
# usage errors add the house "Try 'lgp-probe --help'" line
usage_lines() { [ "$(sed -n 2p err)" = "Try 'lgp-probe --help' for more information." ] && [[ $(head -n 1 err) == $1 ]] && [ "$(wc -l <err)" -eq 2 ]; ok $? "$2"; }
expect_exit 2 "no --test" -- lgp-probe --train mix-train.lgps
usage_lines "lgp-probe: --test FILE is required" "usage error line"
expect_exit 2 "bad --shots" -- lgp-probe --train mix-train.lgps --test mix-test.lgps --shots 0%
usage_lines "lgp-probe: --shots: shots '0%': *" "bad shots line"
expect_exit 1 "train and test feature widths differ" -- lgp-probe --train sep-train.lgps --test mix-test.lgps -q
expect_err_line "lgp-probe: mix-test.lgps: features have 64 values but sep-train.lgps has 32" "width mismatch names both files"
expect_empty_out "no table on a width mismatch"
"$fx" write mix.st few 3
expect_exit 1 "labels beyond the header's classes" -- lgp-probe --train few-train.lgps --test few-test.lgps
expect_err_line "lgp-probe: few-train.lgps: record * 'train/*': label * but the header lists 3 classes" "label error names file and record"
head -c 100000 mix-train.lgps > cut.lgps
expect_exit 1 "truncated train stream" -- lgp-probe --train cut.lgps --test mix-test.lgps
expect_err_line "lgp-probe: cut.lgps*" "truncation error line"
expect_empty_out "no table on truncated input"
printf 'train/999999\n' > bad.txt
expect_exit 1 "list naming an unknown record" -- lgp-probe --train mix-train.lgps --test mix-test.lgps --shots-file bad.txt -q
expect_err_line "lgp-probe: bad.txt:1: 'train/999999' matches no training record" "list error names file:line"
expect_exit 0 "--lambda auto" -- lgp-probe --train mix-train.lgps --test mix-test.lgps --shots 10 --lambda auto -q
grep -q '(cv)' out; ok $? "cv-chosen lambda is marked"
# cyanure's stopping rule: a relative duality gap of 1e-3 or 300 iterations
expect_exit 0 "--gap-tol 1e-3 --max-iter 300" -- lgp-probe --train mix-train.lgps --test mix-test.lgps --gap-tol 1e-3 --max-iter 300 --json gap.json -q
"$PYTHON" -c 'import json,sys; r=json.load(open("gap.json"))[0]; sys.exit(not (r["stop"]=="duality-gap" and r["tol"]==1e-3 and 0 < r["gap"] <= 1e-3 and r["converged"]))'
ok $? "JSON says the rule and a gap within it"
lgp-probe --train mix-train.lgps --test mix-test.lgps --json tight.json -q >/dev/null 2>&1
"$PYTHON" -c 'import json,sys; a=json.load(open("gap.json"))[0]; b=json.load(open("tight.json"))[0]; sys.exit(not (b["stop"]=="gradient" and b["gap"] < a["gap"] and b["iters"] > a["iters"]))'
ok $? "the default gradient rule runs further, to a smaller gap"
done_testing

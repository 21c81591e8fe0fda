#!/usr/bin/env bash
# pipelines/summary.py over training seeds: each seed's score is its mean over probe
# seeds; the table is mean ± std over training seeds; grafted minus each row is paired by
# training seed; a seed given twice is refused; `make summary` names a missing seed run.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$TESTS_DIR/.." && pwd)
"$PYTHON" - <<'PY'
import json
for seed, (g, m) in enumerate([(80.0, 78.0), (82.0, 79.0), (81.0, 81.5)]):
    rows = []
    for run, base in (("grafted", g), ("mocov3", m)):
        for ps, d in ((0, -0.5), (1, 0.5)):  # two probe seeds around the seed's score
            rows.append({"run": run, "train_seed": seed, "protocol": "tuned-lambda", "shots": "1%", "probe_seed": ps, "top1": base + d})
        if seed < 2:  # fine-tuned in two of the three seeds only
            rows.append({"run": run, "train_seed": seed, "protocol": "finetune", "shots": "10%", "probe_seed": 0, "top1": base - 10})
    json.dump({"profile": "t", "settings": f"SEED={seed}", "rows": rows}, open(f"s{seed}.json", "w"))
PY
"$PYTHON" "$ROOT/pipelines/summary.py" --out res s0.json s1.json s2.json >sum.out 2>&1
ok $? "summary of three seeds"
grep -q "^| pre-training | 1% tuned λ | 10% fine-tune |$" res/results.md; ok $? "only the columns that have data"
grep -q "^| layer-grafted | 81.00 ± 1.00 | 71.00 ± 1.41 (2 seeds) |$" res/results.md
ok $? "grafted: mean ± std over training seeds (81.00 ± 1.00); a column two seeds have says so"
grep -q "^| MoCo v3 only | finetune | 10% | +2.50 ± 0.71 | 2/2 |$" res/results.md; ok $? "fine-tuning paired over the seeds that have it"
grep -q "^| MoCo v3 only | 79.50 ± 1.80 |" res/results.md; ok $? "MoCo v3: 79.50 ± 1.80"
grep -q "^| MoCo v3 only | tuned-lambda | 1% | +1.50 ± 1.80 | 2/3 |$" res/results.md; ok $? "paired by training seed: +1.50 ± 1.80 (diffs 2, 3, -0.5), won 2 of 3"
"$PYTHON" -c 'import json,sys; d=json.load(open("res/results.json")); sys.exit(0 if d["train_seeds"]==[0,1,2] and len(d["rows"])==16 else 1)'
ok $? "results.json: every row of every seed"
"$PYTHON" "$ROOT/pipelines/summary.py" --out res2 s0.json s0.json >dup.out 2>&1
[ $? -ne 0 ] && grep -q "expected the rows of one new training seed" dup.out; ok $? "a seed given twice is refused"
# the ablation: the same merge under another name, its rows named after the arms
sed 's/"mocov3"/"graft-lr1"/g' s0.json >a0.json; sed 's/"mocov3"/"graft-lr1"/g' s1.json >a1.json
"$PYTHON" "$ROOT/pipelines/summary.py" --out res --name ablation a0.json a1.json >/dev/null 2>&1
grep -q "^| grafted, uniform lr (1x) | tuned-lambda | 1% | +2.50 ± 0.71 | 2/2 |$" res/ablation.md; ok $? "ablation.md: an arm against grafted, paired by seed"
[ -e res/ablation.json ] && grep -q "training seeds 0, 1, 2" res/results.md; ok $? "ablation.json written beside results.md, which is untouched"
make -s -f "$ROOT/pipelines/lgp.mk" PROFILE=test SEEDS="97" PYTHON="$PYTHON" ablation-summary >miss.out 2>&1
[ $? -ne 0 ] && grep -q "seed97/ablation.json is missing: run the seed first" miss.out; ok $? "make ablation-summary names a missing seed run"
# record: a finished seed's tables go from its run folder to RESULTS/seed<S>/
mkdir -p run5 && cp s1.json run5/results.json && echo table >run5/results.md
make -s -f "$ROOT/pipelines/lgp.mk" PROFILE=test OUT=run5 RESULTS=rec SEED=5 record >rec.out 2>&1
cmp -s run5/results.json rec/seed5/results.json && cmp -s run5/results.md rec/seed5/results.md && [ ! -e rec/seed5/ablation.json ]
ok $? "make record copies the seed's results (and only what exists)"
make -s -f "$ROOT/pipelines/lgp.mk" PROFILE=test OUT=empty RESULTS=rec SEED=6 record >rec.out 2>&1
[ $? -ne 0 ] && grep -q "has no results.json or ablation.json" rec.out && [ ! -e rec/seed6 ]; ok $? "record of a seed that has not run fails and writes nothing"
make -s -f "$ROOT/pipelines/lgp.mk" PROFILE=test SEEDS="97" PYTHON="$PYTHON" summary >miss.out 2>&1
[ $? -ne 0 ] && grep -q "seed97/results.json is missing: run the seed first" miss.out; ok $? "make summary names a missing seed run"
# make summary: the merged table and its accuracy figure from the recorded seeds
for s in 0 1 2; do mkdir -p rec3/seed$s && cp s$s.json rec3/seed$s/results.json; done
make -s -f "$ROOT/pipelines/lgp.mk" PROFILE=test RESULTS=rec3 SEEDS="0 1 2" PYTHON="$PYTHON" summary >sum3.out 2>&1
ok $? "make summary"
grep -q "^| layer-grafted | 81.00 ± 1.00 |" rec3/results.md && [ -s rec3/accuracy-1pct.png ] && [ ! -e rec3/loss.png ]
ok $? "it writes results.md and the accuracy figure (no loss curves: the seeds' logs are not kept)"
# A recorded seed completed later (make ... finetune-full-add, results.py --base): rows
# the run folder has replace or join the recorded ones, every other row and the recorded
# stage times stay; another seed's or other settings' record is refused.
mkdir -p late/mae late/grafted && echo '{"top1": 70.0, "seconds": 600}' >late/mae/finetune-all.json
echo '{"top1": 75.0, "seconds": 1200}' >late/grafted/finetune-all.json
echo '{"step": 10, "time": 3600}' >late/mae/train.jsonl
"$PYTHON" - <<'PY'
import json
rows = [{"run": r, "train_seed": 5, "protocol": "tuned-lambda", "shots": "1%", "probe_seed": p, "top1": v + p}
        for r, v in (("grafted", 80.0), ("mae", 77.0)) for p in (0, 1)]
rows.append({"run": "grafted", "train_seed": 5, "protocol": "finetune", "shots": "all", "probe_seed": 5, "top1": 74.5, "minutes": 24.5})
json.dump({"profile": "t", "settings": "S=1", "train_minutes": {"grafted": "41.1 + 38.0", "mae": "41.1"}, "rows": rows},
          open("base5.json", "w"))
PY
R=("$PYTHON" "$ROOT/pipelines/results.py" --out late --profile t --runs "grafted mae" --train-seed 5)
"${R[@]}" --settings S=1 --base base5.json --json late.json >late.md 2>late.err
ok $? "results.py --base"
grep -q "^| MAE only (stage 1 probed directly) | 77.50 ± 0.71 | 70.00 (10.0) | 41.1 |$" late.md
ok $? "a row of the run folder joins the recorded ones; the recorded stage time stays (not the new log's 60.0)"
grep -q "^| layer-grafted .* | 80.50 ± 0.71 | 75.00 (20.0) | 41.1 + 38.0 |$" late.md
ok $? "a row of the run folder replaces the recorded one of the same protocol"
"$PYTHON" -c 'import json,sys; d=json.load(open("late.json")); sys.exit(0 if len(d["rows"])==6 and d["train_minutes"]["mae"]=="41.1" else 1)'
ok $? "results.json: 6 rows and the recorded stage times"
"${R[@]}" --settings S=2 --base base5.json >/dev/null 2>late.err
[ $? -ne 0 ] && grep -q "base5.json: recorded with settings \`S=1\`, not \`S=2\`" late.err; ok $? "a record of other settings is refused"
sed 's/"train_seed": 5/"train_seed": 4/g' base5.json >base4.json
"${R[@]}" --settings S=1 --base base4.json >/dev/null 2>late.err
[ $? -ne 0 ] && grep -q "rows of training seeds \[4\], not 5" late.err; ok $? "a record of another training seed is refused"
# the make target: FT_RUNS empty makes nothing; the recorded seed's table is made and recorded again
settings=$(make -s -f "$ROOT/pipelines/lgp.mk" PROFILE=test SEED=5 --eval 'print-settings: ; @echo "$(SETTINGS)"' print-settings)
mkdir -p recL/seed5 && sed "s|\"S=1\"|\"${settings//|/\\|}\"|" base5.json >recL/seed5/results.json
make -s -f "$ROOT/pipelines/lgp.mk" PROFILE=test OUT=late RESULTS=recL SEED=5 RUNS="grafted mae" FT_RUNS= PYTHON="$PYTHON" finetune-full-add >add.out 2>&1
ok $? "make finetune-full-add"
grep -q "| 70.00 (10.0) | 41.1 |$" recL/seed5/results.md && grep -q '"top1": 70.0' recL/seed5/results.json
ok $? "and the recorded seed now has the new row"
# checked before any work: FT_RUNS=random would start a fine-tuning run (and its test set)
make -s -f "$ROOT/pipelines/lgp.mk" PROFILE=test OUT=none RESULTS=recM SEED=5 FT_RUNS=random PYTHON="$PYTHON" finetune-full-add >add.out 2>&1
[ $? -ne 0 ] && grep -q "recM/seed5/results.json is missing: record the seed first" add.out && [ ! -e none ]
ok $? "it needs the seed recorded first, and says so before any work"
make -s -f "$ROOT/pipelines/lgp.mk" PROFILE=test OUT=none RESULTS=recL SEED=5 FT_RUNS=random FT_EPOCHS=7 PYTHON="$PYTHON" finetune-full-add >add.out 2>&1
[ $? -ne 0 ] && grep -q "recL/seed5/results.json: recorded with settings .*, not .FT_EPOCHS=7 " add.out && [ ! -e none ]
ok $? "a record of other settings is refused before any work"
done_testing

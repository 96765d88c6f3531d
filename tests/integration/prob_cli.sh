#!/usr/bin/env bash
# The probabilistic stage end to end through the CLI:
#   1. FEBRL dataset 2 (unsupervised docs/examples/febrl2.json): pairwise
#      precision and recall above a floor (evaluate --min-precision/recall);
#   2. generated data, hybrid (hesid, then probabilistic): pairs.parquet,
#      links.parquet and model.json byte-identical at 1 and 2 threads;
#   3. tessera train, then link --model: the same links as training in the run;
#   4. hybrid semantics: every pair the steps link stays linked, and no
#      patient gains two different valid NHS numbers (the veto);
#   5. --rules PRESET runs the preset alone; --threshold moves the links and
#      is checked; a model that does not fit the config is refused;
#   6. a degenerate model (u >= m on an agreement level) is warned about,
#      also under -q, and listed in report.json.
set -u
bin="$1" src="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
jq_() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# 1. FEBRL2: the shared data sit beside the repository, or under TSR_SHARED_DIR
febrl="$src/../shared/data/febrl_dataset2.csv"
if [ ! -f "$febrl" ] && [ -n "${TSR_SHARED_DIR:-}" ]; then febrl="$TSR_SHARED_DIR/data/febrl_dataset2.csv"; fi
if [ ! -f "$febrl" ]; then
  bad "FEBRL dataset 2 not found (beside the repository in ../shared/data, or set TSR_SHARED_DIR)"
else
  sed "s#\"path\": \"../../../shared/data/febrl_dataset2.csv\"#\"path\": \"$febrl\"#" "$src/docs/examples/febrl2.json" > "$tmp/febrl2.json"
  "$src/scripts/febrl_truth.sh" "$febrl" > "$tmp/truth2.csv" || bad "febrl_truth.sh"
  "$bin" link --config "$tmp/febrl2.json" --out "$tmp/f2" --quiet 2> "$tmp/f2.err" || bad "febrl2 link: $(cat "$tmp/f2.err")"
  "$bin" evaluate --links "$tmp/f2/links.parquet" --truth "$tmp/truth2.csv" --min-precision 0.998 --min-recall 0.998 \
    --quiet > "$tmp/f2.json" && ok || bad "FEBRL2 below the floor: $(cat "$tmp/f2.json")"
  f1=$(jq_ "$tmp/f2.json" 'j["pairwise"]["f1"]')
  python3 -c "import sys; sys.exit(0 if float('$f1') >= 0.998 else 1)" && ok || bad "FEBRL2 F1 $f1 < 0.998"
fi

# 2. determinism on generated data
"$bin" generate --patients 20000 --seed 3 --out "$tmp/g" --quiet || bad "generate"
"$bin" link --config "$tmp/g/link.json" --out "$tmp/r1" --threads 1 --quiet 2>/dev/null || bad "link 1 thread"
"$bin" link --config "$tmp/g/link.json" --out "$tmp/r2" --threads 2 > "$tmp/r2.out" 2>&1 || bad "link 2 threads: $(cat "$tmp/r2.out")"
for f in pairs.parquet links.parquet patients.parquet model.json; do
  cmp -s "$tmp/r1/$f" "$tmp/r2/$f" && ok || bad "$f differs between 1 and 2 threads"
done
grep -q "pairs.parquet" "$tmp/r2.out" && ok || bad "summary names pairs.parquet: $(cat "$tmp/r2.out")"
[ "$(jq_ "$tmp/r2/report.json" 'j["probabilistic"]["threads"]')" = "2" ] && ok || bad "report threads"
[ "$(jq_ "$tmp/r2/report.json" 'int(j["probabilistic"]["pairs_scored"] > 0 and j["probabilistic"]["u_pairs"] > 0 and j["probabilistic"]["em_iterations"] > 0 and len(j["probabilistic"]["comparisons"]) == 7)')" = "1" ] && ok || bad "report probabilistic object"
"$bin" evaluate --links "$tmp/r2/links.parquet" --truth "$tmp/g/truth.csv" --min-precision 0.999 --min-recall 0.995 --quiet > "$tmp/e2.json" && ok || bad "hybrid accuracy: $(cat "$tmp/e2.json")"

# 3. train, then link --model: the same links as training in the run
"$bin" train --config "$tmp/g/link.json" --out "$tmp/model.json" --splink "$tmp/splink.json" > "$tmp/train.out" 2>&1 || bad "train: $(cat "$tmp/train.out")"
[ "$(jq_ "$tmp/splink.json" 'len(j["comparisons"]) == 7 and j["link_type"] == "link_and_dedupe" and all("m_probability" in l for c in j["comparisons"] for l in c["comparison_levels"] if not l.get("is_null_level"))')" = "True" ] && ok || bad "train --splink"
cmp -s "$tmp/model.json" "$tmp/r1/model.json" && ok || bad "train's model differs from the run's model.json"
grep -q "lambda" "$tmp/train.out" && grep -q "given_name" "$tmp/train.out" && ok || bad "train summary: $(cat "$tmp/train.out")"
"$bin" link --config "$tmp/g/link.json" --model "$tmp/model.json" --out "$tmp/r3" --quiet 2>/dev/null || bad "link --model"
cmp -s "$tmp/r3/links.parquet" "$tmp/r1/links.parquet" && ok || bad "links with --model differ from training in the run"
cmp -s "$tmp/r3/pairs.parquet" "$tmp/r1/pairs.parquet" && ok || bad "pairs with --model differ"
[ "$(jq_ "$tmp/r3/report.json" 'j["probabilistic"]["model"]')" = "loaded" ] && ok || bad "report says loaded"

# 4. hybrid semantics: the steps' links are never undone, and the veto holds
"$bin" link --config "$tmp/g/link.json" --rules hesid --out "$tmp/det" --csv --quiet 2>/dev/null || bad "link --rules hesid"
[ ! -e "$tmp/det/pairs.parquet" ] && ok || bad "--rules hesid wrote pairs.parquet"
cut -d, -f1-3 "$tmp/det/links.csv" > "$tmp/det_truth.csv"
"$bin" evaluate --links "$tmp/r2/links.parquet" --truth "$tmp/det_truth.csv" --min-recall 1 --quiet > "$tmp/semi.json" \
  && ok || bad "a deterministic link was undone: $(cat "$tmp/semi.json")"
dc=$(jq_ "$tmp/det/report.json" 'j["clusters"]["nhs_conflicts"]'); hc=$(jq_ "$tmp/r2/report.json" 'j["clusters"]["nhs_conflicts"]')
[ "$dc" = "$hc" ] && ok || bad "patients with two valid NHS numbers: steps $dc, hybrid $hc"

# 5. options
"$bin" link --config "$tmp/g/link.json" --threshold 0.999999 --out "$tmp/r4" --quiet 2>/dev/null || bad "--threshold"
a=$(jq_ "$tmp/r2/report.json" 'j["probabilistic"]["pairs_above_threshold"]'); b=$(jq_ "$tmp/r4/report.json" 'j["probabilistic"]["pairs_above_threshold"]')
[ "$b" -lt "$a" ] && ok || bad "--threshold 0.999999 kept $b of $a pairs"
err=$("$bin" link --config "$tmp/g/link.json" --threshold 1.5 --out "$tmp/r5" 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$err" | grep -q "between 0 and 1" && [ ! -e "$tmp/r5" ] && ok || bad "--threshold 1.5: rc=$rc $err"
err=$("$bin" link --config "$tmp/g/link.json" --rules hesid --model "$tmp/model.json" --out "$tmp/r6" 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$err" | grep -q "probabilistic" && ok || bad "--rules with --model: rc=$rc $err"
python3 - "$tmp/model.json" "$tmp/model_other.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["comparisons"][0]["name"] = "forename"
json.dump(m, open(sys.argv[2], "w"))
PY
err=$("$bin" link --config "$tmp/g/link.json" --model "$tmp/model_other.json" --out "$tmp/r7" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$err" | grep -q "comparisons\[0\]" && [ ! -e "$tmp/r7" ] && ok || bad "mismatched model: rc=$rc $err"

# 5b. one_to_one (link mode): no patient holds two records of one source;
#     split_clusters: edges that would pass max_cluster_size are refused
python3 - "$tmp/g/link.json" "$tmp/g/o2o.json" "$tmp/g/split.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["link"]["mode"] = "link"; c["link"]["one_to_one"] = True; c["link"]["rules"] = []
json.dump(c, open(sys.argv[2], "w"))
c = json.load(open(sys.argv[1]))
c["link"]["max_cluster_size"] = 4; c["probabilistic"]["split_clusters"] = True
json.dump(c, open(sys.argv[3], "w"))
PY
"$bin" link --config "$tmp/g/o2o.json" --out "$tmp/o2o" --csv --quiet 2>/dev/null || bad "one_to_one run"
python3 - "$tmp/o2o/patients.csv" "$tmp/o2o/report.json" <<'PY' && ok || bad "one_to_one: a patient with two records of one source, or no refusal counted"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
p = json.load(open(sys.argv[2]))["probabilistic"]["clusters"]
sys.exit(0 if max(int(r["n_gp"]) for r in rows) <= 1 and max(int(r["n_hes"]) for r in rows) <= 1 and p["one_to_one"] > 0 and p["accepted"] > 0 else 1)
PY
"$bin" link --config "$tmp/g/split.json" --out "$tmp/split" --quiet 2>/dev/null || bad "split_clusters run"
[ "$(jq_ "$tmp/split/report.json" 'int(j["probabilistic"]["clusters"]["split"] > 0)')" = "1" ] && ok || bad "split_clusters refused no edge"

# 6. a degenerate model: u above m on dob's exact level
python3 - "$tmp/model.json" "$tmp/model_bad.json" <<'PY'
import json, math, sys
m = json.load(open(sys.argv[1]))
for c in m["comparisons"]:
    if c["name"] != "dob":
        continue
    lv = {l["name"]: l for l in c["levels"]}
    e, other = lv["exact"], lv["else"]
    e["m"], other["m"] = e["u"] / 2, other["m"] + e["m"] - e["u"] / 2
    for l in c["levels"]:
        w = math.log2(l["m"] / l["u"]) if l["m"] > 0 and l["u"] > 0 else (60.0 if l["m"] > 0 else -60.0)
        l["weight"] = round(max(-60.0, min(60.0, w)) * 2**32) / 2**32
json.dump(m, open(sys.argv[2], "w"), indent=1)
PY
err=$("$bin" link --config "$tmp/g/link.json" --model "$tmp/model_bad.json" --out "$tmp/r8" --quiet 2>&1) || bad "degenerate model run failed: $err"
echo "$err" | grep -q "comparison dob, level exact: u" && ok || bad "no warning for a degenerate level: $err"
[ "$(jq_ "$tmp/r8/report.json" 'j["probabilistic"]["degenerate"][0]["comparison"]')" = "dob" ] && ok || bad "report lists the degenerate level"

echo "prob_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

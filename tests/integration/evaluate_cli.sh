#!/usr/bin/env bash
# tessera evaluate end to end: nothing scored is a failure (defect 8), truth
# records rejected at ingest count as missed in recall, --min-recall, and a
# bad truth row named by file, line and reason (defect 9). Seeded data, so
# the pair counts are pinned.
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
has() { grep -q -- "$2" "$1" || { echo "  missing '$2' in $1:"; head -c 600 "$1"; echo; return 1; }; }

"$bin" generate --patients 300 --seed 3 --out "$tmp/g" --quiet || bad "generate"
"$bin" link --config "$tmp/g/link.json" --rules hesid --out "$tmp/r" --quiet || bad "link"

# 1. an honest run: everything scored, both gates pass
"$bin" evaluate --links "$tmp/r/links.parquet" --truth "$tmp/g/truth.csv" --min-precision 0.99 --min-recall 0.9 \
  > "$tmp/e1.json" 2> "$tmp/e1.err" && ok || bad "honest run: $(cat "$tmp/e1.err")"
has "$tmp/e1.json" '"truth_not_in_links": 0' && has "$tmp/e1.json" '"pairs_true_missing": 0' && ok || bad "honest counts"

# the --name=VALUE forms read the same
"$bin" evaluate --links="$tmp/r/links.parquet" --truth="$tmp/g/truth.csv" --min-recall=0.9 > "$tmp/e1b.json" 2> "$tmp/e1b.err" &&
  cmp -s <(grep -v '"seconds"' "$tmp/e1.json") <(grep -v '"seconds"' "$tmp/e1b.json") && ok || bad "--links=/--truth= forms: $(cat "$tmp/e1b.err")"

# 2. --min-recall above the run's recall: exit 1, and the figure is named
"$bin" evaluate --links "$tmp/r/links.parquet" --truth "$tmp/g/truth.csv" --min-recall 1 > /dev/null 2> "$tmp/e2.err"
rc=$?; [ $rc -eq 1 ] && has "$tmp/e2.err" "below --min-recall" && ok || bad "--min-recall 1: rc $rc"
"$bin" evaluate --links "$tmp/r/links.parquet" --truth "$tmp/g/truth.csv" --min-recall 1.5 > /dev/null 2>&1
rc=$?; [ $rc -eq 2 ] && ok || bad "--min-recall 1.5 is a usage error: rc $rc"

# 3. truth ids that match no link row: not a perfect score but a failure,
#    even with --min-precision 0.99
sed 's/^\([a-z_]*\),/\1,zz/' "$tmp/g/truth.csv" | sed '1s/.*/source,record_id,patient_id/' > "$tmp/other.csv"
"$bin" evaluate --links "$tmp/r/links.parquet" --truth "$tmp/other.csv" --min-precision 0.99 > "$tmp/e3.json" 2> "$tmp/e3.err"
rc=$?; [ $rc -eq 1 ] && has "$tmp/e3.err" "nothing can be scored" && ok || bad "no overlap: rc $rc $(cat "$tmp/e3.json")"

# 4. a run that rejects many rows: the rejected records are missed, so recall
#    falls from 0.993 (old figure, over the scored records) to 0.411
awk -F, 'NR>1 && NR%5<2 {print $1","$2; next} {print}' "$tmp/g/hes_apc.csv" > "$tmp/h" && mv "$tmp/h" "$tmp/g/hes_apc.csv"
sed -i 's/"max_reject_share": [0-9.]*/"max_reject_share": 0.6/' "$tmp/g/link.json"
grep -q '"max_reject_share": 0.6' "$tmp/g/link.json" || sed -i 's/"path": "\([^"]*hes_apc.csv\)"/"path": "\1", "max_reject_share": 0.6/' "$tmp/g/link.json"
"$bin" link --config "$tmp/g/link.json" --rules hesid --out "$tmp/r2" --quiet 2> "$tmp/l2.err" || bad "link with rejects: $(cat "$tmp/l2.err")"
"$bin" evaluate --links "$tmp/r2/links.parquet" --truth "$tmp/g/truth.csv" --min-recall 0.5 -q > "$tmp/e4.json" 2> "$tmp/e4.err"
rc=$?; [ $rc -eq 1 ] && ok || bad "recall with missing records must fail --min-recall 0.5: rc $rc"
has "$tmp/e4.json" '"truth_not_in_links": 229' && has "$tmp/e4.json" '"pairs_true": 5912' &&
  has "$tmp/e4.json" '"pairs_correct": 2428' && has "$tmp/e4.json" '"pairs_true_missing": 3467' &&
  has "$tmp/e4.json" '"recall": 0.41069' && ok || bad "pinned counts with missing records"
has "$tmp/e4.err" "229 of 1023 truth records are missing from the links" && ok || bad "missing-records warning (also under -q)"

# 5. a short truth row: file, line and reason; no rejects.csv anywhere
{ head -3 "$tmp/g/truth.csv"; echo "gp,9999"; tail -n +4 "$tmp/g/truth.csv"; } > "$tmp/short.csv"
( cd "$tmp" && "$bin" evaluate --links r/links.parquet --truth short.csv > /dev/null 2> e5.err ); rc=$?
[ $rc -eq 1 ] && has "$tmp/e5.err" "short.csv:4" && has "$tmp/e5.err" "field_count" && ok || bad "short row: rc $rc"
grep -q "rejects.csv" "$tmp/e5.err" && bad "names rejects.csv, which it never writes: $(cat "$tmp/e5.err")" || ok
[ -e "$tmp/rejects.csv" ] && bad "evaluate wrote rejects.csv" || ok

echo "evaluate_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]

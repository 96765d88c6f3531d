#!/usr/bin/env bash
# make demo: generate a synthetic GP + hospital data set, profile it, link it
# with the HES patient identifier preset alone and then with the preset
# followed by probabilistic matching, score both against the generator's
# ground truth, write one research extract under the example data-sharing
# agreement (docs/examples/agreement.json) with a release register and its
# quarterly report, and print where everything is.
set -euo pipefail
bin="$1" out="$2" n="$3"
echo "== tessera demo: generating $n patients into $out"
"$bin" generate --patients "$n" --seed 1 --out "$out"
echo
echo "== files"
for f in gp.csv hes_apc.csv truth.csv truth_spells.csv truth_patients.csv optouts_type1.csv optouts_ndoo.csv link.json generate_summary.json; do
  printf '  %-24s %10s bytes\n' "$f" "$(stat -c %s "$out/$f")"
done
echo
echo "== ingest profile and blocking counts (tessera inspect --config $out/link.json --blocking)"
"$bin" inspect --config "$out/link.json" --top 3 --blocking
echo
echo "== link with the hesid preset alone (tessera link --config $out/link.json --rules hesid --out $out/run_hesid --overwrite)"
"$bin" link --config "$out/link.json" --rules hesid --out "$out/run_hesid" --overwrite
"$bin" evaluate --links "$out/run_hesid/links.parquet" --truth "$out/truth.csv" --quiet > "$out/run_hesid/evaluation.json"
echo
echo "== link: hesid, then probabilistic (tessera link --config $out/link.json --out $out/run --csv --overwrite)"
"$bin" link --config "$out/link.json" --out "$out/run" --csv --overwrite
echo
echo "== evaluate against ground truth (tessera evaluate --links $out/run/links.parquet --truth $out/truth.csv)"
"$bin" evaluate --links "$out/run/links.parquet" --truth "$out/truth.csv" | tee "$out/run/evaluation.json"
echo
echo "== research extract under docs/examples/agreement.json (tessera extract --run $out/run --agreement $out/agreement.json --out $out/extract --register $out/release_register.jsonl)"
here="$(cd "$(dirname "$0")/.." && pwd)"
cp "$here/docs/examples/agreement.json" "$out/agreement.json"
[ -e "$out/agreement.key" ] || "$bin" keygen --out "$out/agreement.key"
"$bin" extract --run "$out/run" --agreement "$out/agreement.json" --out "$out/extract" \
  --register "$out/release_register.jsonl" --truth "$out" --overwrite
"$bin" register verify --register "$out/release_register.jsonl"
quarter="$(date -u +%Y)Q$(( ( $(date -u +%-m) + 2 ) / 3 ))"
"$bin" register report --register "$out/release_register.jsonl" --quarter "$quarter" --out "$out/release_register"
echo
dir=$(cd "$out" && pwd)
echo "Demo output is in: $dir"
echo "  Parquet:  $dir/run/links.parquet  $dir/run/patients.parquet  $dir/run/pairs.parquet"
echo "  Model:    $dir/run/model.json"
echo "  Episodes: $dir/run/episodes.parquet  $dir/run/spells.parquet  $dir/run/cips.parquet  $dir/run/registrations.parquet"
echo "  Report:   $dir/run/report.html  $dir/run/report.json  (evaluation: $dir/run/evaluation.json)"
echo "  Rejects:  $dir/run/rejects.csv"
echo "  Extract:  $dir/extract/ (summary.md, extract_manifest.json, Parquet tables, suppressed aggregates)"
echo "  Register: $dir/release_register.jsonl  (quarterly report: $dir/release_register/release_register_$quarter.html)"

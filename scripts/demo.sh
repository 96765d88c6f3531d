#!/usr/bin/env bash
# make demo: generate a synthetic GP + hospital data set, profile it, link it
# with the HES patient identifier preset alone and then with the preset
# followed by probabilistic matching, score both against the generator's
# ground truth, and print where the Parquet files are.
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
dir=$(cd "$out" && pwd)
echo "Demo output is in: $dir"
echo "  Parquet:  $dir/run/links.parquet  $dir/run/patients.parquet  $dir/run/pairs.parquet"
echo "  Model:    $dir/run/model.json"
echo "  Episodes: $dir/run/episodes.parquet  $dir/run/spells.parquet  $dir/run/cips.parquet  $dir/run/registrations.parquet"
echo "  Report:   $dir/run/report.html  $dir/run/report.json  (evaluation: $dir/run/evaluation.json)"
echo "  Rejects:  $dir/run/rejects.csv"

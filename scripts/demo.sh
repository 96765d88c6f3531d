#!/usr/bin/env bash
# make demo: generate a synthetic GP + hospital data set, summarise it, then
# ingest it with the generated run configuration and profile each source.
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
echo "== ingest profile (tessera inspect --config $out/link.json)"
"$bin" inspect --config "$out/link.json" --top 3 --rejects "$out"
echo
echo "Demo output is in: $(cd "$out" && pwd)"

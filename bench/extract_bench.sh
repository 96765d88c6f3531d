#!/usr/bin/env bash
# Times `tessera extract` of a linked run's spells and registrations (issue
# 11: < 20 s at 10M patients on 2 threads), with both opt-out lists applied.
# usage: bench/extract_bench.sh DATA RUN [RUNS] [THREADS...]
#   DATA: `tessera generate` output (optouts_*.csv); RUN: `tessera link` of it
#   with an "episodes" section and sources[].origin set.
# Prints one line per run: threads, seconds (from the command's own summary),
# patients and rows released.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BIN:-$here/build/tessera}"
data="$1" run="$2" runs="${3:-3}"
shift 3 || shift $#
threads="${*:-2 1}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" keygen --out "$work/bench.key" --quiet
cat > "$work/agreement.json" <<JSON
{"version": 1, "reference": "DARS-NIC-BENCH01", "recipient": "benchmark", "purpose": "extract timing",
 "legal_basis": "section_251", "data_category": "pseudonymised", "key_file": "bench.key",
 "opt_outs": {"type1": ["$(cd "$data" && pwd)/optouts_type1.csv"], "national": ["$(cd "$data" && pwd)/optouts_ndoo.csv"]},
 "tables": {
   "spells": {"fields": {"provider": "keep", "admidate": "month", "disdate": "month", "los": "keep", "diag": "keep",
                         "admimeth": "keep", "dismeth": "keep", "practice": "keep"}},
   "registrations": {"fields": {"practice": "keep", "start": "month", "end": "month"}}}}
JSON
for t in $threads; do
  for i in $(seq 1 "$runs"); do
    rm -rf "$work/x"
    start=$(date +%s.%N)
    "$bin" extract --run "$run" --agreement "$work/agreement.json" --out "$work/x" --register "$work/reg.jsonl" \
      --threads "$t" 2> "$work/err" || { cat "$work/err"; exit 1; }
    end=$(date +%s.%N)
    line=$(grep "release" "$work/err")
    printf 'threads=%s wall=%.2f  %s\n' "$t" "$(echo "$end - $start" | bc)" "$line"
  done
done

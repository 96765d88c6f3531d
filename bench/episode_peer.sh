#!/usr/bin/env bash
# The episode peer of issue 10: DuckDB computing provider spells and
# continuous inpatient spells (CIPS) with window functions from the same
# linked patients as Tessera's episode stage, in one script, and what
# linkage buys: spells built on the linked patients, on the raw NHS number
# alone, and on the true patients, each against the generator's truth.
#   1. `tessera generate` PATIENTS patients (seed 1, default scenario) into
#      DIR/data_PATIENTS, unless it is there;
#   2. `tessera link --config DATA/link.json` (hybrid: hesid rules, then the
#      probabilistic stage; the episode stage too once it is wired in) into
#      DIR/run_PATIENTS, unless a run newer than build/tessera is there;
#   3. when that run has spells.parquet (the episode stage exists): RUNS
#      more runs at each of 1 and 2 threads (DIR/run_PATIENTS_t<k>_<i>), for
#      report.json's "episodes" stage time; set TESSERA_RUNS=0 to skip;
#   4. node bench/episode_peer.mjs: DuckDB loads the episodes, links.parquet
#      and the truth (untimed), times spells + CIPS on the linked patients at
#      SET threads = 1 and 2 (warm-up + RUNS runs, medians), checks that the
#      true patients reproduce truth_spells.csv exactly, prints the linked /
#      raw-NHS / truth table (counts, exact matches, pairwise precision and
#      recall, emergency readmissions within 30 days hidden or invented), and
#      sets Tessera's counts and times against DuckDB's (or a placeholder
#      when the run has no episode files). DIR/out_PATIENTS/peer.json holds
#      the figures. Exit 1 on any disagreement.
# The machine's load is printed before each half; with WAIT_LOAD=x the script
# first waits (up to 10 minutes) for the 1-minute load average to drop below x.
# VARIANT=health_foundation uses that CIPS variant (default ukhsa; the
# truth check applies to ukhsa only). SCENARIO=hard (or clean) generates that
# scenario instead (folders DIR/*_PATIENTS_hard).
# Needs build/tessera (Release) and node_modules/@duckdb/node-api.
# Usage: bench/episode_peer.sh [PATIENTS=1000000] [RUNS=3] [DIR=/tmp/episode_peer]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
patients="${1:-1000000}" runs="${2:-3}" dir="${3:-/tmp/episode_peer}"
build="${BUILD:-$root/build}"
t="$build/tessera"
[ -x "$t" ] || { echo "no $t: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2" >&2; exit 2; }
scenario="${SCENARIO:-default}"
tag="$patients$([ "$scenario" = default ] || echo "_$scenario")"
data="$dir/data_$tag" run="$dir/run_$tag" out="$dir/out_$tag"
mkdir -p "$dir" "$out"
load() { cut -d' ' -f1-3 /proc/loadavg; }
if [ ! -f "$data/link.json" ]; then
  "$t" generate --patients "$patients" --seed 1 --scenario "$scenario" --quiet --out "$data"
fi
if [ ! -f "$run/links.parquet" ] || [ "$t" -nt "$run/links.parquet" ]; then
  "$t" link --config "$data/link.json" --out "$run" --overwrite --quiet
fi
if [ -n "${WAIT_LOAD:-}" ]; then
  for _ in $(seq 1 40); do
    awk -v max="$WAIT_LOAD" '{ exit !($1 < max) }' /proc/loadavg && break
    sleep 15
  done
fi
echo "# $(date -u +%FT%TZ) $patients patients, $scenario scenario; $(nproc) cores; $("$t" --version 2>/dev/null || echo "tessera ?")"
if [ -f "$run/spells.parquet" ] && [ "${TESSERA_RUNS:-$runs}" -gt 0 ]; then
  echo "# load before the Tessera runs: $(load)"
  rm -rf "$run"_t*_*
  for i in $(seq 1 "${TESSERA_RUNS:-$runs}"); do
    for th in 1 2; do
      "$t" link --config "$data/link.json" --out "${run}_t${th}_$i" --threads "$th" --overwrite --quiet
      find "${run}_t${th}_$i" -type f ! -name report.json -delete   # only its stage times are read
    done
  done
elif [ ! -f "$run/spells.parquet" ]; then
  echo "# PLACEHOLDER: $run has no spells.parquet (no episode stage in this build); Tessera figures left out"
fi
echo "# load before DuckDB: $(load)"
node "$root/bench/episode_peer.mjs" "$data" "$run" "$out" 1,2 "$runs" "${VARIANT:-ukhsa}"
echo "# load after: $(load)"

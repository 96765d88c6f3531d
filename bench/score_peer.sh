#!/usr/bin/env bash
# The scoring peer of issue 9: Tessera's batch scorer and DuckDB scoring the
# same candidate pairs with the same levels and weights, in one script.
#   1. `tessera generate` a GP + hospital set (seed 1), unless it is there;
#   2. bench_score_dump (bench/bench_score_dump.c): block with three rules,
#      score with 8 comparisons and a fixed model, time block + score +
#      weight at 1 and 2 threads (warm-up + RUNS runs), write the pairs with
#      their levels and weights, the records' compared fields and the model;
#   3. node bench/score_peer.mjs: DuckDB loads them, times the same scoring in
#      SQL (join + CASE levels + summed weights) at SET threads = 1 and 2,
#      checks every pair's levels and weight against Tessera's, and prints
#      the ratios. OUT/peer.json holds the figures.
# The machine's load is printed before each half; with WAIT_LOAD=x the script
# first waits (up to 10 minutes) for the 1-minute load average to drop below x.
# Needs a Release build with the benchmarks (build/bench/bench_score_dump) and
# node_modules/@duckdb/node-api.
# Usage: bench/score_peer.sh [PATIENTS=200000] [RUNS=3] [DIR=/tmp/score_peer]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
patients="${1:-200000}" runs="${2:-3}" dir="${3:-/tmp/score_peer}"
build="${BUILD:-$root/build}"
bin="$build/bench/bench_score_dump"
[ -x "$bin" ] || { echo "no $bin: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2" >&2; exit 2; }
data="$dir/data_$patients" out="$dir/out_$patients"
if [ ! -f "$data/link.json" ]; then
  "$build/tessera" generate --patients "$patients" --seed 1 --quiet --out "$data"
fi
mkdir -p "$out"
load() { cut -d' ' -f1-3 /proc/loadavg; }
if [ -n "${WAIT_LOAD:-}" ]; then
  for _ in $(seq 1 40); do
    awk -v max="$WAIT_LOAD" '{ exit !($1 < max) }' /proc/loadavg && break
    sleep 15
  done
fi
echo "# $(date -u +%FT%TZ) load before Tessera: $(load); $(nproc) cores"
"$bin" --data "$data" --out "$out" --threads 1,2 --runs "$runs"
echo "# load before DuckDB: $(load)"
node "$root/bench/score_peer.mjs" "$out" 1,2 "$runs"
echo "# load after: $(load)"

#!/usr/bin/env bash
# make bench: runs the benchmarks and prints CSV; record the figures, with
# this command, in docs/benchmarks.md. The peer (DuckDB) runs in the same
# script on the same files, so ratios compare like with like.
#   BENCH_PATIENTS  patients for the generated data (default 1000000)
#   BENCH_RUNS      timed runs per configuration (default 3)
#   BENCH_BIG=1     also time a 10M-patient generate (wall time, peak RSS)
set -euo pipefail
build="${1:-build}"
out="${BENCH_OUT:-/tmp/tsr_bench}"
n="${BENCH_PATIENTS:-1000000}"
runs="${BENCH_RUNS:-3}"
here="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"

echo "# generator throughput, $n patients"
"$build/bench/bench_generate" --patients "$n" --runs "$runs" --threads 1,2 --out "$out/gen"

echo "# ingest ($n patients: gp.csv + hes_apc.csv), tessera then DuckDB read_csv into typed tables"
rm -rf "$out/data"; "$build/tessera" generate --patients "$n" --seed 1 --out "$out/data" --quiet
"$build/bench/bench_ingest" --config "$out/data/link.json" --threads 1,2 --runs "$runs"
if [ -d "$here/node_modules/@duckdb/node-api" ]; then
  (cd "$here" && node bench/ingest_duckdb.mjs "$out/data" 1,2 "$runs")
else
  echo "duckdb: node_modules missing (run make deps)"
fi

if [ "${BENCH_BIG:-0}" = 1 ]; then
  echo "# 10M patients, 2 threads"
  rm -rf "$out/big"; sync
  /usr/bin/time -f "generate_10M,wall_s=%e,peak_rss_kb=%M" "$build/tessera" generate --patients 10000000 --threads 2 --out "$out/big" --quiet
  du -sh "$out/big"
  rm -rf "$out/big"
fi

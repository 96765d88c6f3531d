#!/usr/bin/env bash
# make bench: runs the benchmarks and prints CSV; record the figures, with
# this command, in docs/benchmarks.md. The peer (DuckDB) runs in the same
# script on the same files, so ratios compare like with like.
#   BENCH_PATIENTS  patients for the generated data (default 1000000)
#   BENCH_RUNS      timed runs per configuration (default 3)
#   BENCH_LINK_PATIENTS  patients for the link benchmark (default 3200000, with
#                   hes.mean_episodes=3.1: about 5M GP and 10M hospital rows)
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

echo "# deterministic linkage (hesid), CSV in to Parquet out, tessera then DuckDB SQL, ${BENCH_LINK_THREADS:-2} threads"
lp="${BENCH_LINK_PATIENTS:-3200000}"
rm -rf "$out/link"; "$build/tessera" generate --patients "$lp" --seed 1 --set hes.mean_episodes=3.1 --out "$out/link" --quiet
echo "bench,threads,run,seconds,peak_rss_kb,records,linked,patients"
for r in $(seq 0 "$runs"); do # run 0 is a warm-up
  rm -rf "$out/link/run"
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$build/tessera" link --config "$out/link/link.json" --rules hesid \
    --out "$out/link/run" --threads "${BENCH_LINK_THREADS:-2}" --quiet
  read -r secs rss < "$out/time.txt"
  summary=$(node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));const s=j.sources.reduce((a,x)=>a+x.rows_stored,0);process.stdout.write(s+","+j.clusters.records_linked+","+j.clusters.patients)' "$out/link/run/report.json")
  [ "$r" -gt 0 ] && echo "tessera_hesid,${BENCH_LINK_THREADS:-2},$((r-1)),$secs,$rss,$summary"
done
if [ -d "$here/node_modules/@duckdb/node-api" ]; then
  (cd "$here" && node bench/link_duckdb.mjs "$out/link" "$out/link/duckdb" "${BENCH_LINK_THREADS:-2}" "$runs")
fi
rm -rf "$out/link"

if [ "${BENCH_BIG:-0}" = 1 ]; then
  echo "# 10M patients, 2 threads"
  rm -rf "$out/big"; sync
  /usr/bin/time -f "generate_10M,wall_s=%e,peak_rss_kb=%M" "$build/tessera" generate --patients 10000000 --threads 2 --out "$out/big" --quiet
  du -sh "$out/big"
  rm -rf "$out/big"
fi

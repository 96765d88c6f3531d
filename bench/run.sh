#!/usr/bin/env bash
# make bench: runs the benchmarks and prints CSV. Record the figures, with
# the command, in docs/benchmarks.md.
#   BENCH_PATIENTS  patients for the generator throughput runs (default 1000000)
#   BENCH_RUNS      timed runs per configuration (default 3)
#   BENCH_BIG=1     also time a 10M-patient generate (wall time, peak RSS)
set -euo pipefail
build="${1:-build}"
out="${BENCH_OUT:-/tmp/tsr_bench}"
mkdir -p "$out"
echo "# generator throughput"
"$build/bench_generate" --patients "${BENCH_PATIENTS:-1000000}" --runs "${BENCH_RUNS:-3}" --threads 1,2 --out "$out/gen"
if [ "${BENCH_BIG:-0}" = 1 ]; then
  echo "# 10M patients, 2 threads"
  rm -rf "$out/big"; sync
  /usr/bin/time -f "generate_10M,wall_s=%e,peak_rss_kb=%M" "$build/tessera" generate --patients 10000000 --threads 2 --out "$out/big"
  du -sh "$out/big"
  rm -rf "$out/big"
fi

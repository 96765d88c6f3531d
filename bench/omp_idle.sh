#!/usr/bin/env bash
# OpenMP wait policy on an idle machine: the stage times of a link of DATA
# (a generated set's folder) under the binary's default (passive unless the
# user sets a policy), OMP_WAIT_POLICY=active and GOMP_SPINCOUNT=100000,
# RUNS rounds, settings interleaved. Prints one line per run: the setting and
# each stage's seconds from report.json.
# Usage: bench/omp_idle.sh TESSERA DATA [RUNS] [THREADS]
set -euo pipefail
bin="$1" d="$2" runs="${3:-4}" threads="${4:-2}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq 1 "$runs"); do
  for setting in default OMP_WAIT_POLICY=active GOMP_SPINCOUNT=100000; do
    rm -rf "$out/run"
    if [ "$setting" = default ]; then
      env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$bin" link --config "$d/link.json" --rules hesid --out "$out/run" --threads "$threads" -q
    else
      env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$setting" "$bin" link --config "$d/link.json" --rules hesid --out "$out/run" --threads "$threads" -q
    fi
    echo "$setting $(node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(j.stages.map(s=>s.stage.replace(/ /g,"_")+"="+s.seconds.toFixed(3)).join(" "))' "$out/run/report.json")"
  done
done

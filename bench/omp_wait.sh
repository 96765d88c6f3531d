#!/usr/bin/env bash
# OpenMP wait policy on a busy machine: times N runs of a ~1,000-row link at
# --threads 2 under each wait-policy setting, with BUSY extra spinning
# processes (default 2: both cores of the test machine) loading the CPUs.
# Prints CSV: setting,threads,runs,min_s,median_s,p90_s,max_s,mean_s
# Usage: bench/omp_wait.sh TESSERA [RUNS] [BUSY]
# The settings: "unset" (whatever the binary does by itself), and the
# environment a user could set by hand: OMP_WAIT_POLICY=active/passive,
# GOMP_SPINCOUNT=10000.
set -u
bin="$1" runs="${2:-20}" busy="${3:-2}"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
"$bin" generate --patients 280 --seed 2 --out "$tmp/d" -q --threads 1 || exit 1
for ((i = 0; i < busy; i++)); do (exec yes > /dev/null) & pids+=($!); done
sleep 0.5
echo "setting,threads,runs,min_s,median_s,p90_s,max_s,mean_s"
for setting in unset OMP_WAIT_POLICY=active OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=10000; do
  for t in 1 2; do
    : > "$tmp/times"
    for ((r = 0; r <= runs; r++)); do
      rm -rf "$tmp/o"
      s=$(date +%s.%N)
      if [ "$setting" = unset ]; then
        env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$bin" link --config "$tmp/d/link.json" --out "$tmp/o" -q --threads "$t" || exit 1
      else
        env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$setting" "$bin" link --config "$tmp/d/link.json" --out "$tmp/o" -q --threads "$t" || exit 1
      fi
      e=$(date +%s.%N)
      [ "$r" -gt 0 ] && echo "$e - $s" | bc >> "$tmp/times" # run 0 is the warm-up
    done
    sort -g "$tmp/times" | awk -v s="$setting" -v t="$t" '{ v[NR] = $1; sum += $1 }
      END { printf "%s,%d,%d,%.3f,%.3f,%.3f,%.3f,%.3f\n", s, t, NR, v[1], v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR], sum / NR }'
  done
done

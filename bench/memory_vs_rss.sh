#!/usr/bin/env bash
# What --memory-limit counts against what the run holds: for each patient
# count, generates a set (seed 11), links it unlimited, then again under a
# limit 10% above the measured peak RSS. Prints CSV:
#   patients,peak_rss_bytes,engine_peak_bytes,engine_over_rss,limit_bytes,limited_rc,limited_engine_peak
# peak_rss_bytes is the kernel's ru_maxrss, as /usr/bin/time -v reports it
# (report.json). limited_rc 0 means the run fitted under the limit.
# Usage: bench/memory_vs_rss.sh TESSERA [PATIENTS...]   (default: 20000 200000 1000000)
set -u
bin="$1"; shift
[ $# -gt 0 ] || set -- 20000 200000 1000000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
num() { grep -E "^  \"$2\": [0-9]+" "$1" | tail -1 | sed -E 's/.*: ([0-9]+).*/\1/'; }
echo "patients,peak_rss_bytes,engine_peak_bytes,engine_over_rss,limit_bytes,limited_rc,limited_engine_peak"
for n in "$@"; do
  rm -rf "$tmp/d" "$tmp/r0" "$tmp/r1"
  "$bin" generate --patients "$n" --seed 11 --out "$tmp/d" -q --threads 2 || exit 1
  "$bin" link --config "$tmp/d/link.json" --out "$tmp/r0" -q --threads 2 || exit 1
  rss=$(num "$tmp/r0/report.json" peak_rss_bytes)
  eng=$(num "$tmp/r0/report.json" engine_peak_bytes)
  lim=$((rss + rss / 10))
  "$bin" link --config "$tmp/d/link.json" --out "$tmp/r1" -q --threads 2 --memory-limit "$lim" 2>/dev/null
  rc=$?
  eng1=$([ "$rc" -eq 0 ] && num "$tmp/r1/report.json" engine_peak_bytes || echo "")
  awk -v n="$n" -v r="$rss" -v e="$eng" -v l="$lim" -v rc="$rc" -v e1="$eng1" \
    'BEGIN { printf "%d,%d,%d,%.3f,%d,%d,%s\n", n, r, e, e / r, l, rc, e1 }'
done

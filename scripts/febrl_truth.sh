#!/usr/bin/env bash
# Ground truth of a FEBRL data set (rec-N-org, rec-N-dup-K: one person N) in
# the form `tessera evaluate --truth` reads: source,record_id,patient_id.
# Usage: scripts/febrl_truth.sh FEBRL.csv [SOURCE] > truth.csv
# SOURCE is the source's name in the run config (default: febrl).
set -euo pipefail
in="${1:?usage: febrl_truth.sh FEBRL.csv [SOURCE]}"
src="${2:-febrl}"
awk -F, -v src="$src" '
  NR == 1 { print "source,record_id,patient_id"; next }
  {
    id = $1; gsub(/^[ \t]+|[ \t]+$/, "", id)
    if (id !~ /^rec-[0-9]+-(org|dup-[0-9]+)$/) { printf "%s:%d: record id \"%s\" is not rec-N-org or rec-N-dup-K\n", FILENAME, NR, id > "/dev/stderr"; bad = 1; exit 2 }
    split(id, p, "-")
    print src "," id "," (p[2] + 1)
  }
  END { if (bad) exit 2 }' "$in"

#!/usr/bin/env bash
# u: sample size and seeds. Links one generated data set (default scenario)
# with u drawn from 1M, 3M and 10M random pairs under three seeds, and prints
# the u time, a few level weights and pairwise F1 of each run. This is the
# measurement behind the default probabilistic.u.max_pairs (docs/benchmarks.md).
# Usage: bench/u_stability.sh [PATIENTS] [WORKDIR]   (build/tessera must exist)
set -euo pipefail
n="${1:-100000}"
w="${2:-/tmp/u_stability}"
t="$(cd "$(dirname "$0")/.." && pwd)/build/tessera"
mkdir -p "$w"
[ -f "$w/d/link.json" ] || "$t" generate --patients "$n" --out "$w/d" -q
for mp in 1000000 3000000 10000000; do
  for seed in 1 2 3; do
    python3 - "$w/d/link.json" "$w/lu.json" "$mp" "$seed" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["probabilistic"]["u"] = {"max_pairs": int(sys.argv[3])}
c["probabilistic"]["seed"] = int(sys.argv[4])
json.dump(c, open(sys.argv[2], "w"))
PY
    "$t" link --config "$w/lu.json" --out "$w/run" --overwrite -q 2>/dev/null
    f1=$("$t" evaluate --links "$w/run/links.parquet" --truth "$w/d/truth.csv" -q | python3 -c 'import json,sys; print(json.load(sys.stdin)["pairwise"]["f1"])')
    python3 - "$w/run/report.json" "$mp" "$seed" "$f1" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["probabilistic"]
w = {c["name"] + ":" + l["name"]: l["weight"] for c in p["comparisons"] for l in c["levels"]}
keys = ["given_name:exact", "family_name:exact", "dob:exact", "dob:day_month_swapped", "dob:jan1", "postcode:full",
        "postcode:sector", "nhs_number:equal"]
print("u_pairs %9s seed %s u_seconds %5.2f F1 %s  " % (sys.argv[2], sys.argv[3], p["u_seconds"], sys.argv[4]) +
      " ".join("%s=%.2f" % (k, w[k]) for k in keys if k in w))
PY
  done
done

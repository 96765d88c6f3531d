#!/usr/bin/env bash
# Probabilistic linkage: accuracy and speed figures of docs/benchmarks.md
# ("Probabilistic linkage"). Runs, each followed by `tessera evaluate`:
#   FEBRL 1 and 2, unsupervised (docs/examples/febrl1_prob.json, febrl2.json);
#   generated default scenario, 1M patients (seed 7): hybrid (link.json as
#     generated: hesid, then probabilistic), and probabilistic alone (link
#     rules emptied) at 1 and 2 threads, for the scoring rate;
#   generated hard scenario, 100k patients (seed 1): hybrid, hesid alone, and
#     hybrid with join_clusters false; 1M hybrid with train_max_pairs 20M.
# Usage: bench/prob_accuracy.sh [WORKDIR]   (build/tessera must exist; the
# FEBRL files are read from ../shared/data or $TSR_SHARED_DIR/data)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
t="$root/build/tessera"
w="${1:-/tmp/prob_accuracy}"
mkdir -p "$w"
shared="$root/../shared"
[ -d "$shared/data" ] || shared="${TSR_SHARED_DIR:?FEBRL data: set TSR_SHARED_DIR}"
ev() { "$t" evaluate --links "$1/links.parquet" --truth "$2" -q | python3 -c '
import json, sys
j = json.load(sys.stdin)["pairwise"]
print("precision %.6f recall %.6f F1 %.6f" % (j["precision"], j["recall"], j["f1"]))'; }
rate() { python3 - "$1/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); p = r["probabilistic"]
print("  threads %d candidates %d scored %d pre-collapsed %d score %.2f s (%.2fM pairs/s a thread) u %.2f s train %.2f s total %.2f s"
      % (p["threads"], p["pairs_candidates"], p["pairs_scored"], p["pairs_precollapsed"], p["score_seconds"],
         p["pairs_per_second_per_thread"] / 1e6, p["u_seconds"], p["train_seconds"], r["seconds_total"]))
PY
}
for n in 1 2; do
  cfg="$root/docs/examples/febrl$([ $n = 1 ] && echo 1_prob || echo 2).json"
  sed "s#\.\./\.\./\.\./shared#$shared#" "$cfg" > "$w/febrl$n.json"
  "$root/scripts/febrl_truth.sh" "$shared/data/febrl_dataset$n.csv" > "$w/truth$n.csv"
  "$t" link --config "$w/febrl$n.json" --out "$w/febrl$n" --overwrite -q 2>/dev/null
  echo "FEBRL dataset $n: $(ev "$w/febrl$n" "$w/truth$n.csv")"
done
[ -f "$w/m1/link.json" ] || "$t" generate --patients 1000000 --seed 7 --out "$w/m1" -q
"$t" link --config "$w/m1/link.json" --out "$w/m1/hybrid" --overwrite -q 2>/dev/null
echo "default 1M, hybrid: $(ev "$w/m1/hybrid" "$w/m1/truth.csv")"; rate "$w/m1/hybrid"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["link"]["rules"]=[]; json.dump(c, open(sys.argv[2], "w"))' "$w/m1/link.json" "$w/m1/pure.json"
for th in 1 2; do
  "$t" link --config "$w/m1/pure.json" --out "$w/m1/pure$th" --overwrite --threads $th -q 2>/dev/null
  echo "default 1M, probabilistic alone, $th thread(s): $(ev "$w/m1/pure$th" "$w/m1/truth.csv")"; rate "$w/m1/pure$th"
done
cmp -s "$w/m1/pure1/pairs.parquet" "$w/m1/pure2/pairs.parquet" && echo "pairs.parquet identical at 1 and 2 threads"
[ -f "$w/h100/link.json" ] || "$t" generate --patients 100000 --scenario hard --out "$w/h100" -q
"$t" link --config "$w/h100/link.json" --out "$w/h100/hybrid" --overwrite -q 2>/dev/null
echo "hard 100k, hybrid: $(ev "$w/h100/hybrid" "$w/h100/truth.csv")"
"$t" link --config "$w/h100/link.json" --rules hesid --out "$w/h100/hesid" --overwrite -q 2>/dev/null
echo "hard 100k, hesid alone: $(ev "$w/h100/hesid" "$w/h100/truth.csv")"
# the measured defaults: join_clusters (hard, 100k) and train_max_pairs (1M)
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["probabilistic"]["join_clusters"]=False; json.dump(c, open(sys.argv[2], "w"))' "$w/h100/link.json" "$w/h100/apart.json"
"$t" link --config "$w/h100/apart.json" --out "$w/h100/apart" --overwrite -q 2>/dev/null
echo "hard 100k, hybrid with join_clusters false: $(ev "$w/h100/apart" "$w/h100/truth.csv")"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["probabilistic"]["train_max_pairs"]=20000000; json.dump(c, open(sys.argv[2], "w"))' "$w/m1/link.json" "$w/m1/train20m.json"
"$t" link --config "$w/m1/train20m.json" --out "$w/m1/train20m" --overwrite -q 2>/dev/null
echo "default 1M, hybrid, train_max_pairs 20M: $(ev "$w/m1/train20m" "$w/m1/truth.csv")"; rate "$w/m1/train20m"

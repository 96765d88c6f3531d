#!/usr/bin/env bash
# Episodes end to end: `tessera link` on generated data (hesid, probabilistic,
# then episodes) writes episodes, spells, CIPS and registrations; they are
# byte-identical at 1 and 2 threads, `tessera evaluate --episodes` scores
# them against the generator's truth_spells.csv above the issue's floors
# (exact spells >= 0.995, exact CIPS >= 0.99), and DuckDB reads all four
# files with the documented schemas and consistent counts.
set -u
bin="$1" src="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }

"$bin" generate --patients 20000 --seed 4 --out "$tmp/g" --quiet || bad "generate"
"$bin" link --config "$tmp/g/link.json" --out "$tmp/r1" --threads 1 --quiet 2>/dev/null || bad "link 1 thread"
"$bin" link --config "$tmp/g/link.json" --out "$tmp/r2" --threads 2 > "$tmp/r2.out" 2>&1 || bad "link 2 threads: $(cat "$tmp/r2.out")"
for f in episodes.parquet spells.parquet cips.parquet registrations.parquet; do
  [ -s "$tmp/r2/$f" ] && cmp -s "$tmp/r1/$f" "$tmp/r2/$f" && ok || bad "$f missing or different at 1 and 2 threads"
done
grep -q "spells.parquet" "$tmp/r2.out" && ok || bad "summary names the episode files"
"$bin" evaluate --episodes "$tmp/r2/episodes.parquet" --truth-spells "$tmp/g/truth_spells.csv" \
  --min-exact 0.995 --min-exact-cips 0.99 --quiet > "$tmp/ev.json" && ok || bad "episodes below the floors: $(cat "$tmp/ev.json")"
bash "$src/tests/interop/node_run.sh" "$src" "$src/tests/interop/episodes_interop.mjs" "$tmp/r2" > "$tmp/read.out" 2>&1 && ok || bad "DuckDB: $(cat "$tmp/read.out")"

echo "episodes_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

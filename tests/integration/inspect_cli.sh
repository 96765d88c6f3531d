#!/usr/bin/env bash
# tessera inspect end to end: the documented FEBRL example, JSON output,
# rejects.csv, and config errors that name the key path (exit 1).
set -u
bin="$1" src="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }

# 1. the FEBRL example from docs/config.md. docs/examples/febrl1.json reads
# the data from the shared folder beside the repository; a clone elsewhere
# may name that folder with TSR_SHARED_DIR. A missing file is a broken
# checkout, not a reason to skip: fail and say where it must be.
febrl_cfg="$src/docs/examples/febrl1.json"
febrl="$src/../shared/data/febrl_dataset1.csv"
if [ ! -f "$febrl" ] && [ -n "${TSR_SHARED_DIR:-}" ] && [ -f "$TSR_SHARED_DIR/data/febrl_dataset1.csv" ]; then
  febrl="$TSR_SHARED_DIR/data/febrl_dataset1.csv"
  sed "s#\"path\": \"[^\"]*\"#\"path\": \"$febrl\"#" "$src/docs/examples/febrl1.json" > "$tmp/febrl1.json"
  febrl_cfg="$tmp/febrl1.json"
fi
if [ ! -f "$febrl" ]; then
  bad "FEBRL data missing: docs/examples/febrl1.json needs $(cd "$src/.." && pwd)/shared/data/febrl_dataset1.csv.
  Fix: check out (or symlink) the shared folder beside the repository, e.g.
    ln -s /path/to/shared $(cd "$src/.." && pwd)/shared
  or point TSR_SHARED_DIR at it."
else
  out=$("$bin" inspect --config "$febrl_cfg" --top 2 2>&1)
  echo "$out" | grep -q "source febrl: 1000 rows read, 1000 stored, 0 rejected" && ok || bad "febrl counts: $out"
  echo "$out" | grep -qE "family_name +family_name" && ok || bad "febrl family_name row"
  "$bin" inspect --config "$febrl_cfg" --json > "$tmp/f.json" &&
    node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));if(j.sources[0].rows_stored!==1000)process.exit(1)' "$tmp/f.json" && ok || bad "febrl --json"
fi

# 2. generated data, with a broken row appended: rejects.csv names it
"$bin" generate --patients 3000 --seed 3 --out "$tmp/g" --quiet || bad "generate"
printf '999999999,not,enough,fields\n' >> "$tmp/g/gp.csv"
lines=$(wc -l < "$tmp/g/gp.csv")
"$bin" inspect --config "$tmp/g/link.json" --rejects "$tmp/r" > "$tmp/out.txt" 2>&1 || bad "inspect generated"
grep -q "rejected field_count *1" "$tmp/out.txt" && ok || bad "field_count reject counted: $(cat "$tmp/out.txt" | head -5)"
grep -q "^gp,$lines,0,field_count,\"expected 11 fields, found 4\"" "$tmp/r/rejects.csv" && ok || bad "rejects.csv row: $(cat "$tmp/r/rejects.csv")"
[ ! -e "$tmp/r/rejects.csv.tmp" ] && ok || bad "temporary file left"

# 2b. --json stays valid JSON when the config path holds a quote
mkdir -p "$tmp/we\"ird"
cp "$tmp/g/link.json" "$tmp/we\"ird/"
ln -s "$tmp/g/gp.csv" "$tmp/we\"ird/gp.csv"
ln -s "$tmp/g/hes_apc.csv" "$tmp/we\"ird/hes_apc.csv"
sed -i '$d' "$tmp/g/gp.csv" # drop the broken row again
"$bin" inspect --config "$tmp/we\"ird/link.json" --json --top 1 > "$tmp/w.json" 2>/dev/null &&
  node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));if(j.sources.length!==2||!j.config.includes("\""))process.exit(1)' "$tmp/w.json" && ok || bad "--json with a quote in the path"

# 3. config errors name file and key path, exit 1
printf '{"sources": [{"name": "a", "path": "x.csv", "id": "i", "columns": {"i": {"kind": "txt"}}}]}' > "$tmp/c1.json"
"$bin" inspect --config "$tmp/c1.json" 2> "$tmp/e1"; rc=$?
[ $rc -eq 1 ] && grep -q 'c1.json: sources\[0\].columns.i.kind: unknown kind "txt"' "$tmp/e1" && ok || bad "kind error rc=$rc: $(cat "$tmp/e1")"
printf '{"sources": [\n {"name": "a",,}]}' > "$tmp/c2.json"
"$bin" inspect --config "$tmp/c2.json" 2> "$tmp/e2"; rc=$?
[ $rc -eq 1 ] && grep -q 'c2.json:2:[0-9]*: invalid JSON' "$tmp/e2" && ok || bad "syntax error rc=$rc: $(cat "$tmp/e2")"
"$bin" inspect --config "$tmp/missing.json" 2> "$tmp/e3"; rc=$?
[ $rc -eq 1 ] && grep -q 'missing.json: cannot open' "$tmp/e3" && ok || bad "missing config rc=$rc"
printf '{"sources": [{"name": "a", "path": "nope.csv", "id": "i", "columns": {"i": {"kind": "text"}}}]}' > "$tmp/c4.json"
"$bin" inspect --config "$tmp/c4.json" 2> "$tmp/e4"; rc=$?
[ $rc -eq 1 ] && grep -q "nope.csv: cannot open" "$tmp/e4" && ok || bad "missing data file rc=$rc: $(cat "$tmp/e4")"
"$bin" inspect 2> "$tmp/e5"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--config FILE is required" "$tmp/e5" && ok || bad "usage rc=$rc"

echo "inspect_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

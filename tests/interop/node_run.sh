#!/usr/bin/env bash
# Runs one interop script with Node after checking that Node and every npm
# package the interop tests use are installed. A missing one fails the test
# with the command that fixes it: the interop tests are never skipped in
# silence (issue 8, "loud failures for missing test dependencies").
# usage: node_run.sh SOURCE_DIR SCRIPT.mjs ARGS...
set -u
src="$1"
shift
need="@duckdb/node-api parquet-wasm apache-arrow hyparquet hyparquet-compressors"
if ! command -v node > /dev/null 2>&1; then
  echo "FAIL: node not found. The Parquet interop tests read our files with DuckDB, parquet-wasm and hyparquet" \
    "under Node.js: install Node.js (18 or later), then run \`make deps\` (npm ci in $src)." >&2
  exit 1
fi
missing=""
for p in $need; do
  [ -f "$src/node_modules/$p/package.json" ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "FAIL: npm packages missing from $src/node_modules:$missing." \
    "Run \`make deps\` or \`cd $src && npm ci\` (package-lock.json pins them)." >&2
  exit 1
fi
cd "$src" && NODE_PATH="$src/node_modules" exec node "$@"

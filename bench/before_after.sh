#!/usr/bin/env bash
# Before/after: times `tessera link` of two binaries on the same generated
# data, alternating runs so both see the same machine state, and prints one
# CSV row per run with the stage times from report.json, then the medians and
# the ratio new/old per stage. Used for the restructure's "no slowdown"
# figures in docs/benchmarks.md.
#   bench/before_after.sh OLD_BIN NEW_BIN [PATIENTS] [RUNS] [THREADS]
# OLD_BIN: e.g. a build of the previous commit (git worktree add /tmp/old REF;
# cmake -S /tmp/old -B /tmp/old/build -DCMAKE_BUILD_TYPE=Release; cmake --build ...).
set -euo pipefail
old="$1" new="$2" n="${3:-1000000}" runs="${4:-5}" threads="${5:-2}"
out="${BENCH_OUT:-/tmp/tsr_before_after}"
rm -rf "$out"; mkdir -p "$out"
# the old binary writes the data: its link.json is one both binaries read
"$old" generate --patients "$n" --seed 1 --out "$out/data" --quiet
# the same report for both: the old binary tabled match rates by provider and
# practice by name; the new one tables the fields output.match_rates_by names
cfg_new="$out/data/link.json"
if "$new" link --help 2>&1 | grep -q overwrite; then
  node -e '
    const fs = require("fs"); const j = JSON.parse(fs.readFileSync(process.argv[1]));
    j.output = { ...(j.output || {}), match_rates_by: ["provider", "practice"] };
    fs.writeFileSync(process.argv[2], JSON.stringify(j, null, 2));
  ' "$out/data/link.json" "$out/data/link_new.json"
  cfg_new="$out/data/link_new.json"
fi
bytes=$(stat -c %s "$out/data/gp.csv" "$out/data/hes_apc.csv" | paste -sd+ | bc)
echo "# $n patients, $bytes bytes of CSV, $threads threads, $runs runs each (after one warm-up each)"
echo "binary,run,wall_s,peak_rss_kb,ingest_s,block_link_s,cluster_s,output_s"
for r in $(seq 0 "$runs"); do
  for which in old new; do
    bin="$old" cfg="$out/data/link.json"; [ "$which" = new ] && bin="$new" cfg="$cfg_new"
    rm -rf "$out/run"
    /usr/bin/time -f "%e %M" -o "$out/time.txt" "$bin" link --config "$cfg" --rules hesid \
      --out "$out/run" --threads "$threads" --quiet
    read -r secs rss <"$out/time.txt"
    stages=$(node -e '
      const j = JSON.parse(require("fs").readFileSync(process.argv[1]));
      const sum = (re) => j.stages.filter((s) => re.test(s.stage)).reduce((a, s) => a + s.seconds, 0);
      process.stdout.write([sum(/^ingest/), sum(/block|link/), sum(/cluster/), sum(/write|output|parquet|report/)].map((x) => x.toFixed(3)).join(","));
    ' "$out/run/report.json")
    [ "$r" -gt 0 ] && echo "$which,$r,$secs,$rss,$stages"
  done
done | tee "$out/runs.csv"
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(","));
  const cols = ["wall_s", "peak_rss_kb", "ingest_s", "block_link_s", "cluster_s", "output_s"];
  const med = (a) => { a = a.slice().sort((x, y) => x - y); return a[a.length >> 1]; };
  const m = {};
  for (const w of ["old", "new"]) m[w] = cols.map((_, i) => med(rows.filter((r) => r[0] === w).map((r) => +r[i + 2])));
  console.log("median," + cols.join(","));
  for (const w of ["old", "new"]) console.log(w + "," + m[w].join(","));
  console.log("new/old," + cols.map((_, i) => (m.new[i] / m.old[i]).toFixed(3)).join(","));
  console.log("ingest MB/s old " + (process.argv[2] / 1e6 / m.old[2]).toFixed(0) + ", new " + (process.argv[2] / 1e6 / m.new[2]).toFixed(0));
' "$out/runs.csv" "$bytes"

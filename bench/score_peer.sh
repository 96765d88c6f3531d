#!/usr/bin/env bash
# The scoring peer of issue 9: Tessera's batch scorer and DuckDB scoring the
# same candidate pairs with the same levels and weights, in one script.
#   1. `tessera generate` a GP + hospital set (seed 1), unless it is there;
#   2. bench_score_dump (bench/bench_score_dump.c): block with three rules,
#      score with 8 comparisons and a fixed model, time block + score +
#      weight at 1 and 2 threads (warm-up + RUNS runs), write the pairs with
#      their levels and weights, the records' compared fields and the model;
#   3. node bench/score_peer.mjs: DuckDB loads them, times the same scoring in
#      SQL (join + CASE levels + summed weights) at SET threads = 1 and 2,
#      checks every pair's levels and weight against Tessera's, and prints
#      the ratios. OUT/peer.json holds the figures.
# The machine's load is printed before each half; with WAIT_LOAD=x the script
# first waits (up to 10 minutes) for the 1-minute load average to drop below x.
# Needs a Release build with the benchmarks (build/bench/bench_score_dump) and
# node_modules/@duckdb/node-api.
# Usage: bench/score_peer.sh [PATIENTS=200000] [RUNS=3] [DIR=/tmp/score_peer]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
patients="${1:-200000}" runs="${2:-3}" dir="${3:-/tmp/score_peer}"
build="${BUILD:-$root/build}"
bin="$build/bench/bench_score_dump"
[ -x "$bin" ] || { echo "no $bin: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2" >&2; exit 2; }
data="$dir/data_$patients" out="$dir/out_$patients"
if [ ! -f "$data/link.json" ]; then
  "$build/tessera" generate --patients "$patients" --seed 1 --quiet --out "$data"
fi
mkdir -p "$out"
load() { cut -d' ' -f1-3 /proc/loadavg; }
if [ -n "${WAIT_LOAD:-}" ]; then
  for _ in $(seq 1 40); do
    awk -v max="$WAIT_LOAD" '{ exit !($1 < max) }' /proc/loadavg && break
    sleep 15
  done
fi
# Edge cases first: a few hand-made records whose pairs reach levels the
# generator rarely or never produces (names equal but for spaces, a part of
# a double-barrelled name, an initial, given and family swapped, phonetic
# only; date and postcode levels; sex 9; a local id in another provider).
# Only the agreement matters here. NHS numbers failing the check digit are
# stored as missing by ingest, so the NHS "near" and "else" levels cannot
# be reached through it (unit_compare covers them).
edge="$dir/edge"
mkdir -p "$edge/out"
cp "$data/link.json" "$edge/link.json"
g=",29 Albert Road,U10367,10/06/2000,"
cat > "$edge/gp.csv" <<CSV
record_id,nhs_number,given_name,family_name,date_of_birth,sex,postcode,address_line1,practice_code,registration_date,deregistration_date
1,4010232137,Smithjones,Brown,03/07/1980,M,LS1 4AP$g
2,4010232137,Smith Jones,Brown,07/03/1980,M,LS1 4AP$g
3,4876543216,Smith-Jones,Browne,13/07/1980,M,LS1 4AP$g
4,,O'Neill,Spencer Smith,25/07/1980,M,LS1 4AP$g
5,9434765919,O Neill,Smith,01/08/1980,M,LS1 4AP$g
6,,J,Jones,01/01/1980,M,LS1 4AP$g
7,4010232138,James,Thomas,15/06/1981,M,LS1 4AP$g
8,,Thomas,James,15/06/1979,M,LS1 4AP$g
9,,Lewis,White,03/07/1990,M,LS1 4AP$g
10,,Lewin,Waite,,M,LS1 4AP$g
11,,Pearson,Davies,03/07/1980,M,LS1 4AP$g
12,,Paterson,Daniels,03/07/1980,M,LS1 4AP$g
13,,Smith,Williams,03/07/1980,M,LS1 4AP$g
14,,Schmidt,Whelan,03/07/1980,M,LS1 4AP$g
15,,Anne Marie,Jon,03/07/1980,M,LS1 4AP$g
16,,Marie,Johns,03/07/1980,M,LS1 4AP$g
17,,,Jones,03/07/1980,M,LS1 4AP$g
18,,Ann,,03/07/1980,M,LS1 4AP$g
19,,Jim,Spencersmith,25/07/1980,M,LS1 4AP$g
20,4876543216,Mary,Ann Smith,05/05/1975,F,LS1 4AP$g
21,,Mary,Smith,05/05/1975,F,LS1 4BQ$g
22,,M,Smith,05/05/1975,F,LS1 9ZZ$g
23,,Marie,Ann,05/05/1975,F,LS2 1AA$g
24,,Mari,Smyth,05/05/1975,F,M1 1AA$g
25,,Ann Smith,Mary,05/05/1975,F,LS11 4AP$g
26,,Mary,Ann-Smith,05/05/1975,,$g
CSV
h=",2015-11-04,2015-11-04,2015-11-04,2015-11-04,01,3,11,19,19,1,2,C443,C794"
cat > "$edge/hes_apc.csv" <<CSV
epikey,newnhsno,dob,sex,homeadd,procode,lopatid,admidate,epistart,epiend,disdate,epiorder,epistat,admimeth,admisorc,disdest,dismeth,classpat,diag_4_01,opertn_4_01,given_name,family_name
101,4010232137,1980-07-03,1,LS1 4AP,RAA,K1$h,Smith Jones,Brown
102,4100232137,1980-07-03,1,LS1 4AP,RAA,K1$h,Brown,Smith Jones
103,,1980-03-07,1,LS1 4AP,RAA,K2$h,Jim,Spencer-Smith
104,9434765919,1980-07-03,1,LS1 4AP,RXX,K1$h,,
105,,1975-05-05,2,LS1 4AP,RAA,K1$h,Ann,Mary Smith
106,,1975-05-05,9,LS1 4BQ,RAA,K3$h,Mary,Smith
107,,1975-05-05,0,LS2 1AA,,K3$h,Marie,Ann
108,,1976-05-05,2,LS1 4AP,RAA,$h,M,Smith
CSV
echo "# edge cases (agreement only)"
"$bin" --data "$edge" --out "$edge/out" --threads 1 --runs 1 | grep '^# threads'
node "$root/bench/score_peer.mjs" "$edge/out" 1 1 | grep -E '^# +[a-z_]+ *: |^# agreement'

echo "# $(date -u +%FT%TZ) load before Tessera: $(load); $(nproc) cores"
"$bin" --data "$data" --out "$out" --threads 1,2 --runs "$runs"
echo "# load before DuckDB: $(load)"
node "$root/bench/score_peer.mjs" "$out" 1,2 "$runs"
echo "# load after: $(load)"

#!/usr/bin/env bash
# The episode peer of issue 10: DuckDB computing provider spells and
# continuous inpatient spells (CIPS) with window functions from the same
# linked patients as Tessera's episode stage, in one script, and what
# linkage buys: spells built on the linked patients, on the raw NHS number
# alone, and on the true patients, each against the generator's truth.
#   1. `tessera generate` PATIENTS patients (seed 1, default scenario) into
#      DIR/data_PATIENTS, unless it is there;
#   2. `tessera link --config DATA/link.json` (hybrid: hesid rules, then the
#      probabilistic stage; the episode stage too once it is wired in) into
#      DIR/run_PATIENTS, unless a run newer than build/tessera is there;
#   3. when that run has spells.parquet (the episode stage exists): RUNS
#      more runs at each of 1 and 2 threads (DIR/run_PATIENTS_t<k>_<i>), for
#      report.json's "episodes" stage time; set TESSERA_RUNS=0 to skip;
#   4. node bench/episode_peer.mjs: DuckDB loads the episodes, links.parquet
#      and the truth (untimed), times spells + CIPS on the linked patients at
#      SET threads = 1 and 2 (warm-up + RUNS runs, medians), checks that the
#      true patients reproduce truth_spells.csv exactly, prints the linked /
#      raw-NHS / truth table (counts, exact matches, pairwise precision and
#      recall, emergency readmissions within 30 days hidden or invented), and
#      sets Tessera's counts and times against DuckDB's (or a placeholder
#      when the run has no episode files). DIR/out_PATIENTS/peer.json holds
#      the figures. Exit 1 when Tessera's files and DuckDB's differ (the
#      edge cases print their differences and do not stop the script).
# The machine's load is printed before each half; with WAIT_LOAD=x the script
# first waits (up to 10 minutes) for the 1-minute load average to drop below x.
# VARIANT=health_foundation uses that CIPS variant (default ukhsa; the
# truth check applies to ukhsa only). SCENARIO=hard (or clean) generates that
# scenario instead (folders DIR/*_PATIENTS_hard).
# Needs build/tessera (Release) and node_modules/@duckdb/node-api.
# Usage: bench/episode_peer.sh [PATIENTS=1000000] [RUNS=3] [DIR=/tmp/episode_peer]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
patients="${1:-1000000}" runs="${2:-3}" dir="${3:-/tmp/episode_peer}"
build="${BUILD:-$root/build}"
t="$build/tessera"
[ -x "$t" ] || { echo "no $t: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2" >&2; exit 2; }
scenario="${SCENARIO:-default}"
tag="$patients$([ "$scenario" = default ] || echo "_$scenario")"
data="$dir/data_$tag" run="$dir/run_$tag" out="$dir/out_$tag"
mkdir -p "$dir" "$out"
load() { cut -d' ' -f1-3 /proc/loadavg; }
if [ ! -f "$data/link.json" ]; then
  "$t" generate --patients "$patients" --seed 1 --scenario "$scenario" --quiet --out "$data"
fi
if [ ! -f "$run/links.parquet" ] || [ "$t" -nt "$run/links.parquet" ]; then
  "$t" link --config "$data/link.json" --out "$run" --overwrite --quiet
fi
# Edge cases first: hand-made episodes for the rules the generator rarely or
# never reaches, with the spells and CIPS worked out by hand (ukhsa) as
# truth_spells.csv: continuation after dismeth 8 and 9 with a disagreeing
# admidate, the same epistart, transfers at 0-3 days with each code
# (49-53, 84, 87, 2B, 81, admisorc 53 at 3 days), regular attenders
# (classpat 3, 4), two providers on one day, an unfinished episode, a spell
# without a disdate, an episode after a death, readmissions at 0, 2 and 31
# days, and two episodes of one spell tied on epistart, epiend and epiorder
# (epikey 499 before 450 in the file: the episode key, not the row, orders
# them). Linked with the hesid rules (each NHS number one patient). The
# DuckDB side must reproduce the hand-worked partition; Tessera's files
# (when the build has the episode stage) are compared row by row. A
# difference is printed and the main measurement still runs.
edge="$dir/edge"
mkdir -p "$edge/out"
d=",1970-01-01,1,LS1 4AP,"
cat > "$edge/hes_apc.csv" <<CSV
epikey,newnhsno,dob,sex,homeadd,procode,lopatid,admidate,epistart,epiend,disdate,epiorder,epistat,admimeth,admisorc,disdest,dismeth,classpat,diag_4_01,opertn_4_01,given_name,family_name
101,1000010007${d}RAA,,2020-01-01,2020-01-01,2020-01-03,,01,3,21,19,98,8,1,I10X,-,GIVEN1,FAMILYA
102,1000010007${d}RAA,,2020-01-10,2020-01-03,2020-01-05,2020-01-05,02,3,21,19,19,1,1,I10X,-,GIVEN1,FAMILYA
103,1000010007${d}RAA,,2020-01-05,2020-01-05,2020-01-06,2020-01-06,01,3,21,19,19,1,1,I10X,-,GIVEN1,FAMILYA
201,1000020002${d}RAA,,2020-03-01,2020-03-01,2020-03-02,2020-03-02,01,3,21,19,51,1,1,I10X,-,GIVEN2,FAMILYB
202,1000020002${d}RBB,,2020-03-02,2020-03-02,2020-03-05,2020-03-05,01,3,21,19,84,1,1,I10X,-,GIVEN2,FAMILYB
203,1000020002${d}RCC,,2020-03-07,2020-03-07,2020-03-08,2020-03-08,01,3,21,19,19,1,1,I10X,-,GIVEN2,FAMILYB
204,1000020002${d}RDD,,2020-03-11,2020-03-11,2020-03-12,2020-03-12,01,3,81,19,19,1,1,I10X,-,GIVEN2,FAMILYB
205,1000020002${d}RAA,,2020-03-13,2020-03-13,2020-03-14,2020-03-14,01,3,21,87,19,1,1,I10X,-,GIVEN2,FAMILYB
206,1000020002${d}RBB,,2020-03-15,2020-03-15,2020-03-16,2020-03-16,01,3,21,49,50,1,1,I10X,-,GIVEN2,FAMILYB
207,1000020002${d}RCC,,2020-03-18,2020-03-18,2020-03-19,2020-03-19,01,3,2B,19,19,1,1,I10X,-,GIVEN2,FAMILYB
208,1000020002${d}RDD,,2020-03-22,2020-03-22,2020-03-23,2020-03-23,01,3,21,53,19,1,1,I10X,-,GIVEN2,FAMILYB
301,1000030008${d}RBB,,2020-04-01,2020-04-01,2020-04-01,2020-04-01,01,3,13,19,51,1,3,I10X,-,GIVEN3,FAMILYC
302,1000030008${d}RAA,,2020-04-01,2020-04-01,2020-04-01,2020-04-01,01,3,81,51,19,1,1,I10X,-,GIVEN3,FAMILYC
303,1000030008${d}RCC,,2020-04-02,2020-04-02,2020-04-02,2020-04-02,01,3,13,51,19,1,4,I10X,-,GIVEN3,FAMILYC
304,1000030008${d}RDD,,2020-04-04,2020-04-04,2020-04-05,2020-04-05,01,3,2B,19,19,1,4,I10X,-,GIVEN3,FAMILYC
401,1000040003${d}RAA,,2020-05-01,2020-05-01,2020-05-02,,01,3,21,19,98,1,1,I10X,-,GIVEN4,FAMILYD
402,1000040003${d}RAA,,2020-05-03,2020-05-01,2020-05-04,2020-05-04,02,3,21,19,19,1,1,J18X,-,GIVEN4,FAMILYD
403,1000040003${d}RAA,,2020-05-10,2020-05-10,2020-05-11,,01,1,21,19,98,8,1,I10X,-,GIVEN4,FAMILYD
499,1000040003${d}RBB,,2020-06-01,2020-06-01,2020-06-02,,01,3,22,19,98,8,1,K35X,-,GIVEN4,FAMILYD
450,1000040003${d}RBB,,2020-06-01,2020-06-01,2020-06-02,2020-06-02,01,3,21,19,19,1,1,R10X,-,GIVEN4,FAMILYD
501,1000050009${d}RAA,,2020-07-01,2020-07-01,2020-07-03,,01,3,21,19,51,1,1,I10X,-,GIVEN5,FAMILYE
502,1000050009${d}RBB,,2020-07-04,2020-07-04,2020-07-05,2020-07-05,01,3,81,51,19,1,1,I10X,-,GIVEN5,FAMILYE
601,1000060004${d}RAA,,2020-08-01,2020-08-01,2020-08-03,,01,3,21,19,98,9,1,I10X,-,GIVEN6,FAMILYF
602,1000060004${d}RAA,,2020-08-01,2020-08-03,2020-08-04,2020-08-04,02,3,21,19,79,4,1,I10X,-,GIVEN6,FAMILYF
603,1000060004${d}RAA,,2020-08-04,2020-08-04,2020-08-06,2020-08-06,01,3,21,19,19,1,1,I10X,-,GIVEN6,FAMILYF
701,1000070018${d}RAA,,2020-09-01,2020-09-01,2020-09-02,2020-09-02,01,3,11,19,19,1,1,I10X,-,GIVEN7,FAMILYG
702,1000070018${d}RBB,,2020-09-04,2020-09-04,2020-09-05,2020-09-05,01,3,21,19,19,1,1,I10X,-,GIVEN7,FAMILYG
703,1000070018${d}RAA,,2020-10-06,2020-10-06,2020-10-07,2020-10-07,01,3,28,19,19,1,1,I10X,-,GIVEN7,FAMILYG
704,1000070018${d}RAA,,2020-10-07,2020-10-08,2020-10-09,2020-10-09,01,3,2A,19,19,1,1,I10X,-,GIVEN7,FAMILYG
CSV
cat > "$edge/gp.csv" <<CSV
record_id,nhs_number,given_name,family_name,date_of_birth,sex,postcode,address_line1,practice_code,registration_date,deregistration_date
1,1000010007,GIVEN1,FAMILYA,01/01/1970,M,LS1 4AP,1 A Road,P1,01/01/2000,
CSV
{ echo source,record_id,patient_id; cut -d, -f1,2 "$edge/hes_apc.csv" | tail -n +2 | sed 's/^/hes,/'; echo gp,1,1000010007; } > "$edge/truth.csv"
cat > "$edge/truth_spells.csv" <<CSV
epikey,spell_id,cips_id
101,1,1
102,1,1
103,2,2
201,3,3
202,4,3
203,5,3
204,6,4
205,7,4
206,8,4
207,9,4
208,10,5
301,11,6
302,12,7
303,13,8
304,14,9
401,15,10
402,15,10
499,16,11
450,16,11
501,17,12
502,18,13
601,19,14
602,19,14
603,20,15
701,21,16
702,22,17
703,23,18
704,24,19
CSV
cp "$data/link.json" "$edge/link.json"
echo "# edge cases (hand-worked partition; Tessera's files row by row)"
if "$t" link --config "$edge/link.json" --rules hesid --out "$edge/run" --overwrite --quiet 2>"$edge/link.err"; then
  PEER_STRICT_TRUTH=1 node "$root/bench/episode_peer.mjs" "$edge" "$edge/run" "$edge/out" 1 1 "${VARIANT:-ukhsa}" |
    grep -vE '^# (duckdb v|episodes without|duckdb threads|duckdb speedup|tessera threads)' ||
    echo "# edge cases: DIFFERENCES (above)"
else
  echo "# edge cases: tessera link failed: $(grep -v warning "$edge/link.err" | head -1)"
fi

if [ -n "${WAIT_LOAD:-}" ]; then
  for _ in $(seq 1 40); do
    awk -v max="$WAIT_LOAD" '{ exit !($1 < max) }' /proc/loadavg && break
    sleep 15
  done
fi
echo "# $(date -u +%FT%TZ) $patients patients, $scenario scenario; $(nproc) cores; $("$t" --version 2>/dev/null || echo "tessera ?")"
if [ -f "$run/spells.parquet" ] && [ "${TESSERA_RUNS:-$runs}" -gt 0 ]; then
  echo "# load before the Tessera runs: $(load)"
  rm -rf "$run"_t*_*
  for i in $(seq 1 "${TESSERA_RUNS:-$runs}"); do
    for th in 1 2; do
      "$t" link --config "$data/link.json" --out "${run}_t${th}_$i" --threads "$th" --overwrite --quiet
      find "${run}_t${th}_$i" -type f ! -name report.json -delete   # only its stage times are read
    done
  done
elif [ ! -f "$run/spells.parquet" ]; then
  echo "# PLACEHOLDER: $run has no spells.parquet (no episode stage in this build); Tessera figures left out"
fi
echo "# load before DuckDB: $(load)"
node "$root/bench/episode_peer.mjs" "$data" "$run" "$out" 1,2 "$runs" "${VARIANT:-ukhsa}"
echo "# load after: $(load)"

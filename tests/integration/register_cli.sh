#!/usr/bin/env bash
# tessera register end to end. The register is written here by hand with
# coreutils' sha256sum, following docs/register.md only, so the test also
# checks that the documented format is the one Tessera reads: verify passes
# and prints the head computed here; each kind of tampering exits 1 naming
# the first bad entry's line and release_id; the quarterly report takes both
# edges of 2026Q3 and refuses a register that does not verify; bad options
# exit 2.
#   tests/integration/register_cli.sh path/to/tessera
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
has() { grep -qF -- "$2" "$1" || { echo "  missing '$2' in $1:"; head -c 800 "$1"; echo; return 1; }; }

if ! "$bin" help register > /dev/null 2>&1; then
  echo "FAIL: 'tessera register' is not a command: main.c does not dispatch it yet"
  exit 1
fi

# One entry, keys in sorted order, compact: the canonical form. sha256 is the
# SHA-256 of the entry without it; it sorts between seq and time.
prev=0000000000000000000000000000000000000000000000000000000000000000
seq=0
entry() { # reference time patients rows recipient
  seq=$((seq+1))
  local id; id=$(printf '%s-%06d' "$1" "$seq")
  local body="{\"data_category\":\"pseudonymised\",\"datasets\":[\"hes_apc\",\"gp\"],\"legal_basis\":\"section_251\",\"opt_outs\":{\"applied\":true,\"national_patients\":2,\"national_records\":7,\"type1_patients\":3,\"type1_records\":11},\"patients\":$3,\"prev_sha256\":\"$prev\",\"purpose\":\"Hip fracture outcomes\",\"recipient\":\"$5\",\"reference\":\"$1\",\"release_id\":\"$id\",\"rows\":$4,\"seq\":$seq,\"time\":\"$2\"}"
  local h; h=$(printf '%s' "$body" | sha256sum | cut -c1-64)
  printf '%s\n' "${body/\"time\":/\"sha256\":\"$h\",\"time\":}"
  prev=$h
}
reg="$tmp/release_register.jsonl"
{
  entry DARS-NIC-000001 2026-06-30T23:59:59Z 100 1000 "University of Leeds"
  entry DARS-NIC-000002 2026-07-01T00:00:00Z 200 2000 "=cmd|' /C calc'!A0"
  entry DARS-NIC-000001 2026-09-30T23:59:59Z 300 3000 "Smith, \\\"Jones\\\" & <b>Co</b>"
  entry DARS-NIC-000003 2026-10-01T00:00:00Z 400 4000 "University of York"
} > "$reg"
head=$prev

# 1. a clean register verifies, and the head is the one computed here
"$bin" register verify --register "$reg" > "$tmp/v.out" 2> "$tmp/v.err"
rc=$?; [ $rc -eq 0 ] && has "$tmp/v.out" "verified: 4 entries, head sha256 $head" && ok || bad "clean verify: rc $rc $(cat "$tmp/v.err")"
"$bin" register verify --register="$reg" > /dev/null 2>&1 && ok || bad "--register=FILE form"

# 2. tampering: exit 1, the register's name, line and first bad entry
tamper() { # name line needle1 needle2 ; the damaged register is in $tmp/t.jsonl
  "$bin" register verify --register "$tmp/t.jsonl" > "$tmp/t.out" 2> "$tmp/t.err"
  local rc=$?
  [ $rc -eq 1 ] && has "$tmp/t.err" "$tmp/t.jsonl:$2: " && has "$tmp/t.err" "$3" && has "$tmp/t.err" "$4" && ok ||
    bad "$1: rc $rc"
  [ -s "$tmp/t.out" ] && bad "$1: printed a verified line" || ok
}
sed '3s/"patients":300/"patients":301/' "$reg" > "$tmp/t.jsonl"
tamper "edit a value" 3 "release_id DARS-NIC-000001-000003" "sha256 does not match"
sed '2s/"rows":2000,/"rows": 2000,/' "$reg" > "$tmp/t.jsonl"
tamper "whitespace between tokens" 2 "release_id DARS-NIC-000002-000002" "not in canonical form"
sed '2d' "$reg" > "$tmp/t.jsonl"
tamper "delete a middle line" 2 "seq 3, release_id DARS-NIC-000001-000003" "an entry before it was deleted"
sed '1d' "$reg" > "$tmp/t.jsonl"
tamper "delete the first line" 1 "release_id DARS-NIC-000002-000002" "(the first entry)"
sed '3p' "$reg" > "$tmp/t.jsonl"
tamper "insert a copied line" 4 "seq 3, release_id DARS-NIC-000001-000003" "seq 3 on line 4"
pick() { local n; for n; do sed -n "${n}p" "$reg"; done; }
pick 1 3 2 4 > "$tmp/t.jsonl"
tamper "swap two lines" 2 "seq 3, release_id DARS-NIC-000001-000003" "reordered"
head -c -30 "$reg" > "$tmp/t.jsonl"
tamper "truncate the last line" 4 "expected seq 4, after release_id DARS-NIC-000001-000003" "no final newline"
{ cat "$reg"; echo 'garbage'; } > "$tmp/t.jsonl"
tamper "append garbage" 5 "expected seq 5, after release_id DARS-NIC-000003-000004" "not JSON"
# a whole valid chain re-written by hand passes verify, but not with the old head
sed '4d' "$reg" > "$tmp/t.jsonl"
"$bin" register verify --register "$tmp/t.jsonl" > "$tmp/t.out" 2>&1 && ! grep -q "$head" "$tmp/t.out" && ok ||
  bad "a shortened chain must verify with another head"

# 3. the quarterly report: both edges of 2026Q3, people-safe CSV, escaped HTML
"$bin" register report --register "$reg" --quarter 2026Q3 --out "$tmp/pub" 2> "$tmp/r.err"
rc=$?; [ $rc -eq 0 ] && has "$tmp/r.err" "2 of 4 releases in 2026Q3" && ok || bad "report: rc $rc $(cat "$tmp/r.err")"
cat > "$tmp/want.csv" <<'EOF'
release_id,release_date,reference,recipient,purpose,legal_basis,data_category,datasets,opt_outs_applied,patients,rows
DARS-NIC-000002-000002,2026-07-01,DARS-NIC-000002,'=cmd|' /C calc'!A0,Hip fracture outcomes,section_251,pseudonymised,hes_apc; gp,"yes (type 1: 3 patients, 11 records; national: 2 patients, 7 records)",200,2000
DARS-NIC-000001-000003,2026-09-30,DARS-NIC-000001,"Smith, ""Jones"" & <b>Co</b>",Hip fracture outcomes,section_251,pseudonymised,hes_apc; gp,"yes (type 1: 3 patients, 11 records; national: 2 patients, 7 records)",300,3000
EOF
cmp -s "$tmp/want.csv" "$tmp/pub/release_register_2026Q3.csv" && ok ||
  { bad "report CSV"; diff "$tmp/want.csv" "$tmp/pub/release_register_2026Q3.csv"; }
html="$tmp/pub/release_register_2026Q3.html"
has "$html" "register verified: 4 entries, head sha256 $head" && has "$html" "Smith, &quot;Jones&quot; &amp; &lt;b&gt;Co&lt;/b&gt;" &&
  has "$html" "<td>DARS-NIC-000002-000002</td><td>2026-07-01</td>" && ok || bad "report HTML"
grep -q "<b>Co" "$html" && bad "HTML not escaped" || ok
grep -qiE "<script|src=|href=|@import|url\(" "$html" && bad "HTML not self-contained" || ok
grep -q "DARS-NIC-000001-000001\|DARS-NIC-000003-000004" "$tmp/pub/release_register_2026Q3.csv" "$html" &&
  bad "an entry outside 2026Q3 is in the report" || ok
ls -A "$tmp/pub" | grep -q tmp && bad "temporary file left in the output folder" || ok
"$bin" register report --register "$reg" --quarter 2026Q2 --out "$tmp/pub" -q 2> "$tmp/r2.err" &&
  [ ! -s "$tmp/r2.err" ] && [ "$(wc -l < "$tmp/pub/release_register_2026Q2.csv")" -eq 2 ] &&
  grep -q "^DARS-NIC-000001-000001,2026-06-30," "$tmp/pub/release_register_2026Q2.csv" && ok || bad "2026Q2 report"

# 4. a register that does not verify is never reported
pick 2 1 3 4 > "$tmp/t.jsonl"
"$bin" register report --register "$tmp/t.jsonl" --quarter 2026Q3 --out "$tmp/pub2" 2> "$tmp/r3.err"
rc=$?; [ $rc -eq 1 ] && has "$tmp/r3.err" "$tmp/t.jsonl:1: " && has "$tmp/r3.err" "no report is written" && ok ||
  bad "report on a damaged register: rc $rc"
[ -e "$tmp/pub2/release_register_2026Q3.csv" ] || [ -e "$tmp/pub2/release_register_2026Q3.html" ] &&
  bad "a damaged register was reported" || ok

# 5. usage errors exit 2; a missing register is a failure (1)
usage() { "$bin" "$@" > /dev/null 2> "$tmp/u.err"; local rc=$?; [ $rc -eq 2 ] && ok || bad "usage $*: rc $rc"; }
usage register
usage register list --register "$reg"
usage register verify
usage register verify --register "$reg" --quarter 2026Q3
usage register report --register "$reg" --out "$tmp/pub"
usage register report --register "$reg" --quarter 2026Q3
for q in 2026Q5 2026Q0 2026q3 26Q3 2026-Q3; do
  usage register report --register "$reg" --quarter "$q" --out "$tmp/pub"
  has "$tmp/u.err" "expected YYYYQ1 to YYYYQ4" > /dev/null && ok || bad "quarter $q message"
done
"$bin" register verify --register "$tmp/none.jsonl" > /dev/null 2> "$tmp/m.err"
rc=$?; [ $rc -eq 1 ] && has "$tmp/m.err" "$tmp/none.jsonl" && ok || bad "missing register: rc $rc"

echo "register_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]

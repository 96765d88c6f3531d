#!/usr/bin/env bash
# Bad command lines get a clear error on stderr and a non-zero exit:
# 2 for usage errors, 1 when the work itself fails (e.g. unwritable folder).
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { # expected_rc stderr_pattern args...
  local want="$1" pat="$2"; shift 2
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" "$tmp/err"; then
    pass=$((pass+1))
  else
    fail=$((fail+1))
    echo "FAIL: tessera $* -> rc=$rc (want $want), stderr:"; sed 's/^/  /' "$tmp/err"
    echo "  (wanted pattern: $pat)"
  fi
}
touch "$tmp/afile"
check 2 "unknown command 'frobnicate'" frobnicate
check 2 "unknown option '--bogus'" generate --patients 10 --out "$tmp/o" --bogus
check 2 "--patients: expected a whole number from 1" generate --patients 0 --out "$tmp/o"
check 2 "--patients: expected a whole number from 1" generate --patients -5 --out "$tmp/o"
check 2 "--patients: expected a whole number from 1" generate --patients 12abc --out "$tmp/o"
check 2 "--patients needs a value" generate --out "$tmp/o" --patients
check 2 "--patients N is required" generate --out "$tmp/o"
check 2 "--out DIR is required" generate --patients 10
check 2 "unknown scenario 'nightmare'" generate --patients 10 --out "$tmp/o" --scenario nightmare
check 2 "unknown generator parameter 'err.nope'" generate --patients 10 --out "$tmp/o" --set err.nope=0.1
check 2 "expected a share in \[0, 1\]" generate --patients 10 --out "$tmp/o" --set err.dob_swap=2
check 2 "--set expects KEY=VALUE" generate --patients 10 --out "$tmp/o" --set err.dob_swap
check 2 "--threads: expected a whole number" generate --patients 10 --out "$tmp/o" --threads 0
check 2 "--memory-limit: expected a size from 1M to 1000T" link --config "$tmp/afile" --memory-limit 0
check 2 "--memory-limit: expected a size from 1M to 1000T" link --config "$tmp/afile" --memory-limit 999k
check 2 "--memory-limit: expected a size from 1M to 1000T" link --config "$tmp/afile" --memory-limit 12Q
check 2 "--memory-limit: expected a size from 1M to 1000T" link --config "$tmp/afile" --memory-limit=-5G
check 2 "--memory-limit needs a size" link --config "$tmp/afile" --memory-limit
check 1 "afile.*(cannot create folder|not a folder)" generate --patients 10 --out "$tmp/afile/sub" --quiet
check 2 "no help for unknown command" help nothing
# and the good paths
"$bin" --version | grep -qE '^tessera [0-9]+\.[0-9]+\.[0-9]+$' && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: --version"; }
"$bin" help generate | grep -q -- '--patients' && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: help generate"; }
"$bin" generate --list-params | grep -q 'err.hes.nhs_missing' && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: --list-params"; }
"$bin" generate --patients 10 --out "$tmp/ok" --quiet && [ -s "$tmp/ok/gp.csv" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: tiny generate"; }
# the --name=VALUE forms and the size units of the common options
"$bin" generate --patients 10 --out "$tmp/ok2" --quiet --threads=2 && [ -s "$tmp/ok2/gp.csv" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: --threads=2"; }
check 2 "--threads: expected a whole number from 1 to 4096, got '0'" generate --patients 10 --out "$tmp/o" --threads=0
"$bin" generate --patients 10 --out "$tmp/ok3" --quiet --memory-limit 0.5G && [ -s "$tmp/ok3/gp.csv" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: --memory-limit 0.5G (500 MB) refused"; }
"$bin" generate --patients 10 --out "$tmp/ok4" --quiet --memory-limit=0.001T && [ -s "$tmp/ok4/gp.csv" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: --memory-limit=0.001T (1 GB) refused"; }
check 2 "--memory-limit: expected a size from 1M to 1000T" link --config "$tmp/afile" --memory-limit 0.0009G
# threads: 0 (the default) means all cores (OMP_NUM_THREADS here), and report.json says what ran
want_t=${OMP_NUM_THREADS:-$(nproc)}
"$bin" link --config "$tmp/ok/link.json" --out "$tmp/run_t0" --quiet && grep -qE "\"threads\": $want_t([^0-9]|\$)" "$tmp/run_t0/report.json" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: link without --threads should run on $want_t threads: $(grep '"threads"' "$tmp/run_t0/report.json")"; }
"$bin" link --config "$tmp/ok/link.json" --out "$tmp/run_t1" --quiet --threads 1 && grep -qE '"threads": 1([^0-9]|$)' "$tmp/run_t1/report.json" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: link --threads 1: $(grep '"threads"' "$tmp/run_t1/report.json")"; }

# OpenMP waits passively unless the user chose a policy (main.c: the binary
# re-executes once with OMP_WAIT_POLICY=passive). libgomp prints its settings
# at start-up under OMP_DISPLAY_ENV; the last start is the one that runs.
spin() { OMP_DISPLAY_ENV=verbose "$@" "$bin" link --config "$tmp/none.json" 2>&1 | sed -nE "s/.*GOMP_SPINCOUNT = '([0-9]+)'.*/\1/p" | tail -1; }
starts() { OMP_DISPLAY_ENV=verbose "$@" 2>&1 | grep -c "GOMP_SPINCOUNT"; }
want=0; [ "$(getconf _NPROCESSORS_ONLN)" = 1 ] && want=300000 # one core: one thread, no exec
w=$(spin env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT); [ "$w" = "$want" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: default wait policy: spin count '$w', want $want"; }
w=$(spin env GOMP_SPINCOUNT=5); [ "$w" = 5 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: the user's GOMP_SPINCOUNT=5 was not kept: '$w'"; }
w=$(spin env OMP_WAIT_POLICY=active); [ "$w" != 0 ] && [ -n "$w" ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: the user's OMP_WAIT_POLICY=active was not kept: '$w'"; }
n=$(starts env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$bin" link --config "$tmp/none.json" --threads 1); [ "$n" = 1 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: --threads 1 should start once, started $n times"; }
n=$(starts env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$bin" --version); [ "$n" = 1 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: --version should start once, started $n times"; }
echo "cli_errors: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

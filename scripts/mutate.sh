#!/usr/bin/env bash
# Mutation spot-check: applies each small deliberate bug listed in
# scripts/mutations.txt to a scratch copy of the tree, builds it, runs the
# tests named for it, and reverts it. A mutation is "caught" when a test
# fails or times out. Prints the score and the survivors. A mutant that does
# not compile, a text that is not in its file exactly once, and a test regex
# that selects no test are invalid, not caught (exit status 2).
# Run on demand (not part of `make test`):
#   scripts/mutate.sh [ID ...]          all mutations, or only these ids
#   MUTATE_DIR=/tmp/x scripts/mutate.sh  scratch folder (default /tmp/tsr_mutate)
#   MUTATE_FULL=1                        run the whole ctest suite per mutation
#   MUTATE_JOBS=N                        build and ctest parallelism (default 2)
#   MUTATE_TIMEOUT=S                     per-test timeout in seconds (default 300)
#   MUTATE_LIST=FILE                     another list of mutations (default scripts/mutations.txt)
# mutations.txt: one mutation per line, fields separated by " ||| ":
#   id ||| file ||| exact text (must occur exactly once) ||| replacement ||| ctest -R regex ||| what breaks
# Lines starting with # are comments. In the text and replacement fields,
# \n stands for a newline and \\ for one backslash (so C's '\n' is written
# '\\n'); any other backslash is kept as it is ('\r' stays '\r').
# The unmutated tree must pass the tests the selected mutations name (all of
# ctest with MUTATE_FULL=1) before any mutation runs.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${MUTATE_DIR:-/tmp/tsr_mutate}"
list="${MUTATE_LIST:-$here/scripts/mutations.txt}"
jobs="${MUTATE_JOBS:-2}"
timeout="${MUTATE_TIMEOUT:-300}"
# the scratch copy has no shared folder beside it: point the FEBRL tests at ours
if [ -z "${TSR_SHARED_DIR:-}" ] && [ -d "$here/../shared" ]; then export TSR_SHARED_DIR="$(cd "$here/../shared" && pwd)"; fi

# One python helper parses the list (the same way for every step) and applies
# a mutation; bash only sees validated fields.
helper="$(mktemp)"
trap 'rm -f "$helper"' EXIT
cat >"$helper" <<'PY'
import sys

def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in "n\\":
            out.append("\n" if s[i + 1] == "n" else "\\")
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)

def parse(path):
    muts, bad, seen = [], [], set()
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            p = line.split(" ||| ")
            if len(p) != 6:
                bad.append(f"line {no}: {len(p)} fields, expected 6")
                continue
            mid, file, needle, repl, regex, what = (x.strip() if k in (0, 1, 4, 5) else x for k, x in enumerate(p))
            if not mid or mid in seen:
                bad.append(f"line {no}: id {mid!r} is empty or used twice")
                continue
            seen.add(mid)
            if unescape(needle) == unescape(repl) or not needle:
                bad.append(f"line {no} ({mid}): the replacement equals the text")
                continue
            muts.append((mid, file, unescape(needle), unescape(repl), regex, what))
    return muts, bad

cmd = sys.argv[1]
muts, bad = parse(sys.argv[2])
if cmd == "list":  # id, file, regex, what; only the ids asked for
    want = set(sys.argv[3:])
    for b in bad:
        print("BAD\x1f" + b)
    for m in muts:
        if not want or m[0] in want:
            print("\x1f".join((m[0], m[1], m[4], m[5])))
    for w in sorted(want - {m[0] for m in muts}):
        print("BAD\x1fno mutation has the id " + w)
elif cmd == "apply":  # apply LIST ID FILE
    m = next(m for m in muts if m[0] == sys.argv[3])
    p = sys.argv[4]
    s = open(p, encoding="utf-8").read()
    n = s.count(m[2])
    if n != 1:
        print(f"  the text occurs {n} times in {p}", file=sys.stderr)
        sys.exit(1)
    open(p, "w", encoding="utf-8").write(s.replace(m[2], m[3]))
PY

ids=() files=() regexes=() whats=() invalid=0
while IFS=$'\x1f' read -r a b c d; do
  if [ "$a" = BAD ]; then
    echo "INVALID list entry: $b"; invalid=$((invalid + 1)); continue
  fi
  ids+=("$a"); files+=("$b"); regexes+=("$c"); whats+=("$d")
done < <(python3 "$helper" list "$list" "$@")
[ ${#ids[@]} -gt 0 ] || { echo "no mutations to run"; exit 2; }

echo "== copying the tree to $scratch"
# a fresh copy each time (tar, not rsync, which is not always installed);
# mtimes are kept, so the scratch build recompiles only what changed
rm -rf "$scratch/src"
mkdir -p "$scratch/src"
tar -C "$here" --anchored --exclude='./build*' --exclude='./node_modules' --exclude='./.git' --exclude='./demo-out' \
  -cf - . | tar -C "$scratch/src" -xf - || { echo "cannot copy the tree to $scratch/src"; exit 2; }
[ -d "$here/node_modules" ] && ln -sfn "$here/node_modules" "$scratch/src/node_modules"
cmake -S "$scratch/src" -B "$scratch/build" -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 2
if ! cmake --build "$scratch/build" -j "$jobs" >"$scratch/build.log" 2>&1; then
  echo "the unmutated tree does not build: see $scratch/build.log"; exit 2
fi

ctest_args=(-j "$jobs" --timeout "$timeout" --no-tests=error --output-on-failure)
# the tests the baseline must pass: the union of the selected regexes
union=""
if [ "${MUTATE_FULL:-0}" != 1 ]; then
  for r in "${regexes[@]}"; do
    [ -n "$r" ] || { union=""; break; }
    case "|$union|" in *"|$r|"*) ;; *) union="${union:+$union|}$r" ;; esac
  done
fi
echo "== checking that the unmutated tree passes ${union:+the named tests: $union}"
if ! (cd "$scratch/build" && ctest "${ctest_args[@]}" ${union:+-R "$union"} >"$scratch/baseline.log" 2>&1); then
  echo "the unmutated tree fails its tests: see $scratch/baseline.log"; exit 2
fi

total=0 caught=0
survivors=()
for k in "${!ids[@]}"; do
  id="${ids[$k]}" file="${files[$k]}" regex="${regexes[$k]}" what="${whats[$k]}"
  f="$scratch/src/$file"
  if [ ! -f "$f" ]; then
    echo "INVALID $id: no file $file"; invalid=$((invalid + 1)); continue
  fi
  cp -p "$f" "$scratch/orig.tmp"
  if ! python3 "$helper" apply "$list" "$id" "$f"; then
    echo "INVALID $id: the text to mutate is not in $file exactly once"; invalid=$((invalid + 1)); continue
  fi
  result=survived
  log="$scratch/m_$id.log"
  if ! cmake --build "$scratch/build" -j "$jobs" >"$log" 2>&1; then
    result=nocompile
  else
    args=("${ctest_args[@]}")
    [ -n "$regex" ] && [ "${MUTATE_FULL:-0}" != 1 ] && args+=(-R "$regex")
    (cd "$scratch/build" && ctest "${args[@]}" >>"$log" 2>&1)
    rc=$?
    if grep -q "No tests were found" "$log"; then
      result=notests
    elif [ $rc -ne 0 ]; then
      result=caught
    fi
  fi
  # restore the scratch copy as it was (not from the working tree, which
  # may have changed meanwhile); cp gives it a new mtime, so make rebuilds
  cp "$scratch/orig.tmp" "$f"
  touch "$f"
  case "$result" in
  nocompile) invalid=$((invalid + 1)); echo "INVALID $id: the mutant does not compile (see $log)" ;;
  notests) invalid=$((invalid + 1)); echo "INVALID $id: the regex '$regex' selects no test" ;;
  survived) total=$((total + 1)); survivors+=("$id ($file): $what"); echo "SURVIVED $id: $what" ;;
  *) total=$((total + 1)); caught=$((caught + 1)); echo "caught   $id" ;;
  esac
done
rm -f "$scratch/orig.tmp"
cmake --build "$scratch/build" -j "$jobs" >/dev/null 2>&1
echo
echo "== mutation score: $caught of $total caught ($(python3 -c "print(f'{100*$caught/max($total,1):.0f}')")%), $invalid invalid"
for s in "${survivors[@]}"; do echo "  survived: $s"; done
[ "$invalid" = 0 ] || exit 2

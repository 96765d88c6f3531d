#!/usr/bin/env bash
# Mutation spot-check: applies each small deliberate bug listed in
# scripts/mutations.txt to a scratch copy of the tree, builds it, runs the
# tests named for it, and reverts it. A mutation is "caught" when a test
# fails (or the build breaks on a test file). Prints the score and the
# survivors. A mutant that does not compile is invalid, not caught.
# Run on demand (not part of `make test`):
#   scripts/mutate.sh [ID ...]          all mutations, or only these ids
#   MUTATE_DIR=/tmp/x scripts/mutate.sh  scratch folder (default /tmp/tsr_mutate)
#   MUTATE_FULL=1                        run the whole ctest suite per mutation
# mutations.txt: one mutation per line, fields separated by " ||| ":
#   id ||| file ||| exact text (must occur exactly once) ||| replacement ||| ctest -R regex ||| what breaks
# \n in the text and replacement fields stands for a newline.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${MUTATE_DIR:-/tmp/tsr_mutate}"
list="$here/scripts/mutations.txt"
jobs="$(nproc 2>/dev/null || echo 2)"

echo "== copying the tree to $scratch"
mkdir -p "$scratch"
rsync -a --delete --exclude '/build*' --exclude '/node_modules' --exclude '/.git' --exclude '/demo-out' "$here/" "$scratch/src/"
[ -d "$here/node_modules" ] && ln -sfn "$here/node_modules" "$scratch/src/node_modules"
cmake -S "$scratch/src" -B "$scratch/build" -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 2
if ! cmake --build "$scratch/build" -j "$jobs" >"$scratch/build.log" 2>&1; then
  echo "the unmutated tree does not build: see $scratch/build.log"; exit 2
fi
echo "== checking that the unmutated tree passes"
if ! (cd "$scratch/build" && ctest -j "$jobs" >"$scratch/baseline.log" 2>&1); then
  echo "the unmutated tree fails its tests: see $scratch/baseline.log"; exit 2
fi

total=0 caught=0 invalid=0
survivors=()
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  id="${line%% ||| *}"
  if [ $# -gt 0 ]; then
    want=0; for a in "$@"; do [ "$a" = "$id" ] && want=1; done
    [ $want = 1 ] || continue
  fi
  IFS=$'\x1f' read -r _ file needle repl regex what < <(python3 -c 'import sys; print("\x1f".join(sys.argv[1].split(" ||| ")))' "$line")
  f="$scratch/src/$file"
  if ! python3 - "$f" "$needle" "$repl" <<'PY'
import sys
p, a, b = sys.argv[1], sys.argv[2].replace("\\n", "\n"), sys.argv[3].replace("\\n", "\n")
s = open(p).read()
n = s.count(a)
if n != 1:
    print(f"  needle found {n} times in {p}", file=sys.stderr); sys.exit(1)
open(p, "w").write(s.replace(a, b))
PY
  then
    echo "INVALID $id: the text to mutate is not in $file exactly once"; invalid=$((invalid + 1)); continue
  fi
  total=$((total + 1))
  result=survived
  if ! cmake --build "$scratch/build" -j "$jobs" >"$scratch/m_$id.log" 2>&1; then
    result=nocompile
  else
    args=(-j "$jobs")
    [ -n "$regex" ] && [ "${MUTATE_FULL:-0}" != 1 ] && args+=(-R "$regex")
    (cd "$scratch/build" && ctest "${args[@]}" >>"$scratch/m_$id.log" 2>&1) || result=caught
  fi
  cp "$here/$file" "$f"
  if [ "$result" = nocompile ]; then
    total=$((total - 1)); invalid=$((invalid + 1))
    echo "INVALID $id: the mutant does not compile (see $scratch/m_$id.log)"
  elif [ "$result" = survived ]; then
    survivors+=("$id ($file): $what")
    echo "SURVIVED $id: $what"
  else
    caught=$((caught + 1))
    echo "caught   $id ($result)"
  fi
done <"$list"
cmake --build "$scratch/build" -j "$jobs" >/dev/null 2>&1
echo
echo "== mutation score: $caught of $total caught ($(python3 -c "print(f'{100*$caught/max($total,1):.0f}')")%), $invalid invalid"
for s in "${survivors[@]}"; do echo "  survived: $s"; done
[ "$invalid" = 0 ] || exit 2

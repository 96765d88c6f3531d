#!/usr/bin/env bash
# Layering: data flows one way through the stage folders, so a folder may
# include the internal headers ("stage/x.h") of itself and of EARLIER
# folders only, in this order (docs/design/architecture.md). Public headers
# (tessera/*.h) are open to all. Fails naming the file and the include.
#   tests/integration/layering.sh SOURCE_DIR
set -euo pipefail
src="${1:?usage: layering.sh SOURCE_DIR}"
order=(common parquet config ingest block compare model cluster run episode report extract evaluate generate cli)
rank() { local i; for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && { echo "$i"; return; }; done; echo -1; }
bad=0
for dir in "$src"/engine/*/; do
  stage=$(basename "$dir")
  me=$(rank "$stage")
  if [ "$me" -lt 0 ]; then
    echo "layering: engine/$stage is not in the stage order; add it to tests/integration/layering.sh and docs/design/architecture.md"
    bad=1; continue
  fi
  while IFS= read -r hit; do
    file=${hit%%:*}
    inc=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$hit")
    [ "$inc" = tessera ] && continue
    r=$(rank "$inc")
    if [ "$r" -lt 0 ] || [ "$r" -gt "$me" ]; then
      echo "layering: ${file#$src/} includes an internal header of engine/$inc, a later stage than engine/$stage"
      bad=1
    fi
  done < <(grep -Hn '#include "[a-z_]*/' "$dir"*.c "$dir"*.h 2>/dev/null || true)
done
[ "$bad" = 0 ] && echo "layering: every stage includes only itself and earlier stages"
exit "$bad"

#!/usr/bin/env bash
# Installs the Debian packages Tessera needs, only those missing.
# Idempotent; works as root or through sudo; never prompts (CI has no stdin).
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libomp-dev libjemalloc-dev libxxhash-dev libcriterion-dev
      libzstd-dev zlib1g-dev libjansson-dev libsodium-dev libutf8proc-dev libssl-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
install_node_modules() {
  # The Parquet readers of the interop tests (DuckDB, parquet-wasm with
  # apache-arrow, hyparquet with its compressors) and the benchmarks' peer
  # (DuckDB), pinned by package-lock.json. Reinstalled when any package the
  # lock names is missing, so an older checkout picks up new readers.
  cd "$(dirname "$0")/.."
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    echo "deps: node/npm not found; the interop tests will fail until Node.js is installed" >&2
    return 0
  fi
  if node -e '
    const fs = require("fs");
    const pkg = JSON.parse(fs.readFileSync("package.json"));
    const want = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
    process.exit(want.every((p) => fs.existsSync("node_modules/" + p + "/package.json")) ? 0 : 1);
  '; then return 0; fi
  echo "deps: npm ci (the interop readers and the DuckDB peer, pinned by package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
}
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} system packages present"
  install_node_modules
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_node_modules

#!/usr/bin/env bash
# Installs the Debian packages Tessera needs, only those missing.
# Idempotent; works as root or through sudo; never prompts (CI has no stdin).
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libomp-dev libjemalloc-dev libxxhash-dev libcriterion-dev
      libzstd-dev zlib1g-dev libjansson-dev libsodium-dev libutf8proc-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
install_node_modules() {
  # DuckDB for Node: the peer in benchmarks and the Parquet reader in interop
  # tests. Pinned by package-lock.json.
  cd "$(dirname "$0")/.."
  if [ -d node_modules/@duckdb/node-api ]; then return 0; fi
  if ! command -v npm >/dev/null; then echo "deps: npm not found; interop tests and peer benchmarks need Node.js" >&2; return 0; fi
  echo "deps: npm ci (@duckdb/node-api)"
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

#!/usr/bin/env bash
# Installs the Debian packages (once) and builds everything into build/ with ccache.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Clones in other folders share cached objects: ccache hashes paths relative to this.
export CCACHE_BASEDIR="$PWD"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" "$@"

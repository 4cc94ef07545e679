#!/usr/bin/env bash
# Main job until the node exists: builds, then simulates a native and a post-contrast MOLLI
# study and fits them, printing per-slice results against the truth.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target torcht1
./build/server/torcht1 demo "$@"
./build/server/torcht1 demo --post "$@"

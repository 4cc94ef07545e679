#!/usr/bin/env bash
# The main job until the DICOM node exists: installs and builds, runs the benchmark
# (bench/run), then simulates a native and a post-contrast MOLLI study and fits them,
# printing per-slice T1 against the truth. Extra arguments go to `torcht1 demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/run
bash scripts/build.sh --target torcht1
./build/server/torcht1 demo --config config/torcht1.yaml "$@"
./build/server/torcht1 demo --config config/torcht1.yaml --post "$@"

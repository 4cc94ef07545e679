#!/usr/bin/env bash
# The main job until the DICOM node exists: installs and builds, runs the benchmark
# (bench/run), then the offline DICOM path on a simulated study (torcht1 simulate, then
# torcht1 fit; maps in build/demo/maps), and the in-memory demo with per-slice T1 against
# the truth. Extra arguments go to `torcht1 demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/run
bash scripts/build.sh --target torcht1
rm -rf build/demo
./build/server/torcht1 simulate --out build/demo/study --slices 3
./build/server/torcht1 fit build/demo/study --out build/demo/maps --config config/torcht1.yaml
./build/server/torcht1 demo --config config/torcht1.yaml "$@"
./build/server/torcht1 demo --config config/torcht1.yaml --post "$@"

#!/usr/bin/env bash
# The main job: installs the Debian packages (once), builds, and runs the DICOM node with its
# built-in defaults (AE title TORCHT1 on port 11112, status page on http://127.0.0.1:8080/,
# spool and maps under ./torcht1-data). Extra arguments go to `torcht1 serve`
# (e.g. --config config/torcht1.yaml). Stop it with Ctrl-C: the series in hand is finished.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target torcht1
exec ./build/server/torcht1 serve "$@"

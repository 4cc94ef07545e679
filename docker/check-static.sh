#!/usr/bin/env bash
# Fast static check of the docker files, for CI (no podman, no network, a few seconds):
#  - the Dockerfiles: multi-stage, non-root USER, HEALTHCHECK on /healthz, ports, volume,
#    STOPSIGNAL, entrypoint; COPY sources present in the build context (.dockerignore
#    applied); the CPU and CUDA images in step; build packages as scripts/install-deps.sh;
#  - the compose files parse, restart policies, healthchecks, named volumes, ports, the
#    GPU request; env.example lists exactly their variables;
#  - with the torcht1 binary (argument 1, else build/server/torcht1 when it exists): the
#    node's environment from the compose files passes `torcht1 check-config`;
#  - CMake configures from exactly the files the build context holds (when cmake and the
#    libraries are installed);
#  - bash -n on the scripts.
# The full test with images and containers is docker/test-stack.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-}
[ -z "$binary" ] && [ -x build/server/torcht1 ] && binary=build/server/torcht1
[ -n "$binary" ] && binary=$(realpath "$binary")

# A Python with PyYAML: the one on PATH, else Debian's (python3-yaml).
python=""
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then python=$p; break; fi
done
[ -n "$python" ] || { echo "check-static: FAIL: no python3 with PyYAML (apt-get install python3-yaml)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
"$python" docker/check_static.py "$PWD" "$binary" "$work/context.txt" || status=1

for script in docker/test-stack.sh docker/check-static.sh scripts/*.sh; do
  bash -n "$script" || { echo "FAIL: bash -n $script"; status=1; }
done

# Configure CMake from a copy of the build context, as the image's build stage does.
if command -v cmake >/dev/null && [ -s "$work/context.txt" ]; then
  mkdir -p "$work/src"
  tar -cf - -T "$work/context.txt" | tar -C "$work/src" -xf -
  if cmake -S "$work/src" -B "$work/build" -DTORCHT1_BUILD_TESTS=OFF -DTORCHT1_BUILD_BENCH=OFF \
       -DCMAKE_CXX_COMPILER_LAUNCHER= >"$work/cmake.log" 2>&1; then
    echo "ok: CMake configures from the build context alone ($(wc -l <"$work/context.txt") files)"
  else
    tail -20 "$work/cmake.log"
    echo "FAIL: CMake does not configure from the build context (.dockerignore leaves out something it needs?)"
    status=1
  fi
else
  echo "note: cmake not installed: the build context was not configured"
fi

if [ $status -eq 0 ]; then echo "check-static: PASS"; else echo "check-static: FAIL"; fi
exit $status

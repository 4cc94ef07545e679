#!/usr/bin/env bash
# Installs every Debian package TorchT1 node needs to build, test and benchmark.
# Idempotent: when all packages are already installed it does nothing (no apt-get update).
set -euo pipefail

packages=(
  # toolchain
  g++ cmake make ccache pkg-config
  # libraries the code links against
  libtorch-dev libdcmtk-dev libyaml-cpp-dev libboost-dev libcli11-dev libpng-dev libssl-dev
  nlohmann-json3-dev  # the node's /api/series; the tests read Orthanc's REST API with it
  # Debian's LibTorch calls the generic libblas.so.3; the default (netlib) is ~7x slower than
  # OpenBLAS for the fit's grid search. The OpenMP build shares torch's thread pool.
  libopenblas0-openmp
  googletest libgtest-dev libgmock-dev
  # DICOM tools used by tests and users (storescu/storescp, dciodvfy; Orthanc as the tests' PACS)
  dcmtk dicom3tools orthanc
  # docker/check-static.sh parses the compose files
  python3-yaml
  # benchmark peers: the TorchT1 paper's methods in Python
  python3 python3-numpy python3-scipy python3-torch
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

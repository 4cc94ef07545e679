#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang (build-fuzz/: every target instrumented
# with -fsanitize=fuzzer-no-link,address,undefined) and runs them.
#
#   bash scripts/fuzz.sh [dicom|config|all] [SECONDS]   (default: all, 600 s each)
#
# Each fuzzer starts from the committed seeds (fuzz/corpus/<name>/, read only) and keeps
# what it finds in build-fuzz/corpus/<name>/; a crash, leak, timeout or out-of-memory input
# is written to build-fuzz/artifacts/<name>/ and stops the run (reproduce it with
# `build-fuzz/fuzz/torcht1_<name>_fuzzer FILE`). Copy an input that found a bug to
# fuzz/corpus/<name>/regress-<what> once it is fixed: the test suite replays the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
seconds=${2:-600}

bash scripts/install-deps.sh
# Fuzzing only: clang and its runtime libraries (libFuzzer, ASan, UBSan).
need=()
command -v clang++ >/dev/null || need+=(clang)
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || need+=(libclang-rt-dev)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi

export CCACHE_BASEDIR="$PWD"
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTORCHT1_FUZZ=ON \
      -DTORCHT1_BUILD_TESTS=OFF -DTORCHT1_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target torcht1_dicom_fuzzer torcht1_config_fuzzer

# Memory: -rss_limit_mb=2048 stops at memory really used. Single allocations may reach
# 4 GiB: DCMTK's parser reserves the declared length of an element (a 32-bit field) before
# it finds the file too short (fuzz/corpus/dicom/regress-dcmtk-declared-length: a 1.3 GiB
# malloc for a 1369-byte file; virtual, never touched, freed at once). Our own code checks
# sizes before it allocates, and what it allocates it touches, so the RSS limit sees it.
# The DICOM harness writes its input to files: keep them in memory.
if [ -d /dev/shm ]; then export TMPDIR=/dev/shm; fi
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

run() {
  local name=$1 maxlen=$2 status=0
  mkdir -p "build-fuzz/corpus/$name" "build-fuzz/artifacts/$name"
  echo "fuzz: $name for $seconds s (log: build-fuzz/$name.log)" >&2
  "build-fuzz/fuzz/torcht1_${name}_fuzzer" "build-fuzz/corpus/$name" "fuzz/corpus/$name" \
    -dict="fuzz/$name.dict" -max_total_time="$seconds" -max_len="$maxlen" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/artifacts/$name/" > "build-fuzz/$name.log" 2>&1 || status=$?
  grep -E "^#[0-9]+ +DONE|ERROR|SUMMARY|stat::number_of_executed_units|stat::peak_rss|Test unit written" \
    "build-fuzz/$name.log" >&2 || true
  if [ $status -ne 0 ]; then
    echo "fuzz: $name found something (exit $status): build-fuzz/$name.log, build-fuzz/artifacts/$name/" >&2
    return $status
  fi
}
case $which in
  dicom) run dicom 65536 ;;
  config) run config 8192 ;;
  all) run dicom 65536; run config 8192 ;;
  *) echo "usage: scripts/fuzz.sh [dicom|config|all] [SECONDS]" >&2; exit 2 ;;
esac

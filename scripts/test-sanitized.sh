#!/usr/bin/env bash
# The whole test suite under AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer: builds build-asan/ with -DTORCHT1_SANITIZE=address,undefined
# (our code only; LibTorch, DCMTK and the other Debian libraries are not instrumented) and
# runs every test with ctest. The first error stops the test that hit it.
# Arguments go to ctest, e.g. `bash scripts/test-sanitized.sh -R Hostile`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CCACHE_BASEDIR="$PWD"
# Optimised with debug information: readable stacks, and the fit tests stay within their time.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTORCHT1_SANITIZE=address,undefined \
      -DTORCHT1_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$(nproc)"

suppressions="$PWD/scripts/sanitizers"
# Inherited by the torcht1 processes the tests start (serve, fit, simulate).
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_init_order=1:check_initialization_order=1:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$suppressions/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:suppressions=$suppressions/ubsan.supp"
cd build-asan
ctest --output-on-failure --timeout 1800 -j"$(nproc)" "$@"

#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors under ASan+UBSan, and runs the
# whole test suite (unit and integration) with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test
build=build-test
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DBALKON_WERROR=ON -DBALKON_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd "$build"
ctest --output-on-failure --timeout 600

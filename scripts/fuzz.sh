#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang under ASan+UBSan into build-fuzz and
# runs each for a while on its seed corpus (tests/fuzz/corpus/<target>/). Fails when a target
# crashes, leaks, hits undefined behaviour or times out; the input that did it is kept in
# build-fuzz/artifacts/. Prints each target's executions as "FIGURE fuzz_<target>_execs=N".
#   scripts/fuzz.sh [SECONDS] [TARGET...]   SECONDS per target (default 20; ctest's fuzz/all: 10)
# New inputs the fuzzers find go to build-fuzz/corpus/<target>/, not into the seeds.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(fuzz_config fuzz_providers fuzz_devices fuzz_api_bodies fuzz_router fuzz_netparse fuzz_geocode)
build="${BALKON_FUZZ_BUILD:-build-fuzz}"
command -v clang >/dev/null || { echo "fuzz: clang is needed (scripts/install-deps.sh --test)" >&2; exit 1; }

# -O1 keeps the build short (about 45 s on 2 cores) and the targets fast enough.
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=None "-DCMAKE_C_FLAGS=-O1 -gline-tables-only" \
  -DBALKON_FUZZ=ON -DBALKON_SANITIZE=ON -DBALKON_WERROR=ON -DBALKON_TESTS=OFF -DBALKON_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1 ||
  { tail -40 "$build/fuzz-build.log" >&2; exit 1; }

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
mkdir -p "$build/artifacts"
run() {
  local target=$1 work="$build/corpus/$1"
  mkdir -p "$work"
  # -timeout: an input taking over 10 s counts as a hang; -rss_limit_mb as a leak or blow-up.
  "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" \
    "$work" "tests/fuzz/corpus/$target" >"$build/$target.log" 2>&1
}

# Two at a time: the machines this runs on have two cores or more.
failed=()
pids=()
names=()
for target in "${targets[@]}"; do
  run "$target" &
  pids+=($!)
  names+=("$target")
  if [[ ${#pids[@]} -ge 2 ]]; then
    wait "${pids[0]}" || failed+=("${names[0]}")
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed+=("${names[$i]}")
done

for target in "${targets[@]}"; do
  execs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$build/$target.log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$build/$target.log" | tail -1 | awk '{print $2}')
  echo "FIGURE fuzz_${target#fuzz_}_execs=${execs:-0}"
  echo "fuzz: $target: ${execs:-0} executions in ${seconds} s, ${cov:-?} coverage points, corpus $(ls "$build/corpus/$target" | wc -l) + $(ls "tests/fuzz/corpus/$target" | wc -l) seeds"
done
if [[ ${#failed[@]} -gt 0 ]]; then
  for target in "${failed[@]}"; do
    echo "fuzz: $target FAILED; its log ($build/$target.log) ends:" >&2
    grep -v '^#' "$build/$target.log" | tail -60 >&2
  done
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds} s each without a finding"

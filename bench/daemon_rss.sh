#!/usr/bin/env bash
# Prints the daemon's memory in demo mode: RSS right after start and its peak (VmHWM)
# while the simulated site runs, sampled every few seconds. A figure, not a test.
#   bench/daemon_rss.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
seconds="${2:-60}"
binary="$build/balkonsolard"
[[ -x "$binary" ]] || { echo "no $binary: build first (cmake --build $build)" >&2; exit 1; }

dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$binary" --config config/demo.json --db "$dir/bench.db" --listen 127.0.0.1:0 --log-level warn \
  2>"$dir/log" &
pid=$!
sleep 1
rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
echo "daemon RSS after start: $(( $(rss VmRSS) )) kB"
for ((t = 5; t <= seconds; t += 5)); do
  sleep 5
  printf "t=%3ds  RSS %6d kB  peak %6d kB  db %6d kB\n" "$t" "$(rss VmRSS)" "$(rss VmHWM)" \
    "$(( ($(stat -c %s "$dir/bench.db") + $(stat -c %s "$dir/bench.db-wal" 2>/dev/null || echo 0)) / 1024 ))"
done
echo "daemon peak RSS over ${seconds} s at 60x (${seconds} simulated minutes): $(rss VmHWM) kB"

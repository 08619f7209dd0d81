#!/usr/bin/env bash
# Soak: runs the demo site for DAYS simulated days at SPEED x wall time and prints, once per
# simulated day, the daemon's RSS (and peak), the database's size (main file + WAL) and the
# loop lag, so one can see whether memory and disk stay bounded. A figure, not a test.
#   bench/soak.sh [BUILD_DIR] [DAYS] [SPEED]     defaults: build 30 3600 (30 days = 12 min)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
days="${2:-30}"
speed="${3:-3600}"
binary="$build/balkonsolard"
[[ -x "$binary" ]] || { echo "no $binary: build first (cmake --build $build)" >&2; exit 1; }
command -v curl >/dev/null || { echo "soak: needs curl" >&2; exit 1; }

dir=$(mktemp -d)
pid=
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
# The demo config with the simulation's speed raised (the config allows 1 to 3600).
sed -E "s/\"speed\": *[0-9.]+/\"speed\": $speed/" config/demo.json >"$dir/soak.json"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$binary" --config "$dir/soak.json" --db "$dir/soak.db" --listen "127.0.0.1:$port" --log-level warn \
  2>"$dir/log" &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && break; sleep 0.2; done

rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
db_kb() { echo $(( ($(stat -c %s "$dir/soak.db") + $(stat -c %s "$dir/soak.db-wal" 2>/dev/null || echo 0)) / 1024 )); }
metric() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v k="$1" '$1 == k {print $2}'; }

day_s=$(awk -v s="$speed" 'BEGIN {printf "%.3f", 86400 / s}')
echo "soak: $days simulated days at ${speed}x (one day every $day_s s wall), demo config"
printf "%4s %8s %10s %10s %10s %12s %12s\n" day wall_s rss_kB peak_kB db_kB lag_mean_ms lag_max_ms
start=$(date +%s.%N)
printf "%4d %8.0f %10d %10d %10d %12s %12s\n" 0 0 "$(rss VmRSS)" "$(rss VmHWM)" "$(db_kb)" - -
prev_sum=$(metric balkonsolar_loop_lag_seconds_sum); prev_count=$(metric balkonsolar_loop_lag_seconds_count)
for ((day = 1; day <= days; day++)); do
  # Sleep until the wall time of the end of this simulated day.
  target=$(awk -v s="$start" -v d="$day" -v l="$day_s" 'BEGIN {printf "%.3f", s + d * l}')
  now=$(date +%s.%N)
  wait_s=$(awk -v t="$target" -v n="$now" 'BEGIN {w = t - n; printf "%.3f", (w > 0 ? w : 0)}')
  sleep "$wait_s"
  kill -0 "$pid" 2>/dev/null || { echo "soak: the daemon died; its log:" >&2; tail -20 "$dir/log" >&2; exit 1; }
  sum=$(metric balkonsolar_loop_lag_seconds_sum); count=$(metric balkonsolar_loop_lag_seconds_count)
  mean=$(awk -v a="$prev_sum" -v b="$sum" -v c="$prev_count" -v d="$count" \
    'BEGIN {printf "%.2f", (d > c ? (b - a) * 1000 / (d - c) : 0)}')
  max=$(awk -v m="$(metric balkonsolar_loop_lag_max_seconds)" 'BEGIN {printf "%.1f", m * 1000}')
  prev_sum=$sum; prev_count=$count
  printf "%4d %8.0f %10d %10d %10d %12s %12s\n" "$day" \
    "$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN {print n - s}')" \
    "$(rss VmRSS)" "$(rss VmHWM)" "$(db_kb)" "$mean" "$max"
done
echo "soak: warnings and errors in the daemon's log: $(grep -c . "$dir/log" || true)"
# The most frequent messages, numbers blanked so that repeats group.
cut -d' ' -f2- "$dir/log" | sed -E 's/[0-9]+(\.[0-9]+)?/N/g' | sort | uniq -c | sort -rn | head -5 || true
# Where the bytes are, after a clean stop (the WAL checkpointed): per table and index.
kill -TERM "$pid" && wait "$pid" 2>/dev/null || true
pid=
echo "soak: database after the stop: $(( $(stat -c %s "$dir/soak.db") / 1024 )) kB; largest tables and indexes (kB):"
if command -v sqlite3 >/dev/null; then
  sqlite3 "$dir/soak.db" "SELECT printf('%10d  %s', SUM(pgsize) / 1024, name) FROM dbstat GROUP BY name ORDER BY SUM(pgsize) DESC LIMIT 8;" 2>/dev/null ||
    echo "  (this sqlite3 has no dbstat)"
fi

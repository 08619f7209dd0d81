#!/usr/bin/env bash
# Load: runs the demo site and points wrk at GET /api/v1/status and GET /api/v1/series while
# the control loop runs, and prints requests/s, wrk's latency and the event loop's lag during
# each run (p50/p99/max of the daemon's 1 s lag timer, read from GET /metrics once a second).
# A figure, not a test. Needs wrk (Debian: apt install wrk) and curl.
#   bench/load.sh [BUILD_DIR] [SECONDS] [SPEED] [WARMUP_S]   defaults: build 20 60 10
# SPEED is the simulation's (the demo's is 60); WARMUP_S of it runs first so that the series
# have data (the recorder writes every storage.flush_interval_s, 5 s). At 3600 a 60 s warm-up
# is 60 simulated hours, so the series' default window (the last 24 h) is full.
# BALKON_BENCH_AUTH=1 makes every request carry an API token (made with `balkonsolard token`
# before the start), so the figures include the login check (a SHA-256 and a key lookup in
# SQLite per request); without it the demo's open reading is measured. Connections and threads:
# BALKON_BENCH_CONNECTIONS (default 16), BALKON_BENCH_THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
seconds="${2:-20}"
speed="${3:-60}"
warmup="${4:-10}"
connections="${BALKON_BENCH_CONNECTIONS:-16}"
threads="${BALKON_BENCH_THREADS:-2}"
binary="$build/balkonsolard"
[[ -x "$binary" ]] || { echo "no $binary: build first (cmake --build $build)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "load: needs wrk: apt install wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "load: needs curl" >&2; exit 1; }
auth=()

dir=$(mktemp -d)
pid=
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
if [[ "${BALKON_BENCH_AUTH:-}" == "1" ]]; then
  token=$("$binary" token load-bench --db "$dir/load.db" 2>/dev/null)
  auth=(-H "Authorization: Bearer $token")
fi
sed -E "s/\"speed\": *[0-9.]+/\"speed\": $speed/" config/demo.json >"$dir/load.json"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$binary" --config "$dir/load.json" --db "$dir/load.db" --listen "127.0.0.1:$port" --log-level warn \
  2>"$dir/log" &
pid=$!
for _ in $(seq 50); do curl -sf "${auth[@]}" "$base/api/v1/health" >/dev/null && break; sleep 0.2; done
sleep "$warmup"

metric() { curl -sf "${auth[@]}" "$base/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
# The series the dashboard charts first: the first one the store lists.
series=$(curl -sf "${auth[@]}" "$base/api/v1/series" | python3 -c \
  'import json,sys; d=json.load(sys.stdin); l=d.get("series", d) if isinstance(d, dict) else d; print((l[0]["name"] if isinstance(l[0], dict) else l[0]) if l else "")')
[[ -n "$series" ]] || { echo "load: no series stored after the warm-up" >&2; exit 1; }
buckets=$(curl -sf "${auth[@]}" "$base/api/v1/series?name=$series" | python3 -c \
  'import json,sys; d=json.load(sys.stdin); print(sum(1 for c in d["count"] if c), "of", len(d["ts"]), "buckets filled,", int(sum(d["count"])), "samples")')

echo "load: demo at ${speed}x after a ${warmup} s warm-up; wrk -t$threads -c$connections -d${seconds}s; $(nproc) cores"
printf "%-44s %10s %9s %9s %9s %9s %9s %9s\n" endpoint req/s lat_avg lat_p99 lag_p50 lag_p99 lag_max lag_n
bench() {
  local label=$1 url=$2
  local samples="$dir/lag" before_max
  : >"$samples"
  (while :; do metric balkonsolar_loop_lag_last_seconds >>"$samples" || true; sleep 1; done) &
  local sampler=$!
  wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency "${auth[@]}" "$url" >"$dir/wrk" 2>&1
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  local rps lat p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$dir/wrk")
  lat=$(awk '$1 == "Latency" {print $2; exit}' "$dir/wrk")
  p99=$(awk '$1 == "99%" {print $2}' "$dir/wrk")
  grep -q "Non-2xx" "$dir/wrk" && echo "load: $label: $(grep Non-2xx "$dir/wrk")" >&2
  # The lag timer fires once a second, so each sample is (nearly) one measurement.
  read -r p50 p99lag max n < <(python3 -c '
import sys
v = sorted(float(x) * 1000 for x in open(sys.argv[1]) if x.strip())
q = lambda p: v[min(len(v) - 1, int(round(p * (len(v) - 1))))] if v else float("nan")
print("%.1fms %.1fms %.1fms %d" % (q(0.5), q(0.99), max(v) if v else float("nan"), len(v)))' "$samples")
  printf "%-44s %10s %9s %9s %9s %9s %9s %9s\n" "$label" "$rps" "$lat" "$p99" "$p50" "$p99lag" "$max" "$n"
}
idle_sum=$(metric balkonsolar_loop_lag_seconds_sum); idle_count=$(metric balkonsolar_loop_lag_seconds_count)
bench "/api/v1/status" "$base/api/v1/status"
bench "/api/v1/series?name=$series (last 24 h)" "$base/api/v1/series?name=$series"
echo "series $series: $buckets"
echo "loop lag over the whole run (GET /metrics): mean $(awk -v a="$idle_sum" -v b="$(metric balkonsolar_loop_lag_seconds_sum)" \
  -v c="$idle_count" -v d="$(metric balkonsolar_loop_lag_seconds_count)" 'BEGIN {printf "%.1f ms over %d ticks", (b - a) * 1000 / (d - c), d - c}'), max since start $(awk -v m="$(metric balkonsolar_loop_lag_max_seconds)" 'BEGIN {printf "%.0f ms", m * 1000}')"
echo "daemon RSS at the end: $(awk '$1 == "VmRSS:" {print $2}' "/proc/$pid/status") kB; warnings in its log: $(grep -c . "$dir/log" || true)"

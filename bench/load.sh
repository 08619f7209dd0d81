#!/usr/bin/env bash
# Load: the demo daemon on a database holding a year of data, its API under wrk, side by side
# with nginx serving a file of the same size as each answer, in the same run; then four
# clients hammering the heaviest series while the control loop runs. Prints requests/s, the
# ratio to nginx, latency, the event loop's lag (p50/p99/max from the daemon's lag histogram,
# a 100 ms timer) and the control's failsafes. A figure, not a test.
# Needs wrk and nginx (Debian: apt install wrk nginx-light; not test dependencies), curl and
# python3.
#   bench/load.sh [BUILD_DIR] [SECONDS] [YEAR_DB]
# SECONDS: each wrk run (default 5); every endpoint gets BALKON_BENCH_ROUNDS (3) pairs of runs,
# the daemon and nginx in turn, and the median of the pairs' ratios is printed.
# BUILD_DIR: a Release build (default build-rel). YEAR_DB: a database with a year of 5-second
# data (default: made once by BUILD_DIR/bench/bench_store --days 365 into /tmp/balkon-year.db,
# about a minute); it is copied, never changed.
# BALKON_BENCH_AUTH=1 makes every request carry an API token, so the figures include the login
# check. Connections and threads: BALKON_BENCH_CONNECTIONS (16), BALKON_BENCH_THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-rel}"
seconds="${2:-5}"
rounds="${BALKON_BENCH_ROUNDS:-3}"
year_db="${3:-/tmp/balkon-year.db}"
connections="${BALKON_BENCH_CONNECTIONS:-16}"
threads="${BALKON_BENCH_THREADS:-2}"
binary="$build/balkonsolard"
[[ -x "$binary" ]] || { echo "no $binary: build first (cmake --build $build)" >&2; exit 1; }
for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || [[ -x "/usr/sbin/$tool" ]] ||
    { echo "load: needs $tool (apt install wrk nginx-light curl python3)" >&2; exit 1; }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -s "$year_db" ]]; then
  echo "load: writing a year of data into $year_db (bench_store --days 365)" >&2
  "$build/bench/bench_store" --days 365 --path "$year_db" >/dev/null
fi

dir=$(mktemp -d)
pid=
nginx_pid=
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; [[ -n "$nginx_pid" ]] && kill "$nginx_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
cp "$year_db" "$dir/load.db"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
auth=()
if [[ "${BALKON_BENCH_AUTH:-}" == "1" ]]; then
  token=$("$binary" token load-bench --db "$dir/load.db" 2>/dev/null)
  auth=(-H "Authorization: Bearer $token")
fi
# The year's last week of raw 5-second samples must survive the daemon's retention (its clock
# starts now, months after the data ends), so the heaviest query has raw data to read.
sed -E 's/"storage": *\{/"storage": { "raw_retention_days": 1000, "rollup_5m_retention_days": 1000,/' \
  config/demo.json >"$dir/load.json"
port=$(free_port)
base="http://127.0.0.1:$port"
"$binary" --config "$dir/load.json" --db "$dir/load.db" --listen "127.0.0.1:$port" --log-level warn \
  2>"$dir/log" &
pid=$!
for _ in $(seq 100); do curl -sf "${auth[@]}" "$base/api/v1/health" >/dev/null && break; sleep 0.2; done
for _ in $(seq 100); do curl -sf "${auth[@]}" "$base/api/v1/plan" >/dev/null && break; sleep 0.2; done

# nginx as the reference: two workers (one per core, as `auto` gives here), no logging.
mkdir -p "$dir/www" "$dir/nginx"
chmod 755 "$dir" "$dir/www" # nginx's workers run as another user
nginx_port=$(free_port)
cat >"$dir/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 1000000;
  client_body_temp_path $dir/nginx; proxy_temp_path $dir/nginx; fastcgi_temp_path $dir/nginx;
  uwsgi_temp_path $dir/nginx; scgi_temp_path $dir/nginx;
  server { listen 127.0.0.1:$nginx_port; root $dir/www; }
}
EOF
"$nginx_bin" -c "$dir/nginx/nginx.conf" -p "$dir/nginx" &
nginx_pid=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$nginx_port/" >/dev/null && break; sleep 0.1; done

metrics() { curl -sf "${auth[@]}" "$base/metrics"; }
failsafes() { curl -sf "${auth[@]}" "$base/api/v1/control" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("failsafes", 0))'; }
# p50/p99 of the loop lag over the daemon's runs, from the histogram's buckets between each
# pair of /metrics scrapes (before, after): a percentile is reported as its bucket's upper
# bound. Arguments: before1 after1 [before2 after2 ...].
lag_between() {
  python3 - "$@" <<'EOF'
import re, sys
def parse(path):
    buckets, mx = {}, 0.0
    for line in open(path):
        m = re.match(r'balkonsolar_loop_lag_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m: buckets[m.group(1)] = float(m.group(2))
        m = re.match(r'balkonsolar_loop_lag_max_seconds (\S+)', line)
        if m: mx = float(m.group(1))
    return buckets, mx
delta, mx = {}, 0.0
for i in range(1, len(sys.argv) - 1, 2):
    a, _ = parse(sys.argv[i]); b, mx = parse(sys.argv[i + 1])
    for le in b:
        delta[le] = delta.get(le, 0) + b[le] - a.get(le, 0)
if '+Inf' not in delta:  # a build from before the histogram: only the max since start
    print('-', 'max<=%gms' % (mx * 1000), 0); sys.exit()
les = sorted(delta, key=lambda k: float('inf') if k == '+Inf' else float(k))
n = delta['+Inf']
def q(p):
    for le in les:
        if delta[le] >= p * n:
            return '>1000ms' if le == '+Inf' else '<=%gms' % (float(le) * 1000)
print(q(0.5), q(0.99), '%d' % n)
EOF
}
wrk_run() { # url [script] -> "req/s latency_avg latency_p99"
  local url=$1 script=${2:-}
  local args=(-t"$threads" -c"$connections" -d"${seconds}s" --latency)
  [[ -n "$script" ]] && args+=(-s "$script")
  wrk "${args[@]}" "${auth[@]}" "$url" >"$dir/wrk" 2>&1
  grep -q "Non-2xx" "$dir/wrk" && echo "load: $url: $(grep Non-2xx "$dir/wrk")" >&2
  echo "$(awk '/^Requests\/sec:/ {print $2}' "$dir/wrk") $(awk '$1 == "Latency" {print $2; exit}' "$dir/wrk") $(awk '$1 == "99%" {print $2}' "$dir/wrk")"
}

echo "load: demo on a year of 5-second data; wrk -t$threads -c$connections -d${seconds}s; $(nproc) cores; nginx $("$nginx_bin" -v 2>&1 | sed 's/.*\///')"
printf "%-34s %8s %9s %9s %9s %7s %9s %9s %9s\n" endpoint bytes req/s nginx ratio lat_p99 lag_p50 lag_p99 failsafe
# The dashboard's views: a day in 15 minutes, a year in days (as web/src/views/history.js asks).
day_from=$(date -u -d '2025-12-30T00:00:00+01:00' +%s); day_to=$((day_from + 86400))
year_from=$(date -u -d '2025-01-01T00:00:00+01:00' +%s); year_to=$(date -u -d '2026-01-01T00:00:00+01:00' +%s)
endpoints=(
  "status|/api/v1/status"
  "series day (15 min)|/api/v1/series?name=pv_w&from=$day_from&to=$day_to&step=15m"
  "series year (1 d)|/api/v1/series?name=pv_w&from=$year_from&to=$year_to&step=1d"
  "plan|/api/v1/plan"
)
to_ms() { python3 -c 'import re,sys; v,u=re.match(r"([\d.]+)(\w+)",sys.argv[1]).groups(); print(float(v)*{"us":0.001,"ms":1,"s":1000}[u])' "$1"; }
median() { python3 -c 'import statistics,sys; print("%.2f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
# Each endpoint: ROUNDS pairs of runs, the daemon then nginx, so the machine's drift hits
# both alike; the ratio is taken pair by pair and its median printed.
for entry in "${endpoints[@]}"; do
  label=${entry%%|*}; path=${entry#*|}
  curl -sf "${auth[@]}" "$base$path" >"$dir/www/answer.json"
  chmod 644 "$dir/www/answer.json"
  bytes=$(stat -c %s "$dir/www/answer.json")
  f1=$(failsafes); rates=(); nginx_rates=(); ratios=(); p99s=(); scrapes=()
  for round in $(seq "$rounds"); do
    metrics >"$dir/m$round.a"
    read -r rps _ p99 < <(wrk_run "$base$path")
    metrics >"$dir/m$round.b"
    read -r nginx_rps _ _ < <(wrk_run "http://127.0.0.1:$nginx_port/answer.json")
    rates+=("$rps"); nginx_rates+=("$nginx_rps"); p99s+=("$(to_ms "$p99")")
    ratios+=("$(python3 -c "print($rps / $nginx_rps)")"); scrapes+=("$dir/m$round.a" "$dir/m$round.b")
  done
  f2=$(failsafes)
  read -r lag50 lag99 _ < <(lag_between "${scrapes[@]}")
  printf "%-34s %8s %9s %9s %9s %7s %9s %9s %9s\n" "$label" "$bytes" "$(median "${rates[@]}")" \
    "$(median "${nginx_rates[@]}")" "$(median "${ratios[@]}")" "$(median "${p99s[@]}")ms" "$lag50" "$lag99" "$((f2 - f1))"
done

# Four clients on the heaviest answer there is: 100,000 raw buckets (5 s steps over 5.8
# days, about 2 MB), a different range per request so no answer comes from the cache.
heavy_to=$(( $(date -u -d '2026-01-01T00:00:00Z' +%s) - 3600 ))
cat >"$dir/heavy.lua" <<EOF
local n = 0
request = function()
  n = n + 1
  local to = $heavy_to - (n % 3600)
  return wrk.format(nil, "/api/v1/series?name=pv_w&step=5s&from=" .. (to - 499995) .. "&to=" .. to)
end
EOF
curl -sf "${auth[@]}" "$base/api/v1/series?name=pv_w&step=5s&from=$((heavy_to - 499995))&to=$heavy_to" >"$dir/heavy.json"
heavy_bytes=$(stat -c %s "$dir/heavy.json")
saved_connections=$connections; connections=4
metrics >"$dir/m1"; f1=$(failsafes)
seconds=$((seconds * rounds))
read -r rps _ p99 < <(wrk_run "$base/" "$dir/heavy.lua")
metrics >"$dir/m2"; f2=$(failsafes)
connections=$saved_connections
read -r lag50 lag99 n < <(lag_between "$dir/m1" "$dir/m2")
printf "%-34s %8s %9s %9s %9s %7s %9s %9s %9s\n" "series 100k buckets, 4 clients" "$heavy_bytes" "$rps" "-" "-" "$p99" "$lag50" "$lag99" "$((f2 - f1))"
stale=$(curl -sf "${auth[@]}" "$base/api/v1/notifications?limit=1000" | python3 -c 'import json,sys; print(sum(1 for n in json.load(sys.stdin)["notifications"] if n["rule"] == "meter_stale"))')
echo "loop lag samples in the heavy run: $n; meter_stale alerts since start: $stale"
echo "daemon RSS at the end: $(awk '$1 == "VmRSS:" {print $2}' "/proc/$pid/status") kB; warnings in its log: $(grep -c . "$dir/log" || true)"

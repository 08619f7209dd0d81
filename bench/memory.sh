#!/usr/bin/env bash
# Memory with a year of data and the dashboard in use: builds a database holding a year of
# the demo's series as the default retention keeps it (1 h roll-ups for 365 days, 5 min
# roll-ups for 180 days, raw 5 s samples for 7 days; 15 series, ending now), runs the
# daemon on it (config/demo.json, loopback), asks what the browser dashboard asks (web/src:
# the snapshot, today's series, the history views day/week/month/year, plan, prices,
# savings, forecasts, notifications, one open event stream) for a while, then prints the
# daemon's RSS and PSS (/proc/PID/smaps_rollup) and where they are (/proc/PID/smaps summed
# per file). A figure, not a test. Needs sqlite3 and curl.
#   bench/memory.sh [BUILD_DIR] [SECONDS] [CLIENTS]   defaults: build-rel 60 2
# BALKON_BENCH_DB=FILE keeps the generated database there (and reuses it when it exists).
# BALKON_BENCH_HTTPS=1 adds a price provider (awattar) whose base_url is a local TLS server
# (openssl s_server with a throwaway self-signed certificate): the daemon then loads libcurl
# and makes TLS handshakes (refused, the certificate is not trusted), so it pays what a site
# with an HTTPS provider pays. BALKON_LIBCURL=libcurl-gnutls.so.4 picks the GnuTLS flavour.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-rel}"
seconds="${2:-60}"
clients="${3:-2}"
binary="$build/balkonsolard"
[[ -x "$binary" ]] || { echo "no $binary: build first (cmake --build $build)" >&2; exit 1; }
for tool in sqlite3 curl python3; do
  command -v "$tool" >/dev/null || { echo "memory: needs $tool" >&2; exit 1; }
done

dir=$(mktemp -d)
pid=
pids=()        # the event stream and the TLS server
client_pids=() # the dashboard clients
cleanup() {
  for p in ${pids[@]+"${pids[@]}"} ${client_pids[@]+"${client_pids[@]}"}; do
    kill "$p" 2>/dev/null || true
  done
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
db="${BALKON_BENCH_DB:-$dir/year.db}"
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port=$(free_port)
base="http://127.0.0.1:$port/api/v1"
config=config/demo.json

start_daemon() {
  "$binary" --config "$config" --db "$db" --listen "127.0.0.1:$port" --log-level warn \
    2>>"$dir/log" &
  pid=$!
  for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && return 0; sleep 0.1; done
  echo "memory: the daemon did not answer; its log:" >&2
  cat "$dir/log" >&2
  exit 1
}
stop_daemon() {
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
}

if [[ ! -s "$db" ]]; then
  # A short first run creates the schema and registers the demo's series; the year is then
  # written with SQL, which takes seconds where appending through the store would take minutes.
  start_daemon
  sleep 3
  stop_daemon
  t0=$(date +%s.%N)
  sqlite3 "$db" >/dev/null <<'SQL'
PRAGMA journal_mode=WAL;
PRAGMA synchronous=OFF;
BEGIN;
CREATE TEMP TABLE now_ms AS SELECT (CAST(strftime('%s','now') AS INTEGER) * 1000) AS v;
-- A plausible balcony value at time ts: a daily arc with noise. Only the shape of the
-- numbers matters for memory.
DELETE FROM samples_raw; DELETE FROM samples_5m; DELETE FROM samples_1h;
WITH RECURSIVE t(ts) AS (
  SELECT ((SELECT v FROM now_ms) / 3600000 - 365 * 24) * 3600000
  UNION ALL SELECT ts + 3600000 FROM t WHERE ts + 3600000 < (SELECT v FROM now_ms)),
v(id, ts, a) AS (
  SELECT s.id, t.ts, round(400 * max(0, sin(((t.ts % 86400000) / 86400000.0 - 0.25) * 6.2832))
                           + (abs(random()) % 1000) / 10.0, 1) FROM t, series s)
INSERT INTO samples_1h (series_id, bucket_ts_ms, avg, min, max, count)
SELECT id, ts, a, a - 50, a + 50, 720 FROM v;
WITH RECURSIVE t(ts) AS (
  SELECT ((SELECT v FROM now_ms) / 300000 - 180 * 288) * 300000
  UNION ALL SELECT ts + 300000 FROM t WHERE ts + 300000 < (SELECT v FROM now_ms)),
v(id, ts, a) AS (
  SELECT s.id, t.ts, round(400 * max(0, sin(((t.ts % 86400000) / 86400000.0 - 0.25) * 6.2832))
                           + (abs(random()) % 1000) / 10.0, 1) FROM t, series s)
INSERT INTO samples_5m (series_id, bucket_ts_ms, avg, min, max, count)
SELECT id, ts, a, a - 20, a + 20, 60 FROM v;
WITH RECURSIVE t(ts) AS (
  SELECT ((SELECT v FROM now_ms) / 5000 - 7 * 17280) * 5000
  UNION ALL SELECT ts + 5000 FROM t WHERE ts + 5000 < (SELECT v FROM now_ms))
INSERT INTO samples_raw (series_id, ts_ms, value)
SELECT s.id, t.ts, round(400 * max(0, sin(((t.ts % 86400000) / 86400000.0 - 0.25) * 6.2832))
                         + (abs(random()) % 1000) / 10.0, 1) FROM t, series s;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
  printf "memory: wrote a year of %s series in %.0f s: %s rows raw, %s at 5 min, %s at 1 h, %.0f MB\n" \
    "$(sqlite3 "$db" 'SELECT count(*) FROM series')" "$(echo "$(date +%s.%N) - $t0" | bc)" \
    "$(sqlite3 "$db" 'SELECT count(*) FROM samples_raw')" "$(sqlite3 "$db" 'SELECT count(*) FROM samples_5m')" \
    "$(sqlite3 "$db" 'SELECT count(*) FROM samples_1h')" "$(echo "$(stat -c %s "$db") / 1000000" | bc -l)"
fi

if [[ "${BALKON_BENCH_HTTPS:-}" == "1" ]]; then
  command -v openssl >/dev/null || { echo "memory: BALKON_BENCH_HTTPS needs openssl" >&2; exit 1; }
  tls_port=$(free_port)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=127.0.0.1 -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
  openssl s_server -accept "127.0.0.1:$tls_port" -cert "$dir/tls.crt" -key "$dir/tls.key" \
    -www -quiet >/dev/null 2>&1 &
  pids+=($!)
  config="$dir/https.json"
  sed "s|\"providers\": \[|\"providers\": [ { \"id\": \"market\", \"type\": \"awattar\", \"base_url\": \"https://127.0.0.1:$tls_port\" },|" \
    config/demo.json >"$config"
  grep -q '"market"' "$config" || { echo "memory: cannot add the HTTPS provider" >&2; exit 1; }
fi

start_daemon
rss_of() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
echo "memory: daemon $pid on $(basename "$db") with $(basename "$config"), RSS after start" \
  "$(rss_of VmRSS) kB; $clients dashboard client(s) for $seconds s"

# What one open dashboard asks (web/src/store.js, web/src/views/*.js), the history views
# with the steps the dashboard uses (day 15m, week and month 1h, year 1d).
requests=0
get() {
  curl -s -o /dev/null --max-time 10 "$1"
  requests=$((requests + 1))
}
dashboard_round() {
  local now from q
  now=$(date +%s)
  local day=$((now / 86400 * 86400))
  for p in auth health status devices control loads providers plan recommendations prices \
    'commands?limit=20' notifications system 'forecast/solar' 'forecast/solar/accuracy?days=7' \
    'forecast/load?days=7' "savings?from=$day&group=day" 'savings?group=month'; do
    get "$base/$p"
  done
  for n in pv_w grid_w; do get "$base/series?name=$n&from=$day&to=$((now + 1))&step=5m"; done
  for view in "86400 15m day" "604800 1h day" "2678400 1h day" "31536000 1d month"; do
    read -r span step group <<<"$view"
    from=$((now - span))
    for n in pv_w home_w grid_w battery_w soc_pct; do
      get "$base/series?name=$n&from=$from&to=$now&step=$step"
    done
    q="from=$from&to=$now&group=$group"
    get "$base/savings?$q"
    get "$base/forecast/solar/accuracy?days=$((span / 86400 > 90 ? 90 : span / 86400))"
  done
}

curl -sN "$base/events" >/dev/null 2>&1 &
pids+=($!)
end=$(($(date +%s) + seconds))
for ((c = 0; c < clients; c++)); do
  (rounds=0; while (($(date +%s) < end)); do dashboard_round; rounds=$((rounds + 1)); done
   echo "$rounds $requests" >"$dir/rounds.$c") &
  client_pids+=($!)
done
peak_rss=0
while (($(date +%s) < end)); do
  sleep 5
  rss=$(rss_of VmRSS)
  ((rss > peak_rss)) && peak_rss=$rss
  printf "  t=%3ds  RSS %6d kB  threads %s\n" $((seconds - end + $(date +%s))) "$rss" "$(rss_of Threads)"
done
wait "${client_pids[@]}" 2>/dev/null || true
rounds=$(awk '{n += $1} END {print n}' "$dir"/rounds.*)
requests=$(awk '{n += $2} END {print n}' "$dir"/rounds.*)
sleep 2 # the last answers are sent and freed: what stays is the steady state

echo
echo "after $rounds dashboard rounds ($requests requests):"
awk '/^(Rss|Pss|Pss_Anon|Pss_File|Shared_Clean|Private_Clean|Private_Dirty|Anonymous):/ {
  printf "  %-14s %7d kB\n", $1, $2 }' "/proc/$pid/smaps_rollup"
echo "  VmHWM          $(rss_of VmHWM) kB (peak), threads $(rss_of Threads)"
echo
echo "top mappings by RSS (kB; /proc/$pid/smaps summed per file):"
awk '
  /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]"; sub(".*/", "", name); next }
  $1 == "Rss:" { rss[name] += $2 } $1 == "Pss:" { pss[name] += $2 }
  $1 == "Private_Dirty:" { dirty[name] += $2 }
  END { for (n in rss) printf "%7d %7d %7d  %s\n", rss[n], pss[n], dirty[n], n }' "/proc/$pid/smaps" |
  sort -rn | head -25 | awk 'BEGIN { printf "  %7s %7s %7s  %s\n", "RSS", "PSS", "dirty", "mapping" }
                             { printf "  %7d %7d %7d  %s\n", $1, $2, $3, $4 }'
echo "  libraries mapped: $(awk '$6 ~ /\.so/ {print $6}' "/proc/$pid/maps" | sort -u | wc -l)"
if [[ "${BALKON_BENCH_HTTPS:-}" == "1" ]]; then
  echo "  the HTTPS provider: $(curl -s "$base/providers" | python3 -c 'import json, sys
p = next(p for p in json.load(sys.stdin)["providers"] if p["id"] == "market")
print(p["state"] + ":", p["last_error"])')"
fi
echo
echo "memory: steady RSS $(awk '$1 == "Rss:" {print $2}' "/proc/$pid/smaps_rollup") kB," \
  "PSS $(awk '$1 == "Pss:" {print $2}' "/proc/$pid/smaps_rollup") kB (peak RSS during the run $peak_rss kB)"

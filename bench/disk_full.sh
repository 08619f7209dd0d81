#!/usr/bin/env bash
# How much a full disk costs the event loop. The demo site (60x) runs with its database on a
# disk that is full for FULL_SECONDS, so every flush of measurements fails; then the space is
# given back. Two ways to fill the disk:
#   DISK=cap    (default) the database is capped at its size with the test-only
#               BALKON_TEST_DB_MAX_PAGES (docs/faults.md) after 4 MB of filler went in, and
#               the filler is dropped to give space back: SQLite fails at the first page it
#               cannot allocate, early in a flush;
#   DISK=tmpfs  (root) the database lives on a 16 MB tmpfs that a file fills while the daemon
#               runs: SQLite fails when the WAL file must grow, usually at the commit, after
#               all of a flush's work, as on a real full SD card.
# Prints, over the outage and the recovery: the share of wall time the loop was blocked (growth
# of balkonsolar_loop_lag_seconds_sum over the elapsed time: the 1 s lag timer fires late by
# as long as the loop was busy, but sees only blocks that cover its due time), the worst lag,
# the slowest answer to GET /api/v1/health polled every 50 ms (sees every longer block), the
# control's failsafes, the meter_stale alerts, the samples buffered, and how long the backlog
# took to be written once space returned. KEEP=1 keeps the directory (log, probe times). A
# figure, not a test.
#   [DISK=cap|tmpfs] bench/disk_full.sh [BUILD_DIR] [FULL_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-rel}"
seconds="${2:-60}"
binary="$build/balkonsolard"
[[ -x "$binary" ]] || { echo "no $binary: build first (cmake --build $build)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "needs the sqlite3 tool" >&2; exit 1; }

disk="${DISK:-cap}"
dir=$(mktemp -d)
pid=
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [[ "$disk" == tmpfs ]] && umount "$dir/disk" 2>/dev/null
  if [[ -n "${KEEP:-}" ]]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
db="$dir/db"
if [[ "$disk" == tmpfs ]]; then
  mkdir "$dir/disk"
  mount -t tmpfs -o size=16m tmpfs "$dir/disk"
  db="$dir/disk/db"
fi
port=$((20000 + RANDOM % 20000))
# The demo's site with the storage settings of the fault test: a flush every 0.5 s of
# 1-second samples (13 series at 60x: about 780 samples per wall second).
sed -e 's|"storage": { "path": "balkonsolar-demo.db" }|"storage": { "flush_interval_s": 0.5, "sample_interval_s": 1 }, "notifications": { "enabled": true }|' \
  config/demo.json >"$dir/config.json"
grep -q '"notifications": { "enabled": true }' "$dir/config.json" || { echo "demo.json changed: fix the sed" >&2; exit 1; }

start() {
  "$binary" --config "$dir/config.json" --db "$db" --listen "127.0.0.1:$port" --log-level info \
    2>>"$dir/log" &
  pid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && return; sleep 0.1; done
  echo "the daemon did not start" >&2; cat "$dir/log" >&2; exit 1
}
metric() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
now() { date +%s.%N; }

# A first run makes the schema and some data; then the disk fills.
start
sleep 3
kill "$pid"; wait "$pid" || true
: >"$dir/log"
if [[ "$disk" == tmpfs ]]; then
  start # a disk that fills while the daemon runs: it could not even open a full one
  sleep 2
  dd if=/dev/zero of="$dir/disk/filler" bs=4k 2>/dev/null || true
else
  sqlite3 "$db" "CREATE TABLE filler(b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL
    SELECT i + 1 FROM n WHERE i < 1024) INSERT INTO filler SELECT randomblob(4000) FROM n;
    PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
  BALKON_TEST_DB_MAX_PAGES=$(sqlite3 "$db" "PRAGMA page_count") start
fi
for _ in $(seq 200); do grep -q "cannot write measurements" "$dir/log" && break; sleep 0.1; done
grep -q "cannot write measurements" "$dir/log" || { echo "the database never filled up" >&2; exit 1; }

probe() {
  while :; do
    curl -s -o /dev/null -w "$(date +%T.%N) %{time_total}\n" --max-time 10 "http://127.0.0.1:$port/api/v1/health"
    sleep 0.05
  done
}
probe >"$dir/probe" &
probe_pid=$!
lag0=$(metric balkonsolar_loop_lag_seconds_sum); t0=$(now)
failsafes0=$(grep -c "failsafe, battery at" "$dir/log" || true)
alerts0=$(grep -c "critical open: Meter data stale" "$dir/log" || true)
max_pending=0
for ((t = 0; t < seconds; t++)); do
  sleep 1
  p=$(curl -sf "http://127.0.0.1:$port/api/v1/health" | sed -n 's/.*"db_pending_samples":\([0-9]*\).*/\1/p')
  [[ -n "$p" && "$p" -gt "$max_pending" ]] && max_pending=$p
done

# Space returns: how long until the buffer is written.
if [[ "$disk" == tmpfs ]]; then
  rm "$dir/disk/filler"
else
  sqlite3 -cmd '.timeout 5000' "$db" "DROP TABLE filler"
fi
t2=$(now)
for _ in $(seq 1800); do grep -q "writing measurements again" "$dir/log" && break; sleep 0.1; done
t3=$(now)
sleep 3
kill "$probe_pid"; wait "$probe_pid" 2>/dev/null || true
lag1=$(metric balkonsolar_loop_lag_seconds_sum); t1=$(now)
worst=$(metric balkonsolar_loop_lag_max_seconds)
failsafes=$(( $(grep -c "failsafe, battery at" "$dir/log" || true) - failsafes0 ))
alerts=$(( $(grep -c "critical open: Meter data stale" "$dir/log" || true) - alerts0 ))
probe_max=$(sort -g -k2 "$dir/probe" | tail -1 | cut -d" " -f2)
probes=$(wc -l <"$dir/probe")
printf "%s: disk full for %.0f s, up to %d samples buffered; then %s after %.1f s\n" \
  "$disk" "$(echo "$t2 - $t0" | bc)" "$max_pending" \
  "$(grep -o 'writing measurements again.*' "$dir/log" | head -1)" "$(echo "$t3 - $t2" | bc)"
printf "  over those %.0f s: loop blocked %.1f %% of the time, worst lag %.3f s, slowest of %d health probes %.3f s, %d failsafes, %d meter_stale alerts\n" \
  "$(echo "$t1 - $t0" | bc)" "$(echo "($lag1 - $lag0) * 100 / ($t1 - $t0)" | bc -l)" "$worst" "$probes" "$probe_max" "$failsafes" "$alerts"
kill "$pid"; wait "$pid" || true
pid=

#!/usr/bin/env bash
# Installs what is missing, builds, and runs the daemon in demo mode: simulated meter,
# inverter and battery, an embedded SQLite database, simulated time at 60x.
#   BALKON_DEMO_LISTEN=0.0.0.0:8080 scripts/demo.sh   to open it to phones on the LAN
#   BALKON_DEMO_START=2026-06-21T05:00:00+02:00 scripts/demo.sh   simulated time from then
#     (simulation.start; a summer day in December), with a database of its own, since a
#     restart resumes after the newest stored sample
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DBALKON_TESTS=OFF -DBALKON_BENCH=OFF >/dev/null
cmake --build build-demo -j"$(nproc)" --target balkonsolard >/dev/null

listen="${BALKON_DEMO_LISTEN:-127.0.0.1:8080}"
host="${listen%:*}"
[[ "$host" == "0.0.0.0" ]] && host="$(hostname -I 2>/dev/null | awk '{print $1}')"
echo
echo "  BalkonSolar demo: open http://${host:-127.0.0.1}:${listen##*:}/ in a browser"
echo "  (simulated site, a day every 24 minutes; Ctrl+C stops it)"
echo "  Reading is open; a change (plug, strategy, settings) asks you to log in. On the first"
echo "  start the dashboard asks for the setup code from build-demo/setup-code to set a password."
echo
config=config/demo.json
db=build-demo/demo.db
if [[ -n "${BALKON_DEMO_START:-}" ]]; then
  if [[ ! "$BALKON_DEMO_START" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9:]+)?)?$ ]]; then
    echo "BALKON_DEMO_START must be an ISO-8601 date or time, e.g. 2026-06-21T05:00:00+02:00" >&2
    exit 2
  fi
  config=build-demo/demo-start.json
  sed "s/\"start\": \"now\"/\"start\": \"${BALKON_DEMO_START}\"/" config/demo.json >"$config"
  db="build-demo/demo-${BALKON_DEMO_START//[^0-9]/}.db"
fi
exec build-demo/balkonsolard --config "$config" --db "$db" --listen "$listen"

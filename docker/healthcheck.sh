#!/bin/sh
# The image's HEALTHCHECK: GET /api/v1/health on the port balkonsolard listens on
# ($BALKON_LISTEN, as the entrypoint uses it). Exits 0 when it answers 200, else 1 (Docker
# reserves other exit codes).
listen=${BALKON_LISTEN:-0.0.0.0:8080}
curl --fail --silent --show-error --max-time 5 --noproxy '*' --output /dev/null \
  "http://127.0.0.1:${listen##*:}/api/v1/health" || exit 1

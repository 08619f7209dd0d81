#!/bin/sh
# The container's entrypoint. Config and database live in $BALKON_DATA (the /data volume).
# On the first start, when $BALKON_DATA/config.json does not exist, it is copied from
# $BALKON_CONFIG_TEMPLATE (default: the installed example config; the image sets its own,
# docker/config.container.json, which starts without network or tokens), so the container
# comes up at once; edit it (or use the dashboard's settings) and restart. An existing
# config is never touched. Arguments are passed on to balkonsolard (--log-level debug).
# CI runs this outside Docker (tests/docker/test_docker_scripts.sh).
set -eu
# The config (tokens, password hashes' salt), the database (the password hash) and the
# setup code are the owner's alone: everything this script and the daemon create is 0600.
umask 077

data=${BALKON_DATA:-/data}
listen=${BALKON_LISTEN:-0.0.0.0:8080}
daemon=$(command -v "${BALKONSOLARD:-balkonsolard}") || {
  echo "entrypoint: balkonsolard is not on PATH" >&2
  exit 1
}
template=${BALKON_CONFIG_TEMPLATE:-$(dirname "$(dirname "$daemon")")/share/balkonsolar/balkonsolar.example.json}

if [ ! -d "$data" ] || [ ! -w "$data" ]; then
  echo "entrypoint: $data must be a directory writable by uid $(id -u) (chown it, or mount a named volume)" >&2
  exit 1
fi
if [ ! -e "$data/config.json" ]; then
  # Copy then rename, so a start interrupted midway leaves no half config behind.
  cp "$template" "$data/config.json.new"
  mv "$data/config.json.new" "$data/config.json"
  echo "entrypoint: first start: copied $template to $data/config.json; edit it and restart" >&2
fi
exec "$daemon" --config "$data/config.json" --db "$data/balkonsolar.db" --listen "$listen" "$@"

#!/usr/bin/env bash
# Installs the Debian 12 packages balkonsolard needs at run time, and only those: the run
# stage of docker/Dockerfile (debian:bookworm-slim) calls it. Idempotent: installs nothing
# when everything is there (so CI can run it outside Docker).
#   docker/install-runtime.sh          install what is missing
#   docker/install-runtime.sh --list   print the packages, one a line
# libcurl4 and libmosquitto1 are not linked: the daemon loads them when the configuration
# needs HTTP(S) or MQTT (docs/storage.md, "Memory"), so they are listed here although ldd
# does not show them; OpenSSL (libssl3) comes with them. curl is for the image's HEALTHCHECK
# (docker/healthcheck.sh): libcurl4 is here anyway, so the curl package adds only its small
# executable.
set -euo pipefail

packages=(
  libuv1 libmicrohttpd12 libcurl4 libcjson1 libsqlite3-0 libmosquitto1 libcrypt1 libgnutls30
  ca-certificates tzdata curl
  libmodbus5 # the modbus and sunspec drivers (linked: 60 KB, no dependencies of its own)
)

if [[ "${1:-}" == "--list" ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-runtime: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "install-runtime: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/*

#!/usr/bin/env bash
# Installs the Debian 12 packages BalkonSolar needs that are not installed yet.
# Idempotent: installs nothing (and does not touch apt) when everything is there.
#   scripts/install-deps.sh          build and run the daemon
#   scripts/install-deps.sh --test   also what the test suite needs
set -euo pipefail

# libcurl and libmosquitto are loaded at run time, not linked (src/net/curl_lib.c,
# mosquitto_lib.c): the build uses their headers (and the tests link libcurl). No libssl-dev:
# the token digests are our own SHA-256.
build_packages=(
  build-essential cmake pkg-config git ca-certificates tzdata
  libuv1-dev libmicrohttpd-dev libcurl4-openssl-dev libcjson-dev libsqlite3-dev libmosquitto-dev
  libcrypt-dev libgnutls28-dev # gnutls: HTTPS certificate (http.tls "auto"), as libmicrohttpd uses it
  libmodbus-dev # the modbus and sunspec drivers (Modbus TCP, run on the pool: it blocks)
)
# The browser tests (tests/browser/) drive Debian's Chromium (/usr/bin/chromium) with
# playwright-core from npm; fonts-liberation gives it the common web fonts' metrics.
# clang builds the libFuzzer targets (scripts/fuzz.sh, the fuzz/all test); clang-format
# checks the layout of the C sources (scripts/check-format.sh, the style/clang-format test).
# podman and debootstrap build and run the container image (tests/docker/test_docker_image.sh,
# the docker/image test; it skips without them, or without root).
test_packages=(
  libcmocka-dev sqlite3 glpk-utils mosquitto mosquitto-clients python3-aiosmtpd curl faketime
  chromium fonts-liberation
  clang clang-format
  podman debootstrap
)
# Node.js and npm run the browser tests. They are looked up as commands, not as packages:
# a machine may have them from elsewhere (NodeSource's nodejs bundles npm, and Debian's npm
# package would conflict with it). Only when a command is missing is Debian's package added.
test_commands=(node:nodejs npm:npm)

packages=("${build_packages[@]}")
commands=()
if [[ "${1:-}" == "--test" ]]; then
  packages+=("${test_packages[@]}")
  commands+=("${test_commands[@]}")
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
for entry in ${commands[@]+"${commands[@]}"}; do
  if ! command -v "${entry%%:*}" >/dev/null; then
    missing+=("${entry#*:}")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

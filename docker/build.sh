#!/usr/bin/env bash
# Builds balkonsolard in Release and installs it (binary, systemd unit, example configs,
# docs). The Docker image's build stage runs it (docker/Dockerfile); CI runs it outside
# Docker (tests/docker/test_docker_scripts.sh).
#   docker/build.sh PREFIX                 build deps, configure, build, cmake --install to PREFIX
#   docker/build.sh --install-only PREFIX  only cmake --install of the tree in BUILD_DIR
# BUILD_DIR is the build tree (default: build-release); DESTDIR is honoured by cmake --install.
set -euo pipefail
cd "$(dirname "$0")/.."

install_only=0
if [[ "${1:-}" == "--install-only" ]]; then
  install_only=1
  shift
fi
if [[ $# -ne 1 ]]; then
  echo "usage: docker/build.sh [--install-only] PREFIX" >&2
  exit 2
fi
prefix=$1
build=${BUILD_DIR:-build-release}

if [[ $install_only -eq 0 ]]; then
  scripts/install-deps.sh
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DBALKON_TESTS=OFF -DBALKON_BENCH=OFF
  cmake --build "$build" -j"$(nproc)"
elif [[ ! -f "$build/CMakeCache.txt" ]]; then
  echo "docker/build.sh: $build is not a configured build tree (set BUILD_DIR)" >&2
  exit 2
fi
cmake --install "$build" --prefix "$prefix" --strip

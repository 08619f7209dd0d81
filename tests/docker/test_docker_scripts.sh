#!/usr/bin/env bash
# The Docker image's scripts, run outside Docker (no engine in CI): docker/build.sh installs
# the built tree into a temporary prefix (the install-only mode; the build itself is the
# one ctest already tested), docker/install-runtime.sh's packages cover every library the
# binary links or loads, docker/entrypoint.sh makes the config on a first start and runs the
# daemon on a /data stand-in, docker/healthcheck.sh tells a healthy daemon from a gone one,
# and the compose config is valid. Needs BALKON_SOURCE_DIR and BALKON_BUILD_DIR (set by ctest).
set -euo pipefail
src=${BALKON_SOURCE_DIR:?}
build=${BALKON_BUILD_DIR:?}
tmp=$(mktemp -d /tmp/balkon-docker-XXXXXX)
pid=
cleanup() {
  if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [[ -f "$tmp/daemon.log" ]] && sed 's/^/  log: /' "$tmp/daemon.log" >&2
  exit 1
}

prefix=$tmp/prefix
echo "== docker/build.sh --install-only into $prefix"
BUILD_DIR=$build bash "$src/docker/build.sh" --install-only "$prefix" >/dev/null
for file in bin/balkonsolard lib/systemd/system/balkonsolar.service \
            share/balkonsolar/balkonsolar.example.json share/balkonsolar/demo.json \
            share/doc/balkonsolar/README.md; do
  [[ -s "$prefix/$file" ]] || fail "$file is not installed"
done
[[ -x "$prefix/bin/balkonsolard" ]] || fail "bin/balkonsolard is not executable"
"$prefix/bin/balkonsolard" --version | grep -q '^balkonsolard ' || fail "the installed binary does not run"
cmp -s "$src/config/balkonsolar.example.json" "$prefix/share/balkonsolar/balkonsolar.example.json" ||
  fail "the installed example config differs from config/balkonsolar.example.json"

echo "== docker/install-runtime.sh"
bash "$src/docker/install-runtime.sh" || fail "install-runtime.sh failed"
mapfile -t runtime < <(bash "$src/docker/install-runtime.sh" --list)
# Every library the binary links directly must come from a listed package (libc6 is in
# every image; the sanitizers' runtimes only in sanitizer builds), and so must the two it
# loads at run time when the configuration needs them (src/net/curl_lib.c and
# mosquitto_lib.c: dlopen, so neither readelf nor ldd sees them).
check_package() {
  local lib=$1 path=$2 package
  [[ -n "$path" && -e "$path" ]] || fail "$lib does not resolve"
  package=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null) ||
    fail "$lib ($path) belongs to no package"
  package=${package%%:*}
  case "$package" in libc6 | libasan* | libubsan* | libgcc-s1) return 0 ;; esac
  printf '%s\n' "${runtime[@]}" | grep -qx "$package" ||
    fail "$lib is in $package, which docker/install-runtime.sh does not install"
  echo "  $lib: $package"
}
while read -r lib path; do
  check_package "$lib" "$path"
done < <(readelf -d "$prefix/bin/balkonsolard" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' |
         while read -r lib; do
           echo "$lib $(ldd "$prefix/bin/balkonsolard" | awk -v l="$lib" '$1 == l { print $3 }')"
         done)
for lib in libcurl.so.4 libmosquitto.so.1; do
  check_package "$lib (dlopen)" "$(/sbin/ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')"
done

# Starts the entrypoint in the background on DATA, on an ephemeral loopback port, with
# more environment (NAME=value ...); sets pid and port.
start_entrypoint() {
  local data=$1
  shift
  : >"$tmp/daemon.log"
  env "$@" PATH="$prefix/bin:$PATH" BALKON_DATA="$data" BALKON_LISTEN=127.0.0.1:0 \
    sh "$src/docker/entrypoint.sh" --log-level info >"$tmp/daemon.log" 2>&1 &
  pid=$!
  port=
  for _ in $(seq 300); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$tmp/daemon.log" | head -1)
    [[ -n "$port" ]] && return 0
    kill -0 "$pid" 2>/dev/null || fail "the entrypoint exited"
    sleep 0.1
  done
  fail "the daemon did not start listening"
}
stop_entrypoint() {
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  pid=
  [[ $status -eq 0 ]] || fail "the daemon exited with $status after SIGTERM"
}
health() {
  BALKON_LISTEN=127.0.0.1:$port sh "$src/docker/healthcheck.sh"
}
health_json() {
  curl -fsS --noproxy '*' "http://127.0.0.1:$port/api/v1/health"
}

echo "== docker/entrypoint.sh: first start on an empty /data copies the example config"
mkdir "$tmp/data"
# The example names its Tibber token as env:TIBBER_TOKEN; the daemon refuses it unset.
start_entrypoint "$tmp/data" TIBBER_TOKEN=test-token
cmp -s "$src/config/balkonsolar.example.json" "$tmp/data/config.json" ||
  fail "the first start did not copy the example config to /data/config.json"
grep -q "first start: copied" "$tmp/daemon.log" || fail "the first start did not say so"
health || fail "healthcheck.sh: the daemon is not healthy"
health_json | grep -q '"status":[[:space:]]*"ok"' || fail "/api/v1/health does not say ok"
[[ -s "$tmp/data/balkonsolar.db" ]] || fail "the database is not in /data"
stop_entrypoint
if health 2>/dev/null; then fail "healthcheck.sh passes with no daemon"; fi

echo "== docker/entrypoint.sh: the image's first config (BALKON_CONFIG_TEMPLATE as the Dockerfile sets it)"
grep -q '^COPY docker/config.container.json /usr/local/share/balkonsolar/container.json$' \
  "$src/docker/Dockerfile" || fail "the Dockerfile does not install docker/config.container.json"
grep -q 'BALKON_CONFIG_TEMPLATE=/usr/local/share/balkonsolar/container.json$' "$src/docker/Dockerfile" ||
  fail "the Dockerfile does not make docker/config.container.json the first config"
cp "$src/docker/config.container.json" "$prefix/share/balkonsolar/container.json"
mkdir "$tmp/data2"
start_entrypoint "$tmp/data2" BALKON_CONFIG_TEMPLATE="$prefix/share/balkonsolar/container.json"
cmp -s "$src/docker/config.container.json" "$tmp/data2/config.json" ||
  fail "the first start did not copy BALKON_CONFIG_TEMPLATE"
health || fail "healthcheck.sh: the daemon is not healthy with the image's first config"
stop_entrypoint

echo "== docker/entrypoint.sh: an existing config is kept (the demo's, at 60x)"
cp "$src/config/demo.json" "$tmp/data/config.json"
start_entrypoint "$tmp/data"
health || fail "healthcheck.sh: the daemon is not healthy with the demo config"
health_json | grep -q '"clock_speed":[[:space:]]*60' || fail "the daemon does not run the demo config"
cmp -s "$src/config/demo.json" "$tmp/data/config.json" || fail "the entrypoint changed an existing config"
stop_entrypoint

if [[ $(id -u) -ne 0 ]]; then
  echo "== docker/entrypoint.sh: an unwritable /data is refused with a reason"
  mkdir "$tmp/readonly" && chmod 555 "$tmp/readonly"
  if PATH="$prefix/bin:$PATH" BALKON_DATA="$tmp/readonly" sh "$src/docker/entrypoint.sh" 2>"$tmp/err"; then
    fail "the entrypoint started on an unwritable /data"
  fi
  grep -q "writable" "$tmp/err" || fail "no reason given for an unwritable /data"
fi

echo "== docker/config.compose.json"
"$prefix/bin/balkonsolard" --check-config --config "$src/docker/config.compose.json" >/dev/null ||
  fail "docker/config.compose.json is not valid"
grep -q 'BALKON_CONFIG_TEMPLATE: /etc/balkonsolar-compose.json' "$src/docker/compose.yaml" &&
  grep -q 'config.compose.json:/etc/balkonsolar-compose.json:ro' "$src/docker/compose.yaml" ||
  fail "compose.yaml does not make docker/config.compose.json the first config"
grep -q '"host": "mosquitto"' "$src/docker/config.compose.json" || fail "the compose config does not use the broker service"
grep -q '^  mosquitto:' "$src/docker/compose.yaml" || fail "compose.yaml has no mosquitto service"
echo "ok"

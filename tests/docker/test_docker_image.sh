#!/usr/bin/env bash
# The container image, built and run for real (docker/Dockerfile), without Docker and
# without any registry but Debian's mirror:
#   1. a bookworm base made by `debootstrap --variant=minbase` from the Debian mirror apt
#      uses, imported into podman as debian:bookworm and debian:bookworm-slim (cached in
#      $BALKON_BUILD_DIR/docker-image, so reruns skip it);
#   2. `podman build --isolation=chroot --pull=never` of docker/Dockerfile (podman's
#      storage is in the same cache; --cgroup-manager=cgroupfs, no systemd needed);
#   3. the image's filesystem (podman mount) run as the image would run it: its
#      ENTRYPOINT, as its USER (looked up in its /etc/passwd: uid 10001), with its ENV and
#      WORKDIR and nothing else, chrooted, in a network namespace of its own (so the image's
#      0.0.0.0:8080 is reachable from that namespace only).
# Checked: the first start copies the image's config, /api/v1/health says ok, the image's
# HEALTHCHECK script passes (and fails with no daemon), config, database and setup code
# are 0600 and the image user's, SIGTERM ends it with 0, and a restart keeps config and
# measurements. Prints the image's size. Exits 77 (ctest: skipped) with the reason where
# this machine cannot: not root, no podman or debootstrap, or no Debian mirror.
# Needs BALKON_SOURCE_DIR and BALKON_BUILD_DIR (set by ctest).
set -euo pipefail
src=${BALKON_SOURCE_DIR:?}
build=${BALKON_BUILD_DIR:?}
skip() {
  echo "SKIP: $*"
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  [[ -f "${log:-}" ]] && sed 's/^/  log: /' "$log" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || skip "needs root (podman's chroot isolation, chroot --userspec, namespaces)"
command -v podman >/dev/null || skip "podman is not installed (apt-get install podman)"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (apt-get install debootstrap)"
command -v unshare >/dev/null && command -v nsenter >/dev/null && command -v ip >/dev/null ||
  skip "needs unshare, nsenter (util-linux) and ip (iproute2)"
# The mirror apt uses (deb822 or one-line sources), unless BALKON_DEBIAN_MIRROR says.
mirror=${BALKON_DEBIAN_MIRROR:-}
if [[ -z "$mirror" ]]; then
  mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
           grep -v security | head -1 || true)
fi
if [[ -z "$mirror" ]]; then
  mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' \
           /etc/apt/sources.list 2>/dev/null | grep -v security | head -1 || true)
fi
[[ -n "$mirror" ]] || skip "no Debian mirror in /etc/apt/sources.list* (set BALKON_DEBIAN_MIRROR)"
curl -fsS --max-time 15 -o /dev/null "$mirror/dists/bookworm/Release" 2>/dev/null ||
  skip "the Debian mirror $mirror does not answer"

cache=$build/docker-image
mkdir -p "$cache"
driver=overlay
[[ $(stat -f -c %T "$cache") == overlayfs ]] && driver=vfs # no overlay on overlay
pm() {
  podman --root "$cache/storage" --runroot "$cache/run" --storage-driver "$driver" \
    --cgroup-manager cgroupfs "$@"
}

echo "== base: debootstrap --variant=minbase bookworm from $mirror (cached in $cache)"
if [[ ! -s "$cache/bookworm-minbase.tar" ]]; then
  rm -rf "$cache/rootfs.tmp"
  debootstrap --variant=minbase bookworm "$cache/rootfs.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; fail "debootstrap failed"; }
  rm -rf "$cache/rootfs.tmp/var/lib/apt/lists/"* "$cache/rootfs.tmp/var/cache/apt/"*.bin
  tar -C "$cache/rootfs.tmp" --numeric-owner -cf "$cache/bookworm-minbase.tar.new" .
  mv "$cache/bookworm-minbase.tar.new" "$cache/bookworm-minbase.tar"
  rm -rf "$cache/rootfs.tmp"
fi
if ! pm image exists docker.io/library/debian:bookworm; then
  pm import --change 'CMD ["bash"]' "$cache/bookworm-minbase.tar" docker.io/library/debian:bookworm >/dev/null
fi
pm tag docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim

image=localhost/balkonsolar:test
echo "== podman build --isolation=chroot -f docker/Dockerfile (log: $cache/build.log)"
started=$(date +%s)
# The build stage installs its packages with apt from the base's mirror; nothing is pulled.
# Docker's image format: OCI's has no HEALTHCHECK (podman would drop it with a warning).
if ! pm build --isolation=chroot --pull=never --format docker --ignorefile "$src/docker/Dockerfile.dockerignore" \
     -f "$src/docker/Dockerfile" -t "$image" "$src" >"$cache/build.log" 2>&1; then
  tail -40 "$cache/build.log" >&2
  fail "podman build failed"
fi
size=$(pm image inspect --format '{{.Size}}' "$image")
echo "image $image: $((size / 1000000)) MB ($size bytes), built in $(($(date +%s) - started)) s"
pm image prune -f >/dev/null 2>&1 || true

# What the image declares, read from it rather than repeated here.
user=$(pm image inspect --format '{{.Config.User}}' "$image")
workdir=$(pm image inspect --format '{{.Config.WorkingDir}}' "$image")
mapfile -t image_env < <(pm image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image" | sed '/^$/d')
mapfile -t entrypoint < <(pm image inspect --format '{{range .Config.Entrypoint}}{{println .}}{{end}}' "$image" | sed '/^$/d')
mapfile -t healthcheck < <(pm image inspect --format '{{range .Config.Healthcheck.Test}}{{println .}}{{end}}' "$image" | sed '/^$/d')
[[ ${#entrypoint[@]} -ge 1 ]] || fail "the image has no ENTRYPOINT"
[[ "${healthcheck[0]:-}" == CMD ]] || fail "the image's HEALTHCHECK is not CMD [...]: ${healthcheck[*]:-none}"
healthcheck=("${healthcheck[@]:1}")

tmp=$(mktemp -d /tmp/balkon-image-XXXXXX)
log=$tmp/daemon.log
ctr=
pid=
cleanup() {
  if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  if [[ -n "$ctr" ]]; then
    pm umount "$ctr" >/dev/null 2>&1 || true
    pm rm -f "$ctr" >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
ctr=$(pm create "$image")
root=$(pm mount "$ctr")
uid=$(awk -F: -v u="$user" '$1 == u || $3 == u { print $3 }' "$root/etc/passwd")
gid=$(awk -F: -v u="$user" '$1 == u || $3 == u { print $4 }' "$root/etc/passwd")
[[ "$uid" == 10001 ]] || fail "the image's USER ($user) is uid ${uid:-unknown}, expected 10001"
listen=
for entry in "${image_env[@]}"; do
  [[ "$entry" == BALKON_LISTEN=* ]] && listen=${entry#BALKON_LISTEN=}
done
[[ -n "$listen" ]] || fail "the image sets no BALKON_LISTEN"
data=$root/data

# The command that runs ARGS inside the image's filesystem as its user with its environment
# only, in the mount and network namespaces given by the first argument: "new" makes fresh
# ones (with /dev, /proc and /tmp mounted, loopback up), a pid enters that process's. Into
# the array cmd, so that `"${cmd[@]}" &` makes $! the process itself (each step execs the
# next: unshare, sh, chroot, env, sh, the entrypoint, the daemon).
image_cmd() {
  local ns=$1
  shift
  local inner=(chroot --userspec="$uid:$gid" "$root" env -i "${image_env[@]}" HOME=/data
               sh -c 'cd "$0" && exec "$@"' "$workdir" "$@")
  if [[ "$ns" == new ]]; then
    cmd=(unshare --mount --net sh -c 'ip link set lo up && mount --rbind /dev "$0/dev" &&
      mount -t proc proc "$0/proc" && mount -t tmpfs tmpfs "$0/tmp" && exec "$@"' "$root" "${inner[@]}")
  else
    cmd=(nsenter --target "$ns" --mount --net "${inner[@]}")
  fi
}
in_image() {
  image_cmd "$@"
  "${cmd[@]}"
}
# Starts the entrypoint in the background (pid) and waits until it answers on /api/v1/health.
start_image() {
  : >"$log"
  image_cmd new "${entrypoint[@]}" --log-level info
  "${cmd[@]}" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    if nsenter --target "$pid" --net curl -fsS --noproxy '*' --max-time 2 -o "$tmp/health.json" \
         "http://127.0.0.1:${listen##*:}/api/v1/health" 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || fail "the entrypoint exited"
    sleep 0.1
  done
  fail "the daemon in the image did not answer /api/v1/health"
}
stop_image() {
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  pid=
  [[ $status -eq 0 ]] || fail "the daemon exited with $status after SIGTERM"
}
mode_of() { stat -c '%a %u:%g' "$1"; }

echo "== first start: entrypoint as $user (uid $uid), ENV ${image_env[*]}"
[[ -d "$data" && ! -e "$data/config.json" ]] || fail "/data in the image is not an empty directory"
[[ $(stat -c %u "$data") == "$uid" ]] || fail "/data does not belong to the image's user"
start_image
grep -q '"status":[[:space:]]*"ok"' "$tmp/health.json" || fail "/api/v1/health: $(cat "$tmp/health.json")"
grep -q "first start: copied /usr/local/share/balkonsolar/container.json" "$log" ||
  fail "the first start did not say it copied the image's config"
cmp -s "$src/docker/config.container.json" "$data/config.json" ||
  fail "/data/config.json is not docker/config.container.json"
in_image "$pid" "${healthcheck[@]}" || fail "the image's HEALTHCHECK fails on a healthy daemon"
for file in config.json balkonsolar.db setup-code; do
  [[ -f "$data/$file" ]] || fail "/data/$file does not exist"
  [[ $(mode_of "$data/$file") == "600 $uid:$gid" ]] ||
    fail "/data/$file is $(mode_of "$data/$file"), expected 600 $uid:$gid"
done
sleep 6 # more than one sample interval (5 s in the image's config) to keep
stop_image
while IFS= read -r file; do
  [[ $(mode_of "$file") == "600 $uid:$gid" ]] || fail "${file#"$root"} is $(mode_of "$file")"
done < <(find "$data" -type f)
samples=$(sqlite3 "$data/balkonsolar.db" 'SELECT count(*) FROM samples_raw')
last_ms=$(sqlite3 "$data/balkonsolar.db" 'SELECT max(ts_ms) FROM samples_raw')
[[ $samples -gt 0 ]] || fail "no measurements were stored"
if in_image new "${healthcheck[@]}" 2>/dev/null; then fail "the HEALTHCHECK passes with no daemon"; fi

echo "== restart: config and $samples measurements kept"
start_image
grep -q "first start" "$log" && fail "the restart took itself for a first start"
cmp -s "$src/docker/config.container.json" "$data/config.json" || fail "the restart changed the config"
in_image "$pid" "${healthcheck[@]}" || fail "the HEALTHCHECK fails after the restart"
sleep 6
stop_image
kept=$(sqlite3 "$data/balkonsolar.db" "SELECT count(*) FROM samples_raw WHERE ts_ms <= $last_ms")
[[ $kept -eq $samples ]] || fail "$kept of the first start's $samples measurements are left"
added=$(sqlite3 "$data/balkonsolar.db" "SELECT count(*) FROM samples_raw WHERE ts_ms > $last_ms")
[[ $added -gt 0 ]] || fail "the restarted daemon stored nothing"
echo "ok: image $((size / 1000000)) MB"

#!/usr/bin/env bash
# Runs the browser tests (ctest's browser/dashboard): installs the pinned npm modules when
# they are missing or the lock changed, then every tests/browser/*.test.mjs with Node's own
# test runner. Needs BALKONSOLARD (the daemon to test), Chromium at /usr/bin/chromium and
# node/npm, all of which scripts/install-deps.sh --test installs.
#
# Exit 77 (ctest's SKIP_RETURN_CODE) only when Chromium is missing and
# BALKON_ALLOW_SKIP_BROWSER=1 is set; in CI a missing browser is a failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
chromium="${BALKON_CHROMIUM:-/usr/bin/chromium}"

if [[ ! -x "$chromium" ]]; then
  if [[ "${BALKON_ALLOW_SKIP_BROWSER:-}" == "1" ]]; then
    echo "browser tests skipped: $chromium is missing (BALKON_ALLOW_SKIP_BROWSER=1)"
    exit 77
  fi
  echo "browser tests: $chromium is missing; run scripts/install-deps.sh --test" >&2
  exit 1
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "browser tests: $tool is missing; run scripts/install-deps.sh --test" >&2
    exit 1
  fi
done
if [[ -z "${BALKONSOLARD:-}" ]]; then
  echo "browser tests: BALKONSOLARD is not set (run them through ctest)" >&2
  exit 1
fi

# npm ci wipes and reinstalls node_modules, so it runs only when the lock's hash differs
# from the one recorded after the last successful install.
lock_hash="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
stamp="$here/node_modules/.balkon-lock-sha256"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
  echo "browser tests: npm ci in $here"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" >"$stamp"
fi

# Screenshots, daemon logs and figures go to $artifacts, emptied first so that it shows
# this run only. The figures (time to first render, page weight) are printed here too,
# after the runner, as plain "FIGURE ..." lines.
root="$(cd "$here/../.." && pwd)"
artifacts="$(cd "$root" && realpath -m "${BALKON_ARTIFACTS:-build/test-artifacts}")/browser"
rm -rf "$artifacts"

# One test file at a time: each runs its own daemon and browser, and the machine has two
# cores. FORCE_COLOR=0 keeps terminal colours out of playwright's error messages.
cd "$here"
status=0
FORCE_COLOR=0 node --test --test-concurrency=1 ./*.test.mjs || status=$?
if [[ -f "$artifacts/figures.txt" ]]; then
  cat "$artifacts/figures.txt"
fi
echo "browser tests: screenshots in $artifacts"
exit "$status"

#!/usr/bin/env bash
# Builds the dashboard: installs the pinned JavaScript dependencies (web/package-lock.json),
# bundles and minifies web/src into web/dist, draws the icons, writes web/sw.js, and reports
# the page weight. The output is committed, so building the daemon (and the Pi) never needs
# Node; run this after changing anything in web/src and commit web/dist, web/sw.js, web/icons.
#   scripts/build-web.sh            build and report
#   scripts/build-web.sh --check    also fail when the build changed committed files
set -euo pipefail
cd "$(dirname "$0")/../web"

LIMIT_BYTES=$((150 * 1024)) # page weight budget of the first view, compressed

command -v node >/dev/null || { echo "build-web: needs node (>= 18) and npm" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
node tools/check-strings.mjs
node tools/icons.mjs
list="$(mktemp)"
trap 'rm -f "$list"' EXIT
FIRST_VIEW_LIST="$list" node build.mjs

gz() { gzip -9 -n -c "$1" | wc -c; }
printf '\n%-44s %9s %9s\n' "first view (live)" "bytes" "gzip -9"
total_raw=0 total_gz=0
while read -r f; do
  [[ -n "$f" ]] || continue
  raw=$(wc -c <"$f"); z=$(gz "$f")
  # PNGs and other compressed formats are served as they are.
  [[ "$f" == *.png ]] && z=$raw
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + z))
  printf '%-44s %9d %9d\n' "$f" "$raw" "$z"
done <"$list"
printf '%-44s %9d %9d\n' "total" "$total_raw" "$total_gz"

printf '\n%-44s %9s %9s\n' "loaded later (charts)" "bytes" "gzip -9"
later_gz=0
while read -r f; do
  grep -qxF "$f" "$list" && continue
  raw=$(wc -c <"$f"); z=$(gz "$f"); later_gz=$((later_gz + z))
  printf '%-44s %9d %9d\n' "$f" "$raw" "$z"
done < <(find dist -name '*.js' | sort)
printf '%-44s %9s %9d\n' "first view + charts" "" "$((total_gz + later_gz))"

if ((total_gz > LIMIT_BYTES)); then
  echo "build-web: the first view weighs $total_gz bytes compressed, over the budget of $LIMIT_BYTES" >&2
  exit 1
fi
if ((total_gz + later_gz > LIMIT_BYTES)); then
  echo "build-web: note: with the charts the dashboard weighs $((total_gz + later_gz)) bytes compressed, over $LIMIT_BYTES" >&2
fi

if [[ "${1:-}" == "--check" ]]; then
  cd ..
  if ! git diff --quiet -- web/dist web/sw.js web/icons || [[ -n "$(git ls-files --others --exclude-standard web/dist web/icons)" ]]; then
    echo "build-web: web/dist, web/sw.js or web/icons differ from the committed files: commit the rebuilt bundle" >&2
    exit 1
  fi
fi

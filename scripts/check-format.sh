#!/usr/bin/env bash
# Checks that every C source and header under src, include, tests and bench is laid out as
# the repository's .clang-format says (Debian 12's clang-format 14). Prints the files that
# are not and exits 1; `scripts/check-format.sh --fix` rewrites them instead.
set -euo pipefail
cd "$(dirname "$0")/.."

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files 'src/*.[ch]' 'include/*.h' 'tests/*.[ch]' 'bench/*.[ch]' |
                       grep -v '/node_modules/')
else
  mapfile -t files < <(find src include tests bench -name node_modules -prune -o -name '*.[ch]' -print)
fi

if [[ "${1:-}" == "--fix" ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/check-format.$$; then
  grep -o '^[^:]*\.[ch]' /tmp/check-format.$$ | sort -u | sed 's/^/not formatted: /' >&2
  rm -f /tmp/check-format.$$
  echo "check-format: run scripts/check-format.sh --fix ($(clang-format --version))" >&2
  exit 1
fi
rm -f /tmp/check-format.$$
echo "check-format: ${#files[@]} files formatted as .clang-format says"

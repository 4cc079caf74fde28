#!/usr/bin/env bash
# Checks, without changing anything, that C++ and CUDA sources are formatted as .clang-format says,
# with clang-format 14 (Debian's clang-format-14, installed by scripts/install-deps.sh; another
# version formats a little differently). A file that is not prints clang-format's complaints, and
# the script exits 1 once every file is checked.
#
#   bash scripts/check_format.sh FILE...          the files given
#   bash scripts/check_format.sh --list LIST      the files named in LIST (one a line; # comments)
#   bash scripts/check_format.sh --changed BASE   the .cpp/.hpp/.cu/.cuh/.h files that differ from
#                                                 the git revision BASE (committed or not)
#   bash scripts/check_format.sh --all            every tracked .cpp/.hpp/.cu/.cuh/.h file
#                                                 (tests/data and the install test's consumer aside)
#
# CI (.ci/run) checks --all. To format a file: clang-format-14 -i FILE; the whole tree:
#   git ls-files '*.cpp' '*.hpp' '*.cu' '*.cuh' '*.h' | xargs clang-format-14 -i
# CLANG_FORMAT names another binary (at your own risk if it is not version 14).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '/^#   bash/s/^#   //p' "$0" >&2
  exit 2
}
[ $# -gt 0 ] || usage

files=()
case "$1" in
  --list)
    [ $# -eq 2 ] || usage
    while IFS= read -r line || [ -n "$line" ]; do
      line="${line%%#*}"
      line="$(echo "$line" | xargs)"
      [ -n "$line" ] && files+=("$line")
    done < "$2"
    ;;
  --changed)
    [ $# -eq 2 ] || usage
    while IFS= read -r f; do files+=("$f"); done < <(git diff --name-only --diff-filter=d "$2" -- \
      '*.cpp' '*.hpp' '*.cu' '*.cuh' '*.h' ':!tests/data/**')
    ;;
  --all)
    [ $# -eq 1 ] || usage
    while IFS= read -r f; do files+=("$f"); done < <(git ls-files -- '*.cpp' '*.hpp' '*.cu' '*.cuh' '*.h' \
      ':!tests/data/**')
    ;;
  -*) usage ;;
  *) files=("$@") ;;
esac

cf="${CLANG_FORMAT:-}"
if [ -z "$cf" ]; then
  for c in clang-format-14 clang-format; do
    if command -v "$c" > /dev/null && [[ "$("$c" --version)" == *"version 14."* ]]; then cf="$c"; break; fi
  done
fi
if [ -z "$cf" ]; then
  echo "check_format.sh: clang-format 14 not found (Debian: apt-get install clang-format-14; scripts/install-deps.sh)" >&2
  exit 1
fi

if [ ${#files[@]} -eq 0 ]; then
  echo "check_format.sh: no file to check"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  if [ ! -f "$f" ]; then
    echo "check_format.sh: $f: no such file" >&2
    bad+=("$f")
  elif ! "$cf" --dry-run -Werror --style=file "$f"; then
    bad+=("$f")
  fi
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format.sh: ${#bad[@]} of ${#files[@]} file(s) not formatted as .clang-format says (clang-format-14 -i FILE):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check_format.sh: ${#files[@]} file(s) formatted as .clang-format says"

#!/usr/bin/env bash
# The installed tree: `cmake --install build` into a temporary prefix, then a project outside
# the source tree (tests/install/consumer) built against it with find_package(dgeval) runs the
# example "mammoth" through the library, and the installed CLI runs it too. Run by
# scripts/test.sh after ctest, hence by .ci/run; needs the build of build/ (test.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f build/CMakeCache.txt ] || { echo "install.sh: build/ is not configured (run scripts/test.sh)" >&2; exit 1; }
prefix="$(mktemp -d "${TMPDIR:-/tmp}/dgeval-install.XXXXXX")"
trap 'rm -rf "$prefix"' EXIT

cmake --install build --prefix "$prefix/usr" >/dev/null
for f in bin/dgeval lib/libdgeval.a include/dgeval/dgeval.hpp lib/cmake/dgeval/dgevalConfig.cmake \
         lib/cmake/dgeval/dgevalConfigVersion.cmake lib/cmake/dgeval/dgevalTargets.cmake; do
  [ -e "$prefix/usr/$f" ] || { echo "install.sh: $f was not installed" >&2; exit 1; }
done

# The consumer, with the compiler of build/ and nothing of the source tree on its paths.
cxx="$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' build/CMakeCache.txt)"
cmake -S tests/install/consumer -B "$prefix/consumer" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix/usr" ${cxx:+-DCMAKE_CXX_COMPILER="$cxx"} >/dev/null
cmake --build "$prefix/consumer" >/dev/null
"$prefix/consumer/consumer"

# The installed CLI (exit status 0: the bound holds).
out="$("$prefix/usr/bin/dgeval" evaluate --example mammoth -q)"
grep -q '^  principals_welfare_regret   8$' <<<"$out" || {
  echo "install.sh: unexpected output of the installed dgeval:" >&2; echo "$out" >&2; exit 1; }
echo "install.sh: installed CLI and library OK"

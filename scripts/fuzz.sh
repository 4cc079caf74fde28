#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang and runs each parser's target (.nfg, .npy,
# .npz) for SECONDS seconds (default 60), starting from a seed corpus: fuzz/seeds/<target>, the
# fixtures of tests/data (tests/data/nfg: small files with every feature of real Gambit files)
# and the regression inputs of tests/data/fuzz-regressions/<target>.
# A crash stops the script with a non-zero status; the crashing input is left in
# build-fuzz/crash-*: fix the bug, then keep the input in tests/data/fuzz-regressions/<target>/
# (run by the normal test suite).
# Usage: bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
cxx="${FUZZ_CXX:-}"
if [ -z "$cxx" ]; then
  for c in clang++-14 clang++; do
    if command -v "$c" >/dev/null 2>&1; then cxx="$c"; break; fi
  done
fi
if [ -z "$cxx" ]; then
  echo "fuzz.sh: clang++ not found (install clang-14 and libclang-rt-14-dev: scripts/install-deps.sh)" >&2
  exit 1
fi
cmake -B build-fuzz -S fuzz -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)"

for target in nfg npy npz; do
  corpus="build-fuzz/corpus/$target"
  mkdir -p "$corpus"
  [ -d "fuzz/seeds/$target" ] && cp -f fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true
  cp -f tests/data/*."$target" "$corpus"/ 2>/dev/null || true
  [ -d "tests/data/$target" ] && cp -f tests/data/"$target"/*."$target" "$corpus"/ 2>/dev/null || true
  [ -d "tests/data/fuzz-regressions/$target" ] && cp -f tests/data/fuzz-regressions/"$target"/* "$corpus"/ 2>/dev/null || true
  echo "== fuzz_$target for ${seconds}s"
  log="build-fuzz/fuzz_$target.log"
  if ! "./build-fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/crash-$target-" "$corpus" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz.sh: fuzz_$target failed; the input is in build-fuzz/crash-$target-*" >&2
    exit 1
  fi
  grep -E "^(Done|stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)" "$log" || true
done
echo "fuzz.sh: all targets ran ${seconds}s without a crash"

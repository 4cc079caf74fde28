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
. scripts/fuzz_common.sh
fuzz_build fuzz.sh
export FUZZ_SEED_FIXTURE_DIRS=1

for target in nfg npy npz; do
  corpus="build-fuzz/corpus/$target"
  fuzz_seed "$corpus" "$target"
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

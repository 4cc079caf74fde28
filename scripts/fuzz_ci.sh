#!/usr/bin/env bash
# Deterministic fuzzing for CI: builds the libFuzzer targets of fuzz/ with clang (as
# scripts/fuzz.sh does) and runs each for a fixed number of inputs from a fixed seed, starting
# from the same corpus every time (fuzz/seeds, the fixtures of tests/data, the regression inputs
# of tests/data/fuzz-regressions): the same commit runs the same inputs. Memory is capped as a
# user's machine would cap it (-rss_limit_mb / -malloc_limit_mb 1024; fuzz_read_games sets the
# readers' budget to 256 MiB), so an allocation sized from the input before it is checked fails.
# About 3 to 4 minutes on 2 cores, build included.
#
# A crash, timeout or out-of-memory stops the script with a non-zero status; the input is copied
# to tests/data/fuzz-regressions/<target>/ (run by the normal test suite): fix the bug, then
# commit the input with the fix.
# Usage: bash scripts/fuzz_ci.sh [SCALE]   (SCALE multiplies the number of runs, default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-1}"
. scripts/fuzz_common.sh
fuzz_build fuzz_ci.sh

# Determinism: a fixed memory budget (DGEVAL_MEMORY_LIMIT, so that no target reads the machine's
# changing figures), no corpus reload, and address-space randomisation off where setarch allows
# it (libFuzzer's table of recent comparisons is keyed by code addresses).
export DGEVAL_MEMORY_LIMIT=256M
norand=()
if setarch "$(uname -m)" -R true >/dev/null 2>&1; then
  norand=(setarch "$(uname -m)" -R)
else
  echo "fuzz_ci.sh: setarch -R unavailable; the runs may differ slightly from one machine start to the next" >&2
fi

# target:runs (each about 20 to 60 s on 2 cores)
for spec in nfg:1000000 npy:2000000 npz:1200000 read_games:800000; do
  target="${spec%%:*}"
  runs=$(( ${spec##*:} * scale ))
  work="build-fuzz/ci/$target"
  rm -rf "$work"
  mkdir -p "$work/new"
  if [ "$target" = read_games ]; then
    fuzz_seed "$work/seed" nfg npy npz
  else
    fuzz_seed "$work/seed" "$target"
  fi
  [ -d "tests/data/fuzz-regressions/$target" ] && cp -f tests/data/fuzz-regressions/"$target"/* "$work/seed"/ 2>/dev/null || true
  echo "== fuzz_$target: $runs runs, seed 1"
  log="$work/log"
  if ! ${norand[@]+"${norand[@]}"} "./build-fuzz/fuzz_$target" -runs="$runs" -seed=1 -reload=0 -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
      -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$work/" "$work/new" "$work/seed" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    mkdir -p "tests/data/fuzz-regressions/$target"
    for a in "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-*; do
      [ -e "$a" ] || continue
      cp -f "$a" "tests/data/fuzz-regressions/$target/"
      echo "fuzz_ci.sh: fuzz_$target failed on tests/data/fuzz-regressions/$target/$(basename "$a")" >&2
    done
    exit 1
  fi
  grep -E "^(Done|stat::new_units_added|stat::peak_rss_mb)" "$log" || true
done
echo "fuzz_ci.sh: every target ran its inputs without a crash"

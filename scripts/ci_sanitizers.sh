#!/usr/bin/env bash
# CI's sanitizer stages (run by .ci/run after the Release build and its tests), from the presets
# of CMakePresets.json (clang++-14, -O1 -g, without the CUDA backend, so host/backends/cuda/no_cuda.cpp is
# compiled as on a machine without nvcc; warnings are errors, as in the Release build):
#   asan-ubsan  the library, the CLI and the tests under AddressSanitizer (leaks included) and
#               UndefinedBehaviorSanitizer: the whole ctest suite, the emulated CUDA tests
#               included (their threads are fibers, and ASan is told of every switch between
#               them: tests/test_cuda_emulation_fiber.hpp), but the real-GPU tests (label gpu),
#               which skip themselves anyway;
#   tsan        the same without the emulated CUDA tests (their threads are fibers on one
#               thread, with nothing for TSan to find) under ThreadSanitizer. Nearly every test
#               runs the thread pool (evaluate uses one thread per core by default); those
#               labelled threads vary the thread count, chunk games over threads and run the
#               experiments and writers (ctest --preset tsan -L threads runs only them).
# A finding stops the program that makes it: a test with status 86, or the CLI a test runs. As a
# test expecting the CLI to fail might take 86 for its failure, every report is also written to
# build-<preset>/sanitizer-logs, and any report there fails the stage.
# About 17 minutes on 2 cores, both builds included (on 2026-12-07 in a clean clone: asan-ubsan
# 10 min to build, 3 to test; tsan 2.5 to build, about 1 to test).
#
# Usage: bash scripts/ci_sanitizers.sh [asan-ubsan] [tsan]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(asan-ubsan tsan)

for preset in "${presets[@]}"; do
  case "$preset" in
    asan-ubsan | tsan) ;;
    *) echo "ci_sanitizers.sh: unknown preset '$preset' (asan-ubsan or tsan)" >&2; exit 2 ;;
  esac
  logs="$PWD/build-$preset/sanitizer-logs"
  echo "== $preset: configure and build"
  t0=$SECONDS
  cmake --preset "$preset" -DDGEVAL_WERROR=ON > /dev/null
  cmake --build --preset "$preset" -j"$jobs"
  t1=$SECONDS
  rm -rf "$logs"
  mkdir -p "$logs"
  echo "== $preset: tests"
  # The presets' options come first; log_path (appended, so it wins) sends every report to a
  # file of $logs as well as failing the program.
  rc=0
  ASAN_OPTIONS="log_path=$logs/asan" UBSAN_OPTIONS="log_path=$logs/ubsan" TSAN_OPTIONS="log_path=$logs/tsan" \
    ctest --preset "$preset" -j"$jobs" || rc=$?
  t2=$SECONDS
  # Every report ends with a line "SUMMARY: <sanitizer>: ..."; the files without one hold only
  # warnings (such as ASan's about swapcontext, where the emulation's fibers use ucontext: not on
  # x86-64 Linux).
  reports="$(grep -l '^SUMMARY: ' "$logs"/* 2> /dev/null || true)"
  if [ -n "$reports" ]; then
    echo "ci_sanitizers.sh: $preset: sanitizer reports:" >&2
    for f in $reports; do
      echo "---- $f" >&2
      cat "$f" >&2
    done
    rc=1
  fi
  echo "== $preset: build $((t1 - t0)) s, tests $((t2 - t1)) s"
  if [ "$rc" != 0 ]; then
    echo "ci_sanitizers.sh: $preset failed" >&2
    exit 1
  fi
done
echo "ci_sanitizers.sh: no sanitizer finding"

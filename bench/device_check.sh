#!/usr/bin/env bash
# device_check.sh OUTDIR [DEPS_PREFIX]
#
# The CUDA backend's check on a GPU machine, within 8 minutes on an H100:
#   1. configure and build in Release (sm_90, -lineinfo for readable sanitizer reports)
#   2. the whole ctest suite with DGEVAL_REQUIRE_GPU=1 (GPU tests fail instead of skipping)
#   3. compute-sanitizer memcheck, racecheck and synccheck over GPU tests at small sizes
#   4. the benchmark (bench/dgeval_bench), its table in OUTDIR/bench.md; tiny games again with a
#      lean selection of result columns (bench_lean.log), and generate-and-evaluate on the device
#      (bench_generate.log); the grid scan at 1000x (grid.log) and the bound surface at 10^8 games
#      (surface.log) and the inference experiment at 1000x (inference.log) on the device
#   5. if time is left, the > 2^31-outcome game test (DGEVAL_TEST_HUGE=1)
# Every log goes to OUTDIR; OUTDIR/summary.txt lists each step's status and time. Exit status 0
# when every step passed.
#
# DEPS_PREFIX (default: .deps in the repository) is a folder of unpacked Debian packages for
# what the GPU machine lacks (Random123, libzip; also GoogleTest and cxxopts). Prepare it on a
# machine with apt:
#   mkdir -p .deps/debs && cd .deps/debs && \
#   apt-get download librandom123-dev libzip-dev libzip4 libgtest-dev libcxxopts-dev && \
#   for f in *.deb; do dpkg -x "$f" ..; done
# (.deps is git-ignored: the device tool must be told to carry it.)
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 OUTDIR [DEPS_PREFIX]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
deps=${2:-$root/.deps}
build=${DGEVAL_CHECK_BUILD:-$root/build-device}
budget=${DGEVAL_CHECK_SECONDS:-470}
start=$SECONDS
status=0
: > "$out/summary.txt"

note() { echo "[$((SECONDS - start))s] $*" | tee -a "$out/summary.txt"; }
left() { echo $((budget - (SECONDS - start))); }
# step NAME LOG TIMEOUT CMD...: runs CMD with a timeout, logs to OUTDIR/LOG, records the status.
step() {
  local name=$1 log=$2 limit=$3
  shift 3
  if [ "$limit" -le 5 ]; then
    note "SKIP $name (no time left)"
    status=1
    return 1
  fi
  note "run  $name (timeout ${limit}s) > $log"
  local t0=$SECONDS
  timeout --signal=INT --kill-after=10 "$limit" "$@" > "$out/$log" 2>&1
  local rc=$?
  if [ $rc -eq 0 ]; then
    note "ok   $name ($((SECONDS - t0))s)"
  else
    note "FAIL $name (exit $rc, $((SECONDS - t0))s): see $log"
    tail -n 30 "$out/$log" | sed 's/^/       /' | tee -a "$out/summary.txt" > /dev/null
    status=1
  fi
  return $rc
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
  nvcc --version 2>&1 | tail -n 2 || true
} > "$out/machine.txt"
cat "$out/machine.txt" >> "$out/summary.txt"

# Dependencies from the prefix: CMake packages via CMAKE_PREFIX_PATH, Random123 by its include
# directory, libzip through pkg-config (its .pc says prefix=/usr: rewrite it to the prefix).
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 "-DCMAKE_CUDA_FLAGS=-lineinfo"
            -DDGEVAL_BUILD_PYTHON=OFF -DDGEVAL_EMULATED_TESTS=OFF)
if [ -d "$deps/usr" ]; then
  arch_lib="$deps/usr/lib/x86_64-linux-gnu"
  cmake_args+=("-DCMAKE_PREFIX_PATH=$deps/usr")
  [ -f "$deps/usr/include/Random123/philox.h" ] && cmake_args+=("-DRANDOM123_INCLUDE_DIR=$deps/usr/include")
  if [ -d "$arch_lib/pkgconfig" ]; then
    mkdir -p "$out/pkgconfig"
    for pc in "$arch_lib"/pkgconfig/*.pc; do
      sed "s|^prefix=.*|prefix=$deps/usr|" "$pc" > "$out/pkgconfig/$(basename "$pc")"
    done
    export PKG_CONFIG_PATH="$out/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  fi
  export LD_LIBRARY_PATH="$arch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  note "dependencies from $deps"
fi

jobs=$(nproc 2>/dev/null || echo 4)
step configure configure.log 120 cmake -B "$build" -S "$root" "${cmake_args[@]}" || { note "configure failed"; exit 1; }
step build build.log $(( $(left) - 240 > 60 ? $(left) - 240 : 60 )) cmake --build "$build" -j"$jobs" ||
  { note "build failed"; exit 1; }

tests="$build/tests/dgeval_tests"
export DGEVAL_REQUIRE_GPU=1
step ctest ctest.log $(( $(left) > 150 ? 150 : $(left) )) \
  ctest --test-dir "$build" --output-on-failure -j4 -E 'HugeGame'

sanitize() {  # sanitize TOOL FILTER LIMIT
  step "compute-sanitizer $1" "sanitizer-$1.log" "$3" env DGEVAL_TEST_SMALL=1 \
    compute-sanitizer --tool "$1" --error-exitcode 86 --print-limit 20 "$tests" --gtest_filter="$2"
}
if command -v compute-sanitizer > /dev/null; then
  sanitize memcheck 'CudaVsCpu.*:-*HugeGame*:*EveryStrategy*:*Awkward*' $(( $(left) - 150 > 30 ? 90 : 30 ))
  sanitize racecheck 'CudaVsCpu.EveryPathForcedAtSmallSizes' $(( $(left) - 120 > 30 ? 75 : 30 ))
  sanitize synccheck 'CudaVsCpu.EveryPathForcedAtSmallSizes' $(( $(left) - 100 > 20 ? 40 : 20 ))
else
  note "FAIL compute-sanitizer not found on PATH"
  status=1
fi

bench_limit=$(( $(left) - 20 ))
[ $bench_limit -gt 150 ] && bench_limit=150
if step bench bench.log "$bench_limit" "$build/bench/dgeval_bench" --repeats 10 --warmup 2 --cpu-gib 0.125; then
  grep '^|' "$out/bench.log" > "$out/bench.md" || true
fi
# Tiny games with a lean selection of result columns (the default writes ~2x the input for 3x3).
lean_limit=$(( $(left) - 140 ))
[ $lean_limit -gt 40 ] && lean_limit=40
if [ $lean_limit -gt 15 ]; then
  step "bench, lean columns" bench_lean.log "$lean_limit" "$build/bench/dgeval_bench" --workloads 3x3,5x5x4 \
    --columns ia,ca_principals,ca_agents,principals_welfare_regret,bound --repeats 10 --warmup 2 --no-cpu || true
fi

# Generate and evaluate on the device (uniform, plain and controlled generators) against evaluation alone.
gen_limit=$(( $(left) - 100 ))
[ $gen_limit -gt 60 ] && gen_limit=60
if [ $gen_limit -gt 20 ]; then
  step "bench, generate and evaluate" bench_generate.log "$gen_limit" "$build/bench/dgeval_bench" --generate \
    --input-gib 0.5 --repeats 3 --warmup 1 --cpu-gib 0.0156 --cpu-repeats 1 || true
fi

# The grid scan of the main text at 1000x (2.6 million games) on the device.
grid_limit=$(( $(left) - 90 ))
[ $grid_limit -gt 45 ] && grid_limit=45
if [ $grid_limit -gt 15 ]; then
  step "grid scan, main preset at 1000x on the GPU" grid.log "$grid_limit" "$build/dgeval" experiment grid-scan \
    --scale 1000 --backend cuda -o "$out/grid_1000x.csv" || true
fi

# The bound surface at 10^8 games, generated and evaluated on the device (issue: experiments).
surf_limit=$(( $(left) - 60 ))
[ $surf_limit -gt 60 ] && surf_limit=60
if [ $surf_limit -gt 20 ]; then
  step "bound surface, 10^8 games on the GPU" surface.log "$surf_limit" "$build/dgeval" experiment bound-surface \
    --games 100000000 --backend cuda --calibration 2,1,1,0.5 -o "$out/surface_1e8.csv" || true
fi

# The inference experiment at 1000x (25,000 games per size) on the device.
inf_limit=$(( $(left) - 30 ))
[ $inf_limit -gt 60 ] && inf_limit=60
if [ $inf_limit -gt 15 ]; then
  step "inference experiment at 1000x on the GPU" inference.log "$inf_limit" "$build/dgeval" experiment inference \
    --games 25000 --backend cuda -o "$out/inference_curves_25000.csv" || true
fi

huge_limit=$(( $(left) - 5 ))
if [ "$huge_limit" -gt 120 ]; then
  step "huge game (> 2^31 outcomes)" huge.log "$huge_limit" env DGEVAL_TEST_HUGE=1 "$tests" \
    --gtest_filter='CudaVsCpu.HugeGamePastTwoToThe31Outcomes' || true
else
  note "skip huge game test (${huge_limit}s left; run it alone: DGEVAL_TEST_HUGE=1 $tests --gtest_filter='*HugeGame*')"
fi

note "done, status $status"
exit $status

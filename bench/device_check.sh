#!/usr/bin/env bash
# device_check.sh OUT
#
# The CUDA backend's check on a GPU machine, in one run that ends within 6 minutes and cannot lose
# its results. Nothing is built there: bench/prepare_device.sh builds the binaries here into
# .device/ (binaries and the shared libraries the machine lacks), and the device tool carries that
# folder with the working tree. docs/PERFORMANCE.md, "Running the check on a GPU machine", gives
# the two steps.
#
# Steps, each under `timeout` with a limit taken from the time left (a global deadline):
#   1. preflight: .device is there, nvidia-smi sees a GPU, `ldd` of every binary (with
#      LD_LIBRARY_PATH=.device/lib) finds every library, and dgeval_bench --require-gpu can use the
#      GPU. If any of these fails the run stops there, with one line saying why in OUT/summary.txt.
#   2. the benchmark at --quick sizes (--require-gpu): its table is OUT/bench.md
#   3. the GPU tests (dgeval_tests: Cuda.*, CudaVsCpu.*, and TestPaths.*, which checks that the tests
#      find tests/data here) with DGEVAL_REQUIRE_GPU=1
#   4. Nsight Compute (ncu --clock-control none), one evaluation of each bench workload: the first
#      16 evaluation kernels of each, with the SpeedOfLight, Occupancy and LaunchStats sections and
#      the DRAM byte counters; bench/ncu_summary.py makes one table of them (bench.md). SKIP when
#      ncu is missing or cannot read the counters, or for the workloads no time is left for.
#   5. one small case (CudaVsCpu.EveryPathAndTilingMatchCpu, DGEVAL_TEST_SMALL=1) under each
#      compute-sanitizer tool: memcheck, racecheck, synccheck, initcheck. SKIP, not FAIL, when no
#      time is left, when a tool does not finish within its share of the time, or when
#      compute-sanitizer is missing or refuses the device.
#   6. if time is left, in order: the vectorised baseline against dgeval on the same inputs
#      (bench/compare_baseline.sh, 64 MiB per workload; JAX on the GPU if importable), the
#      benchmark at full size, the lean columns, generate-and-evaluate, and the experiments on the
#      device (grid scan at 1000x, bound surface at 10^8 games, inference at 1000x).
#
# OUT gets three files, written as placeholders first and rewritten after every step:
#   summary.txt  RESULT line, one line per step (ok / FAIL / SKIP / not run, with times), the
#                machine (GPU, driver, nvcc, compute-sanitizer) and the build (.device/BUILD_INFO)
#   bench.md     the benchmark tables (quick; ncu; baseline comparison, full size if they ran)
#   logs.tgz     every step's log and the experiments' CSV files
# The summary and bench.md are printed last, so they are what the device tool's output tail shows.
#
# Exit status: 0 when every step ran and passed; 1 when one failed (the preflight included);
# 2 when none failed but some did not run (no time left, no compute-sanitizer).
#
# Environment: DGEVAL_CHECK_SECONDS (the deadline, default 360), DGEVAL_DEVICE_DIR (default .device).
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUT" >&2
  exit 64
fi
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
dev=${DGEVAL_DEVICE_DIR:-$root/.device}
budget=${DGEVAL_CHECK_SECONDS:-360}
reserve=12  # seconds kept for packing the logs and printing
start=$SECONDS
logs=$(mktemp -d "${TMPDIR:-/tmp}/dgeval-check.XXXXXX")
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

printf 'dgeval device check started %s: did not finish (killed before its end?); logs.tgz has the logs so far\n' \
  "$started" > "$out/summary.txt"
printf '# dgeval_bench\n\nNot run: see summary.txt.\n' > "$out/bench.md"

steps=()        # one line per step, in order
failed=0
notrun=0
stop_reason=""  # set when the preflight stops the run
bin="$dev/bin"
# dgeval's binaries, and only they (and compute-sanitizer, which hands its environment to them),
# run with the carried libraries first on the search path.
libs=(env "LD_LIBRARY_PATH=$dev/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")

elapsed() { echo $((SECONDS - start)); }
left() { echo $((budget - reserve - (SECONDS - start))); }
say() { echo "[$(elapsed)s] $*"; }

write_summary() {
  local result
  if [ -n "$stop_reason" ]; then
    result="FAIL: $stop_reason"
  elif [ "$failed" -gt 0 ]; then
    result="FAIL: $failed step(s) failed"
    [ "$notrun" -gt 0 ] && result="$result, $notrun not run"
  elif [ "$notrun" -gt 0 ]; then
    result="INCOMPLETE: nothing failed, $notrun step(s) not run"
  else
    result="PASS: every step ran and passed"
  fi
  {
    echo "RESULT: $result"
    echo "dgeval device check, started $started, $(elapsed)s of a ${budget}s deadline"
    echo
    printf '%s\n' "${steps[@]}"
    echo
    [ -f "$logs/machine.txt" ] && cat "$logs/machine.txt"
  } > "$out/summary.txt"
}
pack_logs() { tar -czf "$out/logs.tgz.part" -C "$logs" . 2>/dev/null && mv -f "$out/logs.tgz.part" "$out/logs.tgz"; }
record() {  # record LINE [EXCERPT_FILE]: a step's line (and a few lines of its log)
  steps+=("$1")
  say "$1"
  if [ $# -gt 1 ] && [ -s "$2" ]; then
    while IFS= read -r l; do steps+=("      ${l:0:200}"); done < "$2"
  fi
  write_summary
  pack_logs
}
not_run() { notrun=$((notrun + 1)); record "SKIP $1"; }

# cap CAP MIN: the limit for a step, from the time left (0 when under MIN)
cap() {
  local c=$1 l
  l=$(left)
  [ "$l" -lt "$c" ] && c=$l
  [ "$c" -lt "$2" ] && c=0
  echo "$c"
}

# run NAME LOG LIMIT CMD...: runs CMD under timeout, logging to LOG; sets rc and took.
run() {
  local name=$1 log=$2 limit=$3
  shift 3
  say "run  $name (limit ${limit}s)"
  local t0=$SECONDS
  timeout --kill-after=5 "$limit" "$@" > "$logs/$log" 2>&1
  rc=$?
  took=$((SECONDS - t0))
}

# step NAME LOG CAP MIN CMD...: a plain step, ok or FAIL (SKIP when no time is left).
step() {
  local name=$1 log=$2 limit
  limit=$(cap "$3" "$4")
  shift 4
  if [ "$limit" -eq 0 ]; then
    not_run "$name: no time left ($(left)s)"
    return 2
  fi
  run "$name" "$log" "$limit" "$@"
  if [ "$rc" -eq 0 ]; then
    record "ok   $name (${took}s)"
    return 0
  fi
  failed=$((failed + 1))
  local why="exit $rc"
  [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why="timed out at ${limit}s"
  grep -E '^\[  FAILED  \]|: Failure$|error' "$logs/$log" | head -n 8 > "$logs/.excerpt" || true
  [ -s "$logs/.excerpt" ] || tail -n 8 "$logs/$log" > "$logs/.excerpt"
  record "FAIL $name ($why, ${took}s): see $log in logs.tgz" "$logs/.excerpt"
  return 1
}

finish() {
  trap - EXIT INT TERM
  write_summary
  # bench.md: the quick table, then the others that ran.
  {
    if [ -s "$logs/bench_quick.md" ]; then
      echo "# dgeval_bench --quick"
      echo
      cat "$logs/bench_quick.md"
    else
      echo "# dgeval_bench"
      echo
      echo "Not run or failed: see summary.txt."
    fi
    for part in ncu:"Nsight Compute, one evaluation per workload (bench/ncu_summary.py)" \
                baseline:"Vectorised baseline against dgeval (bench/compare_baseline.sh)" \
                bench_full:"dgeval_bench, full size" bench_lean:"dgeval_bench, lean columns" \
                bench_generate:"dgeval_bench --generate"; do
      [ -s "$logs/${part%%:*}.md" ] || continue
      echo
      echo "## ${part#*:}"
      echo
      cat "$logs/${part%%:*}.md"
    done
  } > "$out/bench.md"
  pack_logs
  rm -rf "$logs"
  echo
  echo "==================== $out/summary.txt"
  cat "$out/summary.txt"
  echo "==================== $out/bench.md"
  cat "$out/bench.md"
  echo "===================="
  head -n 1 "$out/summary.txt"
  if [ "$failed" -gt 0 ] || [ -n "$stop_reason" ]; then exit 1; fi
  [ "$notrun" -gt 0 ] && exit 2
  exit 0
}
trap 'stop_reason="${stop_reason:-interrupted}"; finish' INT TERM
trap finish EXIT

# Stops the run in the preflight: one clear line, and every later step listed as not run.
stop() {
  stop_reason=$1
  record "FAIL preflight: $1"
  for s in "benchmark (--quick)" "GPU tests" "Nsight Compute" "compute-sanitizer memcheck" "compute-sanitizer racecheck" \
           "compute-sanitizer synccheck" "compute-sanitizer initcheck"; do
    notrun=$((notrun + 1))
    steps+=("SKIP $s: not run (preflight failed)")
  done
  finish
}

# ---------------------------------------------------------------------------------------------
# 1. Preflight

{
  echo "machine: $(uname -n), $(nproc) CPUs, $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), $(ldd --version 2>/dev/null | head -n 1)"
  echo "gpu: $(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n 2 | paste -sd ';' || true)"
  echo "nvcc: $(nvcc --version 2>/dev/null | tail -n 1 || echo none)"
  echo "compute-sanitizer: $(compute-sanitizer --version 2>/dev/null | tail -n 1 || echo none)"
  if [ -f "$dev/BUILD_INFO" ]; then sed 's/^/build: /' "$dev/BUILD_INFO"; else echo "build: no $dev/BUILD_INFO"; fi
} > "$logs/machine.txt" 2>&1

for b in dgeval dgeval_tests dgeval_bench; do
  [ -x "$bin/$b" ] || stop "$bin/$b is missing: run bash bench/prepare_device.sh on the build machine and carry .device"
done
if ! command -v nvidia-smi > /dev/null; then
  stop "no GPU: nvidia-smi not found"
fi
if ! timeout 20 nvidia-smi -L > "$logs/nvidia-smi.log" 2>&1 || ! grep -q '^GPU ' "$logs/nvidia-smi.log"; then
  stop "no GPU: nvidia-smi lists none ($(head -n 1 "$logs/nvidia-smi.log"))"
fi
missing=""
for b in dgeval dgeval_tests dgeval_bench; do
  "${libs[@]}" ldd "$bin/$b" > "$logs/ldd-$b.log" 2>&1
  m=$(awk '/not found/ { print $1 }' "$logs/ldd-$b.log" | paste -sd ' ')
  [ -n "$m" ] && missing="$missing $m (needed by $b);"
done
[ -n "$missing" ] && stop "missing libraries:$missing add them to .device/lib (bench/prepare_device.sh)"
if ! timeout 60 "${libs[@]}" "$bin/dgeval_bench" --require-gpu --no-cpu --workloads 3x3 --input-gib 0.0001 --repeats 1 --warmup 0 \
     > "$logs/probe.log" 2>&1; then
  stop "dgeval cannot use the GPU: $(grep -m 1 -E 'dgeval_bench|error' "$logs/probe.log" || tail -n 1 "$logs/probe.log")"
fi
record "ok   preflight: $(head -n 1 "$logs/nvidia-smi.log"), every library found, dgeval runs its kernels"

# ---------------------------------------------------------------------------------------------
# 2. The benchmark at quick sizes

if step "benchmark (--quick)" bench_quick.log 90 20 "${libs[@]}" "$bin/dgeval_bench" --require-gpu --quick --repeats 10 --warmup 2 \
     --cpu-gib 0.0156 --cpu-repeats 1; then
  grep -v '^|' "$logs/bench_quick.log" | grep -v '^$' | sed 's/^/    /' > "$logs/bench_quick.md"
  echo >> "$logs/bench_quick.md"
  grep '^|' "$logs/bench_quick.log" >> "$logs/bench_quick.md"
fi

# ---------------------------------------------------------------------------------------------
# 3. The GPU tests

export DGEVAL_SOURCE_DIR="$root" DGEVAL_TEST_CLI="$bin/dgeval"
step "GPU tests (Cuda.*, CudaVsCpu.*, TestPaths.*; DGEVAL_REQUIRE_GPU=1)" gpu_tests.log 150 30 \
  "${libs[@]}" DGEVAL_REQUIRE_GPU=1 "$bin/dgeval_tests" --gtest_filter='Cuda.*:CudaVsCpu.*:TestPaths.*:-*HugeGame*'

# ---------------------------------------------------------------------------------------------
# 4. Nsight Compute: where each workload's time goes (docs/PERFORMANCE.md explains the workloads
#    below the copy bandwidth from these figures)

# ncu's refusals: no access to the counters, or a device or driver it does not support.
ncu_refused='ERR_NVGPUCTRPERM|LibraryNotLoaded|Failed to initialize|not supported|unsupported|permission'
ncu_kernels='regex:evaluate|tiled_|cluster|two_player|sweep'
ncu_workloads=(3x3 5x5x4 6x7x4x6 7x3x8x5x12 15x7x3x7x9x5 4096x4096 16384x16384)
ncu_cap=120  # seconds for all of them
if ! command -v ncu > /dev/null; then
  not_run "Nsight Compute: ncu not found"
else
  ncu_end=$((SECONDS + ncu_cap))
  profiled=() ncu_bad=() ncu_skipped=() ncu_why=""
  for w in "${ncu_workloads[@]}"; do
    share=$(( (ncu_end - SECONDS) < $(left) ? (ncu_end - SECONDS) : $(left) ))
    [ "$share" -gt 40 ] && share=40
    if [ "$share" -lt 10 ] || [ -n "$ncu_why" ]; then
      ncu_skipped+=("$w")
      continue
    fi
    run "ncu $w" "ncu-$w.log" "$share" "${libs[@]}" ncu --clock-control none --section SpeedOfLight --section Occupancy \
      --section LaunchStats --metrics dram__bytes_read.sum,dram__bytes_write.sum -k "$ncu_kernels" -c 16 \
      --export "$logs/ncu-$w" --force-overwrite \
      "$bin/dgeval_bench" --require-gpu --no-cpu --workloads "$w" --input-gib 0.25 --repeats 1 --warmup 0
    if [ "$rc" -eq 0 ] && [ -s "$logs/ncu-$w.ncu-rep" ] &&
       ncu --import "$logs/ncu-$w.ncu-rep" --csv --page raw --print-units base > "$logs/ncu-$w.csv" 2>> "$logs/ncu-$w.log"; then
      profiled+=("$logs/ncu-$w.csv")
      rm -f "$logs/ncu-$w.ncu-rep"  # the CSV holds what the table needs; the reports would swell logs.tgz
    elif grep -qiE "$ncu_refused" "$logs/ncu-$w.log"; then
      ncu_why=$(grep -m 1 -iE "$ncu_refused" "$logs/ncu-$w.log" | head -c 200)
      ncu_skipped+=("$w")
    else
      ncu_bad+=("$w (exit $rc, ${took}s)")
    fi
  done
  if [ ${#profiled[@]} -gt 0 ]; then
    python3 "$root/bench/ncu_summary.py" "${profiled[@]}" > "$logs/ncu.md" 2>> "$logs/ncu-summary.log" ||
      ncu_bad+=("the summary (see ncu-summary.log)")
  fi
  if [ -n "$ncu_why" ] && [ ${#profiled[@]} -eq 0 ]; then
    not_run "Nsight Compute: refused: $ncu_why"
  elif [ ${#ncu_bad[@]} -gt 0 ]; then
    failed=$((failed + 1))
    record "FAIL Nsight Compute: ${ncu_bad[*]}: see ncu-*.log in logs.tgz"
  elif [ ${#ncu_skipped[@]} -gt 0 ]; then
    not_run "Nsight Compute: ${#profiled[@]} workload(s) profiled, not ${ncu_skipped[*]} (${ncu_why:-no time left})"
  else
    record "ok   Nsight Compute: ${#profiled[@]} workloads profiled"
  fi
fi

# ---------------------------------------------------------------------------------------------
# 5. compute-sanitizer, one small case per tool

tools=(memcheck racecheck synccheck initcheck)
# compute-sanitizer's own refusals (an unsupported device or driver, no debugger interface, a
# program it could not attach to); the same test binary has passed without it above.
refused='not supported|unsupported|not available|Internal Sanitizer Error|Unable to (attach|find|load|initialize)|Could not|permission|first instrumented API call|Debugger'
sanitizer_case='CudaVsCpu.EveryPathAndTilingMatchCpu'
if ! command -v compute-sanitizer > /dev/null; then
  for t in "${tools[@]}"; do not_run "compute-sanitizer $t: compute-sanitizer not found"; done
else
  i=0
  for t in "${tools[@]}"; do
    share=$(( $(left) / (${#tools[@]} - i) ))
    i=$((i + 1))
    [ "$share" -gt 75 ] && share=75
    if [ "$share" -lt 15 ]; then
      not_run "compute-sanitizer $t: no time left ($(left)s)"
      continue
    fi
    run "compute-sanitizer $t" "sanitizer-$t.log" "$share" "${libs[@]}" DGEVAL_TEST_SMALL=1 DGEVAL_REQUIRE_GPU=1 \
      compute-sanitizer --tool "$t" --error-exitcode 86 --print-limit 20 "$bin/dgeval_tests" --gtest_filter="$sanitizer_case"
    log="$logs/sanitizer-$t.log"
    if [ "$rc" -eq 0 ]; then
      record "ok   compute-sanitizer $t, $sanitizer_case (${took}s): $(grep -m 1 'ERROR SUMMARY' "$log" | sed 's/^=* *//')"
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      not_run "compute-sanitizer $t: did not finish within its ${share}s share of the time"
    elif [ "$rc" -eq 86 ]; then
      failed=$((failed + 1))
      grep -E '^=+ +(Error|Invalid|Race|Barrier|Uninitialized|Program hit|ERROR SUMMARY|Warning|[A-Z][a-z]+ (error|hazard))' "$log" | head -n 8 > "$logs/.excerpt"
      record "FAIL compute-sanitizer $t: errors reported (${took}s): see sanitizer-$t.log in logs.tgz" "$logs/.excerpt"
    elif grep -qiE "$refused" "$log"; then
      grep -m 1 -iE "$refused" "$log" > "$logs/.excerpt"
      not_run "compute-sanitizer $t: refused the device or the program: $(head -c 200 "$logs/.excerpt")"
    else
      failed=$((failed + 1))
      { grep -E '^\[  FAILED  \]' "$log" | head -n 4; tail -n 4 "$log"; } > "$logs/.excerpt"
      record "FAIL compute-sanitizer $t: the test failed under the tool (exit $rc, ${took}s): see sanitizer-$t.log" "$logs/.excerpt"
    fi
  done
fi

# ---------------------------------------------------------------------------------------------
# 6. The rest, while time is left

# (about 40 s on 2 CPU cores without a GPU; the NumPy runs dominate)
step "baseline against dgeval (bench/compare_baseline.sh, 64 MiB per workload)" baseline.log 120 60 \
  bash "$root/bench/compare_baseline.sh" --bench "$bin/dgeval_bench" --lib "$dev/lib" --repeats 2 --md "$logs/baseline.md"
if step "benchmark, full size" bench_full.log 120 60 "${libs[@]}" "$bin/dgeval_bench" --require-gpu --repeats 10 --warmup 2 \
     --cpu-gib 0.0625 --cpu-repeats 1; then
  grep '^|' "$logs/bench_full.log" > "$logs/bench_full.md"
fi
if step "benchmark, lean columns (3x3, 5x5x4)" bench_lean.log 40 15 "${libs[@]}" "$bin/dgeval_bench" --require-gpu \
     --workloads 3x3,5x5x4 --columns ia,ca_principals,ca_agents,principals_welfare_regret,bound --repeats 10 --warmup 2 --no-cpu; then
  grep '^|' "$logs/bench_lean.log" > "$logs/bench_lean.md"
fi
if step "benchmark, generate and evaluate" bench_generate.log 60 20 "${libs[@]}" "$bin/dgeval_bench" --require-gpu --generate \
     --input-gib 0.5 --repeats 3 --warmup 1 --cpu-gib 0.0156 --cpu-repeats 1; then
  grep '^|' "$logs/bench_generate.log" > "$logs/bench_generate.md"
fi
step "grid scan, main preset at 1000x on the GPU" grid.log 45 15 "${libs[@]}" "$bin/dgeval" experiment grid-scan \
  --scale 1000 --backend cuda -o "$logs/grid_1000x.csv"
step "bound surface, 10^8 games on the GPU" surface.log 60 20 "${libs[@]}" "$bin/dgeval" experiment bound-surface \
  --games 100000000 --backend cuda --calibration 2,1,1,0.5 -o "$logs/surface_1e8.csv"
step "inference experiment at 1000x on the GPU" inference.log 60 15 "${libs[@]}" "$bin/dgeval" experiment inference \
  --games 25000 --backend cuda -o "$logs/inference_curves_25000.csv"

finish

#!/usr/bin/env bash
# bench/device_check.sh fails quickly and plainly where it cannot check a GPU, and never loses its
# results: bench/prepare_device.sh collects the binaries of build/ (--no-build: no second build)
# into a temporary .device, then device_check.sh runs with no nvidia-smi (if this machine has
# none), with an nvidia-smi that cannot reach a driver, with one that lists a GPU dgeval cannot
# use (when there is no usable GPU here), and without .device. Each run must end within a minute
# with a non-zero exit status, OUT/summary.txt whose first line says why (e.g. "no GPU"),
# OUT/bench.md and OUT/logs.tgz, at most 8 files 2 levels deep, and the summary printed last.
# Then a whole run on stubs of a GPU machine (binaries, nvidia-smi, ncu, compute-sanitizer) reports
# every step: passed, failed and skipped.
# Run by scripts/test.sh after ctest, hence by .ci/run; a few seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x build/bench/dgeval_bench ] || { echo "device-check.sh: build/ is not built (run scripts/test.sh)" >&2; exit 1; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/dgeval-devcheck.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# The build/ of CI may hold every architecture and the emulated tests: no 40 MiB limit here.
bash bench/prepare_device.sh --build build --no-build --out "$tmp/device" --max-mib 400
for f in bin/dgeval bin/dgeval_tests bin/dgeval_bench BUILD_INFO; do
  [ -e "$tmp/device/$f" ] || { echo "device-check.sh: prepare_device.sh made no $f" >&2; exit 1; }
done
LD_LIBRARY_PATH="$tmp/device/lib" "$tmp/device/bin/dgeval" evaluate --example mammoth -q > /dev/null

fail() { echo "device-check.sh: $*" >&2; exit 1; }

# The Nsight Compute step profiles every evaluation kernel: each kernel of the resources record
# other than the generators', the conversion and the division check must match the step's kernel
# filter.
ncu_regex=$(sed -n "s/^ncu_kernels='regex:\(.*\)'$/\1/p" bench/device_check.sh)
[ -n "$ncu_regex" ] || fail "no ncu_kernels='regex:...' line in bench/device_check.sh"
while IFS=$'\t' read -r kernel _; do
  case $kernel in kernel | generate_* | inference_* | surface_* | random_uniform_* | convert_* | division_*) continue ;; esac
  [[ $kernel =~ $ncu_regex ]] || fail "the Nsight Compute step's filter ($ncu_regex) misses $kernel"
done < tests/data/kernel_resources_sm90.tsv
# expect NAME PATTERN [env...]: runs the check, which must fail within 60 s saying PATTERN.
expect() {
  local name=$1 pattern=$2
  shift 2
  local out="$tmp/out-$name" t0=$SECONDS rc=0
  env "$@" DGEVAL_DEVICE_DIR="${DEVICE_DIR:-$tmp/device}" timeout 90 bash bench/device_check.sh "$out" \
    > "$tmp/$name.log" 2>&1 || rc=$?
  local took=$((SECONDS - t0))
  [ "$rc" -ne 0 ] || fail "$name: exit status 0"
  [ "$rc" -ne 124 ] || fail "$name: did not end within 90 s"
  [ "$took" -lt 60 ] || fail "$name: took ${took}s"
  [ -s "$out/summary.txt" ] && [ -s "$out/bench.md" ] && [ -s "$out/logs.tgz" ] || fail "$name: OUT lacks a file: $(ls "$out")"
  [ "$(find "$out" -type f | wc -l)" -le 8 ] || fail "$name: more than 8 files in OUT"
  [ -z "$(find "$out" -mindepth 3)" ] || fail "$name: OUT deeper than 2 levels"
  grep -m 1 . "$out/summary.txt" | grep "^RESULT: FAIL: .*$pattern" > /dev/null || fail "$name: summary does not say '$pattern': $(head -n 1 "$out/summary.txt")"
  [[ "$(tar -tzf "$out/logs.tgz")" == *machine.txt* ]] || fail "$name: logs.tgz has no machine.txt"
  [[ "$(tail -n 30 "$tmp/$name.log")" == *$'\n'"RESULT: FAIL"* ]] || fail "$name: the summary is not printed last"
  echo "device-check.sh: $name: exit $rc in ${took}s: $(head -n 1 "$out/summary.txt")"
}

python3 bench/ncu_summary.py --self-test 2> /dev/null || fail "bench/ncu_summary.py --self-test failed"

stubs="$tmp/stubs"
mkdir -p "$stubs/broken" "$stubs/listed"
printf '#!/bin/sh\necho "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver."\nexit 9\n' \
  > "$stubs/broken/nvidia-smi"
printf '#!/bin/sh\ncase "$*" in *-L*) echo "GPU 0: NVIDIA Stub (UUID: GPU-0)";; *) echo "NVIDIA Stub, 0.0, 1 MiB";; esac\n' \
  > "$stubs/listed/nvidia-smi"
chmod +x "$stubs"/*/nvidia-smi

if ! command -v nvidia-smi > /dev/null; then
  expect no-nvidia-smi "no GPU: nvidia-smi not found"
fi
expect driver-unreachable "no GPU: nvidia-smi lists none" PATH="$stubs/broken:$PATH"
if ! "$tmp/device/bin/dgeval_bench" --require-gpu --no-cpu --workloads 3x3 --input-gib 0.0001 --repeats 1 --warmup 0 \
     > /dev/null 2>&1; then
  expect gpu-unusable "dgeval cannot use the GPU: dgeval_bench: --require-gpu: no usable GPU" PATH="$stubs/listed:$PATH"
fi
DEVICE_DIR="$tmp/nothing" expect no-device-folder "bin/dgeval is missing"

# The whole run, on stubs of a GPU machine: binaries that succeed, a compute-sanitizer whose
# memcheck and initcheck pass, whose racecheck reports errors and which refuses synccheck, and a
# Python without NumPy for the baseline. Every step must be reported, the tables gathered.
fake="$tmp/fake"
mkdir -p "$fake/bin" "$fake/lib" "$stubs/gpu"
printf '#!/bin/sh
echo "device 0: Stub"
echo "| workload | path |"
echo "|---|---|"
echo "| 3x3 | quad team |"
' \
  > "$fake/bin/dgeval_bench"
printf '#!/bin/sh
echo "[  PASSED  ] 7 tests."
' > "$fake/bin/dgeval_tests"
printf '#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = -o ] && echo "x,y" > "$2"; shift; done
' > "$fake/bin/dgeval"
cat > "$stubs/gpu/compute-sanitizer" <<'STUB'
#!/bin/sh
case "$*" in
  *--version*) echo "Stub compute-sanitizer";;
  *memcheck*|*initcheck*) echo "========= ERROR SUMMARY: 0 errors";;
  *racecheck*) echo "========= Error: Race reported between Write access and Read access"; echo "========= ERROR SUMMARY: 1 error"; exit 86;;
  *synccheck*) echo "========= Internal Sanitizer Error: Device not supported"; exit 1;;
esac
STUB
# ncu: each profile "writes" its report; --import prints a raw page (bench/ncu_summary.py reads it).
cat > "$stubs/gpu/ncu" <<'STUB'
#!/bin/sh
case "$*" in
  *--import*) printf '"ID","Kernel Name","gpu__time_duration.sum","dram__bytes_read.sum"\n"","","nsecond","byte"\n"0","tiny_evaluate_kernel","2000","4000000"\n';;
  *) while [ $# -gt 0 ]; do [ "$1" = --export ] && echo report > "$2.ncu-rep"; shift; done;;
esac
STUB
cp "$stubs/listed/nvidia-smi" "$stubs/gpu/"
chmod +x "$fake"/bin/* "$stubs"/gpu/*
rc=0
env PATH="$stubs/gpu:$PATH" DGEVAL_DEVICE_DIR="$fake" DGEVAL_BENCH_PYTHON=/bin/false timeout 90 \
  bash bench/device_check.sh "$tmp/out-stubbed" > "$tmp/stubbed.log" 2>&1 || rc=$?
summary="$(cat "$tmp/out-stubbed/summary.txt")"
for line in "RESULT: FAIL: 2 step(s) failed, 1 not run" "ok   preflight: GPU 0: NVIDIA Stub" "ok   benchmark (--quick)" \
            "ok   GPU tests" "ok   Nsight Compute: 7 workloads profiled" "ok   compute-sanitizer memcheck" "FAIL compute-sanitizer racecheck: errors reported" \
            "Race reported" "SKIP compute-sanitizer synccheck: refused the device" "ok   compute-sanitizer initcheck" \
            "FAIL baseline against dgeval" "ok   benchmark, full size" "ok   inference experiment"; do
  [[ "$summary" == *"$line"* ]] || { cat "$tmp/stubbed.log" >&2; fail "stubbed-gpu: the summary lacks '$line'"; }
done
[ "$rc" = 1 ] || fail "stubbed-gpu: exit status $rc, not 1"
[ "$(grep -c '^| 3x3 | quad team |' "$tmp/out-stubbed/bench.md")" = 4 ] || fail "stubbed-gpu: bench.md lacks a table"
grep -q '^| 16384x16384 | tiny_evaluate_kernel | 1 | 2 | 4 |' "$tmp/out-stubbed/bench.md" ||
  fail "stubbed-gpu: bench.md lacks the Nsight Compute table"
[[ "$(tar -tzf "$tmp/out-stubbed/logs.tgz")" == *grid_1000x.csv* ]] || fail "stubbed-gpu: logs.tgz lacks the grid CSV"
echo "device-check.sh: stubbed-gpu: exit $rc: $(head -n 1 "$tmp/out-stubbed/summary.txt")"
echo "device-check.sh: OK"

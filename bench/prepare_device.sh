#!/usr/bin/env bash
# prepare_device.sh [--build DIR] [--no-build] [--out DIR] [--max-mib N]
#
# Builds here, on the machine with the toolchain and the libraries, what bench/device_check.sh
# runs on a GPU machine that has neither (no package registry, no libzip, no Random123), and puts
# it in one git-ignored folder the device tool carries (carry: [".device"]):
#
#   .device/bin/dgeval          the CLI
#   .device/bin/dgeval_tests    the test suite with the real GPU tests (the emulated ones left out)
#   .device/bin/dgeval_bench    the benchmark
#   .device/lib/                the shared libraries the GPU machine may lack (run with
#                               LD_LIBRARY_PATH=.device/lib); glibc, libstdc++, libgcc_s and the
#                               compression libraries dpkg itself needs are taken from the machine
#   .device/BUILD_INFO          commit, build folder, compiler, architectures, libraries carried
#
# Binaries are stripped. Built against this machine's glibc (2.36), they run on a newer one (the
# GPU machine's Ubuntu 24.04 has 2.39). The tests find tests/data at run time through
# DGEVAL_SOURCE_DIR (tests/test_paths.hpp), which device_check.sh sets to the repository root.
#
#   --build DIR   the build folder (default build-device: Release, sm_90 only, -lineinfo for the
#                 sanitizer's reports, device code compressed for size (--compress-mode=size: the
#                 driver of any CUDA 13 runtime, >= 580, decompresses it), Python and the emulated
#                 tests off). An existing folder is used as configured: --build build reuses the
#                 usual build.
#   --no-build    take the binaries from the build folder as they are (no cmake)
#   --out DIR     the folder made (default .device, replaced)
#   --max-mib N   refuse a folder over N MiB (default 40: the device tool carries 64 MiB in all)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-device"
out="$root/.device"
max_mib=40
do_build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$(realpath -m "$2"); shift 2 ;;
    --no-build) do_build=0; shift ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    --max-mib) max_mib=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "prepare_device.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ "$do_build" = 1 ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -B "$build" -S "$root" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
      "-DCMAKE_CUDA_FLAGS=-lineinfo --compress-mode=size" -DDGEVAL_BUILD_PYTHON=OFF -DDGEVAL_EMULATED_TESTS=OFF -DDGEVAL_INSTALL=OFF \
      -DDGEVAL_MPI=OFF  # the binaries travel to the GPU machine, which has no MPI
  else
    cmake -B "$build" -S "$root" -DDGEVAL_MPI=OFF >/dev/null  # a build folder configured before: no MPI either
  fi
  cmake --build "$build" -j"$(nproc)" --target dgeval dgeval_tests dgeval_bench
fi

bins=("$build/dgeval" "$build/tests/dgeval_tests" "$build/bench/dgeval_bench")
for b in "${bins[@]}"; do
  [ -x "$b" ] || { echo "prepare_device.sh: $b is missing (build it, or drop --no-build)" >&2; exit 1; }
done
sections=$(readelf -S "$build/bench/dgeval_bench")  # (not `| grep -q`: a SIGPIPE fails the pipe)
if [[ "$sections" != *nv_fatbin* ]]; then
  echo "prepare_device.sh: $build was built without CUDA (no device code in dgeval_bench)" >&2
  exit 1
fi

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
for b in "${bins[@]}"; do
  cp "$b" "$out/bin/"
  strip --strip-unneeded "$out/bin/$(basename "$b")"
done

# Libraries (libzip, Google Highway's libhwy, ...): everything the binaries load except what any Ubuntu 24.04 has (glibc's libraries,
# the C++ runtime, and zlib, bzip2, xz, zstd, which dpkg itself links). Carrying libstdc++ would
# also shadow the machine's newer one for compute-sanitizer, which runs with the same
# LD_LIBRARY_PATH.
on_machine='^(linux-vdso|ld-linux|libc|libm|libpthread|libdl|librt|libresolv|libutil|libstdc\+\+|libgcc_s|libz|libbz2|liblzma|libzstd)\.so'
carried=()
while read -r name path; do
  [[ "$name" =~ $on_machine ]] && continue
  [ -f "$path" ] || { echo "prepare_device.sh: $name not found here" >&2; exit 1; }
  cp -L "$path" "$out/lib/$name"
  carried+=("$name")
done < <(for b in "${bins[@]}"; do ldd "$b"; done |
         awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u)

{
  echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(ldd --version | head -n 1)"
  echo "build folder: $build"
  echo "type: $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")"
  echo "CUDA architectures: $(sed -n 's/^CMAKE_CUDA_ARCHITECTURES:[A-Z]*=//p' "$build/CMakeCache.txt")"
  echo "nvcc: $(nvcc --version 2>/dev/null | tail -n 1 || echo none)"
  echo "libraries carried: ${carried[*]:-none}"
} > "$out/BUILD_INFO"

kib=$(du -sk "$out" | cut -f1)
mib=$(( (kib + 1023) / 1024 ))
echo "prepare_device.sh: $out: ${mib} MiB ($(du -sk "$out/bin" | cut -f1) KiB binaries, $(du -sk "$out/lib" | cut -f1) KiB libraries: ${carried[*]:-none})"
if [ "$mib" -gt "$max_mib" ]; then
  echo "prepare_device.sh: $out is ${mib} MiB, over the ${max_mib} MiB limit" >&2
  exit 1
fi

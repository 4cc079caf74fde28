#!/usr/bin/env bash
# Installs dgeval's build and test dependencies from Debian/Ubuntu packages (and PyPI for the
# Python package). Safe to rerun. The CUDA toolkit is optional and not installed here: when
# nvcc is on PATH the CUDA backend is compiled too.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
packages=(
  cmake g++ make pkg-config
  libgtest-dev libgmock-dev   # GoogleTest
  libcxxopts-dev              # command line
  librandom123-dev            # counter-based random numbers (host and device)
  libzip-dev zlib1g-dev       # .npz files
  libhwy-dev                  # Google Highway: the CPU backend's small games, one per SIMD lane
  libopenmpi-dev openmpi-bin  # MPI: `mpirun -n R dgeval evaluate|generate` (optional at build time; docs/SCALING.md)
  clang-14 libclang-rt-14-dev # libFuzzer targets of the file parsers (scripts/fuzz.sh)
  clang-format-14             # scripts/check_format.sh
  python3 python3-pip python3-venv
)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

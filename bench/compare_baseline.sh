#!/usr/bin/env bash
# compare_baseline.sh [--bench PATH [--lib DIR]] [--peak-bench PATH] [--quick] [--mib N] [--repeats N] [--md FILE]
#
# dgeval against the vectorised baseline (bench/baseline.py: NumPy, and JAX when importable) on
# the same inputs, in one run: bench/compare_baseline.py with a Python that has NumPy. The Python
# is $DGEVAL_BENCH_PYTHON, else .venv-bench/bin/python if there (make it with
#   python3 -m venv .venv-bench && .venv-bench/bin/pip install numpy "jax[cpu]"
# ), else python3. The benchmark binary is --bench, else build/bench/dgeval_bench, else
# .device/bin/dgeval_bench (bench/prepare_device.sh). Prints a Markdown table (docs/PERFORMANCE.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${DGEVAL_BENCH_PYTHON:-}
if [ -z "$py" ]; then
  if [ -x "$root/.venv-bench/bin/python" ]; then py="$root/.venv-bench/bin/python"; else py=python3; fi
fi
args=("$@")
if [[ " $* " != *" --bench "* ]]; then
  if [ -x "$root/build/bench/dgeval_bench" ]; then
    args+=(--bench "$root/build/bench/dgeval_bench")
  elif [ -x "$root/.device/bin/dgeval_bench" ]; then
    args+=(--bench "$root/.device/bin/dgeval_bench" --lib "$root/.device/lib")
  fi
fi
"$py" -c 'import numpy' 2> /dev/null || { echo "compare_baseline.sh: $py has no numpy" >&2; exit 1; }
exec "$py" "$root/bench/compare_baseline.py" "${args[@]}"

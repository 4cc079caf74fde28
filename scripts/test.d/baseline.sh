#!/usr/bin/env bash
# The vectorised baseline (bench/baseline.py) agrees with dgeval on the same random games
# (bench/check_baseline.py: NumPy, and JAX when importable), and bench/compare_baseline.sh runs
# end to end on tiny inputs (its first table has a row per workload and dgeval's speed-ups, its
# second the fractions of the FP64 peak and of the copy bandwidth). Needs
# build/dgeval and build/bench/dgeval_bench (scripts/test.sh builds them) and a Python with NumPy:
# the virtual environment DGEVAL_PY_VENV (default .venv-py, as python.sh; created if missing).
# Run by scripts/test.sh after ctest, hence by .ci/run; about 20 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${DGEVAL_PY_VENV:-.venv-py}"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
py="$venv/bin/python"
"$py" -c 'import numpy' 2> /dev/null || "$py" -m pip install -q numpy

"$py" bench/check_baseline.py --cli "${DGEVAL_CLI:-build/dgeval}"

table="$(DGEVAL_BENCH_PYTHON="$py" bash bench/compare_baseline.sh --bench build/bench/dgeval_bench \
         --workloads 3x3,48x40 --mib 0.25 --repeats 1)"
rows="$(grep -cE '^\| (3x3|48x40) \|' <<<"$table" || true)"
speedups="$(grep -E '^\| (3x3|48x40) \|' <<<"$table" | grep -cE '\| [0-9.e+-]+ m?s \([0-9.e+]+x\) \|' || true)"
limits="$(grep -E '^\| (3x3|48x40) \|' <<<"$table" | grep -cE '\| [0-9.e+-]+% \| [0-9.e+-]+ \| [0-9.e+-]+% \|$' || true)"
if [ "$rows" != 4 ] || [ "$speedups" != 2 ] || [ "$limits" != 2 ]; then
  echo "baseline.sh: unexpected table from bench/compare_baseline.sh:" >&2
  echo "$table" >&2
  exit 1
fi
echo "baseline.sh: baseline agrees with dgeval; compare_baseline.sh OK"

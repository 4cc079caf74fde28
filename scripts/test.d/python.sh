#!/usr/bin/env bash
# The Python package: `pip install .` into a virtual environment, then its pytest suite
# (python/tests). Run by scripts/test.sh after ctest, hence by .ci/run.
#   DGEVAL_PY_VENV  the virtual environment (default .venv-py, created if missing)
#   PYTHON          the interpreter that creates it (default python3)
#   DGEVAL_CLI      the CLI binary the suite compares with (default build/dgeval if built)
#   DGEVAL_WERROR   ON: compiler warnings are errors in the wheel's build too (.ci/run sets it)
# The wheel is built in build-py/wheel so that reruns only recompile what changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${DGEVAL_PY_VENV:-.venv-py}"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
py="$(cd "$venv" && pwd)/bin/python"
"$py" -m pip install -q --upgrade pip
"$py" -m pip install -q numpy pytest pandas
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
"$py" -m pip install -q . -C build-dir=build-py/wheel -C cmake.define.DGEVAL_WERROR="${DGEVAL_WERROR:-OFF}"
if [ -z "${DGEVAL_CLI:-}" ] && [ -x build/dgeval ]; then
  export DGEVAL_CLI="$PWD/build/dgeval"
fi
"$py" -m pytest -q -p no:cacheprovider python/tests

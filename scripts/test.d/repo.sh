#!/usr/bin/env bash
# The repository stands on its own: scripts/check_repo.py checks itself on a temporary repository
# (--self-test), then this checkout (no tracked file outside tests/ names the folder beside the
# repository; every relative Markdown link resolves to a tracked file). Python 3 standard library
# only. Run by scripts/test.sh after ctest, hence by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 scripts/check_repo.py --self-test
python3 scripts/check_repo.py

#!/usr/bin/env bash
# Every `dgeval ...` command of the ```sh blocks of README.md and docs/*.md runs as written, in
# order, in a fresh copy of the repository, and writes nothing into it that .gitignore does not
# ignore (scripts/check_doc_commands.sh; commands documented as taking 10 s or more run scaled
# down unless DGEVAL_DOC_FULL=1). The checker checks itself first (--self-test). Needs build/dgeval
# (or DGEVAL_CLI). Run by scripts/test.sh after ctest, hence by .ci/run; about a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/check_doc_commands.sh --self-test
bash scripts/check_doc_commands.sh

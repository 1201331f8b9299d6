#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, the Pulumi CLI, lint, types,
# unit + emulator + end-to-end tests (the e2e tests run the real CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PULUMI_BIN=$(scripts/ensure-pulumi.sh | tail -n 1)
scripts/check-go.sh
export PATH="$PULUMI_BIN:$PWD/.venv/bin:$PATH"
export ZOMRO_PULUMI_BIN="$PULUMI_BIN"
.venv/bin/ruff check .
.venv/bin/mypy
[ $# -gt 0 ] || scripts/test-matrix.sh  # Python 3.10-3.13 and the oldest allowed pulumi (not on partial runs)
exec .venv/bin/python -m pytest "$@"

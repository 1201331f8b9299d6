#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, the Pulumi CLI, the project's Go
# checks, lint and types, the compatibility matrix, then unit + emulator, the
# generated SDKs, end-to-end (the real CLI) and packaging tests; last, the time
# of every tier.
#
#   scripts/test.sh                      # everything
#   scripts/test.sh tests/unit -k client # only pytest, with these arguments
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PULUMI_BIN=$(scripts/ensure-pulumi.sh | tail -n 1)
export PATH="$PULUMI_BIN:$PWD/.venv/bin:$PATH"
export ZOMRO_PULUMI_BIN="$PULUMI_BIN"

if [ $# -gt 0 ]; then  # a partial run: just pytest
  exec .venv/bin/python -m pytest "$@"
fi

tiers=()
timed() {  # timed NAME COMMAND...: run it, remember how long it took, pass on its status
  local name=$1 start=$SECONDS status=0
  shift
  echo "== $name" >&2
  # `|| status=$?`: called as `timed ... || x`, the function runs without `set -e`,
  # so its own last command must not hide the status of the tier.
  "$@" || status=$?
  tiers+=("$(printf '%-28s %5d s' "$name" $((SECONDS - start)))")
  return "$status"
}

total=$SECONDS
timed "go: gofmt, go vet" scripts/check-go.sh
timed "lint: ruff, mypy" sh -c '.venv/bin/ruff check . && .venv/bin/mypy'
timed "unit + emulator" .venv/bin/python -m pytest -q -n 2 tests/unit tests/emulator
timed "sdk (generated from schema)" .venv/bin/python -m pytest -q -rs tests/sdk
# The end-to-end tests mostly wait on the emulator's clock, so the compatibility
# matrix (its own virtualenvs, its own output file) runs beside them.
mkdir -p .matrix
(
  start=$SECONDS
  status=0
  scripts/test-matrix.sh || status=$?
  echo $((SECONDS - start)) >.matrix/last-run.seconds
  exit "$status"
) >.matrix/last-run.log 2>&1 &
matrix_pid=$!
e2e_ok=0
timed "end-to-end (real CLI)" .venv/bin/python -m pytest -q -rs -n 3 --dist loadfile tests/e2e || e2e_ok=$?
matrix_ok=0
wait "$matrix_pid" || matrix_ok=$?
tiers+=("$(printf '%-28s %5d s (beside the e2e tier)' "matrix: 3.10, 3.13, floor" "$(cat .matrix/last-run.seconds)")")
cat .matrix/last-run.log >&2
[ "$e2e_ok" -eq 0 ] && [ "$matrix_ok" -eq 0 ] || { echo "test: the e2e tier or the matrix failed" >&2; exit 1; }
timed "packaging (wheel, workflow)" .venv/bin/python -m pytest -q tests/packaging

echo "== time per tier" >&2
printf '%s\n' "${tiers[@]}" >&2
printf '%-28s %5d s\n' "total" $((SECONDS - total)) >&2

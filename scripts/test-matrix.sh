#!/usr/bin/env bash
# The compatibility matrix CI runs besides the main suite: what differs between
# Python and pulumi versions, and nothing else.
#   - On the oldest and the newest supported CPython (3.10, 3.13; the main suite
#     runs on the machine's python3, 3.11 here), the tests of the code whose
#     behaviour may change with the interpreter: the wire (ssl, urllib3), the
#     decoder, the field table and typed resource, the provider through the SDK's
#     gRPC servicer, the SDK reaches, settings and the emulator's command line.
#     The packaging tests install the wheel on both and run `pulumi up` with it.
#   - The tests that pin down the Pulumi SDK internals the provider relies on
#     (tests/unit/test_concurrency.py, test_grpc.py, test_engine.py, test_serve.py,
#     and the plugin's mapping, test_plugin.py) on the OLDEST
#     pulumi, requests and urllib3 that pyproject.toml allows, since the main
#     .venv gets the newest.
# Each leg installs only the `test` extra.
# Each leg has its own virtualenv under .matrix/ (git-ignored), re-used while
# pyproject.toml is unchanged (the same stamp idea as scripts/setup.sh).
# A missing interpreter is a failure: a matrix that silently shrinks proves nothing.
#
#   scripts/test-matrix.sh            # every leg
#   MATRIX_LEGS="3.13 floor" scripts/test-matrix.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

PYTHONS="3.10 3.13"
VERSION_TESTS=(
  tests/unit/test_client.py tests/unit/test_unreachable.py tests/unit/test_model.py
  tests/unit/test_check_diff.py tests/unit/test_resource.py tests/unit/test_provider.py
  tests/unit/test_grpc.py tests/unit/test_engine.py tests/unit/test_concurrency.py
  tests/unit/test_settings.py tests/emulator/test_cli.py tests/unit/test_serve.py tests/unit/test_plugin.py
)
LEGS=${MATRIX_LEGS:-"$PYTHONS floor"}
# The floor leg pairs the oldest allowed pulumi with the oldest supported Python.
FLOOR_PYTHON=${PYTHONS%% *}
FLOOR=$(sed -n 's/^ *"pulumi>=\([0-9][0-9.]*\),.*/\1/p' pyproject.toml)
# ... and with the oldest requests and urllib3 it allows.
FLOOR_REQUESTS=$(sed -n 's/^ *"requests>=\([0-9][0-9.]*\)".*/\1/p' pyproject.toml)
FLOOR_URLLIB3=$(sed -n 's/^ *"urllib3>=\([0-9][0-9.]*\)".*/\1/p' pyproject.toml)
if [ -z "$FLOOR" ] || [ -z "$FLOOR_REQUESTS" ] || [ -z "$FLOOR_URLLIB3" ]; then
  echo "test-matrix: no \"pulumi>=X,...\", \"requests>=X\" or \"urllib3>=X\" in pyproject.toml" >&2
  exit 1
fi

find_python() {  # find_python 3.X -> path of a working python3.X, or nothing
  local want=$1 candidate
  for candidate in "$HOME"/.pyenv/versions/"$want".*/bin/python"$want" "$(command -v "python$want" || true)"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    if [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then
      echo "$candidate"
      return 0
    fi
  done
}

prepare_venv() {  # prepare_venv DIR PYTHON [PIP CONSTRAINT...]
  local dir=$1 python=$2
  shift 2
  local stamp
  stamp="$dir/.zomro-matrix-$( (cat pyproject.toml; echo "$python" "$@") | sha256sum | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  echo "test-matrix: installing into $dir ($("$python" --version))" >&2
  rm -rf "$dir"
  "$python" -m venv "$dir"
  local constraints="$dir/constraints.txt"
  printf '%s\n' "$@" >"$constraints"
  "$dir/bin/python" -m pip install --quiet --upgrade pip >&2
  "$dir/bin/python" -m pip install --quiet -c "$constraints" -e ".[test]" >&2
  touch "$stamp"
}

failed=()
for leg in $LEGS; do
  if [ "$leg" = floor ]; then
    version=$FLOOR_PYTHON
    dir=".matrix/pulumi-$FLOOR-py$version"
    constraints=("pulumi==$FLOOR" "requests==$FLOOR_REQUESTS" "urllib3==$FLOOR_URLLIB3")
    tests=(tests/unit/test_concurrency.py tests/unit/test_grpc.py tests/unit/test_engine.py
      tests/unit/test_serve.py tests/unit/test_plugin.py)
  else
    version=$leg
    dir=".matrix/py$version"
    constraints=()
    tests=("${VERSION_TESTS[@]}")
  fi
  python=$(find_python "$version")
  if [ -z "$python" ]; then
    echo "test-matrix: FAILED leg $leg: no python$version interpreter found" >&2
    failed+=("$leg (no python$version)")
    continue
  fi
  start=$SECONDS
  if ! prepare_venv "$dir" "$python" "${constraints[@]}"; then
    failed+=("$leg (install)")
    continue
  fi
  pulumi_version=$("$dir/bin/python" -c 'import importlib.metadata as m; print(m.version("pulumi"))')
  echo "test-matrix: leg $leg: Python $version, pulumi $pulumi_version: ${tests[*]}" >&2
  # -p no:cacheprovider: the legs share the checkout; keep .pytest_cache to the main run.
  if "$dir/bin/python" -m pytest -q -p no:cacheprovider "${tests[@]}" >&2; then
    echo "test-matrix: leg $leg passed in $((SECONDS - start)) s" >&2
  else
    failed+=("$leg (tests)")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "test-matrix: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test-matrix: all legs passed ($LEGS)" >&2

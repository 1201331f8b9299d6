#!/usr/bin/env bash
# make-plugin.sh — the provider plugin as an archive that
#   pulumi plugin install resource zomro <version> --file <archive>
# accepts: dist/pulumi-resource-zomro-v<version>-<os>-<arch>.tar.gz, holding the
# `pulumi-resource-zomro` launcher and lib/ (the package and its dependencies, as
# pip installs them for this Python). The launcher runs lib/ with a CPython of the
# same minor version: $ZOMRO_PLUGIN_PYTHON, else the one that built the archive,
# else python3.<minor> on PATH; it says so when none is there.
#
#   scripts/make-plugin.sh                 # from this checkout (make plugin)
#   WHEEL=dist/zomro_pulumi-….whl OUT=/tmp scripts/make-plugin.sh
# Prints the archive's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
source=${WHEEL:-.}
out=${OUT:-dist}

version=$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])' 2>/dev/null \
	|| sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)
minor=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pair=$("$python" -c 'import sys; print("(%d, %d)" % sys.version_info[:2])')
base=$("$python" -c 'import os, sys; print(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))')
os=$(uname -s | tr '[:upper:]' '[:lower:]')
case $(uname -m) in x86_64 | amd64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
"$python" -m pip install --quiet --disable-pip-version-check --no-compile --target "$stage/lib" "$source" >&2

cat >"$stage/pulumi-resource-zomro" <<LAUNCHER
#!/bin/sh
# pulumi-resource-zomro $version, installed from a plugin archive: lib/ holds the
# package and its dependencies for CPython $minor.
here=\$(cd "\$(dirname "\$0")" && pwd)
for py in "\${ZOMRO_PLUGIN_PYTHON:-}" "$base" "\$(command -v python$minor 2>/dev/null)"; do
	if [ -n "\$py" ] && [ -x "\$py" ] && "\$py" -c 'import sys; sys.exit(sys.version_info[:2] != $pair)' 2>/dev/null; then
		PYTHONPATH="\$here/lib" exec "\$py" -s -c "from zomro_pulumi.plugin import main; main()" "\$@"
	fi
done
echo "pulumi-resource-zomro: needs CPython $minor (set ZOMRO_PLUGIN_PYTHON to its path)" >&2
exit 1
LAUNCHER
chmod 755 "$stage/pulumi-resource-zomro"

mkdir -p "$out"
archive="$(cd "$out" && pwd)/pulumi-resource-zomro-v$version-$os-$arch.tar.gz"
tar -czf "$archive" -C "$stage" pulumi-resource-zomro lib
echo "$archive"

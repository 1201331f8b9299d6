#!/usr/bin/env bash
# ensure-pulumi-yaml.sh — make Pulumi's YAML language host available.
#
# Usage:  YAML_BIN=$(scripts/ensure-pulumi-yaml.sh | tail -n 1); export PATH="$YAML_BIN:$PATH"
#
# Prints, as the last line of stdout, an absolute bin directory holding
# `pulumi-language-yaml`, the language host the engine starts for a program whose
# Pulumi.yaml says `runtime: yaml`. Progress goes to stderr.
#
# Order of preference:
#   1. `pulumi-language-yaml` on PATH (an official install ships it next to `pulumi`);
#   2. the per-user cache directory <root>/pulumi-language-yaml-<version>/bin, where <root> is
#      ${ZOMRO_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zomro-pulumi}, as for the CLI;
#      existing ones are never modified or removed;
#   3. a build into that cache from the Go module proxy (needs Go 1.26+):
#      `go install github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@<version>`,
#      about 75 s on 2 cores with empty Go caches, seconds with warm ones.
#
# Concurrent runs build in a temporary directory of their own and publish it with an
# atomic rename; a run that loses the race uses the winner's directory.
#
# Environment:
#   ZOMRO_PULUMI_CACHE  cache root (default above)
#   ZOMRO_YAML_VERSION  the pulumi-yaml release to build (default below)
set -euo pipefail

MODULE=github.com/pulumi/pulumi-yaml
VERSION=${ZOMRO_YAML_VERSION:-v1.25.0}
HOST=pulumi-language-yaml

log() { printf 'ensure-pulumi-yaml: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

if found=$(command -v "$HOST" 2>/dev/null); then
	dir=$(cd "$(dirname "$(readlink -f "$found")")" && pwd)
	log "using $HOST on PATH in $dir"
	echo "$dir"
	exit 0
fi

root=${ZOMRO_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zomro-pulumi}
cache=$root/$HOST-$VERSION
if [[ -x $cache/bin/$HOST ]]; then
	log "using cached $HOST $VERSION in $cache/bin"
	echo "$cache/bin"
	exit 0
fi

command -v go >/dev/null 2>&1 || die "no $HOST on PATH and no Go to build it: install Go 1.26+ or Pulumi's YAML host"
mkdir -p "$root"
tmp=$(mktemp -d "$root/.$HOST-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "building $HOST $VERSION from the Go module proxy (about 75 s with empty Go caches)"
start=$SECONDS
GOBIN=$tmp/bin GOFLAGS=-mod=mod go install "$MODULE/cmd/$HOST@$VERSION" >&2 ||
	die "go install $MODULE/cmd/$HOST@$VERSION failed"
[[ -x $tmp/bin/$HOST ]] || die "go install left no $HOST"
if mv -T "$tmp" "$cache" 2>/dev/null; then
	trap - EXIT
	log "built $HOST $VERSION into $cache/bin in $((SECONDS - start)) s"
else
	log "another run published $cache first; using it"
fi
echo "$cache/bin"

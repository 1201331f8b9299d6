#!/usr/bin/env bash
# ensure-nodejs-host.sh — make a Node.js language host available, the process the engine
# starts for a program whose Pulumi.yaml says `runtime: nodejs` (TypeScript included).
#
# Usage:  NODEJS_HOST_BIN=$(scripts/ensure-nodejs-host.sh | tail -n 1); export PATH="$NODEJS_HOST_BIN:$PATH"
#
# Prints, as the last line of stdout, an absolute bin directory holding
# `pulumi-language-nodejs`. Progress goes to stderr.
#
# Order of preference:
#   1. `pulumi-language-nodejs` on PATH (an official Pulumi install ships it next to `pulumi`);
#   2. the per-user cache directory <root>/pulumi-language-nodejs-<hash>/bin, where <root> is
#      ${ZOMRO_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zomro-pulumi}, as for the CLI, and
#      <hash> is 12 hex digits of a SHA-256 over tools/langhost's go.mod, go.sum and Go files;
#      existing ones are never modified or removed;
#   3. a build into that cache of tools/langhost/cmd/pulumi-language-nodejs, this project's
#      own minimal host (the upstream one is not served by the Go module proxy); needs Go 1.26+.
#      Its modules are a subset of the CLI's, so after the CLI's build it takes seconds.
#
# The host runs programs with node and the @pulumi/pulumi the program installed; it needs
# node on PATH when it runs, not to be built.
#
# Environment:
#   ZOMRO_PULUMI_CACHE  cache root (default above)
set -euo pipefail
cd "$(dirname "$0")/.."

HOST=pulumi-language-nodejs
log() { printf 'ensure-nodejs-host: %s\n' "$*" >&2; }
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

src=tools/langhost
root=${ZOMRO_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zomro-pulumi}
mkdir -p "$root"
root=$(cd "$root" && pwd)
key=$(cd "$src" && find . -name go.mod -o -name go.sum -o -name '*.go' | LC_ALL=C sort | xargs sha256sum |
	sha256sum | cut -c1-12)
cache=$root/$HOST-$key
if [[ -x $cache/bin/$HOST ]]; then
	log "using cached $HOST in $cache/bin"
	echo "$cache/bin"
	exit 0
fi

command -v go >/dev/null 2>&1 || die "no $HOST on PATH and no Go to build it: install Go 1.26+ or Pulumi (it ships the host)"
tmp=$(mktemp -d "$root/.$HOST-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "building $src/cmd/$HOST into $cache"
start=$SECONDS
mkdir -p "$tmp/bin"
version=$(awk '$1 == "github.com/pulumi/pulumi/sdk/v3" { print $2; exit }' "$src/go.mod")
(cd "$src" && GOWORK=off CGO_ENABLED=0 go build -buildvcs=false -mod=readonly \
	-ldflags "-s -w -X main.version=$version" -o "$tmp/bin/$HOST" "./cmd/$HOST") ||
	die "go build of $src/cmd/$HOST failed"
"$tmp/bin/$HOST" -version >/dev/null || die "the new $HOST does not run"
if mv -T "$tmp" "$cache" 2>/dev/null; then
	trap - EXIT
	log "built $HOST into $cache/bin in $((SECONDS - start)) s"
else
	log "another run published $cache first; using it"
fi
echo "$cache/bin"

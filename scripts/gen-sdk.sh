#!/usr/bin/env bash
# gen-sdk.sh — write the SDKs under sdk/ (nodejs, go, python) from schema.json with
# the project's generator, tools/sdkgen: Pulumi's own code generators
# (github.com/pulumi/pulumi/pkg/v3/codegen) called directly, since
# `pulumi package gen-sdk` needs language hosts the Go module proxy does not serve.
#
#   scripts/gen-sdk.sh                    # rewrite sdk/ (make sdk)
#   OUT=/tmp/sdk scripts/gen-sdk.sh       # write elsewhere (the staleness test)
#
# The generator is built once per version of its sources into the per-user cache
# <root>/sdkgen-<hash>/sdkgen, <root> as for the CLI:
# ${ZOMRO_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zomro-pulumi}. The build
# needs Go 1.26+; its modules are those of the CLI's build, so it takes about 35 s
# when the CLI was built on this machine, and no time from cache.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-sdk}

log() { printf 'gen-sdk: %s\n' "$*" >&2; }

cache_root=${ZOMRO_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zomro-pulumi}
mkdir -p "$cache_root"
key=$(cat tools/sdkgen/go.mod tools/sdkgen/go.sum tools/sdkgen/*.go | sha256sum | cut -c1-12)
bin=$cache_root/sdkgen-$key/sdkgen
if [ ! -x "$bin" ]; then
	command -v go >/dev/null 2>&1 || {
		log "error: 'go' is not on PATH (Go 1.26 or newer builds tools/sdkgen)"
		exit 1
	}
	log "building tools/sdkgen into $cache_root/sdkgen-$key"
	start=$SECONDS
	mkdir -p "$cache_root/sdkgen-$key"
	tmp=$(mktemp "$cache_root/sdkgen-$key/.sdkgen.XXXXXX")
	(cd tools/sdkgen && GOWORK=off CGO_ENABLED=0 go build -buildvcs=false -mod=readonly -o "$tmp" .)
	mv -f "$tmp" "$bin" # atomic: a concurrent build's result is as good
	log "built in $((SECONDS - start)) s"
fi
"$bin" -schema schema.json -out "$out"

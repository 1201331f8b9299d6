#!/usr/bin/env bash
# ensure-pulumi.sh — make the Pulumi CLI and a Python language host available.
#
# Usage:  PULUMI_BIN=$(scripts/ensure-pulumi.sh | tail -n 1); export PATH="$PULUMI_BIN:$PATH"
#
# Prints, as the last line of stdout, an absolute bin directory holding `pulumi` and the
# two plugins the engine starts for this project's programs, `pulumi-language-python` and
# `pulumi-resource-pulumi-python` (the dynamic provider). Progress goes to stderr.
#
# Order of preference:
#   1. `pulumi` on PATH, whatever its origin (an official install, Homebrew, a build of
#      this script), when its version can run this project's programs:
#        at least the pulumi floor in pyproject.toml (3.216.0: dynamic providers that return
#        refreshed inputs from read), and at least the Pulumi SDK installed in .venv, if any
#        (the CLI ships pulumi-language-python-exec, which runs inside the program's SDK and
#        feature-detects older SDKs, never newer ones; a CLI and an SDK are released together);
#        below the ceiling in pyproject.toml (4.0.0: another major is another protocol, and
#        the Automation API refuses it).
#      Its two plugins must be next to the `pulumi` binary (symlinks followed; every Pulumi
#      distribution ships them there, each install its own `pulumi-language-python` and
#      `pulumi-language-python-exec`) or on PATH: those are the places the engine looks.
#      The directory printed is that of the binary, symlinks followed.
#   2. the per-user cache directory  <root>/pulumi-v<version>-<hash>/bin, where <root> is
#      ${ZOMRO_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zomro-pulumi} and <hash> is 12 hex
#      digits of a SHA-256 over the go.mod, go.sum and *.go files of the language host and of the
#      package it shares with the Node.js host (tools/langhost): a change to them builds into a new
#      directory; existing ones are never modified or removed;
#   3. a build into that cache (needs Go 1.26+). With empty Go caches it downloads about 250
#      modules and compiles for about 12 CPU-minutes (6+ minutes on 2 idle cores); when Go's
#      build cache already holds the packages, only the links remain (under a minute).
#
# The version built (2, 3) is the github.com/pulumi/pulumi/pkg/v3 version that
# tools/pulumi-language-python/go.mod requires (sdk/v3 must be required at the same version);
# that go.mod says how to move to another release.
#
# What is built:
#   * pulumi: github.com/pulumi/pulumi/pkg/v3/cmd/pulumi, declared as a `tool` of the host's module so
#     that the committed go.sum pins every dependency (`go install pkg@version` refuses to build it
#     because pkg/v3's go.mod has a replace directive).
#   * pulumi-language-python: tools/pulumi-language-python, this project's own minimal language host
#     (the upstream host's module is not served by the Go module proxy); its main.go says what it does.
#   * pulumi-language-python-exec (run by that host) and pulumi-resource-pulumi-python, copied
#     unchanged from sdk/v3.
#
# Concurrent runs: each run builds in a temporary directory of its own under <root> and publishes it
# with an atomic rename onto the not yet existing cache directory. A run that loses that race uses
# the winner's directory and removes only its own temporary one. Where `flock` exists, a lock also
# lets a second run wait for the first instead of building the same thing.
#
# Environment:
#   ZOMRO_PULUMI_CACHE  cache root (default above)
set -euo pipefail

PKG_MOD=github.com/pulumi/pulumi/pkg/v3
SDK_MOD=github.com/pulumi/pulumi/sdk/v3
TOOLS=(pulumi pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python)
# What the engine starts for a Python program with dynamic resources, besides itself.
PLUGINS=(pulumi-language-python pulumi-resource-pulumi-python)

log() { printf 'ensure-pulumi: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
host_src=$repo_root/tools/pulumi-language-python
[[ -f $host_src/go.mod ]] || die "no $host_src/go.mod"

# required_version DIR MODULE -> the version of MODULE that DIR/go.mod requires.
required_version() {
	awk -v m="$2" '
		$1 == "require" && $2 == m { print $3; exit }
		$1 == m && $2 ~ /^v[0-9]/ { print $2; exit }' "$1/go.mod"
}

# cli_version DIR -> the CLI version DIR/go.mod pins.
cli_version() {
	local pkg sdk
	pkg=$(required_version "$1" "$PKG_MOD")
	sdk=$(required_version "$1" "$SDK_MOD")
	[[ $pkg =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "$1/go.mod requires no release of $PKG_MOD"
	[[ $pkg == "$sdk" ]] ||
		die "$1/go.mod requires $PKG_MOD $pkg but $SDK_MOD ${sdk:-not at all}; they must be equal"
	echo "$pkg"
}

# source_hash DIR -> 12 hex digits over the names and contents of the go.mod, go.sum and *.go
# files of DIR (the host) and of DIR/../langhost (the package it shares with the Node.js host).
source_hash() {
	local sha=(sha256sum)
	command -v sha256sum >/dev/null 2>&1 || sha=(shasum -a 256)
	(cd "$1/.." && for f in {pulumi-language-python,langhost}/{go.mod,go.sum,*.go}; do
		if [[ -f $f ]]; then "${sha[@]}" "$f"; fi
	done) | "${sha[@]}" | cut -c1-12
}

# pulumi_version BINARY -> the version it reports (e.g. v3.274.1), or nothing.
pulumi_version() {
	PULUMI_SKIP_UPDATE_CHECK=true "$1" version 2>/dev/null | tail -n1 | tr -d '[:space:]' || true
}

# version_key VERSION -> a string that sorts like the version (vX.Y.Z[-pre][+build]; a pre-release
# sorts before its release), or nothing when VERSION is not one.
version_key() {
	[[ $1 =~ ^v?([0-9]+)\.([0-9]+)\.([0-9]+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]] || return 0
	printf '%06d.%06d.%06d.%d\n' "$((10#${BASH_REMATCH[1]}))" "$((10#${BASH_REMATCH[2]}))" \
		"$((10#${BASH_REMATCH[3]}))" "$([[ -n ${BASH_REMATCH[4]} ]] && echo 0 || echo 1)"
}

# pyproject_bounds -> "FLOOR CEILING" of the pulumi requirement in pyproject.toml ("pulumi>=A,<B").
pyproject_bounds() {
	sed -n 's/^[[:space:]]*"pulumi>=\([0-9][0-9.]*\),[[:space:]]*<\([0-9][0-9.]*\)".*/\1 \2/p' \
		"$repo_root/pyproject.toml" | head -n 1
}

# venv_sdk_version -> the version of the Pulumi SDK installed in .venv (from its dist-info
# directory, without starting Python), or nothing.
venv_sdk_version() {
	local info
	for info in "$repo_root"/.venv/lib/python*/site-packages/pulumi-[0-9]*.dist-info; do
		[[ -d $info ]] || continue
		info=${info##*/pulumi-}
		info=${info%.dist-info}
		[[ $info =~ ^([0-9]+\.[0-9]+\.[0-9]+) ]] && echo "${BASH_REMATCH[1]}"
		return 0
	done
}

# resolved_dir FILE -> the absolute directory of FILE with every symlink on the way followed.
resolved_dir() {
	local path=$1 target
	while [[ -L $path ]]; do
		target=$(readlink "$path")
		[[ $target == /* ]] || target=$(dirname "$path")/$target
		path=$target
	done
	(cd -P "$(dirname "$path")" && pwd)
}

# complete DIR -> whether DIR/bin holds all four tools and DIR/bin/pulumi reports $cli.
complete() {
	local tool
	for tool in "${TOOLS[@]}"; do
		[[ -x $1/bin/$tool ]] || return 1
	done
	[[ $(pulumi_version "$1/bin/pulumi") == "$cli" ]]
}

cli=$(cli_version "$host_src")

# The versions a `pulumi` on PATH may have: floor <= version < ceiling (see the header).
read -r floor ceiling <<<"$(pyproject_bounds)" || true
[[ -n ${floor:-} && -n ${ceiling:-} ]] || die "no \"pulumi>=X,<Y\" requirement in $repo_root/pyproject.toml"
floor_why="pyproject.toml"
sdk=$(venv_sdk_version)
if [[ -n $sdk && $(version_key "$sdk") > $(version_key "$floor") ]]; then
	floor=$sdk
	floor_why="the Pulumi SDK in .venv"
fi
wanted="pulumi >= v$floor ($floor_why) and < v$ceiling"

# 1. A CLI on PATH that can run the program.
path_note=""
if path_pulumi=$(command -v pulumi 2>/dev/null); then
	found=$(pulumi_version "$path_pulumi")
	found_key=$(version_key "$found")
	if [[ -z $found_key ]]; then
		path_note="$path_pulumi does not report a version ('$found')"
	elif [[ $found_key < $(version_key "$floor") ||
		! ${found_key%.*} < $(version_key "$ceiling" | cut -d. -f1-3) ]]; then
		path_note="$path_pulumi is $found; this project needs $wanted"
	else
		path_dir=$(resolved_dir "$path_pulumi")
		missing=""
		for tool in "${PLUGINS[@]}"; do
			[[ -x $path_dir/$tool ]] || command -v "$tool" >/dev/null 2>&1 || missing+=" $tool"
		done
		if [[ -z $missing ]]; then
			log "using pulumi $found found on PATH ($path_dir)"
			echo "$path_dir"
			exit 0
		fi
		path_note="$path_pulumi ($found) has neither next to it nor on PATH:$missing"
	fi
	log "not using the pulumi on PATH: $path_note"
fi

# 2. The per-user cache.
cache_root=${ZOMRO_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zomro-pulumi}
mkdir -p "$cache_root"
cache_root=$(cd "$cache_root" && pwd)
key=pulumi-$cli-$(source_hash "$host_src")
dest=$cache_root/$key

# The build is what the tests run; say so when it falls outside the range a CLI on PATH must meet.
if [[ $(version_key "$cli") < $(version_key "$floor") ]]; then
	log "warning: the pinned pulumi $cli is older than $wanted;" \
		"move tools/pulumi-language-python/go.mod to a newer release"
fi

use_dest() {
	log "$1"
	echo "$dest/bin"
	exit 0
}

complete "$dest" && use_dest "using cached pulumi $cli in $dest/bin"
[[ ! -e $dest ]] || die "$dest exists but is incomplete; move it away to build it again"

# 3. Build.
if ! command -v go >/dev/null 2>&1; then
	[[ -n $path_note ]] || path_note="there is no pulumi on PATH"
	die "no usable Pulumi CLI: $path_note, $dest does not exist yet, and 'go' is not on PATH to build" \
		"pulumi $cli there. Install $wanted (https://www.pulumi.com/docs/iac/download-install/)" \
		"and put it on PATH, or install Go 1.26 or newer"
fi
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache_root/.$key.lock"
	if ! flock -n 9; then
		log "another run is building $key; waiting for it"
		flock 9
	fi
	complete "$dest" && use_dest "using pulumi $cli built by another run"
fi

tmp=$(mktemp -d "$cache_root/.$key.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

# Build from a copy, named after the copy: the checkout may change while Go works. The host's
# go.mod finds the shared package beside it (replace ... => ../langhost).
src=$tmp/src/pulumi-language-python
out=$tmp/out
mkdir -p "$src" "$tmp/src/langhost" "$out/bin"
cp "$host_src"/go.mod "$host_src"/go.sum "$host_src"/*.go "$src/"
cp "$host_src"/../langhost/go.mod "$host_src"/../langhost/go.sum "$host_src"/../langhost/*.go "$tmp/src/langhost/"
cli=$(cli_version "$src")
key=pulumi-$cli-$(source_hash "$src")
dest=$cache_root/$key

export GOWORK=off GO111MODULE=on CGO_ENABLED=0
log "building pulumi $cli and the language host for $dest"
log "with empty Go caches this takes many minutes (about 12 CPU-minutes); with warm ones, seconds"
(
	cd "$src"
	go build -buildvcs=false -mod=readonly -ldflags "-s -w -X $SDK_MOD/go/common/version.Version=$cli" \
		-o "$out/bin/pulumi" "$PKG_MOD/cmd/pulumi"
	go build -buildvcs=false -mod=readonly -ldflags "-s -w -X main.version=$cli" \
		-o "$out/bin/pulumi-language-python" .
	sdk_dir=$(go list -mod=readonly -m -f '{{.Dir}}' "$SDK_MOD")
	for script in python/cmd/pulumi-language-python-exec python/dist/pulumi-resource-pulumi-python; do
		[[ -f $sdk_dir/$script ]] || die "$SDK_MOD $cli has no $script"
		cp "$sdk_dir/$script" "$out/bin/"
		chmod 0755 "$out/bin/${script##*/}"
	done
	{
		echo "cli:       $PKG_MOD $cli (tools/pulumi-language-python/go.mod)"
		echo "sdk:       $SDK_MOD $(go list -mod=readonly -m -f '{{.Version}}' "$SDK_MOD")"
		echo "langhost:  tools/pulumi-language-python (this project's minimal host, not upstream's)"
		echo "source:    $key"
		echo "go:        $(go version)"
		echo "built:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	} >"$out/BUILD-INFO"
)
built=$(pulumi_version "$out/bin/pulumi")
[[ $built == "$cli" ]] || die "the new pulumi reports '$built', expected $cli"
"$out/bin/pulumi-language-python" -version >/dev/null || die "the new pulumi-language-python does not run"

# 4. Publish: rename(2) of a directory onto a name that does not exist yet is atomic, and fails
# when another run has put a complete directory there first (GNU mv -T; else Python's os.rename).
if mv -T "$out" "$dest" 2>/dev/null ||
	python3 -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' "$out" "$dest" 2>/dev/null; then
	log "installed pulumi $cli into $dest/bin"
	echo "$dest/bin"
elif complete "$dest"; then
	use_dest "another run published $dest first; using it"
else
	die "could not publish $dest"
fi

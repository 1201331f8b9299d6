#!/usr/bin/env bash
# ensure-node-modules.sh — the Node.js packages the TypeScript SDK is checked and
# run with (tools/node/package.json, exactly as tools/node/package-lock.json pins
# them: @pulumi/pulumi, typescript, @types/node).
#
# Usage:  NODE_MODULES=$(scripts/ensure-node-modules.sh | tail -n 1)
#
# Prints, as the last line of stdout, an absolute node_modules directory in the
# per-user cache <root>/node-modules-<hash>/node_modules (<root> as for the CLI:
# ${ZOMRO_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zomro-pulumi}, <hash> of the
# lockfile), installed by `npm ci` the first time and never modified afterwards.
# Needs node and npm on PATH; says which is missing otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'ensure-node-modules: %s\n' "$*" >&2; }
for tool in node npm; do
	command -v "$tool" >/dev/null 2>&1 || {
		log "error: '$tool' is not on PATH (Node.js 20 or newer with npm is needed)"
		exit 1
	}
done

cache_root=${ZOMRO_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zomro-pulumi}
mkdir -p "$cache_root"
cache_root=$(cd "$cache_root" && pwd)
key=$(cat tools/node/package.json tools/node/package-lock.json | sha256sum | cut -c1-12)
dest=$cache_root/node-modules-$key
if [ -d "$dest/node_modules" ]; then
	log "using cached node modules in $dest"
	echo "$dest/node_modules"
	exit 0
fi

log "installing tools/node/package-lock.json into $dest"
start=$SECONDS
tmp=$(mktemp -d "$cache_root/.node-modules-$key.XXXXXX")
cp tools/node/package.json tools/node/package-lock.json "$tmp/"
# @pulumi/pulumi declares node >= 22 but is only type-checked and run here on the
# machine's Node: npm's warning about it is expected.
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
if ! mv -T "$tmp" "$dest" 2>/dev/null; then
	rm -rf "$tmp" # another run published it first
fi
log "installed in $((SECONDS - start)) s"
echo "$dest/node_modules"

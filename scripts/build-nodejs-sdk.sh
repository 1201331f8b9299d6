#!/usr/bin/env bash
# build-nodejs-sdk.sh — compile the TypeScript SDK into the package npm installs:
# <sdk>/bin holds the JavaScript, the declarations and the SDK's package.json, as
# Pulumi's provider builds publish it (`tsc`, then package.json copied into bin).
#
#   scripts/build-nodejs-sdk.sh            # sdk/nodejs (make sdk-nodejs)
#   scripts/build-nodejs-sdk.sh DIR        # a copy of sdk/nodejs elsewhere (the tests)
#
# tsc and @pulumi/pulumi come from scripts/ensure-node-modules.sh (the pinned
# tools/node/package-lock.json in the cache beside the CLI). The build runs in a
# temporary copy, so the SDK folder gets no node_modules; bin is replaced whole.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
sdk=$(cd "${1:-$repo/sdk/nodejs}" && pwd)

log() { printf 'build-nodejs-sdk: %s\n' "$*" >&2; }
[[ -f $sdk/package.json && -f $sdk/tsconfig.json ]] || {
	log "error: $sdk is not the TypeScript SDK (no package.json and tsconfig.json); run make sdk"
	exit 1
}
modules=$("$repo/scripts/ensure-node-modules.sh" | tail -n 1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$sdk" && tar --exclude=./bin --exclude=./node_modules -cf - .) | (cd "$tmp" && tar -xf -)
ln -s "$modules" "$tmp/node_modules"
start=$SECONDS
node "$modules/typescript/bin/tsc" -p "$tmp" >&2 || {
	log "error: tsc failed on $sdk"
	exit 1
}
cp "$tmp/package.json" "$tmp/bin/"
[[ ! -f $tmp/README.md ]] || cp "$tmp/README.md" "$tmp/bin/"
rm -rf "$sdk/bin"
mv "$tmp/bin" "$sdk/bin"
log "built $sdk/bin in $((SECONDS - start)) s"
echo "$sdk/bin"

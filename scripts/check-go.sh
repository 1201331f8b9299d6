#!/usr/bin/env bash
# check-go.sh — the Go code of this repository must be gofmt-formatted, and the
# tools (the Python language host in tools/pulumi-language-python, what it shares
# with the Node.js host and that host in tools/langhost, the SDK generator in
# tools/sdkgen) must pass `go vet`; the Go example in examples/go is
# built and vetted by tests/sdk/test_go.py. Exits non-zero, naming the problem.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null 2>&1 || {
	echo "check-go: 'go' is not on PATH (Go 1.26 or newer is needed)" >&2
	exit 1
}
gofmt=$(command -v gofmt 2>/dev/null || echo "$(go env GOROOT)/bin/gofmt")

for module in tools/pulumi-language-python tools/langhost tools/sdkgen examples/go; do
	unformatted=$("$gofmt" -l "$module")
	if [[ -n $unformatted ]]; then
		echo "check-go: not gofmt-formatted (run: gofmt -w $module):" >&2
		printf '  %s\n' $unformatted >&2
		exit 1
	fi
done
for module in tools/pulumi-language-python tools/langhost tools/sdkgen; do
	(cd "$module" && GOWORK=off CGO_ENABLED=0 go vet -mod=readonly ./...)
done
echo "check-go: gofmt and go vet are clean" >&2

#!/usr/bin/env bash
# The one-command demo: set everything up, start the Zomro API emulator, run
# `pulumi preview --diff` and `pulumi up` on the top-level project, print the
# outputs, stop the emulator. State lives in .demo/, so a second run finds the
# images from the first and reports no changes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s)

scripts/setup.sh
# A pulumi already on PATH when its version can run the program, else a cached or new build.
PULUMI_BIN=$(scripts/ensure-pulumi.sh | tail -n 1)
export PATH="$PULUMI_BIN:$root/.venv/bin:$PATH"
echo "demo: pulumi $(PULUMI_SKIP_UPDATE_CHECK=true pulumi version) from $PULUMI_BIN"

mkdir -p .demo/backend
export PULUMI_BACKEND_URL="file://$root/.demo/backend"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-zomro-demo}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Start the emulator on a free port; images survive between demo runs in its state file.
log=.demo/emulator.log
.venv/bin/python -u -m zomro_pulumi.emulator --port 0 --activation-delay 3 \
  --state-file .demo/emulator-state.json >"$log" 2>&1 &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^Zomro API emulator listening on \(http[^ ]*\).*/\1/p' "$log" | head -n 1)
  [ -n "$url" ] && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$log" >&2; echo "demo: emulator failed to start" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$log" >&2; echo "demo: emulator did not report its URL" >&2; exit 1; }
echo "demo: Zomro API emulator at $url"

pulumi stack select demo >/dev/null 2>&1 || pulumi stack init demo
pulumi config set zomro:endpoint "$url"
# Log in to the emulator's demo account (demo / demo) and keep the session token as
# a secret. (Storing the password "demo" as a secret would make Pulumi mask every
# "demo" in its output, paths and names included.)
token=$(.venv/bin/python - "$url" <<'PY'
import sys, requests
answer = requests.post(sys.argv[1], data={"func": "auth", "username": "demo", "password": "demo", "out": "json"}, timeout=10).json()
print(answer["doc"]["auth"]["$id"])
PY
)
pulumi config set --secret zomro:authToken "$token"
pulumi config rm zomro:username >/dev/null 2>&1 || true
pulumi config rm zomro:password >/dev/null 2>&1 || true

echo "demo: pulumi preview --diff"
pulumi preview --diff
echo "demo: pulumi up"
pulumi up --yes
echo "demo: stack outputs"
pulumi stack output
echo "demo: done in $(( $(date +%s) - started ))s (state in .demo/; \`make demo-clean\` forgets it)"

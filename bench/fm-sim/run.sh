#!/usr/bin/env bash
# Shelly fleet manager's own device simulator (its backend/src/devSimulation, TypeScript run by tsx) against FlowFleet, and
# a client that talks FM's protocol. Needs a checkout of https://github.com/ALLTERCO/fleet-management (FM_DIR) — CI only
# reaches package registries, so this is a bench run, not part of ./test.sh. ws and tsx come from npm.
# Usage: FM_DIR=/path/to/fleet-management bench/fm-sim/run.sh [DEVICES=20] [SECONDS=60]
# Prints: devices online, disconnects seen (FM events and simulator reconnects), devices controlled over REST and over the
# FM websocket (relay and Device.Call), RSS, and the server's warning/error lines.
set -euo pipefail
N=${1:-20}
DURATION=${2:-60}
PORT=${PORT:-7511}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FM_DIR=${FM_DIR:?set FM_DIR to a checkout of ALLTERCO/fleet-management}
WORK=${WORK:-${TMPDIR:-/tmp}/flowfleet-fm-sim}
PASSWORD=fm-bench-$$

# FM's simulator needs only ws at run time (its types are erased by tsx); its sources are used as they are.
mkdir -p "$WORK/src/config"
rm -rf "$WORK/src/devSimulation"
cp -r "$FM_DIR/backend/src/devSimulation" "$WORK/src/"
cp "$FM_DIR/backend/src/config/BTHomeData.ts" "$WORK/src/config/"
cp "$ROOT/bench/fm-sim/check.mjs" "$WORK/"
if [ ! -d "$WORK/node_modules/ws" ] || [ ! -d "$WORK/node_modules/tsx" ]; then
  (cd "$WORK" && [ -f package.json ] || echo '{"name":"flowfleet-fm-sim","private":true}' > package.json; npm install --no-audit --no-fund --silent ws@^8.18.0 tsx@^4.19.0)
fi

cd "$ROOT"
. bench/lib.sh
dotnet build -c Release runtime/FlowFleet.Server -v q -nologo > /dev/null
DATA=$(mktemp -d)
trap 'kill ${SERVER:-} ${SIM:-} 2>/dev/null || true; wait 2>/dev/null || true' EXIT
dotnet "$FF_DLL" --data "$DATA" --urls "http://127.0.0.1:$PORT" \
  --ADMIN_PASSWORD "$PASSWORD" --Fleet:Admission auto > "$DATA/server.log" 2>&1 &
SERVER=$!
wait_healthz "$PORT"

(cd "$WORK" && exec node --import tsx src/devSimulation/main.ts --ws-url "ws://127.0.0.1:$PORT/shelly" --count "$N") > "$DATA/sim.log" 2>&1 &
SIM=$!
(cd "$WORK" && node check.mjs "http://127.0.0.1:$PORT" admin "$PASSWORD" "$N" "$DURATION" "$SERVER")
# DEVICES_PAGE=1: then every device once more from FlowFleet's Devices page, by mouse and keyboard (needs playwright-core).
if [ "${DEVICES_PAGE:-0}" = 1 ]; then
  cp "$ROOT/bench/fm-sim/devices-page.mjs" "$WORK/"
  [ -d "$WORK/node_modules/playwright-core" ] || (cd "$WORK" && npm install --no-audit --no-fund --silent playwright-core@^1.49.0)
  (cd "$WORK" && SHOT="$DATA/devices-page.png" node devices-page.mjs "http://127.0.0.1:$PORT" admin "$PASSWORD" "$N") || echo "devices-page: not all devices controlled"
fi
echo "simulator: $(grep -c ' connected$' "$DATA/sim.log" || true) connects, $(grep -c 'reconnecting' "$DATA/sim.log" || true) reconnects, $(grep -ci 'error\|invalid' "$DATA/sim.log" || true) error lines"
echo "server log: $(grep -cE '^(warn|fail|crit):' "$DATA/server.log" || true) warning/error lines"
grep -E '^(warn|fail|crit):' "$DATA/server.log" | head -20 || true

#!/usr/bin/env bash
# FM's web UI (built from FM_DIR's frontend of December 2025, commit 0f4fe92 — the release speaking FleetManager.*) against
# FlowFleet with DEVICES of FM's simulated devices, checked in headless Chromium (fm-ui-check.mjs); then FlowFleet's own
# Devices page with the same devices, every device's card control clicked (devices-page.mjs).
# FM's simulator (backend/src/devSimulation) is in FM_DIR's newer releases (v1.8+), its UI in 0f4fe92: FM_DIR and FM_UI_DIR
# may be checkouts of different commits.
# Usage: FM_DIR=/path/to/fleet-management FM_UI_DIR=/path/to/that/frontend bench/fm-sim/ui.sh [DEVICES=10]
# FM_UI_DIR must hold the built UI (dist/): rm package-lock.json; npm install --legacy-peer-deps;
# VITE_FE_LOGIN_STRATEGY=backend-jwt npx vite build   (the lock file pins @zitadel/vue 1.1.6, which npm no longer has)
set -euo pipefail
N=${1:-10}
PORT=${PORT:-7520}
UI_PORT=${UI_PORT:-7521}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-${TMPDIR:-/tmp}/flowfleet-fm-sim}
PASSWORD=fm-ui-$$
mkdir -p "$WORK/src/config"
cp -r "$FM_DIR/backend/src/devSimulation" "$WORK/src/"
cp "$FM_DIR/backend/src/config/BTHomeData.ts" "$WORK/src/config/"
cp "$ROOT"/bench/fm-sim/*.mjs "$WORK/"
(cd "$WORK" && [ -f package.json ] || echo '{"name":"flowfleet-fm-sim","private":true}' > package.json
 [ -d node_modules/playwright-core ] && [ -d node_modules/tsx ] || npm install --no-audit --no-fund --silent ws@^8.18.0 tsx@^4.19.0 playwright-core@^1.49.0)
cd "$ROOT"
. bench/lib.sh
dotnet build -c Release runtime/FlowFleet.Server -v q -nologo > /dev/null
DATA=$(mktemp -d)
trap 'kill ${SERVER:-} ${SIM:-} ${PROXY:-} 2>/dev/null || true; wait 2>/dev/null || true' EXIT
dotnet "$FF_DLL" --data "$DATA" --urls "http://127.0.0.1:$PORT" \
  --ADMIN_PASSWORD "$PASSWORD" --Fleet:Admission auto > "$DATA/server.log" 2>&1 &
SERVER=$!
wait_healthz "$PORT"
(cd "$WORK" && exec node --import tsx src/devSimulation/main.ts --ws-url "ws://127.0.0.1:$PORT/shelly" --count "$N") > "$DATA/sim.log" 2>&1 &
SIM=$!
(cd "$WORK" && exec node fm-ui-proxy.mjs "$FM_UI_DIR/dist" "$UI_PORT" "$PORT") > "$DATA/proxy.log" 2>&1 &
PROXY=$!
sleep 3
(cd "$WORK" && SHOT="$DATA/fm-ui.png" node fm-ui-check.mjs "http://127.0.0.1:$UI_PORT" admin "$PASSWORD" "$N" "http://127.0.0.1:$PORT") || echo "fm-ui-check: not all steps passed (see above; screenshot $DATA/fm-ui.png)"
(cd "$WORK" && SHOT="$DATA/devices-page.png" node devices-page.mjs "http://127.0.0.1:$PORT" admin "$PASSWORD" "$N") || echo "devices-page: not all devices controlled (see above; screenshot $DATA/devices-page.png)"
echo "server log: $(grep -cE '^(warn|fail|crit):' "$DATA/server.log" || true) warning/error lines"

#!/usr/bin/env bash
# FlowFleet vs Node-RED 4 on ../shared/bench/throughput-flow.json, in the same run, on this machine.
# usage: bench/server/throughput.sh [ROUNDS]      (needs ../shared/bench next to the repository; Node-RED via npm)
#        FLOW=bench/server/throughput-jsonata-buffer-flow.json bench/server/throughput.sh   (the same chain with JSONata and Buffers)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-6}
SHARED=${SHARED:-../shared/bench}; [ -d "$SHARED" ] || SHARED=/work/shared/bench   # from a worktree
FLOW=${FLOW:-$SHARED/throughput-flow.json}
PORT_FF=${PORT_FF:-17011}; PORT_NR=${PORT_NR:-18801}
DATA=$(mktemp -d)
rss() { awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' /proc/$1/status; }

echo "== building FlowFleet (Release)"
dotnet build runtime/FlowFleet.Server -c Release -v q -nologo >/dev/null
FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet runtime/FlowFleet.Server/bin/Release/net10.0/flowfleet.dll \
  --data "$DATA" --urls http://127.0.0.1:$PORT_FF >"$DATA/log" 2>&1 &
FF=$!
trap 'kill $FF 2>/dev/null || true; [ -f "${NR_HOME:-/tmp/nodered-peer}/pid" ] && kill $(cat "${NR_HOME:-/tmp/nodered-peer}/pid") 2>/dev/null || true' EXIT
for _ in $(seq 1 80); do curl -sf -o /dev/null http://127.0.0.1:$PORT_FF/healthz && break; sleep 0.25; done
TOKEN=$(curl -s -X POST http://127.0.0.1:$PORT_FF/red/auth/token \
  -d "client_id=node-red-admin&grant_type=password&scope=*&username=admin&password=bench-password-1" | python3 -c 'import sys,json;print(json.load(sys.stdin)["access_token"])')
curl -sf -X POST http://127.0.0.1:$PORT_FF/red/flows -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -H 'Node-RED-Deployment-Type: full' --data @"$FLOW" >/dev/null
echo "FlowFleet RSS after deploy: $(rss $FF)"
for i in $(seq 1 "$ROUNDS"); do
  echo "FlowFleet round $i: $(python3 $SHARED/throughput.py http://127.0.0.1:$PORT_FF/red http://127.0.0.1:$PORT_FF --token "$TOKEN" | tail -1)"
done
echo "FlowFleet RSS after runs: $(rss $FF)"
kill $FF; wait $FF 2>/dev/null || true

echo "== Node-RED 4"
bash $SHARED/run-nodered.sh "$FLOW" $PORT_NR >/dev/null
NR=$(cat "${NR_HOME:-/tmp/nodered-peer}/pid")
echo "Node-RED RSS after start: $(rss $NR)"
for i in $(seq 1 "$ROUNDS"); do
  echo "Node-RED round $i: $(python3 $SHARED/throughput.py http://127.0.0.1:$PORT_NR | tail -1)"
done
echo "Node-RED RSS after runs: $(rss $NR)"

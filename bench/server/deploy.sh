#!/usr/bin/env bash
# Deploy, start-up and RSS figures with a 1,000-node flow: FlowFleet and Node-RED 4 in the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${SHARED:-../shared/bench}
N=${1:-1000}
FLOW=$(mktemp --suffix=.json); python3 $SHARED/make-big-flow.py "$N" > "$FLOW"
DATA=$(mktemp -d)
rss() { awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' /proc/$1/status; }
dotnet build runtime/FlowFleet.Server -c Release -v q -nologo >/dev/null
# Start-up: the flow is already stored; time from exec to the first answer of /healthz.
FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet runtime/FlowFleet.Server/bin/Release/net10.0/flowfleet.dll flows import "$FLOW" --data "$DATA" >/dev/null
T0=$(date +%s%N)
FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet runtime/FlowFleet.Server/bin/Release/net10.0/flowfleet.dll --data "$DATA" --urls http://127.0.0.1:17011 >"$DATA/log" 2>&1 &
FF=$!
until curl -sf -o /dev/null http://127.0.0.1:17011/healthz; do sleep 0.02; done
echo "FlowFleet start to serving with $N nodes: $(( ($(date +%s%N) - T0) / 1000000 )) ms; RSS $(rss $FF)"
TOKEN=$(curl -s -X POST http://127.0.0.1:17011/red/auth/token -d "client_id=node-red-admin&grant_type=password&scope=*&username=admin&password=bench-password-1" | python3 -c 'import sys,json;print(json.load(sys.stdin)["access_token"])')
echo "FlowFleet: $(python3 bench/server/deploy.py http://127.0.0.1:17011/red "$FLOW" --token "$TOKEN")"
echo "FlowFleet RSS with $N nodes deployed: $(rss $FF)"
kill $FF; wait $FF 2>/dev/null || true
NR_HOME=${NR_HOME:-/tmp/nodered-peer}
T0=$(date +%s%N)
bash $SHARED/run-nodered.sh "$FLOW" 18801 >/dev/null
echo "Node-RED start to serving with $N nodes (includes the script's 0.5 s polling): $(( ($(date +%s%N) - T0) / 1000000 )) ms"
NR=$(cat $NR_HOME/pid)
echo "Node-RED: $(python3 bench/server/deploy.py http://127.0.0.1:18801 "$FLOW")"
echo "Node-RED RSS with $N nodes deployed: $(rss $NR)"
kill $NR

#!/usr/bin/env bash
# Issue 13 item 15: RSS after a large deploy, with and without the trim that follows it.
# Usage: bench/drills/deploy-memory.sh [NODES]   (default 100000, a 24 MB flow set: the drill raises Http:MaxRequestBodyBytes
# to 64 MiB; loopback only, ends by itself)
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${SHARED:-../shared/bench}
N=${1:-100000}
FLOW=$(mktemp --suffix=.json); python3 $SHARED/make-big-flow.py "$N" > "$FLOW"
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/$1/status; }
dotnet build runtime/FlowFleet.Server -c Release -v q -nologo >/dev/null
for threshold in 1000000000 5000; do
  DATA=$(mktemp -d); PORT=$((17100 + RANDOM % 800))
  FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet runtime/FlowFleet.Server/bin/Release/net10.0/flowfleet.dll --data "$DATA" \
    --urls http://127.0.0.1:$PORT --Flows:TrimAfterDeployNodes $threshold --Http:MaxRequestBodyBytes 67108864 >"$DATA/log" 2>&1 &
  FF=$!
  for _ in $(seq 600); do curl -sf -o /dev/null http://127.0.0.1:$PORT/healthz && break; sleep 0.1; done
  TOKEN=$(curl -s -X POST http://127.0.0.1:$PORT/red/auth/token -d "client_id=node-red-admin&grant_type=password&scope=*&username=admin&password=bench-password-1" | python3 -c 'import sys,json;print(json.load(sys.stdin)["access_token"])')
  curl -sf -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary @"$FLOW" http://127.0.0.1:$PORT/red/flows
  sleep 15
  label=$([ "$threshold" = 5000 ] && echo "with trim" || echo "no trim  ")
  deployed=$(rss $FF)
  curl -sf -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data '[]' http://127.0.0.1:$PORT/red/flows
  sleep 15
  echo "$label: $N nodes deployed, RSS 15 s later $deployed MiB; replaced by an empty flow set, 15 s later $(rss $FF) MiB"
  kill $FF; wait $FF 2>/dev/null || true; rm -rf "$DATA"
done
rm -f "$FLOW"

#!/usr/bin/env bash
# FlowFleet vs Node-RED 4 on ../shared/bench/throughput-flow.json, in the same run, on this machine.
# usage: bench/server/throughput.sh [ROUNDS]      (needs ../shared/bench next to the repository; Node-RED via npm)
#        FLOW=bench/server/throughput-jsonata-buffer-flow.json bench/server/throughput.sh   (the same chain with JSONata and Buffers)
# RSS is read right after the rounds and again after SETTLE seconds idle (default 5): FlowFleet gives back what a burst
# left committed once it goes idle (Hosting/IdleTrimmer.cs).
# FF_BUILD=publish runs FlowFleet as the image ships it (published ReadyToRun, the Dockerfile's DOTNET_GC* settings), as
# deploy.sh does; the default is the plain `dotnet build` that `dotnet run` users get.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-6}
SHARED=${SHARED:-../shared/bench}; [ -d "$SHARED" ] || SHARED=/work/shared/bench   # from a worktree
FLOW=${FLOW:-$SHARED/throughput-flow.json}
PORT_FF=${PORT_FF:-17011}; PORT_NR=${PORT_NR:-18801}
DATA=$(mktemp -d)
. bench/lib.sh

FF_ENV=()
if [ "${FF_BUILD:-build}" = publish ]; then
  echo "== publishing FlowFleet (Release, ReadyToRun, as the Dockerfile)"
  BIN=$(mktemp -d)
  ff_publish "$BIN"
  FF_DLL=$BIN/flowfleet.dll
  read -ra FF_ENV <<<"$FF_IMAGE_GC"
else
  echo "== building FlowFleet (Release)"
  dotnet build runtime/FlowFleet.Server -c Release -v q -nologo >/dev/null
fi
env "${FF_ENV[@]}" FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet "$FF_DLL" \
  --data "$DATA" --urls http://127.0.0.1:$PORT_FF >"$DATA/log" 2>&1 &
FF=$!
trap 'kill $FF 2>/dev/null || true; [ -f "${NR_HOME:-/tmp/nodered-peer}/pid" ] && kill $(cat "${NR_HOME:-/tmp/nodered-peer}/pid") 2>/dev/null || true' EXIT
wait_healthz $PORT_FF
TOKEN=$(ff_token $PORT_FF bench-password-1)
ff_deploy $PORT_FF "$TOKEN" "$FLOW"
echo "FlowFleet RSS after deploy: $(rss $FF)"
for i in $(seq 1 "$ROUNDS"); do
  echo "FlowFleet round $i: $(python3 $SHARED/throughput.py http://127.0.0.1:$PORT_FF/red http://127.0.0.1:$PORT_FF --token "$TOKEN" | tail -1)"
done
echo "FlowFleet RSS after runs: $(rss $FF); after ${SETTLE:-5} s idle: $(sleep "${SETTLE:-5}"; rss $FF)"
kill $FF; wait $FF 2>/dev/null || true

echo "== Node-RED 4"
bash $SHARED/run-nodered.sh "$FLOW" $PORT_NR >/dev/null
NR=$(cat "${NR_HOME:-/tmp/nodered-peer}/pid")
echo "Node-RED RSS after start: $(rss $NR)"
for i in $(seq 1 "$ROUNDS"); do
  echo "Node-RED round $i: $(python3 $SHARED/throughput.py http://127.0.0.1:$PORT_NR | tail -1)"
done
echo "Node-RED RSS after runs: $(rss $NR); after ${SETTLE:-5} s idle: $(sleep "${SETTLE:-5}"; rss $NR)"

#!/usr/bin/env bash
# Fleet load benchmark: N simulated devices (spread over simulator processes of at most 5,000 each) report NotifyStatus every
# INTERVAL seconds to one FlowFleet server running a "shelly in → switch → rpc call" flow. The driver measures events/s,
# RSS, memory per device and POST /api/devices/{id}/rpc latency while loaded.
# Usage: bench/fleet/run.sh DEVICES [INTERVAL_SECONDS] [MEASURE_SECONDS]   (SERVER_ENV="DOTNET_gcConcurrent=1" to pass runtime settings;
#   SETTLE=60 to measure a settled fleet rather than from the moment it is online)
set -euo pipefail
N=${1:-1000}
INTERVAL=${2:-5}
SECONDS_MEASURE=${3:-60}
PER_PROC=${PER_PROC:-5000}
PORT=${PORT:-7411}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ulimit -n 20000 || true
ulimit -Sn "$(ulimit -Hn)" || true
cd "$ROOT"
. bench/fleet/server.sh
trap 'kill ${SERVER:-} ${SIMS:-} 2>/dev/null || true; wait 2>/dev/null || true' EXIT
start_server tools/FlowFleet.DeviceSim bench/FlowFleet.FleetBench
sleep 2
BASEHEAP=$(curl -s -XPOST "http://127.0.0.1:$PORT/api/ops/gc" | sed -E 's/.*"heapAfter":([0-9]+).*/\1/')
BASE=$(awk '/VmRSS/{print $2*1024}' /proc/$SERVER/status)
BASEANON=$(awk '/RssAnon/{print $2*1024}' /proc/$SERVER/status)
SIMS=""
i=0
while [ $((i * PER_PROC)) -lt "$N" ]; do
  COUNT=$(( N - i * PER_PROC < PER_PROC ? N - i * PER_PROC : PER_PROC ))
  dotnet tools/FlowFleet.DeviceSim/bin/Release/net10.0/FlowFleet.DeviceSim.dll --server "ws://127.0.0.1:$PORT/shelly" --count "$COUNT" \
    --first-index $((i * PER_PROC)) --interval "$INTERVAL" --rate 400 --profile mix --on > "$DATA/sim$i.log" 2>&1 &
  SIMS="$SIMS $!"
  i=$((i + 1))
done
# RPC latency is probed on 20 extra devices in a process of their own (PROBE=0: on random devices of the loaded processes,
# whose own scheduling and GC then add to the figure).
RPC_SEARCH=""
if [ "${PROBE:-1}" = "1" ]; then
  dotnet tools/FlowFleet.DeviceSim/bin/Release/net10.0/FlowFleet.DeviceSim.dll --server "ws://127.0.0.1:$PORT/shelly" --count 20 \
    --first-index $((0xF00000)) --interval "$INTERVAL" --rate 400 --profile plus1pm --on > "$DATA/sim-probe.log" 2>&1 &
  SIMS="$SIMS $!"
  RPC_SEARCH="c0ffeef000"
fi
dotnet bench/FlowFleet.FleetBench/bin/Release/net10.0/FlowFleet.FleetBench.dll --server "http://127.0.0.1:$PORT" --pid "$SERVER" \
  --devices "$N" --seconds "$SECONDS_MEASURE" --baseline-rss "$BASE" --baseline-anon "$BASEANON" --baseline-heap "$BASEHEAP" --wait-online-seconds "${WAIT_ONLINE:-240}" --settle-seconds "${SETTLE:-0}" \
  --rpc-search "$RPC_SEARCH"
server_log_summary

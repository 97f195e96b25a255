#!/usr/bin/env bash
# Ingest headroom: DEVICES raw websocket devices (bench/FlowFleet.FleetBench/IngestBench.cs) send NotifyStatus to one FlowFleet
# server running bench/fleet/load-flow.json ("shelly in → switch → rpc call") at stepped total rates; per step it prints
# frames offered and sent, events the server processed per second, server and driver CPU, and the machine's idle share.
# Usage: bench/fleet/ingest.sh [DEVICES] [BATCH] [RATES] [STEP_SECONDS]
#   BATCH: frames per TCP write (1 = as devices send; larger takes the generator's own per-write cost out).
set -euo pipefail
N=${1:-2000}
BATCH=${2:-1}
RATES=${3:-20000,40000,60000,80000,100000,120000,140000}
STEP=${4:-15}
PORT=${PORT:-7413}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ulimit -n 20000 || true
cd "$ROOT"
. bench/fleet/server.sh
trap 'kill ${SERVER:-} 2>/dev/null || true; wait 2>/dev/null || true' EXIT
start_server bench/FlowFleet.FleetBench
dotnet bench/FlowFleet.FleetBench/bin/Release/net10.0/FlowFleet.FleetBench.dll ingest --server "http://127.0.0.1:$PORT" --pid "$SERVER" \
  --devices "$N" --batch "$BATCH" --rates "$RATES" --step-seconds "$STEP"
server_log_summary

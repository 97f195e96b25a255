#!/usr/bin/env bash
# Deploy, start-up and RSS figures with a 1,000-node flow: FlowFleet and Node-RED 4 in the same run, RUNS times back to back.
# usage: bench/server/deploy.sh [N] [RUNS]     (PORT_FF, PORT_NR pick other ports; FF_BUILD=build uses the plain build,
#        FF_BIN=DIR a published build; FF_ENV="A=1 B=2" more environment for FlowFleet)
# FlowFleet runs as shipped in the image: published ReadyToRun, DOTNET_GCgen0size and DOTNET_GCGen1MaxBudget as in the
# Dockerfile. Start-up is timed from exec to the first answer (/healthz, Node-RED's /flows), polled every 20 ms for both;
# CPU is what the process used by then (user + system), which says more than wall time on a shared machine. FlowFleet answers while its stored flows
# start (as Node-RED does); "flows running" is when /healthz stops saying "starting". RSS is read right after the deploys
# and again after SETTLE seconds idle (default 5) for both: FlowFleet gives memory back after a large deploy (DeployTrimmer).
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${SHARED:-../shared/bench}; [ -d "$SHARED" ] || SHARED=/work/shared/bench   # from a worktree
N=${1:-1000}; RUNS=${2:-3}
PORT_FF=${PORT_FF:-17011}; PORT_NR=${PORT_NR:-18801}; SETTLE=${SETTLE:-5}
NR_HOME=${NR_HOME:-/tmp/nodered-peer}; export NR_HOME
FLOW=$(mktemp --suffix=.json); python3 $SHARED/make-big-flow.py "$N" > "$FLOW"
. bench/lib.sh
wait_http() { until curl -sf -o /dev/null "$1"; do sleep 0.02; done; }
if [ -n "${FF_BIN:-}" ]; then
  BIN=$FF_BIN
elif [ "${FF_BUILD:-publish}" = build ]; then
  dotnet build runtime/FlowFleet.Server -c Release -v q -nologo >/dev/null
  BIN=runtime/FlowFleet.Server/bin/Release/net10.0
else
  BIN=$(mktemp -d)
  ff_publish "$BIN"
fi
# Node-RED installed and its user directory written once (the script also starts it: stopped again at once).
bash $SHARED/run-nodered.sh "$FLOW" "$PORT_NR" >/dev/null; kill "$(cat $NR_HOME/pid)"; sleep 1
for run in $(seq 1 "$RUNS"); do
  echo "== run $run ($(date -u +%H:%M) UTC, load $(cut -d' ' -f1 /proc/loadavg))"
  DATA=$(mktemp -d)
  FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet $BIN/flowfleet.dll flows import "$FLOW" --data "$DATA" >/dev/null
  T0=$(date +%s%N)
  env ${FF_ENV:-} $FF_IMAGE_GC FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet $BIN/flowfleet.dll --data "$DATA" --urls http://127.0.0.1:$PORT_FF >"$DATA/log" 2>&1 &
  FF=$!
  wait_http http://127.0.0.1:$PORT_FF/healthz
  echo "FlowFleet start to serving with $N nodes: $(( ($(date +%s%N) - T0) / 1000000 )) ms, CPU $(cpu $FF) ms; RSS $(rss $FF)"
  until ! curl -sf http://127.0.0.1:$PORT_FF/healthz | grep -q '"starting"'; do sleep 0.02; done
  echo "FlowFleet flows running: $(( ($(date +%s%N) - T0) / 1000000 )) ms, CPU $(cpu $FF) ms"
  TOKEN=$(ff_token $PORT_FF bench-password-1)
  echo "FlowFleet: $(python3 bench/server/deploy.py http://127.0.0.1:$PORT_FF/red "$FLOW" --token "$TOKEN")"
  echo "FlowFleet RSS with $N nodes deployed: $(rss $FF); after ${SETTLE} s idle: $(sleep "$SETTLE"; rss $FF)"
  kill $FF; wait $FF 2>/dev/null || true
  cp "$FLOW" "$NR_HOME/user/flows.json"
  T0=$(date +%s%N)
  "$NR_HOME/node_modules/.bin/node-red" -u "$NR_HOME/user" -s "$NR_HOME/user/settings.js" >"$NR_HOME/log" 2>&1 &
  NR=$!
  wait_http http://127.0.0.1:$PORT_NR/flows
  echo "Node-RED start to serving with $N nodes: $(( ($(date +%s%N) - T0) / 1000000 )) ms, CPU $(cpu $NR) ms; RSS $(rss $NR)"
  echo "Node-RED: $(python3 bench/server/deploy.py http://127.0.0.1:$PORT_NR "$FLOW")"
  echo "Node-RED RSS with $N nodes deployed: $(rss $NR); after ${SETTLE} s idle: $(sleep "$SETTLE"; rss $NR)"
  kill $NR; wait $NR 2>/dev/null || true
  rm -rf "$DATA"
done

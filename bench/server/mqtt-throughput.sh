#!/usr/bin/env bash
# MQTT in → out through FlowFleet vs Node-RED 4's MQTT nodes, on the same Mosquitto, in the same run.
# The flow (mqtt-flow.json, broker port filled in): mqtt in bench/in (auto-detect: JSON parsed) → mqtt out bench/out.
# The driver (bench/FlowFleet.MqttBench) publishes COUNT messages with QoS Q and times until all came back.
# Mosquitto runs without its per-client queue limits (max_queued_messages/max_inflight_messages 0): with the defaults (1000/20)
# it drops QoS 1 messages to a subscriber that falls behind, and a run measures the drops, not the runtime.
# usage: bench/server/mqtt-throughput.sh [QOS=1] [COUNT=20000] [ROUNDS=4]
set -euo pipefail
cd "$(dirname "$0")/../.."
QOS=${1:-1}; COUNT=${2:-20000}; ROUNDS=${3:-4}
. bench/lib.sh
MQ=$(free_port); PORT_FF=$(free_port); PORT_NR=$(free_port)
DATA=$(mktemp -d)
NR_DIR=${NR_DIR:-$HOME/.cache/flowfleet/node-red}
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null || true; done' EXIT

printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\nmax_queued_messages 0\nmax_inflight_messages 0\n' "$MQ" > "$DATA/mosquitto.conf"
"$MOSQ" -c "$DATA/mosquitto.conf" & PIDS+=($!)
sed -e "s/__PORT__/$MQ/" -e "s/__QOS__/$QOS/g" bench/server/mqtt-flow.json > "$DATA/flow.json"

echo "== building FlowFleet and the driver (Release)"
dotnet build runtime/FlowFleet.Server -c Release -v q -nologo >/dev/null
dotnet build bench/FlowFleet.MqttBench -c Release -v q -nologo >/dev/null
DRIVER="dotnet bench/FlowFleet.MqttBench/bin/Release/net10.0/FlowFleet.MqttBench.dll 127.0.0.1 $MQ $QOS $COUNT $ROUNDS"

FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet "$FF_DLL" \
  --data "$DATA/ff" --urls http://127.0.0.1:$PORT_FF >"$DATA/ff.log" 2>&1 &
FF=$!; PIDS+=($FF)
wait_healthz $PORT_FF
ff_deploy $PORT_FF "$(ff_token $PORT_FF bench-password-1)" "$DATA/flow.json"
echo "== FlowFleet (QoS $QOS, $COUNT messages a round)"
$DRIVER
echo "FlowFleet RSS after runs: $(rss $FF)"
kill $FF; wait $FF 2>/dev/null || true

echo "== Node-RED 4 (QoS $QOS, $COUNT messages a round)"
[ -x "$NR_DIR/node_modules/.bin/node-red" ] || (mkdir -p "$NR_DIR" && cd "$NR_DIR" && npm install --no-audit --no-fund node-red@4 >/dev/null)
mkdir -p "$DATA/nr"; cp "$DATA/flow.json" "$DATA/nr/flows.json"
printf 'module.exports = { uiHost: "127.0.0.1", uiPort: %s, flowFile: "flows.json", logging: { console: { level: "warn" } } };\n' "$PORT_NR" > "$DATA/nr/settings.js"
"$NR_DIR/node_modules/.bin/node-red" -u "$DATA/nr" -s "$DATA/nr/settings.js" >"$DATA/nr.log" 2>&1 &
NR=$!; PIDS+=($NR)
for _ in $(seq 1 120); do curl -sf -o /dev/null "http://127.0.0.1:$PORT_NR/flows" && break; sleep 0.5; done
NRPID=$(pgrep -P $NR node || echo $NR)
$DRIVER
echo "Node-RED RSS after runs: $(rss $NRPID)"

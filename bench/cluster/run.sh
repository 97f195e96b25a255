#!/usr/bin/env bash
# Cluster benchmark (issue 20): DEVICES simulated devices across three FlowFleet instances joined by NATS, with the registry
# on PostgreSQL — PostgreSQL (Debian's initdb/pg_ctl) and nats-server run on loopback ports in a temp directory. Devices are
# spread over 3·k simulator processes (at most 5,000 devices each), process i connecting to instance i mod 3, so no process nears
# the 20,000 open-file limit (an instance holds DEVICES/3 sockets). Each device reports NotifyStatus every INTERVAL seconds.
# probe.py then measures events/s per instance, RSS and memory per device, and RPC latency p50/p99 for the same 20 probe
# devices (on instance A) called through A's REST API (local) and through B's (cross-instance, over NATS).
# Usage: bench/cluster/run.sh [DEVICES=50000] [INTERVAL_SECONDS=5] [MEASURE_SECONDS=60]
set -euo pipefail
N=${1:-50000}
INTERVAL=${2:-5}
MEASURE=${3:-60}
# Simulator processes: a multiple of three, so each instance takes the same number (and the same share of devices);
# at most 5,000 devices each.
PROCS=$(( 3 * ((N + 14999) / 15000) ))
PER_PROC=${PER_PROC:-$(( (N + PROCS - 1) / PROCS ))}
# New connections per second per simulator process (10 processes for 50,000 devices: 1,000/s in all).
RATE=${RATE:-100}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. bench/lib.sh
ulimit -Sn "$(ulimit -Hn)" || true
WORK=$(mktemp -d)
chmod 755 "$WORK"
PIDS=""
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
NATS=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$PG_BIN/initdb" ] && [ -x "$NATS" ] || { echo "needs Debian's postgresql and nats-server (./test.sh installs both)"; exit 1; }
AS_PG=()
[ "$(id -u)" = 0 ] && AS_PG=(runuser -u postgres --)
cleanup() {
  kill $PIDS 2>/dev/null || true
  wait 2>/dev/null || true
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate -w stop > /dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "building…"
for p in runtime/FlowFleet.Server tools/FlowFleet.DeviceSim; do dotnet build -c Release "$p" -v q -nologo > /dev/null; done

PG_PORT=$(free_port)
mkdir -p "$WORK/pg"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$WORK/pg"
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --no-sync > /dev/null
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/log" -w -o \
  "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300" start > /dev/null
"${AS_PG[@]}" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "create database flowfleet" > /dev/null
NATS_PORT=$(free_port)
"$NATS" -a 127.0.0.1 -p "$NATS_PORT" > "$WORK/nats.log" 2>&1 &
PIDS="$PIDS $!"
echo "PostgreSQL on $PG_PORT, nats-server on $NATS_PORT"

PORTS=()
SERVERS=()
for name in a b c; do
  port=$(free_port)
  mkdir -p "$WORK/$name"
  cp bench/fleet/load-flow.json "$WORK/$name/flows.json"
  env DOTNET_GCgen0size=0x1000000 ${SERVER_ENV:-} dotnet "$FF_DLL" --data "$WORK/$name" --no-auth --urls "http://127.0.0.1:$port" \
    --Storage:Provider postgres --Storage:ConnectionString "Host=127.0.0.1;Port=$PG_PORT;Database=flowfleet;Username=postgres" \
    --Cluster:Nats "nats://127.0.0.1:$NATS_PORT" --Cluster:Instance "$name" \
    --Fleet:Admission auto --Fleet:RateLimitPerMinute 0 --Logging:LogLevel:Default Warning > "$WORK/$name/server.log" 2>&1 &
  SERVERS+=($!)
  PIDS="$PIDS $!"
  PORTS+=("$port")
  # One at a time: the first applies the migrations, the others find them done.
  wait_healthz "$port"
done
echo "instances a b c on ${PORTS[*]} (pids ${SERVERS[*]})"

sleep 2
BASE=()
for pid in "${SERVERS[@]}"; do BASE+=("$(awk '/VmRSS/{print $2*1024}' "/proc/$pid/status")"); done
SIM=tools/FlowFleet.DeviceSim/bin/Release/net10.0/FlowFleet.DeviceSim.dll
i=0
while [ $((i * PER_PROC)) -lt "$N" ]; do
  count=$(( N - i * PER_PROC < PER_PROC ? N - i * PER_PROC : PER_PROC ))
  port=${PORTS[$((i % 3))]}
  dotnet "$SIM" --server "ws://127.0.0.1:$port/shelly" --count "$count" --first-index $((i * PER_PROC)) --interval "$INTERVAL" \
    --rate "$RATE" --profile plus1pm --on > "$WORK/sim$i.log" 2>&1 &
  PIDS="$PIDS $!"
  i=$((i + 1))
done
# 20 probe devices on instance A, in a process of their own, for the RPC latency figures.
dotnet "$SIM" --server "ws://127.0.0.1:${PORTS[0]}/shelly" --count 20 --first-index $((0xF00000)) --interval "$INTERVAL" \
  --rate 400 --profile plus1pm --on > "$WORK/sim-probe.log" 2>&1 &
PIDS="$PIDS $!"

python3 bench/cluster/probe.py --devices $((N + 20)) --seconds "$MEASURE" --probe-search c0ffeef000 \
  --instance "a=http://127.0.0.1:${PORTS[0]}=${SERVERS[0]}=${BASE[0]}" --instance "b=http://127.0.0.1:${PORTS[1]}=${SERVERS[1]}=${BASE[1]}" \
  --instance "c=http://127.0.0.1:${PORTS[2]}=${SERVERS[2]}=${BASE[2]}"
GCDUMP_BIN=$(command -v dotnet-gcdump || echo "$HOME/.dotnet/tools/dotnet-gcdump")
if [ -n "${GCDUMP:-}" ] && [ -x "$GCDUMP_BIN" ]; then
  # GCDUMP=1: what instance b's live managed heap holds (the biggest types), to tell its own sessions from its mirrors.
  "$GCDUMP_BIN" collect -p "${SERVERS[1]}" -o "$WORK/b.gcdump" > /dev/null 2>&1 && "$GCDUMP_BIN" report "$WORK/b.gcdump" 2>/dev/null | head -30
fi
for name in a b c; do
  echo "server $name log lines with fail|exception: $(grep -ciE 'fail|exception' "$WORK/$name/server.log" || true)"
  grep -iE 'fail|exception' "$WORK/$name/server.log" | cut -c1-300 | sort | uniq -c | head -5 || true
done

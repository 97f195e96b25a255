#!/usr/bin/env bash
# FlowFleet's resident memory broken down (bench/README.md, memory): no Node-RED, light enough for a shared machine.
# usage: bench/server/memory.sh [deploy|throughput] [N]   (FF_BIN=DIR a published build, default: publish ReadyToRun as
#        deploy.sh does; FF_ENV="A=1" more environment; SETTLE seconds idle before the last reading, default 5)
# deploy: the N-node flow (make-big-flow.py, default 1,000) stored and started, then deploy.py's 5 full + 5 `nodes` deploys.
# throughput: ../shared/bench/throughput-flow.json deployed, 3 rounds of throughput.py.
# Readings: at serving / after the deploy, after the deploys or rounds, after SETTLE s idle: RSS by kind of mapping
# (smaps.py), process CPU, and the GC's own figures from /metrics (committed, heap per generation after the last GC).
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${SHARED:-../shared/bench}; [ -d "$SHARED" ] || SHARED=/work/shared/bench
MODE=${1:-deploy}; N=${2:-1000}; SETTLE=${SETTLE:-5}
. bench/lib.sh
if [ -z "${FF_BIN:-}" ]; then
  FF_BIN=$(mktemp -d)
  ff_publish "$FF_BIN"
fi
PORT=$(free_port); DATA=$(mktemp -d); FLOW=$DATA/flow.json
[ "$MODE" = deploy ] && python3 $SHARED/make-big-flow.py "$N" > "$FLOW" || cp $SHARED/throughput-flow.json "$FLOW"
[ "$MODE" = deploy ] && FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet $FF_BIN/flowfleet.dll flows import "$FLOW" --data "$DATA" >/dev/null
env ${FF_ENV:-} $FF_IMAGE_GC FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet $FF_BIN/flowfleet.dll --data "$DATA" --urls http://127.0.0.1:$PORT >"$DATA/log" 2>&1 &
FF=$!
trap 'kill $FF 2>/dev/null || true; rm -rf "$DATA"' EXIT
wait_healthz $PORT
until ! curl -sf http://127.0.0.1:$PORT/healthz | grep -q '"starting"'; do sleep 0.05; done
TOKEN=$(ff_token $PORT bench-password-1)
show() {
  echo "== $1: RSS $(rss $FF), CPU $(cpu $FF) ms"
  echo "   $(python3 bench/server/smaps.py $FF)"
  # EF Core is the registry's and nothing else's: a flow-only server on SQLite maps only its main assembly (type references).
  echo "   assemblies mapped: $(grep -o '[^/]*\.dll$' /proc/$FF/maps | sort -u | wc -l); EF Core: $(grep -o 'Microsoft\.EntityFrameworkCore[^/]*\.dll$' /proc/$FF/maps | sort -u | sed 's/Microsoft.EntityFrameworkCore/EFCore/' | tr '\n' ' ')"
  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$PORT/metrics | python3 -c '
import re, sys
v = {}
for line in sys.stdin:
    m = re.match(r"dotnet_gc_(last_collection_memory_committed_size|last_collection_heap_size|collections)(?:_bytes|_total)?\{?(.*?)\}? (\S+)$", line)
    if m: v[m[1] + re.sub(r".*gc_heap_generation=\"(\w+)\".*", r" \1", m[2]) if "generation" in m[2] else m[1]] = float(m[3])
mib = lambda k: v.get(k, 0) / 1048576
print("   GC committed %.1f MiB; heap after the last GC: gen0 %.1f, gen1 %.1f, gen2 %.1f, LOH %.1f MiB; collections gen0/1/2 %d/%d/%d" % (
    mib("last_collection_memory_committed_size"), *(mib("last_collection_heap_size " + g) for g in ("gen0", "gen1", "gen2", "loh")),
    *(v.get("collections " + g, 0) for g in ("gen0", "gen1", "gen2"))))'
}
if [ "$MODE" = deploy ]; then
  show "serving with $N nodes"
  echo "   $(python3 bench/server/deploy.py http://127.0.0.1:$PORT/red "$FLOW" --token "$TOKEN")"
  show "after the deploys"
else
  ff_deploy $PORT "$TOKEN" "$FLOW"
  show "after the deploy"
  for i in 1 2 3; do echo "   round $i: $(python3 $SHARED/throughput.py http://127.0.0.1:$PORT/red http://127.0.0.1:$PORT --token "$TOKEN" | tail -1)"; done
  show "after the rounds"
fi
sleep "$SETTLE"
show "after $SETTLE s idle"
grep -h "trimmed" "$DATA/log" | sed 's/^/   /' || true

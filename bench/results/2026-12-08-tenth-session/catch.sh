#!/usr/bin/env bash
# run processes until a slow warm round is seen; then perf the next round (slow) and keep a fast-round profile too
D=${1:-/tmp/t10/new7}
cd /work/main; . bench/lib.sh
got_fast=0
for i in $(seq 1 20); do
  DATA=$(mktemp -d); PORT=17760
  DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet $D/flowfleet.dll --data $DATA --urls http://127.0.0.1:$PORT > $DATA/log 2>&1 &
  FF=$!
  wait_healthz $PORT; TOKEN=$(ff_token $PORT bench-password-1); ff_deploy $PORT "$TOKEN" /work/shared/bench/throughput-flow.json
  rt() { python3 /work/shared/bench/throughput.py http://127.0.0.1:$PORT/red http://127.0.0.1:$PORT --token "$TOKEN" | tail -1 | sed 's/msgs_per_s=\([0-9]*\).*/\1/'; }
  r1=$(rt); out="p$i: $((r1/1000))k"; slow=0
  for r in 2 3 4; do
    kind=""
    if [ $r -ge 3 ] && [ $slow = 1 ]; then kind=slow; elif [ $r = 4 ] && [ $got_fast = 0 ]; then kind=fast; fi
    if [ -n "$kind" ]; then perf record -g -F 1999 -p $FF -o /tmp/t10/c-$kind.data 2>/dev/null & P=$!; sleep 0.3; fi
    c0=$(cpu $FF); x=$(rt); c=$(( $(cpu $FF) - c0 ))
    if [ -n "$kind" ]; then kill -INT $P; wait $P; cp /tmp/perf-$FF.map /tmp/t10/c-$kind.map; echo "$kind $FF" > /tmp/t10/c-$kind.pid; fi
    out="$out $((x/1000))k/$c${kind:+($kind)}"
    [ $x -lt 440000 ] && slow=1
    [ "$kind" = fast ] && got_fast=1
    [ "$kind" = slow ] && break
  done
  echo "$out"
  kill $FF; wait $FF 2>/dev/null; rm -rf $DATA
  [ -f /tmp/t10/c-slow.pid ] && [ $got_fast = 1 ] && break
done

#!/usr/bin/env bash
# gcp.sh N DIR: per round rate/cpu/gc pause ms/gen0,gen1,gen2 counts
N=$1; D=$2; cfg=${3:-A=1}
cd /work/main; . bench/lib.sh
for i in $(seq 1 $N); do
  DATA=$(mktemp -d); PORT=17754
  env $cfg FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet $D/flowfleet.dll --data $DATA --urls http://127.0.0.1:$PORT > $DATA/log 2>&1 &
  FF=$!
  wait_healthz $PORT; TOKEN=$(ff_token $PORT bench-password-1); ff_deploy $PORT "$TOKEN" /work/shared/bench/throughput-flow.json
  m() { curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$PORT/metrics | awk '/^dotnet_gc_pause_time_seconds_total/ {p=$2} /^dotnet_gc_collections_total.*gen0/ {g0=$2} /^dotnet_gc_collections_total.*gen1/ {g1=$2} /^dotnet_gc_collections_total.*gen2/ {g2=$2} END {printf "%.0f %d %d %d", p*1000, g0, g1, g2}'; }
  out="p$i:"; read p0 a0 b0 c0 < <(m)
  for r in 1 2 3 4 5; do c=$(cpu $FF); x=$(python3 /work/shared/bench/throughput.py http://127.0.0.1:$PORT/red http://127.0.0.1:$PORT --token "$TOKEN" | tail -1 | sed 's/msgs_per_s=\([0-9]*\).*/\1/'); c=$(( $(cpu $FF) - c )); read p1 a1 b1 c1 < <(m); out="$out $((x/1000))k/$c/p$((p1-p0))/$((a1-a0)),$((b1-b0)),$((c1-c0))"; p0=$p1; a0=$a1; b0=$b1; c0=$c1; done
  echo "$out"
  kill $FF; wait $FF 2>/dev/null; rm -rf $DATA
done

#!/usr/bin/env bash
# usage: dist.sh N "ENV_A" "ENV_B" ... : alternate configs, N processes each, 5 rounds each; prints rounds
N=$1; shift
cd /work/main; . bench/lib.sh

for i in $(seq 1 $N); do
 for cfg in "$@"; do
  DATA=$(mktemp -d); PORT=17750
  env ${cfg#*|} FLOWFLEET_ADMIN_PASSWORD=bench-password-1 dotnet ${cfg%%|*}/flowfleet.dll --data $DATA --urls http://127.0.0.1:$PORT > $DATA/log 2>&1 &
  FF=$!
  wait_healthz $PORT; TOKEN=$(ff_token $PORT bench-password-1); ff_deploy $PORT "$TOKEN" /work/shared/bench/throughput-flow.json
  out="[$cfg] p$i:"
  for r in 1 2 3 4 5; do c0=$(cpu $FF); x=$(python3 /work/shared/bench/throughput.py http://127.0.0.1:$PORT/red http://127.0.0.1:$PORT --token "$TOKEN" | tail -1 | sed 's/msgs_per_s=\([0-9]*\).*/\1/'); out="$out $((x/1000))k/$(( $(cpu $FF) - c0 ))"; done
  echo "$out"
  kill $FF; wait $FF 2>/dev/null; rm -rf $DATA
 done
done

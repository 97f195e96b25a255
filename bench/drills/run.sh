#!/usr/bin/env bash
# Runs one hostile-client drill (issue 13) against a fresh FlowFleet server on 127.0.0.1 and prints its RESULT line.
# Usage: bench/drills/run.sh idle|slowloris|comms|keys [drill.py options]   e.g. bench/drills/run.sh idle --count 150 --hold 20
# NOFILE=1024 runs the server at that open-file limit (the "20 sockets at 1,024 files" drill). For "keys" the server is then
# restarted on the same data and its start-up time printed. Bounded: each drill ends after its --hold seconds (keys: after the
# server goes quiet, at most 10 minutes).
set -euo pipefail
DRILL=${1:?usage: run.sh idle|slowloris|comms|keys [options]}
shift
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. bench/lib.sh
PORT=${PORT:-$(free_port)}
PASSWORD=drill-admin-pw-1
[ -n "${NO_BUILD:-}" ] || dotnet build -c Release runtime/FlowFleet.Server -v q -nologo > /dev/null
DATA=$(mktemp -d)
start() {
  ( [ -z "${NOFILE:-}" ] || ulimit -Sn "$NOFILE"
    exec dotnet "$FF_DLL" --data "$DATA" --urls "http://127.0.0.1:$PORT" \
      --ADMIN_PASSWORD "$PASSWORD" --Logging:LogLevel:Default Warning ) >> "$DATA/server.log" 2>&1 &
  SERVER=$!
  local t0=$(date +%s.%N)
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null && break; sleep 0.1; done
  STARTUP=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
}
trap 'kill ${SERVER:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"' EXIT
start
python3 bench/drills/drill.py "$DRILL" --port "$PORT" --password "$PASSWORD" --pid "$SERVER" "$@"
if [ "$DRILL" = keys ]; then
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  start
  echo "RESULT restart_to_healthz_s=$STARTUP"
fi
echo "server log lines with fail|exception: $(grep -ciE 'fail|exception' "$DATA/server.log" || true)"

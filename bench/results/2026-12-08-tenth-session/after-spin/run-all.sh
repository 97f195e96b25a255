#!/usr/bin/env bash
# Quiet-machine benches for issue 19, tenth session (after the thread-pool spin change), clean clone of main at /tmp/bench10b.
set -uo pipefail
OUT=${OUT:-/work/bench10b}
rm -rf /tmp/bench10b && git clone -q /work/main /tmp/bench10b && cd /tmp/bench10b
git log --oneline -1 > $OUT/commit.txt
SHARED=/work/shared/bench; export SHARED
run() { local name=$1; shift; echo "== $name $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $OUT/progress.log; "$@" > $OUT/$name.txt 2>&1; echo "   rc=$? $(date -u +%H:%M:%S)" | tee -a $OUT/progress.log; }
run throughput bench/server/throughput.sh 6
run ingest bench/fleet/ingest.sh 2000 1 20000,40000,60000 10
run throughput2 bench/server/throughput.sh 6
run deploy bench/server/deploy.sh 1000 3
run throughput3 bench/server/throughput.sh 6
SETTLE=60 run fleet-20000 bench/fleet/run.sh 20000 5 60

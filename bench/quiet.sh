#!/usr/bin/env bash
# The issue-19 side-by-side set on a quiet machine, from a clean clone of this repository's HEAD (nothing in the working tree
# counts), one output file per step in OUT and a progress log with times and load.
# usage: bench/quiet.sh OUT [STEP...]
#   STEP: deploy | throughput | ingest | fleet (repeat a step to run it again; default: the ninth/tenth sessions' order
#   deploy throughput ingest throughput deploy throughput fleet)
set -uo pipefail
OUT=$(mkdir -p "$1" && cd "$1" && pwd); shift
STEPS=("$@"); [ ${#STEPS[@]} -gt 0 ] || STEPS=(deploy throughput ingest throughput deploy throughput fleet)
SRC=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$SRC/../shared/bench}; [ -d "$SHARED" ] || SHARED=/work/shared/bench; export SHARED
CLONE=$(mktemp -d)
trap 'rm -rf "$CLONE"' EXIT
git clone -q "$SRC" "$CLONE/repo" && cd "$CLONE/repo" || exit 1
git log --oneline -1 > "$OUT/commit.txt"
declare -A seen
for step in "${STEPS[@]}"; do
  seen[$step]=$(( ${seen[$step]:-0} + 1 ))
  name=$step; [ "${seen[$step]}" -gt 1 ] && name=$step${seen[$step]}
  case $step in
    deploy) cmd=(bench/server/deploy.sh 1000 3) ;;
    throughput) cmd=(bench/server/throughput.sh 6) ;;
    ingest) cmd=(bench/fleet/ingest.sh 2000 1 20000,40000,60000 10) ;;
    fleet) cmd=(env SETTLE=60 bench/fleet/run.sh 20000 5 60) ;;
    *) echo "unknown step: $step" >&2; exit 2 ;;
  esac
  echo "== $name $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/progress.log"
  "${cmd[@]}" > "$OUT/$name.txt" 2>&1
  echo "   rc=$? $(date -u +%H:%M:%S)" | tee -a "$OUT/progress.log"
done

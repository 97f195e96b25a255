#!/usr/bin/env bash
# Engine/flow hardening drills (issue 13): each is a test that can fail, bounded in count and time, loopback only.
#   crash    - subflow cycles, a 200,000-deep JSON.stringify, a stored flow set that kills start-up: the built server
#              runs in a child process; it must answer 400 / survive / start in safe mode.
#   depth    - every Jint built-in that recursed in .NET code, and message clone/compare/set/context at 200,000 levels.
#   fuzz     - ~370 mutated admin requests (/red/*, /api/*), fixed seed: no 5xx.
#   limits   - context store quota, function setup/close limits, dropped-message counters.
# Usage: bench/drills/engine-drills.sh [crash|depth|fuzz|limits|all]   (./test.sh runs them with the rest of the suite)
set -euo pipefail
cd "$(dirname "$0")/../.."
which="${1:-all}"
case "$which" in
  crash)  filter="FullyQualifiedName~CrashDrillTests|FullyQualifiedName~NestingTests" ;;
  depth)  filter="FullyQualifiedName~FunctionDepthTests|FullyQualifiedName~MessageDepthFlowTests|FullyQualifiedName~JsonDepthTests" ;;
  fuzz)   filter="FullyQualifiedName~AdminFuzzTests" ;;
  limits) filter="FullyQualifiedName~ContextQuotaTests|FullyQualifiedName~FunctionSetupLimitTests|FullyQualifiedName~DropCounterTests" ;;
  all)    filter="FullyQualifiedName~CrashDrillTests|FullyQualifiedName~NestingTests|FullyQualifiedName~FunctionDepthTests|FullyQualifiedName~MessageDepthFlowTests|FullyQualifiedName~JsonDepthTests|FullyQualifiedName~AdminFuzzTests|FullyQualifiedName~ContextQuotaTests|FullyQualifiedName~FunctionSetupLimitTests|FullyQualifiedName~DropCounterTests" ;;
  *) echo "usage: $0 [crash|depth|fuzz|limits|all]" >&2; exit 2 ;;
esac
dotnet build FlowFleet.sln -c Release -nologo -v q
for project in tests/FlowFleet.Runtime.Tests tests/FlowFleet.Nodes.Core.Tests tests/FlowFleet.Server.Tests; do
  timeout 900 dotnet test "$project" -c Release --no-build -nologo --filter "$filter" || exit 1
done

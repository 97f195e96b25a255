#!/usr/bin/env bash
# Runs every test of FlowFleet. Installs what the browser tests need when it is missing.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium for the browser tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "warning: chromium could not be installed; browser tests will fail" >&2
fi
dotnet build FlowFleet.sln -c Release -warnaserror
dotnet test FlowFleet.sln -c Release --no-build "$@"

#!/usr/bin/env bash
# Runs every test of FlowFleet. Installs what the browser tests need when it is missing.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium for the browser tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "warning: chromium could not be installed; browser tests will fail" >&2
fi
# The MQTT tests run a real Mosquitto on a loopback port (tests/*/Mqtt/MosquittoFixture.cs).
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "installing mosquitto for the MQTT tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null) || echo "warning: mosquitto could not be installed; the Mosquitto MQTT tests will fail" >&2
fi
# The cluster tests run a real nats-server on a loopback port (tests/FlowFleet.Fleet.Tests/Cluster/NatsFixture.cs).
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  echo "installing nats-server for the cluster tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null) || echo "warning: nats-server could not be installed; the cluster tests will fail" >&2
fi
# The BlueZ adapter tests run a private dbus-daemon with python3-dbusmock's bluez5 template (tests/FlowFleet.Fleet.Tests/Ble).
if ! command -v dbus-daemon >/dev/null 2>&1 || ! /usr/bin/python3 -c "import dbusmock" >/dev/null 2>&1; then
  echo "installing dbus and python3-dbusmock for the BlueZ tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dbus python3-dbusmock >/dev/null) || echo "warning: dbus/python3-dbusmock could not be installed; the BlueZ tests will fail" >&2
fi
# The registry tests also run on PostgreSQL: Debian's initdb/pg_ctl in a temp dir on a free port (tests/FlowFleet.Fleet.Tests/PostgresServer.cs).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing postgresql for the PostgreSQL registry tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || echo "warning: postgresql could not be installed; the PostgreSQL registry tests will fail" >&2
fi
# The differential tests run Node-RED 4 side by side with FlowFleet (tests/FlowFleet.Server.Tests/NodeRed).
nr_dir="$HOME/.cache/flowfleet/node-red"
if [ ! -f "$nr_dir/node_modules/node-red/red.js" ]; then
  echo "installing node-red@4 for the differential tests..."
  (mkdir -p "$nr_dir" && cd "$nr_dir" && npm install --no-audit --no-fund --loglevel=error node-red@4 >/dev/null) ||
    export FLOWFLEET_NODE_RED_SKIP="node-red@4 could not be installed from npm"
fi
# Node-RED's own example flows (npm @node-red/nodes, examples/): the editor draws them as Node-RED does (geometry test).
nr_nodes="${FLOWFLEET_NODE_RED_NODES:-$HOME/.cache/flowfleet/node-red-nodes}"
if [ ! -d "$nr_nodes/package/examples" ] && command -v npm >/dev/null 2>&1; then
  (mkdir -p "$nr_nodes" && cd "$nr_nodes" && npm pack --silent @node-red/nodes@4 >/dev/null && tar xzf node-red-nodes-*.tgz) \
    || echo "warning: @node-red/nodes could not be fetched; the Node-RED geometry test will try again" >&2
fi
dotnet build FlowFleet.sln -c Release -warnaserror -nologo
log=$(mktemp)
status=0
# Line coverage per project (coverlet); FLOWFLEET_COVERAGE=0 skips it.
coverage_dir=$(mktemp -d)
coverage_args=()
if [ "${FLOWFLEET_COVERAGE:-1}" != 0 ]; then
  coverage_args=(--collect "XPlat Code Coverage" --results-directory "$coverage_dir")
fi
dotnet test FlowFleet.sln -c Release --no-build -nologo "${coverage_args[@]}" "$@" 2>&1 | tee "$log" || status=$?
[ "${FLOWFLEET_COVERAGE:-1}" != 0 ] && python3 tests/coverage.py "$coverage_dir" || true
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "${passed} passed, ${failed} failed"
exit $status

# Sourced by run.sh and ingest.sh: builds the given projects (Release) and starts one FlowFleet server on 127.0.0.1:$PORT with
# bench/fleet/load-flow.json, auto admission and no per-device rate limit. Sets DATA (its data directory, server.log in it) and
# SERVER (its pid); returns when /healthz answers. SERVER_ENV passes runtime settings (e.g. "DOTNET_gcConcurrent=1").
. bench/lib.sh
start_server() {
  local p
  for p in runtime/FlowFleet.Server "$@"; do dotnet build -c Release "$p" -v q -nologo > /dev/null; done
  DATA=$(mktemp -d)
  cp bench/fleet/load-flow.json "$DATA/flows.json"
  # The GC's gen-0 size comes only from the environment; the server caps glibc's arenas itself (Hosting/NativeHeap.cs).
  env DOTNET_GCgen0size=0x1000000 ${SERVER_ENV:-} dotnet "$FF_DLL" --data "$DATA" --no-auth \
    --urls "http://127.0.0.1:$PORT" --Fleet:Admission auto --Fleet:RateLimitPerMinute 0 --Logging:LogLevel:Default Warning \
    --Logging:LogLevel:FlowFleet.Server.Hosting.MemoryTrimmer Information > "$DATA/server.log" 2>&1 &
  SERVER=$!
  wait_healthz "$PORT"
}

# What the server logged that a reader should look at.
server_log_summary() {
  grep -i "trimmed" "$DATA/server.log" || true
  grep -ciE "fail|exception" "$DATA/server.log" | sed 's/^/server log lines with fail|exception: /' || true
}

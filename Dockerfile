# FlowFleet: build with the .NET SDK (plus Node.js for the editor's CodeMirror bundle), run self-contained on the runtime-deps image.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# ReadyToRun: the server's own and its packages' code is compiled ahead, so start-up does not wait for the JIT; what a start
# loads (framework and ours) is one composite, so the generic code shared between them is compiled ahead too
# (runtime/FlowFleet.Server/ReadyToRunComposite.targets). Self-contained: the composite holds the framework's code.
RUN dotnet publish runtime/FlowFleet.Server -c Release -r linux-x64 --self-contained true -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true -o /app --nologo \
 && dotnet build plugins/FlowFleet.Plugins.Sample -c Release -o /app/plugins/FlowFleet.Plugins.Sample --nologo \
 && cp -r plugins/celsius-to-fahrenheit /app/plugins/ \
 && cp -r flows /app/flows

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
WORKDIR /app
COPY --from=build /app .
# State (flows.json, flows_cred.json, flowfleet.db, fleet.db, keys) lives in the /data volume.
VOLUME /data
# 7011: the editor, APIs and the devices' outbound websocket (ws://host:7011/shelly).
# Each device websocket is a file descriptor: run with e.g. `--ulimit nofile=65536:65536` for large fleets (README, Performance).
EXPOSE 7011
ENV ASPNETCORE_URLS=http://0.0.0.0:7011
# The GC reads its gen-0 size only from the environment (16 MiB; it otherwise follows the L3 size a VM reports, up to
# ~150 MiB), and gen 1's largest budget too (32 MiB: without background GC it grew to 54 MiB over deploy.sh's ten
# deploys, all kept committed; gen 0's cap is in runtimeconfig.json). glibc's arena cap is also set by the server itself
# (Hosting/NativeHeap.cs); the variable wins if set.
ENV DOTNET_GCgen0size=0x1000000 DOTNET_GCGen1MaxBudget=0x2000000 MALLOC_ARENA_MAX=2
# The same command as README's first one: add --demo for simulated devices and the example flows.
ENTRYPOINT ["./flowfleet", "--data", "/data"]

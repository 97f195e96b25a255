# FlowFleet: build with the .NET SDK (plus Node.js for the editor's CodeMirror bundle), run on the ASP.NET runtime image.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN dotnet publish runtime/FlowFleet.Server -c Release -o /app --nologo \
 && dotnet build plugins/FlowFleet.Plugins.Sample -c Release -o /app/plugins/FlowFleet.Plugins.Sample --nologo \
 && cp -r plugins/celsius-to-fahrenheit /app/plugins/ \
 && cp -r flows /app/flows

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# State (flows.json, flows_cred.json, flowfleet.db, fleet.db, keys) lives in the /data volume.
VOLUME /data
# 7011: the editor, APIs and the devices' outbound websocket (ws://host:7011/shelly).
# Each device websocket is a file descriptor: run with e.g. `--ulimit nofile=65536:65536` for large fleets (README, Performance).
EXPOSE 7011
ENV ASPNETCORE_URLS=http://0.0.0.0:7011
# The gen-0 size and glibc arena settings are added by the server itself at start-up (runtime/FlowFleet.Server/Hosting/ProcessTuning.cs).
# The same command as README's first one: add --demo for simulated devices and the example flows.
ENTRYPOINT ["dotnet", "flowfleet.dll", "--data", "/data"]

# Shell functions the bench scripts share (source it from the repository root: `. bench/lib.sh`).
# The server's binary, as `dotnet build -c Release runtime/FlowFleet.Server` leaves it.
FF_DLL=${FF_DLL:-runtime/FlowFleet.Server/bin/Release/net10.0/flowfleet.dll}

# A free loopback port (bound to port 0, then released for the server to take).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# FlowFleet as the image ships it (Dockerfile): published into DIR self-contained and ReadyToRun, what a start loads in one
# composite (runtime/FlowFleet.Server/ReadyToRunComposite.targets), ~2 minutes on two idle cores; and the GC settings it runs with.
ff_publish() { dotnet publish runtime/FlowFleet.Server -c Release -r linux-x64 --self-contained true -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true -o "$1" -v q -nologo >/dev/null; }
FF_IMAGE_GC="DOTNET_GCgen0size=0x1000000 DOTNET_GCGen1MaxBudget=0x2000000"

# CPU a process has used so far (user + system), in ms.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14+$15)*1000/hz}' "/proc/$1/stat"; }

# Resident memory of a process, e.g. "212 MiB".
rss() { awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' "/proc/$1/status"; }

# Returns once FlowFleet on PORT answers /healthz (gives up after about 20 s; the next request then fails loudly).
wait_healthz() { for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$1/healthz" && return; sleep 0.2; done; }

# An admin API token from FlowFleet on PORT for the admin PASSWORD (Node-RED's /auth/token password grant).
ff_token() {
  curl -s -X POST "http://127.0.0.1:$1/red/auth/token" \
    -d "client_id=node-red-admin&grant_type=password&scope=*&username=admin&password=$2" | python3 -c 'import sys,json;print(json.load(sys.stdin)["access_token"])'
}

# A full deploy of the flows in FILE to FlowFleet on PORT with TOKEN.
ff_deploy() {
  curl -sf -o /dev/null -X POST "http://127.0.0.1:$1/red/flows" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
    -H 'Node-RED-Deployment-Type: full' --data @"$3"
}

#!/usr/bin/env python3
"""Server CPU and allocations per deploy, as deploy.py sends them (POST /red/flows, full and `nodes` changing one node).
usage: deploy-cpu.py ADMIN_BASE FLOW.json PID [COUNT] [--token T]
For a shared machine: the CPU the server process used (/proc/PID/stat user+sys) and the bytes it allocated
(/metrics dotnet_gc_heap_total_allocated_bytes_total) per deploy do not depend on how loaded the machine is; wall is shown too.
Prints per type: CPU ms per deploy, allocated MB per deploy, collections per generation and GC pause over the COUNT
deploys (/metrics dotnet_gc_collections_total, dotnet_gc_pause_time_seconds_total), wall median ms."""
import json, os, re, statistics, sys, urllib.request

from deploy import parse_args, post  # deploy.py beside this script: the same arguments and the same deploys

args, token = parse_args(sys.argv[1:])
base, flow_file, pid = args[0].rstrip('/'), args[1], int(args[2])
count = int(args[3]) if len(args) > 3 else 20
flows = json.load(open(flow_file))
hz = os.sysconf('SC_CLK_TCK')
root = base[:base.index('/', 8)] if base.count('/') > 2 else base


def cpu_ms():
    f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) * 1000 / hz


def metric(text, pattern):
    m = re.search(pattern, text, re.M)
    return float(m.group(1)) if m else float('nan')


def gc():
    """Bytes allocated, collections of gen 0, 1, 2 and GC pause seconds so far."""
    req = urllib.request.Request(root + '/metrics', headers={'Authorization': 'Bearer ' + token} if token else {})
    text = urllib.request.urlopen(req, timeout=30).read().decode()
    return (metric(text, r'^dotnet_gc_heap_total_allocated_bytes_total\S* (\S+)'),
            *(metric(text, r'^dotnet_gc_collections_total\S*gen%d"\S* (\S+)' % g) for g in range(3)),
            metric(text, r'^dotnet_gc_pause_time_seconds_total\S* (\S+)'))


k = 0
for kind in ('full', 'nodes'):
    for _ in range(5):  # warm-up: JIT, pools
        post(base, token, flows, kind, k); k += 1
    c0, g0, walls = cpu_ms(), gc(), []
    for _ in range(count):
        walls.append(post(base, token, flows, kind, k)); k += 1
    c1, g1 = cpu_ms(), gc()
    d = [b - a for a, b in zip(g0, g1)]
    print(f"{kind}: CPU {(c1 - c0) / count:.1f} ms/deploy, allocated {d[0] / count / 1e6:.2f} MB/deploy, "
          f"GCs gen0/1/2 {d[1]:.0f}/{d[2]:.0f}/{d[3]:.0f} pause {d[4] * 1000:.0f} ms, "
          f"wall median {statistics.median(walls):.1f} ms (min {min(walls):.1f})")

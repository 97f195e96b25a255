#!/usr/bin/env python3
"""Server CPU and allocations per deploy, as deploy.py sends them (POST /red/flows, full and `nodes` changing one node).
usage: deploy-cpu.py ADMIN_BASE FLOW.json PID [COUNT] [--token T]
For a shared machine: the CPU the server process used (/proc/PID/stat user+sys) and the bytes it allocated
(/metrics dotnet_gc_heap_total_allocated_bytes_total) per deploy do not depend on how loaded the machine is; wall is shown too.
Prints per type: CPU ms per deploy, allocated MB per deploy, wall median ms."""
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


def allocated():
    req = urllib.request.Request(root + '/metrics', headers={'Authorization': 'Bearer ' + token} if token else {})
    text = urllib.request.urlopen(req, timeout=30).read().decode()
    m = re.search(r'^dotnet_gc_heap_total_allocated_bytes_total\S* (\S+)', text, re.M)
    return float(m.group(1)) if m else float('nan')


k = 0
for kind in ('full', 'nodes'):
    for _ in range(5):  # warm-up: JIT, pools
        post(base, token, flows, kind, k); k += 1
    c0, a0, walls = cpu_ms(), allocated(), []
    for _ in range(count):
        walls.append(post(base, token, flows, kind, k)); k += 1
    c1, a1 = cpu_ms(), allocated()
    print(f"{kind}: CPU {(c1 - c0) / count:.1f} ms/deploy, allocated {(a1 - a0) / count / 1e6:.2f} MB/deploy, "
          f"wall median {statistics.median(walls):.1f} ms (min {min(walls):.1f})")

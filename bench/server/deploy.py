#!/usr/bin/env python3
"""Deploy and start-up timings with an N-node flow (../shared/bench/make-big-flow.py), for any Node-RED admin API.
usage: deploy.py ADMIN_BASE FLOW.json [--token T]
Prints: full deploy ms (median of 5), nodes deploy changing one node ms (median of 5)."""
import json, statistics, sys, time, urllib.request

args = [a for a in sys.argv[1:] if not a.startswith('--')]
token = sys.argv[sys.argv.index('--token') + 1] if '--token' in sys.argv else None
if token in args:
    args.remove(token)
base, flow_file = args[0].rstrip('/'), args[1]
flows = json.load(open(flow_file))

def post(body, kind):
    headers = {'Content-Type': 'application/json', 'Node-RED-Deployment-Type': kind}
    if token:
        headers['Authorization'] = 'Bearer ' + token
    req = urllib.request.Request(base + '/flows', data=json.dumps(body).encode(), headers=headers, method='POST')
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        r.read()
    return (time.perf_counter() - t0) * 1000

full = [post(flows, 'full') for _ in range(5)]
nodes = []
for k in range(5):
    target = next(n for n in flows if n['type'] == 'function')
    target['func'] = 'msg.payload = msg.payload * %d;\nreturn msg;' % (k + 3)
    nodes.append(post(flows, 'nodes'))
print(f"full_deploy_ms={statistics.median(full):.0f} nodes_deploy_ms={statistics.median(nodes):.0f} (runs: full {[round(x) for x in full]}, nodes {[round(x) for x in nodes]})")

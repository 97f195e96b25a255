#!/usr/bin/env python3
"""Deploy and start-up timings with an N-node flow (../shared/bench/make-big-flow.py), for any Node-RED admin API.
usage: deploy.py ADMIN_BASE FLOW.json [--token T]
Prints: full deploy ms (median of 5), nodes deploy changing one node ms (median of 5).
deploy-cpu.py imports parse_args and post from here."""
import json, statistics, sys, time, urllib.request


def parse_args(argv):
    """The positional arguments (without --token's value) and the token, or None."""
    args = [a for a in argv if not a.startswith('--')]
    token = argv[argv.index('--token') + 1] if '--token' in argv else None
    if token in args:
        args.remove(token)
    return args, token


def post(base, token, flows, kind, k=0):
    """One deploy of FLOWS ('full', or 'nodes' after changing one function node with K); returns its wall time in ms."""
    if kind == 'nodes':
        target = next(n for n in flows if n['type'] == 'function')
        target['func'] = 'msg.payload = msg.payload * %d;\nreturn msg;' % (k + 3)
    headers = {'Content-Type': 'application/json', 'Node-RED-Deployment-Type': kind}
    if token:
        headers['Authorization'] = 'Bearer ' + token
    req = urllib.request.Request(base + '/flows', data=json.dumps(flows).encode(), headers=headers, method='POST')
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        r.read()
    return (time.perf_counter() - t0) * 1000


if __name__ == '__main__':
    args, token = parse_args(sys.argv[1:])
    base, flow_file = args[0].rstrip('/'), args[1]
    flows = json.load(open(flow_file))
    full = [post(base, token, flows, 'full') for _ in range(5)]
    nodes = [post(base, token, flows, 'nodes', k) for k in range(5)]
    print(f"full_deploy_ms={statistics.median(full):.0f} nodes_deploy_ms={statistics.median(nodes):.0f} (runs: full {[round(x) for x in full]}, nodes {[round(x) for x in nodes]})")

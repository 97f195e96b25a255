#!/usr/bin/env python3
"""Driver of bench/cluster/run.sh: watches three FlowFleet instances under simulated device load and prints events/s per
instance, RSS and memory per device, and RPC latency to the same probe devices through the instance that holds them
(local) and through another one (cross-instance, over NATS). Standard library only."""
import argparse, http.client, json, random, statistics, threading, time


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks of 1/100 s


class Instance:
    def __init__(self, spec):
        self.name, url, pid, baseline = spec.split("=")
        self.host, port = url.removeprefix("http://").split(":")
        self.port, self.pid, self.baseline = int(port), int(pid), int(baseline)

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            c.request(method, path, json.dumps(body) if body is not None else None, {"Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, json.loads(r.read() or b"null")
        finally:
            c.close()

    def stats(self):
        return self.request("GET", "/api/fleet/stats")[1]

    def cluster_metrics(self):
        """The FlowFleet.Cluster samples of /metrics (Prometheus text), by name without the instance tag."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            c.request("GET", "/metrics")
            text = c.getresponse().read().decode()
        finally:
            c.close()
        out = {}
        for line in text.splitlines():
            if line.startswith("flowfleet_cluster_"):
                name, value = line.rsplit(" ", 1)
                out[name.split("{")[0]] = float(value)
        return out


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))] if values else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--instance", action="append", required=True, help="name=http://host:port=pid=baselineRssBytes")
    ap.add_argument("--devices", type=int, required=True)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--probe-search", default="c0ffeef000")
    ap.add_argument("--wait-online-seconds", type=int, default=900)
    a = ap.parse_args()
    inst = [Instance(s) for s in a.instance]
    local, remote = inst[0], inst[1]

    t0, previous, steady = time.time(), -1, 0
    while time.time() - t0 < a.wait_online_seconds:
        try:
            per = [i.stats()["online"] for i in inst]
        except OSError as ex:
            # During the connection storm an instance may not answer within the timeout: report it and ask again.
            print(f"[{time.time() - t0:5.0f}s] stats not answered yet ({ex})", flush=True)
            time.sleep(5)
            continue
        total = sum(per)
        print(f"[{time.time() - t0:5.0f}s] online {total}/{a.devices} ({100.0 * total / a.devices:.0f}%) "
              + " ".join(f"{i.name}={n}" for i, n in zip(inst, per))
              + " RSS " + " ".join(f"{i.name}={rss(i.pid) / 1048576:.0f}MiB" for i in inst), flush=True)
        steady = steady + 1 if total == previous and total > 0 else 0
        previous = total
        if total >= a.devices or steady >= 4:
            print(f"online: {total} of {a.devices} after {time.time() - t0:.0f} s", flush=True)
            break
        time.sleep(5)

    _, found = local.request("GET", f"/api/devices?online=true&limit=100&search={a.probe_search}")
    ids = [d["id"] for d in found["items"]]
    print(f"measuring {a.seconds} s; RPC probe on {len(ids)} devices held by {local.name}, called through {local.name} and {remote.name}", flush=True)
    lat = {"local": [], "cross": []}
    errors = {"local": 0, "cross": 0}
    stop = threading.Event()

    def prober():
        rnd = random.Random(1)
        while not stop.is_set() and ids:
            for kind, via in (("local", local), ("cross", remote)):
                started = time.perf_counter()
                try:
                    status, body = via.request("POST", f"/api/devices/{rnd.choice(ids)}/rpc", {"method": "Shelly.GetDeviceInfo"})
                    if status == 200:
                        lat[kind].append((time.perf_counter() - started) * 1000)
                    else:
                        errors[kind] += 1
                        print(f"rpc error via {via.name}: {status} {body}", flush=True)
                except OSError as ex:
                    errors[kind] += 1
                    print(f"rpc error via {via.name}: {ex}", flush=True)
            stop.wait(0.05)

    before = [(i.stats()["eventsProcessed"], cpu_seconds(i.pid)) for i in inst]
    # Each instance's counters with the time they were read: under load a scrape can take seconds, so rates use these.
    metrics_before = [(time.time(), i.cluster_metrics()) for i in inst]
    started = time.time()
    thread = threading.Thread(target=prober)
    thread.start()
    time.sleep(a.seconds)
    stop.set()
    thread.join()
    elapsed = time.time() - started
    after = [(i.stats(), cpu_seconds(i.pid)) for i in inst]
    metrics_after = [(time.time(), i.cluster_metrics()) for i in inst]

    print("\n| instance | devices held | events/s | CPU % | RSS MiB | KiB per device (RSS above idle) |")
    print("|---|---|---|---|---|---|")
    total_events, total_devices = 0.0, 0
    for i, (e0, c0), (s, c1) in zip(inst, before, after):
        events = (s["eventsProcessed"] - e0) / elapsed
        held = s["online"]
        total_events += events
        total_devices += held
        r = rss(i.pid)
        per = (r - i.baseline) / 1024 / held if held else float("nan")
        print(f"| {i.name} | {held} | {events:,.0f} | {100 * (c1 - c0) / elapsed:.0f} | {r / 1048576:.0f} | {per:.1f} |")
    print(f"| all | {total_devices} | {total_events:,.0f} | | | |")
    # The fan-out while measuring (per second) and since the start (totals): what each instance sent and took.
    print("\n| instance | fan-out items/s sent | batches/s | items/batch | coalesced/s | received items/s | dropped (total) | failed publishes (total) | batches lost (total) | queued now | mirrored devices | KiB RSS per fleet device |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i, (t0, m0), (t1, m1), (s, _) in zip(inst, metrics_before, metrics_after, after):
        d = lambda k: (m1.get(k, 0) - m0.get(k, 0)) / (t1 - t0)
        sent, batches = d("flowfleet_cluster_messages_published_total"), d("flowfleet_cluster_fanout_batches_total")
        fleet = s["online"] + m1.get("flowfleet_cluster_devices_remote", 0)
        print(f"| {i.name} | {sent:,.0f} | {batches:,.1f} | {sent / batches if batches else float('nan'):,.0f} | {d('flowfleet_cluster_fanout_coalesced_total'):,.0f} | "
              f"{d('flowfleet_cluster_messages_received_total'):,.0f} | {m1.get('flowfleet_cluster_fanout_dropped_total', 0):,.0f} | "
              f"{m1.get('flowfleet_cluster_fanout_failures_total', 0):,.0f} | {m1.get('flowfleet_cluster_fanout_lost_total', 0):,.0f} | "
              f"{m1.get('flowfleet_cluster_fanout_queued', 0):,.0f} | {m1.get('flowfleet_cluster_devices_remote', 0):,.0f} | "
              f"{(rss(i.pid) - i.baseline) / 1024 / fleet if fleet else float('nan'):.1f} |")
    print("\n| RPC (Shelly.GetDeviceInfo via REST) | calls | errors | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for kind in ("local", "cross"):
        v = lat[kind]
        print(f"| {kind} ({local.name if kind == 'local' else remote.name + ' → ' + local.name}) | {len(v)} | {errors[kind]} | "
              f"{pct(v, 50):.1f} | {pct(v, 99):.1f} |")


if __name__ == "__main__":
    main()

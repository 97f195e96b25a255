#!/usr/bin/env python3
"""Hostile-client drills against a FlowFleet server on loopback (issue 13). Bounded: every drill ends after --hold seconds.

  drill.py idle      --port P [--count 150] [--hold 20]   silent TCP connections
  drill.py slowloris --port P [--count 110] [--hold 20]   request heads that never finish (one byte a second)
  drill.py comms     --port P [--count 100] --password PW anonymous /red/comms sockets, then the admin's
  drill.py keys      --port P [--frames 200] [--keys 2000] --pid PID   an unaccepted device inventing status keys

While the drill holds its sockets, /healthz is probed every 0.5 s on a fresh connection; the result line says how many
probes answered, their latency, and how many of the drill's sockets the server closed (and how soon).
"""
import argparse, base64, json, os, socket, statistics, sys, threading, time, urllib.request

def probe(port, path="/healthz", timeout=3.0):
    t = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            r.read()
            return r.status == 200, (time.monotonic() - t) * 1000
    except Exception:
        return False, (time.monotonic() - t) * 1000

def watch_closed(socks, closed_at, start):
    """Records when the server closes each socket (a read returns b'' or fails)."""
    def run(i, s):
        s.settimeout(None)
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
        closed_at[i] = time.monotonic() - start
    for i, s in enumerate(socks):
        threading.Thread(target=run, args=(i, s), daemon=True).start()

def hold_and_probe(port, socks, hold, trickle=None):
    start = time.monotonic()
    closed = {}
    watch_closed(socks, closed, start)
    oks, lat = 0, []
    n = 0
    while time.monotonic() - start < hold:
        ok, ms = probe(port)
        n += 1
        oks += ok
        lat.append(ms)
        if trickle:
            trickle()
        time.sleep(0.5)
    return {
        "probes": n, "probes_ok": oks, "probe_p50_ms": round(statistics.median(lat), 1), "probe_max_ms": round(max(lat), 1),
        "held": len(socks), "closed_by_server": len(closed),
        "closed_after_s_max": round(max(closed.values()), 1) if closed else None,
    }

def connect(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        socks.append(s)
    return socks

def ws_handshake(port, path, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("closed during handshake")
        head += chunk
    status = head.split(b" ", 2)[1]
    if status != b"101":
        s.close()
        raise OSError(f"upgrade refused: {status.decode()}")
    return s

def ws_send(s, text):
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big") if n < 65536 else bytes([0x80 | 127]) + n.to_bytes(8, "big"))
    s.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

def ws_recv_text(s):
    def exact(k):
        b = b""
        while len(b) < k:
            c = s.recv(k - len(b))
            if not c:
                raise OSError("closed")
            b += c
        return b
    b0, b1 = exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(exact(2), "big")
    elif n == 127:
        n = int.from_bytes(exact(8), "big")
    return b0 & 0x0F, exact(n)

def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("drill", choices=["idle", "slowloris", "comms", "keys"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int)
    ap.add_argument("--hold", type=float, default=20)
    ap.add_argument("--password", default="")
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--keys", type=int, default=2000)
    ap.add_argument("--pid", type=int)
    a = ap.parse_args()
    out = {"drill": a.drill}
    if a.drill == "idle":
        socks = connect(a.port, a.count or 150)
        out.update(hold_and_probe(a.port, socks, a.hold))
    elif a.drill == "slowloris":
        socks = connect(a.port, a.count or 110)
        for s in socks:
            s.sendall(b"GET /api/devices HTTP/1.1\r\nHost: x\r\nX-slow: ")
        def trickle():
            for s in socks:
                try:
                    s.sendall(b"a")
                except OSError:
                    pass
        out.update(hold_and_probe(a.port, socks, a.hold, trickle))
    elif a.drill == "comms":
        socks, refused = [], 0
        for _ in range(a.count or 100):
            try:
                socks.append(ws_handshake(a.port, "/red/comms"))
            except OSError:
                refused += 1
        body = f"client_id=node-red-admin&grant_type=password&scope=*&username=admin&password={a.password}".encode()
        token = json.load(urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{a.port}/red/auth/token", data=body), timeout=5))["access_token"]
        t = time.monotonic()
        try:
            admin = ws_handshake(a.port, "/red/comms")
            ws_send(admin, json.dumps({"auth": token}))
            _, reply = ws_recv_text(admin)
            out["admin_auth"] = json.loads(reply).get("auth")
        except OSError as e:
            out["admin_auth"] = f"failed: {e}"
        out["admin_ms"] = round((time.monotonic() - t) * 1000, 1)
        out["anonymous_opened"], out["anonymous_refused"] = len(socks), refused
        out.update(hold_and_probe(a.port, socks, a.hold))
    elif a.drill == "keys":
        s = ws_handshake(a.port, "/shelly")
        before, t = cpu_seconds(a.pid), time.monotonic()
        sent = 0
        for f in range(a.frames):
            params = {f"k{f}x{k}:0": {"v": k} for k in range(a.keys)}
            try:
                ws_send(s, json.dumps({"src": "shellyplus1-keygrowth", "method": "NotifyFullStatus" if f == 0 else "NotifyStatus", "params": params}))
                sent += 1
            except OSError:
                break
        ok, ms = probe(a.port, "/healthz", timeout=60)
        out.update({"frames_sent": sent, "keys_per_frame": a.keys, "send_s": round(time.monotonic() - t, 1),
                    "server_cpu_s": round(cpu_seconds(a.pid) - before, 1), "healthz_after_ms": round(ms, 1)})
        # Until the server has caught up: its CPU goes quiet.
        last = cpu_seconds(a.pid)
        for _ in range(600):
            time.sleep(1)
            now = cpu_seconds(a.pid)
            if now - last < 0.05:
                break
            last = now
        out["server_cpu_total_s"] = round(cpu_seconds(a.pid) - before, 1)
        out["busy_s"] = round(time.monotonic() - t, 1)
    print("RESULT " + " ".join(f"{k}={v}" for k, v in out.items()))

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Notification latency of platops beside Debian's Alertmanager 0.25, in the same run.

A local webhook receiver on 127.0.0.1 records when each notification arrives. Alerts are posted
one at a time (each its own alertname, so each its own aggregation group, `group_by:
[alertname]`), --gap seconds apart so the servers are idle between them:
  e2e    `group_wait: 0s`: from the start of the POST to the webhook's arrival
  flush  `group_wait: 1s`: the same minus the second waited, i.e. how late the group's
         notification leaves after its deadline
With --background N, N alerts in N/20 groups are posted (and their first notifications
delivered) before each phase, so the measured groups flush beside that many held ones.
Reported per server and phase: p50, p99 and max in milliseconds over --alerts alerts.
Usage: bench/alerting_latency.py --binary build-bench/platops [--alerts 300] [--background 100000]
"""
import argparse, datetime, http.client, http.server, json, os, shutil, sys, tempfile, threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from alerting_bench import start  # noqa: E402
from benchlib import log  # noqa: E402


class Receiver:
    """Records the arrival time of every alert's first notification, by alertname."""

    def __init__(self):
        self.arrived = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.time()
                msg = json.loads(body)
                with outer.lock:
                    for a in msg.get("alerts", []):
                        outer.arrived.setdefault(a["labels"]["alertname"], now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def config(url, group_wait):
    return f"""route:
  receiver: hook
  group_by: [alertname]
  group_wait: {group_wait}
  group_interval: 5m
  repeat_interval: 4h
receivers:
- name: hook
  webhook_configs:
  - url: {url}
    send_resolved: false
"""


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def preload(conn, prefix, headers, receiver, n):
    """n alerts, 20 per alertname (one group each), posted 1,000 at a time; returns when their
    groups' first notifications have arrived."""
    if n <= 0:
        return
    now = datetime.datetime.now(datetime.timezone.utc)
    ends = (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    starts = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    groups = (n + 19) // 20
    for first in range(0, n, 1000):
        batch = [{"labels": {"alertname": f"Held{k // 20:05d}", "instance": f"host-{k:06d}",
                             "job": "bench"}, "startsAt": starts, "endsAt": ends}
                 for k in range(first, min(n, first + 1000))]
        conn.request("POST", prefix + "/api/v2/alerts", body=json.dumps(batch), headers=headers)
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
    deadline = time.time() + 120
    while time.time() < deadline:
        with receiver.lock:
            if sum(1 for k in receiver.arrived if k.startswith("Held")) >= groups:
                return
        time.sleep(0.2)
    log("  warning: not every held group was notified within 120 s")


def phase(name, binary, group_wait_s, alerts, gap, tag, background):
    receiver = Receiver()
    d = tempfile.mkdtemp(prefix=f"latency-{name}-")
    p = None
    try:
        p, port, prefix, headers = start(name, binary, d, config(receiver.url, f"{group_wait_s}s"))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        preload(conn, prefix, headers, receiver, background)
        posted = {}
        for i in range(alerts):
            alertname = f"Latency{tag}{i:05d}"
            now = datetime.datetime.now(datetime.timezone.utc)
            body = json.dumps([{"labels": {"alertname": alertname, "job": "bench"},
                                "startsAt": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}])
            t = time.time()
            conn.request("POST", prefix + "/api/v2/alerts", body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            assert r.status == 200, r.status
            posted[alertname] = t
            time.sleep(gap)
        deadline = time.time() + group_wait_s + 30
        while time.time() < deadline:
            with receiver.lock:
                if sum(1 for k in posted if k in receiver.arrived) >= alerts:
                    break
            time.sleep(0.05)
        with receiver.lock:
            arrived = dict(receiver.arrived)
        lat = [(arrived[k] - posted[k] - group_wait_s) * 1000 for k in posted if k in arrived]
        missing = alerts - len(lat)
        return {"p50_ms": round(pct(lat, 0.5), 1), "p99_ms": round(pct(lat, 0.99), 1),
                "max_ms": round(max(lat), 1), "notified": len(lat), "missing": missing}
    finally:
        if p:
            p.stop()
        receiver.stop()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--alerts", type=int, default=300)
    ap.add_argument("--gap", type=float, default=0.02)
    ap.add_argument("--background", type=int, default=0)
    args = ap.parse_args()
    out = {"machine": os.uname().nodename, "cpus": os.cpu_count(), "alerts": args.alerts,
           "gap_s": args.gap, "background_alerts": args.background,
           "date": datetime.datetime.now().isoformat(timespec="minutes")}
    for tag, group_wait in (("e2e", 0), ("flush", 1)):
        for name in ("platops", "alertmanager"):
            log(f"{name}: {tag} (group_wait {group_wait}s), {args.alerts} alerts")
            out[f"{name}_{tag}"] = phase(name, args.binary, group_wait, args.alerts, args.gap,
                                         tag, args.background)
            log(f"  {out[f'{name}_{tag}']}")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

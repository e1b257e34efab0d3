#!/usr/bin/env python3
"""Alert intake of platops beside Debian's Alertmanager 0.25, in the same run, on the same data.

Both servers get the same Alertmanager configuration (one receiver without integrations,
group_by [alertname, cluster]: up to 1,000 aggregation groups) and the same pre-encoded
POST /api/v2/alerts bodies of --batch alerts with distinct label sets, sent by --concurrency
keep-alive clients, as Prometheus's notifier sends them:
  new     --alerts alerts never seen before
  refire  the same alerts again with a later endsAt (what Prometheus does on every resend)
Reported per server and phase: alerts/s, alerts per server CPU-second (the load generator shares
the two cores, so this is the fair figure), RSS per alert, and the time to GET all alerts and
all groups. Usage: bench/alerting_bench.py --binary build-bench/platops [--alerts 20000]
"""
import argparse, datetime, http.client, json, os, shutil, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import Proc, free_port, log, wait_http  # noqa: E402

TOKEN = "bench-admin-token-0123456789"
CONFIG = """route:
  receiver: 'null'
  group_by: ['alertname', 'cluster']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
- name: 'null'
"""


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def make_bodies(n, batch, t_start, t_end):
    alerts = []
    for k in range(n):
        alerts.append({"labels": {"alertname": f"BenchAlert{k % 50:02d}",
                                  "cluster": f"c{(k // 50) % 20:02d}",
                                  "instance": f"host-{k:07d}:9100", "job": "bench",
                                  "severity": ("warning", "critical")[k % 2]},
                       "annotations": {"summary": f"synthetic alert {k}",
                                       "description": "alerting benchmark"},
                       "startsAt": iso(t_start), "endsAt": iso(t_end),
                       "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up"})
    return [json.dumps(alerts[i:i + batch]).encode() for i in range(0, len(alerts), batch)]


def post_all(port, prefix, headers, bodies, concurrency, deadline):
    idx = {"i": 0}
    lock = threading.Lock()
    errors = []
    sent = [0]

    def worker():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.time() < deadline:
            with lock:
                i = idx["i"]
                idx["i"] += 1
            if i >= len(bodies):
                break
            c.request("POST", prefix + "/api/v2/alerts", body=bodies[i], headers=headers)
            r = c.getresponse()
            msg = r.read()
            if r.status != 200:
                errors.append((r.status, msg[:200]))
            else:
                with lock:
                    sent[0] += 1
        c.close()
    ts = [threading.Thread(target=worker) for _ in range(concurrency)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    return errors, sent[0]


def timed_get(port, path, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    t0 = time.time()
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    body = r.read()
    elapsed = time.time() - t0
    c.close()
    assert r.status == 200, (r.status, body[:200])
    return elapsed, json.loads(body)


def start(name, binary, d, config=CONFIG):
    """Starts `name` (platops or alertmanager) on a free port with the Alertmanager `config`;
    returns the process, the port, the API prefix and the request headers."""
    port = free_port()
    with open(os.path.join(d, "am.yml"), "w") as f:
        f.write(config)
    if name == "alertmanager":
        p = Proc(["/usr/bin/prometheus-alertmanager", f"--config.file={d}/am.yml",
                  f"--storage.path={d}/data", f"--web.listen-address=127.0.0.1:{port}",
                  "--cluster.listen-address=", "--log.level=warn"], f"{d}/log")
        wait_http(f"http://127.0.0.1:{port}/-/ready")
        return p, port, "", {"Content-Type": "application/json"}
    env = dict(os.environ, PLATOPS_BOOTSTRAP_TOKEN=TOKEN,
               PLATOPS_ALERTING_ALERTMANAGER_CONFIG=f"{d}/am.yml",
               PLATOPS_METRICS_SELF_SCRAPE_INTERVAL="0", PLATOPS_HOST_METRICS_ENABLED="false",
               PLATOPS_LOG_LEVEL="warn")
    p = Proc([binary, "serve", "--data-dir", f"{d}/data", "--listen", f"127.0.0.1:{port}"],
             f"{d}/log", env=env)
    wait_http(f"http://127.0.0.1:{port}/readyz")
    return p, port, "/alertmanager", {"Content-Type": "application/json",
                                      "Authorization": "Bearer " + TOKEN}


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--alerts", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=120)
    args = ap.parse_args()
    results = {"platops": [], "alertmanager": []}
    for run in range(args.runs):
        for name in ("platops", "alertmanager"):
            d = tempfile.mkdtemp(prefix=f"alerting-bench-{name}-")
            p, port, prefix, headers = start(name, args.binary, d)
            try:
                time.sleep(1)
                now = time.time()
                idle = p.rss_mib()
                r = {"run": run}
                for phase, end in (("new", now + 3600), ("refire", now + 3660)):
                    bodies = make_bodies(args.alerts, args.batch, now, end)
                    cpu0 = p.cpu_s()
                    t0 = time.time()
                    errs, ok = post_all(port, prefix, headers, bodies, args.concurrency,
                                        t0 + args.max_seconds)
                    t1 = time.time()
                    cpu1 = p.cpu_s()
                    n = min(ok * args.batch, args.alerts)
                    r[f"{phase}_alerts_per_s"] = round(n / (t1 - t0))
                    r[f"{phase}_alerts_per_cpu_s"] = round(n / max(cpu1 - cpu0, 1e-9))
                    r[f"{phase}_errors"] = len(errs)
                    if errs:
                        r[f"{phase}_first_error"] = [errs[0][0], errs[0][1].decode(errors="replace")]
                r["rss_per_alert_kib"] = round((p.rss_mib() - idle) * 1024 / args.alerts, 2)
                r["get_all_alerts_s"], alerts = timed_get(port, prefix + "/api/v2/alerts", headers)
                r["get_all_alerts_s"] = round(r["get_all_alerts_s"], 3)
                r["alerts_listed"] = len(alerts)
                r["get_groups_s"], groups = timed_get(port, prefix + "/api/v2/alerts/groups",
                                                      headers)
                r["get_groups_s"] = round(r["get_groups_s"], 3)
                r["groups_listed"] = len(groups)
                log(name, json.dumps(r))
                results[name].append(r)
            finally:
                p.stop()
                shutil.rmtree(d, ignore_errors=True)
    keys = ["new_alerts_per_s", "refire_alerts_per_s", "new_alerts_per_cpu_s",
            "refire_alerts_per_cpu_s", "rss_per_alert_kib", "get_all_alerts_s", "get_groups_s"]
    summary = {name: {k: median([r[k] for r in rs]) for k in keys} for name, rs in results.items()}
    summary["ratio_new_per_cpu_s"] = round(summary["platops"]["new_alerts_per_cpu_s"] /
                                           summary["alertmanager"]["new_alerts_per_cpu_s"], 2)
    summary["ratio_refire_per_cpu_s"] = round(summary["platops"]["refire_alerts_per_cpu_s"] /
                                              summary["alertmanager"]["refire_alerts_per_cpu_s"], 2)
    print(json.dumps({"params": vars(args), "median": summary, "runs": results}, indent=2))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Rule evaluation at scale: platops beside Debian's Prometheus, in the same run, same rule file.

--groups rule groups of --rules rules each (alerting and recording rules over the servers' own
metrics: rates, aggregations, comparisons), every --interval, for --seconds. Reported per server:
evaluations done and missed (platops_/prometheus_rule_group_iterations_missed_total), the
slowest group's last duration, and the server's CPU use over the window.
Usage: bench/rules_bench.py --binary build-bench/platops [--groups 1000] [--rules 10]
"""
import argparse, datetime, json, os, re, shutil, sys, tempfile, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import Proc, free_port, log, wait_http  # noqa: E402

TOKEN = "bench-admin-token-0123456789"

# Each group: the same ten shapes, on the metrics both servers expose about themselves.
RULES = [
    ("alert", "up == 0"),
    ("record", "sum by (job) (up)"),
    ("alert", "sum by (job) (rate({__name__=~\".*_http_requests_total\"}[1m])) > 1e9"),
    ("record", "count({__name__=~\"process_.*\"})"),
    ("alert", "process_resident_memory_bytes > 1e12"),
    ("record", "rate(process_cpu_seconds_total[1m])"),
    ("alert", "absent(up{job=\"no-such-job\"})"),
    ("record", "max_over_time(process_open_fds[5m])"),
    ("alert", "scrape_duration_seconds > 60"),
    ("record", "avg(scrape_samples_scraped)"),
]


def rule_file(groups, rules, interval):
    lines = ["groups:"]
    for g in range(groups):
        lines += [f"- name: bench-{g:04d}", f"  interval: {interval}", "  rules:"]
        for r in range(rules):
            kind, expr = RULES[r % len(RULES)]
            expr = expr.replace('"', '\\"')
            if kind == "alert":
                lines += [f"  - alert: Bench{g:04d}R{r:02d}", f"    expr: \"{expr}\"",
                          "    labels: {severity: info}"]
            else:
                lines += [f"  - record: bench:g{g:04d}:r{r:02d}", f"    expr: \"{expr}\""]
    return "\n".join(lines) + "\n"


def metrics(url, headers):
    req = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode()


def total(text, name):
    s = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            s += float(line.rsplit(" ", 1)[1])
    return s


def slowest_group(text, name):
    best = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and 'quantile' not in line and "_bucket" not in line:
            best = max(best, float(line.rsplit(" ", 1)[1]))
    return best


def run(name, binary, d, rules_path, seconds, scrape_interval):
    port = free_port()
    if name == "prometheus":
        with open(f"{d}/prometheus.yml", "w") as f:
            f.write(f"global: {{scrape_interval: {scrape_interval}, evaluation_interval: 15s}}\n"
                    f"rule_files: ['{rules_path}']\n"
                    f"scrape_configs:\n- job_name: self\n  static_configs:\n"
                    f"  - targets: ['127.0.0.1:{port}']\n")
        p = Proc(["/usr/bin/prometheus", f"--config.file={d}/prometheus.yml",
                  f"--storage.tsdb.path={d}/data", f"--web.listen-address=127.0.0.1:{port}",
                  "--log.level=warn"], f"{d}/log")
        wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=120)
        murl, headers = f"http://127.0.0.1:{port}/metrics", {}
        prefix = "prometheus"
    else:
        env = dict(os.environ, PLATOPS_BOOTSTRAP_TOKEN=TOKEN,
                   PLATOPS_ALERTING_RULE_FILES=rules_path,
                   PLATOPS_METRICS_SELF_SCRAPE_INTERVAL=scrape_interval,
                   PLATOPS_HOST_METRICS_ENABLED="false", PLATOPS_LOG_LEVEL="warn")
        p = Proc([binary, "serve", "--data-dir", f"{d}/data", "--listen",
                  f"127.0.0.1:{port}"], f"{d}/log", env=env)
        wait_http(f"http://127.0.0.1:{port}/readyz", timeout=120)
        murl, headers = f"http://127.0.0.1:{port}/metrics", {"Authorization": "Bearer " + TOKEN}
        prefix = "platops"
    try:
        cpu0, t0 = p.cpu_s(), time.time()
        time.sleep(seconds)
        cpu1, t1 = p.cpu_s(), time.time()
        text = metrics(murl, headers)
        return {
            "evaluations": int(total(text, f"{prefix}_rule_group_iterations_total")
                               if prefix == "prometheus"
                               else total(text, "platops_rule_group_evaluations_total")),
            "missed": int(total(text, f"{prefix}_rule_group_iterations_missed_total")),
            "failures": int(total(text, f"{prefix}_rule_evaluation_failures_total")),
            "slowest_group_last_s": round(slowest_group(
                text, "prometheus_rule_group_last_duration_seconds"), 4)
            if prefix == "prometheus" else None,
            "cpu_share": round((cpu1 - cpu0) / (t1 - t0), 3),
            "rss_mib": round(p.rss_mib(), 1),
        }
    finally:
        p.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--rules", type=int, default=10)
    ap.add_argument("--interval", default="15s")
    ap.add_argument("--seconds", type=float, default=75)
    ap.add_argument("--scrape-interval", default="15s")
    args = ap.parse_args()
    out = {"machine": os.uname().nodename, "cpus": os.cpu_count(), "groups": args.groups,
           "rules_per_group": args.rules, "interval": args.interval, "seconds": args.seconds,
           "date": datetime.datetime.now().isoformat(timespec="minutes")}
    for name in ("platops", "prometheus"):
        d = tempfile.mkdtemp(prefix=f"rules-{name}-")
        try:
            path = f"{d}/rules.yml"
            with open(path, "w") as f:
                f.write(rule_file(args.groups, args.rules, args.interval))
            log(f"{name}: {args.groups} groups x {args.rules} rules every {args.interval}, "
                f"{args.seconds:.0f} s")
            out[name] = run(name, args.binary, d, path, args.seconds, args.scrape_interval)
            log(f"  {out[name]}")
        finally:
            shutil.rmtree(d, ignore_errors=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

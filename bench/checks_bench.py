#!/usr/bin/env python3
"""Checks throughput and cost, with blackbox_exporter measured in the same run.

Everything runs on 127.0.0.1 with temporary data directories; every process started here is
stopped by its PID. The HTTP target is a second platops process serving /healthz (a C++ server
that is not the bottleneck). Scenarios:

  blackbox  prometheus-blackbox-exporter driven by wrk: HTTP and TCP probes per exporter CPU-second
  http      N platops HTTP checks at interval I (N/I checks per second): checks per platops
            CPU-second, achieved rate, start lateness p99 (from platops_check_start_lateness_seconds)
  tcp       the same with TCP checks
  steady    10,000 HTTP checks at a 30 s interval: CPU share of one core and RSS in steady state
  exec      exec checks of /bin/true: achieved rate and CPU

Usage: bench/checks_bench.py --binary build-bench/platops [--scenarios blackbox,http,tcp,steady,exec]
Prints one JSON object with every figure."""
import argparse, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time
import urllib.parse, urllib.request

from benchlib import Proc, free_port, log, wait_http

TOKEN = "bench-admin-token-0123456789abcdef"


def http(method, url, body=None, ctype="application/json", timeout=60):
    req = urllib.request.Request(url, data=body.encode() if body is not None else None,
                                 method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    if body is not None:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read().decode()


def start_platops(binary, tmp, name, extra_env=None):
    port = free_port()
    d = os.path.join(tmp, name)
    os.makedirs(d)
    env = dict(os.environ, PLATOPS_BOOTSTRAP_TOKEN=TOKEN, PLATOPS_LOG_LEVEL="warn",
               PLATOPS_HOST_METRICS_ENABLED="false", PLATOPS_LOG_ACCESS="false")
    env.update(extra_env or {})
    p = Proc([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", d],
             os.path.join(tmp, name + ".log"), env)
    wait_http(f"http://127.0.0.1:{port}/readyz")
    return p, f"http://127.0.0.1:{port}"


def metric_sum(text, name, match=""):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (line[len(name)] in " {") and match in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def histogram(text, name):
    buckets = {}
    for line in text.splitlines():
        m = re.match(name + r'_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            buckets[float(m.group(1))] = float(m.group(2))
    return buckets


def quantile(b0, b1, q):
    """Upper bound of the bucket holding quantile q of the observations between two scrapes."""
    diff = sorted((le, b1[le] - b0.get(le, 0)) for le in b1)
    total = diff[-1][1] if diff else 0
    if total <= 0:
        return None
    for le, c in diff:
        if c >= q * total:
            return le
    return float("inf")


def apply_checks(base, docs):
    for i in range(0, len(docs), 1000):
        body = "\n---\n".join(docs[i:i + 1000])
        status, out = http("POST", base + "/api/v1/apply", body, "application/yaml", timeout=300)
        assert status == 200, out[:500]


def setup_catalog(base):
    apply_checks(base, ["kind: Team\nslug: bench\nname: Bench",
                        "kind: Service\nslug: target\nname: Target\nteam: bench"])


def check_docs(n, kind, interval, timeout, spec):
    docs = []
    for i in range(n):
        docs.append(f"kind: Check\nservice: target\nname: {kind}-{i}\ntype: {kind}\n"
                    f"interval: {interval}\ntimeout: {timeout}\n{spec}")
    return docs


def measure_platops(binary, tmp, name, docs, kind, warmup, window):
    p, base = start_platops(binary, tmp, name)
    try:
        setup_catalog(base)
        t_apply = time.time()
        apply_checks(base, docs)
        log(f"{name}: applied {len(docs)} checks in {time.time() - t_apply:.1f}s")
        time.sleep(warmup)
        _, m0 = http("GET", base + "/metrics")
        c0, t0 = p.cpu_s(), time.time()
        time.sleep(window)
        _, m1 = http("GET", base + "/metrics")
        c1, t1 = p.cpu_s(), time.time()
        runs = (metric_sum(m1, "platops_check_runs_total", f'type="{kind}"') -
                metric_sum(m0, "platops_check_runs_total", f'type="{kind}"'))
        ok = (metric_sum(m1, "platops_check_runs_total", f'type="{kind}",outcome="OK"') -
              metric_sum(m0, "platops_check_runs_total", f'type="{kind}",outcome="OK"'))
        skipped = (metric_sum(m1, "platops_check_skipped_total") -
                   metric_sum(m0, "platops_check_skipped_total"))
        h0 = histogram(m0, "platops_check_start_lateness_seconds")
        h1 = histogram(m1, "platops_check_start_lateness_seconds")
        cpu = c1 - c0
        wall = t1 - t0
        return dict(checks=len(docs), runs_per_s=round(runs / wall), ok_ratio=round(ok / max(runs, 1), 4),
                    skipped=int(skipped), cpu_s=round(cpu, 2), cpu_share_of_one_core=round(cpu / wall, 3),
                    runs_per_cpu_s=round(runs / cpu) if cpu > 0 else None,
                    cpu_us_per_check=round(cpu / runs * 1e6, 1) if runs else None,
                    lateness_p50_le_s=quantile(h0, h1, 0.5), lateness_p99_le_s=quantile(h0, h1, 0.99),
                    rss_mib=round(p.rss_mib(), 1))
    finally:
        p.stop()


def blackbox(tmp, target_http, target_tcp, duration):
    port = free_port()
    cfg = os.path.join(tmp, "bb.yml")
    with open(cfg, "w") as f:
        f.write("modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n"
                "      preferred_ip_protocol: ip4\n  tcp_connect:\n    prober: tcp\n    timeout: 5s\n"
                "    tcp:\n      preferred_ip_protocol: ip4\n")
    bb = Proc(["/usr/bin/prometheus-blackbox-exporter", f"--config.file={cfg}",
               f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
              os.path.join(tmp, "bb.log"))
    out = {}
    try:
        wait_http(f"http://127.0.0.1:{port}/-/healthy")
        for mod, target in (("http_2xx", target_http), ("tcp_connect", target_tcp)):
            url = f"http://127.0.0.1:{port}/probe?" + urllib.parse.urlencode(
                {"module": mod, "target": target})
            with urllib.request.urlopen(url) as r:
                assert re.search(r"^probe_success 1$", r.read().decode(), re.M)
            c0 = bb.cpu_s()
            cp = subprocess.run(["wrk", "-t1", "-c16", f"-d{duration}s", url], capture_output=True,
                                text=True, timeout=duration + 30)
            cpu = bb.cpu_s() - c0
            reqs = int(re.search(r"(\d+) requests in", cp.stdout).group(1))
            out[mod] = dict(probes_per_s=round(reqs / duration), cpu_s=round(cpu, 2),
                            probes_per_cpu_s=round(reqs / cpu), cpu_us_per_probe=round(cpu / reqs * 1e6, 1),
                            rss_mib=round(bb.rss_mib(), 1))
    finally:
        bb.stop()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build-bench/platops")
    ap.add_argument("--scenarios", default="blackbox,http,tcp,steady,exec")
    ap.add_argument("--rate", type=int, default=2000, help="checks per second for http/tcp")
    ap.add_argument("--window", type=int, default=15)
    args = ap.parse_args()
    scenarios = args.scenarios.split(",")
    binary = os.path.abspath(args.binary)
    tmp = tempfile.mkdtemp(prefix="platops-checks-bench-", dir="/tmp")
    results = {"machine": os.uname().nodename, "cpus": os.cpu_count()}
    target = None
    try:
        target, target_base = start_platops(binary, tmp, "target")
        target_http = target_base + "/healthz"
        target_tcp = target_base.replace("http://", "")
        host, port = target_tcp.split(":")
        if "blackbox" in scenarios:
            results["blackbox"] = blackbox(tmp, target_http, target_tcp, args.window)
            log("blackbox", results["blackbox"])
        # N checks at interval 2s give N/2 checks per second.
        n = args.rate * 2
        if "http" in scenarios:
            docs = check_docs(n, "http", "2s", "1s", f"http:\n  url: {target_http}\n")
            results["http"] = measure_platops(binary, tmp, "http", docs, "http", 6, args.window)
            log("http", results["http"])
        if "tcp" in scenarios:
            docs = check_docs(n, "tcp", "2s", "1s", f"tcp:\n  host: {host}\n  port: {port}\n")
            results["tcp"] = measure_platops(binary, tmp, "tcp", docs, "tcp", 6, args.window)
            log("tcp", results["tcp"])
        if "steady" in scenarios:
            docs = check_docs(10000, "http", "30s", "5s", f"http:\n  url: {target_http}\n")
            results["steady_10k_at_30s"] = measure_platops(binary, tmp, "steady", docs, "http", 35, 60)
            log("steady", results["steady_10k_at_30s"])
        if "exec" in scenarios:
            docs = check_docs(1000, "exec", "2s", "1s", "exec:\n  command: /bin/true\n")
            results["exec"] = measure_platops(binary, tmp, "exec", docs, "exec", 6, args.window)
            log("exec", results["exec"])
        if "blackbox" in results:
            for kind, mod in (("http", "http_2xx"), ("tcp", "tcp_connect")):
                if kind in results and results[kind]["cpu_us_per_check"]:
                    results[kind]["cpu_ratio_vs_blackbox"] = round(
                        results["blackbox"][mod]["cpu_us_per_probe"] / results[kind]["cpu_us_per_check"], 2)
    finally:
        if target:
            target.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

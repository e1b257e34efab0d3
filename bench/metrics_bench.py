#!/usr/bin/env python3
"""The metrics store against Prometheus and VictoriaMetrics, on the same generated data in one run.

Uses the peers' data generator and remote-write encoder from ../shared/peers (gen_series.py,
rwproto.py, peerlib.py). Every server runs on 127.0.0.1 with a temporary data directory and is
stopped by its PID. Scenarios:

  rw      remote write of S series x P points (requests of 2,000 series x 1 sample, in time order,
          2 senders): samples per second and per server CPU-second, RSS after.
  memory  remote write of 1,000,000 series x 2 points: RSS per active series.
  query   10,000 counters (100 job/instance pairs x 20 handlers x 5 codes) x 24 h at a 60 s step,
          then sum by (job, instance) (rate(http_requests_total[5m])) over the 24 h at a 60 s step:
          median wall time of 5 queries after one warm-up. Prometheus gets the data through
          `promtool tsdb create-blocks-from openmetrics` (its head refuses 24 h of history).

  scrape  one target serving 100,000 series (../shared/peers/scrape_target.py), scraped every 1 s by
          platops (a ScrapeTarget) and by Prometheus: samples appended per server CPU-second
          over a 30 s window after a 15 s warm-up.
  disk    bytes per sample on disk (data + index) of the node and 2-decimal gauge mixes, 2,000 series
          x 1,000 points at 15 s: `platops metrics import`, promtool's backfill, VictoriaMetrics's
          import after a forced merge.

Usage: bench/metrics_bench.py --binary build-bench/platops [--scenarios rw,memory,query]
Prints one JSON object with every figure."""
import argparse, http.client, json, os, signal, socket, subprocess, sys, tempfile, threading, time
import urllib.parse, urllib.request

from benchlib import Proc, free_port, log, wait_http

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.environ.get("PLATOPS_PEERS_DIR", os.path.join(HERE, "..", "..", "shared", "peers"))
sys.path.insert(0, PEERS)
from gen_series import series_defs, value_stream  # noqa: E402
import rwproto  # noqa: E402

TOKEN = "bench-admin-token-0123456789abcdef"
RW_HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
              "X-Prometheus-Remote-Write-Version": "0.1.0"}


def med(xs):
    xs = sorted(x for x in xs if x is not None)
    return xs[len(xs) // 2] if xs else None


class Server:
    """One of platops, prometheus, vm: start, write path, query base, stop."""

    def __init__(self, kind, binary, tmp, start=True):
        self.kind = kind
        self.tmp = tmp
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"{kind}-", dir=tmp)
        base = f"http://127.0.0.1:{self.port}"
        self.headers = {}
        if kind == "platops":
            env = dict(os.environ, PLATOPS_BOOTSTRAP_TOKEN=TOKEN, PLATOPS_LOG_LEVEL="warn",
                       PLATOPS_HOST_METRICS_ENABLED="false", PLATOPS_LOG_ACCESS="false",
                       PLATOPS_METRICS_SELF_SCRAPE_INTERVAL="0")
            argv = [binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.dir]
            ready, self.write_path, self.api = base + "/readyz", "/prometheus/api/v1/write", "/prometheus"
            self.headers = {"Authorization": "Bearer " + TOKEN}
        elif kind == "prometheus":
            with open(f"{self.dir}/prometheus.yml", "w") as f:
                f.write("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
            argv = ["/usr/bin/prometheus", f"--config.file={self.dir}/prometheus.yml",
                    f"--storage.tsdb.path={self.dir}/data", f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-remote-write-receiver", "--storage.tsdb.retention.time=30d"]
            env = None
            ready, self.write_path, self.api = base + "/-/ready", "/api/v1/write", ""
        else:
            argv = ["/usr/bin/victoria-metrics", f"-storageDataPath={self.dir}/data",
                    f"-httpListenAddr=127.0.0.1:{self.port}", "-retentionPeriod=10y",
                    "-search.latencyOffset=0s",
                    # Repeated runs of a query must measure its evaluation, not the rollup
                    # result cache (platops and Prometheus have none).
                    "-search.disableCache"]
            env = None
            ready, self.write_path, self.api = base + "/health", "/api/v1/write", ""
        self.base = base
        self.argv, self.env, self.ready = argv, env, ready
        self.proc = None
        if start:
            self.start()

    def start(self):
        self.proc = Proc(self.argv, os.path.join(self.tmp, f"{self.kind}-{self.port}.log"), self.env)
        wait_http(self.ready)
        time.sleep(0.5)

    def post_all(self, bodies, concurrency=2, path=None, headers=None):
        """POSTs every body on `concurrency` connections (remote write unless `path` says
        otherwise); returns the (status, message) of those refused."""
        path = path or self.write_path
        headers = headers if headers is not None else {**RW_HEADERS, **self.headers}
        idx = {"i": 0}
        lock = threading.Lock()
        errors = []

        def worker():
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            while True:
                with lock:
                    i = idx["i"]
                    idx["i"] += 1
                if i >= len(bodies):
                    break
                c.request("POST", path, body=bodies[i], headers=headers)
                r = c.getresponse()
                msg = r.read()
                if r.status >= 300:
                    errors.append((r.status, msg[:200]))
            c.close()

        ts = [threading.Thread(target=worker) for _ in range(concurrency)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        return errors

    def query_range(self, q, start, end, step):
        params = urllib.parse.urlencode({"query": q, "start": start, "end": end, "step": step})
        req = urllib.request.Request(f"{self.base}{self.api}/api/v1/query_range?{params}",
                                     headers=self.headers)
        # The latency is the time until the whole answer has arrived; decoding its JSON is the
        # client's work, and in Python it would dwarf the differences being measured.
        t0 = time.time()
        with urllib.request.urlopen(req, timeout=600) as r:
            raw = r.read()
        dt = time.time() - t0
        return dt, json.loads(raw)

    def stop(self):
        if self.proc:
            self.proc.stop()


def rw_bodies(defs, points, step_ms, start_ms, per_req=2000):
    lab = []
    for name, labels, _ in defs:
        pairs = sorted([("__name__", name)] + list(labels))
        lab.append(b"".join(rwproto._ld(1, rwproto.label(n, v)) for n, v in pairs))
    bodies = []
    for ti, vals in enumerate(value_stream(defs, points)):
        ts = start_ms + ti * step_ms
        for c in range(0, len(defs), per_req):
            series = [lab[j] + rwproto._ld(2, rwproto.sample(float(vals[j]), ts))
                      for j in range(c, min(c + per_req, len(defs)))]
            bodies.append(rwproto.snappy_literal(rwproto.write_request(series)))
    return bodies


def scenario_rw(args, tmp):
    defs = series_defs(args.series, mix="mixed")
    step_ms = min(15000, (50 * 60 * 1000) // args.points)
    start_ms = int(time.time() * 1000) - args.points * step_ms
    bodies = rw_bodies(defs, args.points, step_ms, start_ms)
    n = len(defs) * args.points
    out = {}
    for kind in args.targets:
        runs = []
        for _ in range(args.runs):
            s = Server(kind, args.binary, tmp)
            try:
                cpu0, t0 = s.proc.cpu_s(), time.time()
                errs = s.post_all(bodies)
                t1, cpu1 = time.time(), s.proc.cpu_s()
                runs.append(dict(samples_per_s=round(n / (t1 - t0)),
                                 samples_per_server_cpu_s=round(n / max(cpu1 - cpu0, 1e-9)),
                                 rss_mib=round(s.proc.rss_mib(), 1), errors=len(errs),
                                 first_error=str(errs[0]) if errs else None))
                log(kind, runs[-1])
            finally:
                s.stop()
        out[kind] = {k: med([r[k] for r in runs]) for k in runs[0] if k != "first_error"}
        out[kind]["first_error"] = runs[0]["first_error"]
    return {"series": args.series, "points": args.points, "samples": n, "results": out}


def scenario_memory(args, tmp):
    n_series = args.memory_series
    defs = series_defs(n_series, n_metrics=1000, mix="node")
    start_ms = int(time.time() * 1000) - 2 * 15000
    bodies = rw_bodies(defs, 2, 15000, start_ms, per_req=5000)
    out = {}
    for kind in args.targets:
        s = Server(kind, args.binary, tmp)
        try:
            rss0 = s.proc.rss_mib()
            errs = s.post_all(bodies)
            time.sleep(3)
            rss1 = s.proc.rss_mib()
            out[kind] = dict(rss_mib=round(rss1, 1), rss_before_mib=round(rss0, 1),
                             kib_per_series=round((rss1 - rss0) * 1024 / n_series, 3),
                             errors=len(errs))
            log(kind, out[kind])
        finally:
            s.stop()
    return {"series": n_series, "results": out}


def scenario_query(args, tmp):
    n_series, points, step_ms = 10000, 1440, 60000
    defs = []
    for i in range(n_series):
        # 100 (job, instance) groups of 100 series each (20 handlers x 5 codes).
        labels = (("job", f"job-{i % 5}"), ("instance", f"host-{(i // 5) % 20:02d}:9100"),
                  ("handler", f"/api/h{(i // 100) % 20}"), ("code", str(200 + (i // 2000))))
        defs.append(("http_requests_total", labels, "counter"))
    end_ms = int(time.time() // 60 * 60 * 1000) - 3 * 3600 * 1000
    start_ms = end_ms - points * step_ms
    bodies = rw_bodies(defs, points, step_ms, start_ms)
    q = "sum by (job, instance) (rate(http_requests_total[5m]))"
    qs, qe = start_ms / 1000 + 600, (start_ms + (points - 1) * step_ms) / 1000
    out = {}
    for kind in args.targets:
        s = Server(kind, args.binary, tmp, start=kind != "prometheus")
        try:
            if kind == "prometheus":
                om = os.path.join(tmp, "query.om")
                with open(om, "w") as f:
                    f.write("# TYPE http_requests_total counter\n")
                    cols = [[] for _ in defs]
                    for vals in value_stream(defs, points):
                        for j, v in enumerate(vals):
                            cols[j].append(v)
                    for j, (name, labels, _) in enumerate(defs):
                        ls = ",".join(f'{k}="{v}"' for k, v in labels)
                        for ti, v in enumerate(cols[j]):
                            f.write(f"{name}{{{ls}}} {v} {(start_ms + ti * step_ms) / 1000:.3f}\n")
                    f.write("# EOF\n")
                subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om,
                                f"{s.dir}/data"], check=True, capture_output=True)
                os.remove(om)
                s.start()
            else:
                errs = s.post_all(bodies)
                if errs:
                    log(kind, "write errors", errs[:3])
                if kind == "vm":
                    urllib.request.urlopen(s.base + "/internal/force_flush").read()
                    time.sleep(2)
                else:
                    # Let the store's minutely maintenance cut the 24 h of history into blocks
                    # and compact them, as it would be when queried in service, instead of
                    # racing it: wait until a whole maintenance interval adds no compaction.
                    time.sleep(75)
                    done = metric_value(s.base + "/metrics", "platops_tsdb_compactions_total", s.headers)
                    for _ in range(10):
                        time.sleep(65)
                        now = metric_value(s.base + "/metrics", "platops_tsdb_compactions_total", s.headers)
                        if now == done:
                            break
                        done = now
            times = []
            for i in range(6):
                dt, body = s.query_range(q, qs, qe, 60)
                if i > 0:
                    times.append(dt)
            series = len(body.get("data", {}).get("result", []))
            out[kind] = dict(median_ms=round(med(times) * 1000, 1), result_series=series,
                             status=body.get("status"))
            log(kind, out[kind])
        finally:
            s.stop()
    if "platops" in out and "prometheus" in out:
        out["platops_speedup_vs_prometheus"] = round(
            out["prometheus"]["median_ms"] / max(out["platops"]["median_ms"], 1e-9), 2)
    return {"series": n_series, "points": points, "query": q, "results": out}


def metric_value(url, name, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return None


def scenario_scrape(args, tmp):
    series = args.scrape_series
    tport = free_port()
    target = Proc([sys.executable, os.path.join(PEERS, "scrape_target.py"), "--port", str(tport),
                   "--series", str(series), "--mix", "node", "--max-seconds", "900"],
                  os.path.join(tmp, "target.log"))
    out = {}
    try:
        wait_http(f"http://127.0.0.1:{tport}/metrics", timeout=180)
        for kind in [k for k in args.targets if k in ("platops", "prometheus")]:
            s = Server(kind, args.binary, tmp, start=False)
            if kind == "prometheus":
                with open(f"{s.dir}/prometheus.yml", "w") as f:
                    f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                            f"- job_name: big\n  static_configs:\n  - targets: ['127.0.0.1:{tport}']\n")
                counter = "prometheus_tsdb_head_samples_appended_total"
            else:
                counter = "platops_tsdb_head_samples_appended_total"
            s.start()
            try:
                if kind == "platops":
                    body = json.dumps({"job": "big", "targets": [f"127.0.0.1:{tport}"],
                                       "interval": "1s", "timeout": "1s"}).encode()
                    req = urllib.request.Request(s.base + "/api/v1/scrape-targets", data=body,
                                                 method="POST", headers={**s.headers,
                                                 "Content-Type": "application/json"})
                    urllib.request.urlopen(req, timeout=30).read()
                time.sleep(15)
                a0, c0, t0 = metric_value(s.base + "/metrics", counter, s.headers), s.proc.cpu_s(), time.time()
                time.sleep(30)
                a1, c1, t1 = metric_value(s.base + "/metrics", counter, s.headers), s.proc.cpu_s(), time.time()
                out[kind] = dict(samples_appended_per_s=round((a1 - a0) / (t1 - t0)),
                                 samples_per_server_cpu_s=round((a1 - a0) / max(c1 - c0, 1e-9)),
                                 cpu_pct_one_core=round(100 * (c1 - c0) / (t1 - t0), 1),
                                 rss_mib=round(s.proc.rss_mib(), 1))
                log(kind, out[kind])
            finally:
                s.stop()
    finally:
        target.stop()
    if "platops" in out and "prometheus" in out:
        out["platops_vs_prometheus"] = round(out["platops"]["samples_per_server_cpu_s"] /
                                             max(out["prometheus"]["samples_per_server_cpu_s"], 1), 2)
    return {"series": series, "interval_s": 1, "results": out}


def scenario_disk(args, tmp):
    """Disk bytes per sample (data + index) on the same data: the peers' gen_series.py node mix and
    2-decimal gauge mix, 2,000 series x 1,000 points at 15 s each, as an OpenMetrics file (families
    together, each series in time order, like ../shared/peers/prom_block_bench.py).

    platops: `platops metrics import` (blocks of the 18 h range the store compacts into with its
    default retention: what Db::Maintain's compaction reaches once later data completes the range;
    it compacts only complete ranges, so opening the store changes nothing here), then `platops
    serve` opens the store and must answer count() = 2,000 from the blocks. Also imported as 2 h
    blocks, the size the head is cut into before compaction. Prometheus: `promtool tsdb
    create-blocks-from openmetrics` (2 h blocks), as prom_block_bench.py. VictoriaMetrics: POST
    /api/v1/import/prometheus, force_flush, force_merge and waiting for merges, then
    vm_data_size_bytes over vm_rows, as vm_import_bench.py."""
    import glob
    n_series, points, step_ms = 2000, 1000, 15000

    def tree_bytes(path):
        return sum(os.lstat(os.path.join(root, f)).st_size
                   for root, _, files in os.walk(path) for f in files)

    def metric_sum(url, name, label):
        total = 0.0
        with urllib.request.urlopen(url, timeout=30) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + "{") and label in line:
                    total += float(line.rsplit(" ", 1)[1])
        return total

    def figures(samples, data, index, total, **extra):
        return dict(samples=samples, data_bytes_per_sample=round(data / samples, 3),
                    index_bytes_per_sample=round(index / samples, 3),
                    total_bytes_per_sample=round(total / samples, 3), **extra)

    def platops_blocks(store):
        samples = data = index = total = 0
        blocks = glob.glob(f"{store}/blocks/*/meta.json")
        for meta in blocks:
            bd = os.path.dirname(meta)
            samples += json.load(open(meta))["num_samples"]
            data += os.path.getsize(f"{bd}/chunks")
            index += os.path.getsize(f"{bd}/index")
            total += tree_bytes(bd)
        return samples, data, index, total, len(blocks)

    def run_platops(om, block_duration, serve_check):
        s = Server("platops", args.binary, tmp, start=False)
        try:
            cp = subprocess.run([args.binary, "-o", "json", "metrics", "import", om, "--data-dir", s.dir,
                                 "--block-duration", block_duration], capture_output=True, text=True,
                                timeout=900)
            if cp.returncode != 0:
                raise RuntimeError(f"platops metrics import: {cp.stderr[-2000:]}")
            report = json.loads(cp.stdout)
            served = None
            if serve_check:
                s.start()
                q = urllib.parse.urlencode({"query": 'count({__name__=~"bench_metric_.+"})',
                                            "time": report["max_time"] / 1000})
                req = urllib.request.Request(f"{s.base}{s.api}/api/v1/query?{q}", headers=s.headers)
                with urllib.request.urlopen(req, timeout=120) as r:
                    res = json.loads(r.read())["data"]["result"]
                served = int(float(res[0]["value"][1])) if res else 0
                s.stop()
            samples, data, index, total, nblocks = platops_blocks(f"{s.dir}/metrics")
            return figures(samples, data, index, total, blocks=nblocks, block_duration=block_duration,
                           imported_samples=report["samples"], series_served=served)
        finally:
            s.stop()
            subprocess.run(["rm", "-rf", s.dir])

    def run_prometheus(om):
        out = tempfile.mkdtemp(prefix="promtool-", dir=tmp)
        try:
            subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, out],
                           check=True, capture_output=True, timeout=900)
            samples = data = index = total = 0
            blocks = glob.glob(f"{out}/*/meta.json")
            for meta in blocks:
                bd = os.path.dirname(meta)
                samples += json.load(open(meta))["stats"]["numSamples"]
                data += tree_bytes(f"{bd}/chunks")
                index += os.path.getsize(f"{bd}/index")
                total += tree_bytes(bd)
            return figures(samples, data, index, total, blocks=len(blocks))
        finally:
            subprocess.run(["rm", "-rf", out])

    def run_vm(defs, cols, start_ms):
        lines = []
        for ti in range(points):
            ts = start_ms + ti * step_ms
            for j, (name, labels, _) in enumerate(defs):
                v = cols[j][ti]
                vs = str(int(v)) if float(v).is_integer() else repr(v)
                lab = ",".join(f'{k}="{val}"' for k, val in labels)
                lines.append(f"{name}{{{lab}}} {vs} {ts}\n")
        bodies = ["".join(lines[i:i + 50000]).encode() for i in range(0, len(lines), 50000)]
        del lines
        s = Server("vm", args.binary, tmp)
        try:
            errors = s.post_all(bodies, path="/api/v1/import/prometheus",
                                headers={"Content-Type": "text/plain"})
            urllib.request.urlopen(s.base + "/internal/force_flush", timeout=120).read()
            time.sleep(2)
            end_ms = start_ms + points * step_ms
            for mo in sorted({time.strftime("%Y_%m", time.gmtime(t / 1000)) for t in (start_ms, end_ms)}):
                urllib.request.urlopen(f"{s.base}/internal/force_merge?partition_prefix={mo}",
                                       timeout=300).read()
            t0 = time.time()
            while time.time() - t0 < 120 and metric_sum(s.base + "/metrics", "vm_active_merges", ""):
                time.sleep(0.5)
            time.sleep(2)
            m = s.base + "/metrics"
            data = sum(metric_sum(m, "vm_data_size_bytes", f'type="{t}"')
                       for t in ("storage/small", "storage/big"))
            index = sum(metric_sum(m, "vm_data_size_bytes", f'type="{t}"')
                        for t in ("indexdb", "indexdb/file", "indexdb/inmemory"))
            rows = int(sum(metric_sum(m, "vm_rows", f'type="{t}"') for t in ("storage/small", "storage/big")))
            return figures(rows, data, index, data + index, http_errors=len(errors))
        finally:
            s.stop()

    out = {}
    for mix in ("node", "gauge"):
        defs = series_defs(n_series, mix=mix)
        cols = [[] for _ in defs]
        for vals in value_stream(defs, points):
            for j, v in enumerate(vals):
                cols[j].append(v)
        now_ms = int(time.time() // 60 * 60 * 1000)
        start_ms = now_ms - points * step_ms - 3 * 3600 * 1000
        om = os.path.join(tmp, f"disk-{mix}.om")
        by_family = {}
        for j, (name, _, _) in enumerate(defs):
            by_family.setdefault(name, []).append(j)
        with open(om, "w") as f:
            for name, idxs in by_family.items():
                for j in idxs:
                    lab = ",".join(f'{k}="{v}"' for k, v in defs[j][1])
                    for ti, v in enumerate(cols[j]):
                        vs = str(int(v)) if float(v).is_integer() else repr(v)
                        f.write(f"{name}{{{lab}}} {vs} {(start_ms + ti * step_ms) / 1000:.3f}\n")
            f.write("# EOF\n")
        res = {}
        try:
            if "platops" in args.targets:
                res["platops"] = run_platops(om, "18h", True)
                log(mix, "platops", res["platops"])
                res["platops_2h_blocks"] = run_platops(om, "2h", False)
                log(mix, "platops_2h_blocks", res["platops_2h_blocks"])
            if "prometheus" in args.targets:
                res["prometheus"] = run_prometheus(om)
                log(mix, "prometheus", res["prometheus"])
            if "vm" in args.targets:
                res["vm"] = run_vm(defs, cols, start_ms)
                log(mix, "vm", res["vm"])
        finally:
            os.remove(om)
        if "platops" in res and "vm" in res:
            res["platops_vs_vm"] = round(res["platops"]["total_bytes_per_sample"] /
                                         res["vm"]["total_bytes_per_sample"], 3)
        out[mix] = res
    return {"series": n_series, "points": points, "step_s": step_ms // 1000, "results": out}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--scenarios", default="rw,memory,query,scrape,disk")
    ap.add_argument("--targets", default="platops,vm,prometheus")
    ap.add_argument("--series", type=int, default=10000)
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--memory-series", type=int, default=1_000_000)
    ap.add_argument("--scrape-series", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    args.targets = args.targets.split(",")
    tmp = tempfile.mkdtemp(prefix="platops-metrics-bench-")
    result = {"machine": os.uname().nodename, "cpus": os.cpu_count()}
    try:
        for name in args.scenarios.split(","):
            log("scenario", name)
            result[name] = {"rw": scenario_rw, "memory": scenario_memory,
                            "query": scenario_query, "scrape": scenario_scrape,
                            "disk": scenario_disk}[name](args, tmp)
    finally:
        subprocess.run(["rm", "-rf", tmp])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

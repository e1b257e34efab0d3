#!/usr/bin/env python3
"""End-to-end tests of platops: the real binary on 127.0.0.1 with a temporary data dir."""

import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import signal
import socket
import socketserver
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

BINARY = os.environ.get("PLATOPS_BINARY", "build/platops")
SOURCE = os.environ.get("PLATOPS_SOURCE_DIR", ".")
DEMO = os.path.join(SOURCE, "examples", "demo")
TOKEN = "e2e-admin-token-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `platops serve` process; stderr goes to a file the test can read."""

    def __init__(self, data_dir, env=None, args=(), token=TOKEN):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = os.path.join(data_dir, f"server-{self.port}.log")
        full_env = dict(os.environ)
        full_env.pop("PLATOPS_BOOTSTRAP_TOKEN", None)
        if token:
            full_env["PLATOPS_BOOTSTRAP_TOKEN"] = token
        full_env.update(env or {})
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--data-dir", data_dir, "--listen", f"127.0.0.1:{self.port}",
             "--demo-dir", DEMO, *args],
            stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        self.wait_ready()

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            time.sleep(0.1)
        raise AssertionError("server not ready:\n" + self.output())

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        self.log.close()
        return self.proc.returncode


def request(url, method="GET", body=None, token=TOKEN, headers=None):
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if token:
        hdrs["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def wait_for(probe, timeout, what):
    """Polls probe() until it returns (True, _); fails with the last observation."""
    deadline = time.time() + timeout
    seen = None
    while time.time() < deadline:
        done, seen = probe()
        if done:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last saw: {seen!r}")


class RecordingHook:
    """A local HTTP endpoint on 127.0.0.1: a check target (GET answers 200 "ok") and a receiver
    (every POST is recorded as (path, headers, body bytes), then answered 200). `received`
    grows as requests arrive; json() gives the bodies decoded."""

    def __init__(self):
        self.received = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, body):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self.answer(b"ok\n")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hook.received.append((self.path, dict(self.headers), body))
                self.answer(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.running = True

    def json(self):
        return [(path, headers, json.loads(body)) for path, headers, body in list(self.received)]

    def stop(self):
        if self.running:
            self.running = False
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def cli(*args, server=None, token=TOKEN, check=True):
    env = dict(os.environ)
    if server:
        env["PLATOPS_SERVER"] = server.url
    if token:
        env["PLATOPS_TOKEN"] = token
    p = subprocess.run([BINARY, *args], capture_output=True, text=True, env=env, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"platops {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def _uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(num, payload):
    return _uvarint(num << 3 | 2) + _uvarint(len(payload)) + payload


def remote_write_body(series):
    """A Prometheus remote-write 1.0 body: [(labels dict, [(ts_ms, value)])] -> snappy(protobuf).
    Snappy is written as literal-only blocks, which every decoder reads."""
    import struct
    pb = b""
    for labels, samples in series:
        ts = b"".join(_field(1, _field(1, k.encode()) + _field(2, v.encode()))
                      for k, v in sorted(labels.items()))
        for t, v in samples:
            ts += _field(2, b"\x09" + struct.pack("<d", v) + b"\x10" + _uvarint(t & (2**64 - 1)))
        pb += _field(1, ts)
    out = bytearray(_uvarint(len(pb)))
    for i in range(0, len(pb), 60):
        chunk = pb[i:i + 60]
        out.append((len(chunk) - 1) << 2)
        out += chunk
    return bytes(out)


def remote_write(url, series, token=TOKEN):
    return request(url + "/prometheus/api/v1/write", "POST", remote_write_body(series), token,
                   {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                    "X-Prometheus-Remote-Write-Version": "0.1.0"})


def prom_query(url, query, at=None, token=TOKEN):
    params = {"query": query}
    if at is not None:
        params["time"] = str(at)
    status, body, _ = request(url + "/prometheus/api/v1/query?" + urllib.parse.urlencode(params),
                              token=token)
    if status != 200:
        raise AssertionError(f"query {query!r}: {status} {body}")
    return json.loads(body)["data"]


class E2ETest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="platops-e2e-")
        self.dir = self.tmp.name
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
            if not s.log.closed:
                s.log.close()
        self.tmp.cleanup()

    def start(self, name="data", **kw):
        path = os.path.join(self.dir, name)
        os.makedirs(path, exist_ok=True)
        s = Server(path, **kw)
        self.servers.append(s)
        return s

    def test_demo_apply_export_round_trip(self):
        a = self.start("a", args=("--demo",))
        status, body, _ = request(a.url + "/api/v1/services?limit=100")
        self.assertEqual(status, 200)
        slugs = [s["slug"] for s in json.loads(body)["items"]]
        self.assertIn("payments-api", slugs)
        self.assertGreaterEqual(len(slugs), 15)
        # Applying the demo again changes nothing.
        again = cli("apply", "-f", DEMO, server=a)
        self.assertIn("unchanged", again.stdout)
        self.assertNotIn("create ", again.stdout)
        # The blast radius of the payments database reaches the edge.
        status, body, _ = request(a.url + "/api/v1/services/payments-db/dependents?transitive=true")
        self.assertIn("edge-proxy", [n["slug"] for n in json.loads(body)["items"]])
        # export -> apply on an empty store -> export is identical.
        out1 = os.path.join(self.dir, "export1")
        cli("export", "-o", out1, server=a)
        b = self.start("b")
        cli("apply", "-f", out1, server=b)
        out2 = os.path.join(self.dir, "export2")
        cli("export", "-o", out2, server=b)
        for name in sorted(os.listdir(out1)):
            with open(os.path.join(out1, name)) as f1, open(os.path.join(out2, name)) as f2:
                self.assertEqual(f1.read(), f2.read(), name)
        self.assertEqual(sorted(os.listdir(out1)), sorted(os.listdir(out2)))

    def test_sigterm_shuts_down_cleanly(self):
        s = self.start(args=("--demo",))
        code = s.stop(signal.SIGTERM)
        self.assertEqual(code, 0, s.output())
        self.assertIn("stopped cleanly", s.output())
        s2 = self.start()
        self.assertEqual(s2.stop(signal.SIGINT), 0)

    def test_sigterm_lets_in_flight_requests_finish(self):
        s = self.start(args=("--demo",))
        results = []

        def slow_client():
            # A body that arrives slowly keeps the request in flight while SIGTERM lands.
            sock = socket.create_connection(("127.0.0.1", s.port))
            body = json.dumps({"slug": "late", "name": "Late", "team": "web"}).encode()
            head = (f"POST /api/v1/services HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            sock.sendall(head + body[:5])
            time.sleep(0.5)
            sock.sendall(body[5:])
            results.append(sock.recv(65536).decode(errors="replace"))
            sock.close()

        t = threading.Thread(target=slow_client)
        t.start()
        time.sleep(0.2)
        s.proc.send_signal(signal.SIGTERM)
        t.join(timeout=20)
        s.proc.wait(timeout=30)
        self.assertEqual(s.proc.returncode, 0)
        self.assertTrue(results and results[0].startswith("HTTP/1.1 201"), results)
        s2 = self.start()
        status, _, _ = request(s2.url + "/api/v1/services/late")
        self.assertEqual(status, 200)

    def test_audit_verify_detects_an_edited_row(self):
        s = self.start(args=("--demo",))
        s.stop()
        ok = cli("audit", "verify", "--data-dir", s.data_dir, token=None, check=False)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.assertIn("intact", ok.stdout)
        db = sqlite3.connect(os.path.join(s.data_dir, "platops.db"))
        db.execute("UPDATE events SET actor = 'mallory' WHERE seq = 7")
        db.commit()
        db.close()
        bad = cli("audit", "verify", "--data-dir", s.data_dir, token=None, check=False)
        self.assertEqual(bad.returncode, 1, bad.stdout + bad.stderr)
        self.assertIn("seq 7", bad.stdout + bad.stderr)

    def test_offline_token_create_and_roles(self):
        data = os.path.join(self.dir, "data")
        os.makedirs(data)
        s = self.start()
        s.stop()
        made = cli("token", "create", "--data-dir", data, "--user", "admin", "--role", "viewer",
                   "--expires", "30d", token=None)
        secret = [w for w in made.stdout.split() if len(w) >= 32][-1]
        s = self.start()
        status, _, _ = request(s.url + "/api/v1/services", token=secret)
        self.assertEqual(status, 200)
        status, body, _ = request(s.url + "/api/v1/teams", "POST", {"slug": "x", "name": "X"},
                                  token=secret)
        self.assertEqual(status, 403, body)
        status, _, _ = request(s.url + "/api/v1/services", token=None)
        self.assertEqual(status, 401)

    def test_generated_bootstrap_token_is_printed_once(self):
        s = self.start(token=None)
        out = s.output()
        secret = [w for w in out.split() if w.startswith("pla_")]
        self.assertEqual(len(secret), 1, out)
        status, _, _ = request(s.url + "/api/v1/services", token=secret[0])
        self.assertEqual(status, 200)
        s.stop()
        s2 = Server(s.data_dir, token=None)
        self.servers.append(s2)
        self.assertNotIn("pla_", s2.output())

    def test_stalled_request_times_out_and_server_stays_up(self):
        s = self.start(env={"PLATOPS_HTTP_READ_TIMEOUT": "1s"})
        sock = socket.create_connection(("127.0.0.1", s.port))
        sock.sendall(b"POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"slug\"")
        started = time.time()
        status, _, _ = request(s.url + "/api/v1/teams")  # served while the other stalls
        self.assertEqual(status, 200)
        sock.settimeout(10)
        data = sock.recv(4096)
        while data:
            data = sock.recv(4096)
        self.assertLess(time.time() - started, 8)
        sock.close()
        status, body, _ = request(s.url + "/api/v1/teams")
        self.assertEqual(json.loads(body)["items"], [])

    def test_json_logs_and_request_ids(self):
        s = self.start(args=("--log-format", "json"))
        status, _, headers = request(s.url + "/api/v1/services", headers={"X-Request-Id": "trace-42"})
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("X-Request-Id"), "trace-42")
        s.stop()
        lines = [l for l in s.output().splitlines() if l.startswith("{")]
        self.assertTrue(lines)
        for l in lines:
            json.loads(l)
        self.assertTrue(any("trace-42" in l for l in lines))

    def test_kill_9_loses_no_acknowledged_write(self):
        s = self.start(args=("--demo",))
        acked = []
        stop = threading.Event()

        def writer():
            i = 0
            while not stop.is_set():
                slug = f"k{threading.get_ident()}-{i}"
                i += 1
                try:
                    status, _, _ = request(s.url + "/api/v1/services", "POST",
                                           {"slug": slug, "name": "K", "team": "web"})
                except (OSError, http.client.HTTPException):
                    continue  # the server died under this request: not acknowledged
                if status == 201:
                    acked.append(slug)

        threads = [threading.Thread(target=writer) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        s.proc.kill()
        s.proc.wait()
        stop.set()
        for t in threads:
            t.join()
        self.assertGreater(len(acked), 10)
        s2 = Server(s.data_dir)
        self.servers.append(s2)
        for slug in acked:
            status, _, _ = request(s2.url + "/api/v1/services/" + slug)
            self.assertEqual(status, 200, slug)
        s2.stop()
        verify = cli("audit", "verify", "--data-dir", s.data_dir, token=None, check=False)
        self.assertEqual(verify.returncode, 0, verify.stdout)

    def test_kill_9_during_remote_write_loses_no_acknowledged_sample(self):
        s = self.start()
        acked = []
        stop = threading.Event()
        base_ms = int(time.time() * 1000) - 600_000

        def writer(w):
            i = 0
            while not stop.is_set():
                t = base_ms + (i * 2 + w) * 10
                i += 1
                series = [({"__name__": "crash_test", "w": str(w), "s": str(k)}, [(t, float(i))])
                          for k in range(200)]
                try:
                    status, _, _ = remote_write(s.url, series)
                except (OSError, http.client.HTTPException):
                    continue  # the server died under this request: not acknowledged
                if status == 204:
                    acked.append((w, t))

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(2)]
        for t in threads:
            t.start()
        time.sleep(2)
        s.proc.kill()
        s.proc.wait()
        stop.set()
        for t in threads:
            t.join()
        self.assertGreater(len(acked), 10)
        s2 = Server(s.data_dir)
        self.servers.append(s2)
        # Every acknowledged request's samples, read back raw through a range selector.
        data = prom_query(s2.url, 'crash_test{s="7"}[1h]', at=(base_ms + 1_800_000) / 1000)
        present = {(int(r["metric"]["w"]), round(float(v[0]) * 1000)) for r in data["result"]
                   for v in r["values"]}
        missing = [a for a in acked if a not in present]
        self.assertEqual(missing, [], f"{len(missing)} of {len(acked)} acknowledged writes lost")
        total = prom_query(s2.url, "count(count_over_time(crash_test[1h]))",
                           at=(base_ms + 1_800_000) / 1000)
        self.assertEqual(total["result"][0]["value"][1], "400")

    def test_a_real_prometheus_remote_writes_into_platops(self):
        if not os.path.exists("/usr/bin/prometheus"):
            self.fail("prometheus is not installed: run scripts/install-deps")
        s = self.start()
        prom_dir = os.path.join(self.dir, "prometheus")
        os.makedirs(prom_dir)
        prom_port = free_port()
        with open(os.path.join(prom_dir, "prometheus.yml"), "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  external_labels: {{replica: e2e}}
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ["127.0.0.1:{prom_port}"]}}]
remote_write:
  - url: {s.url}/prometheus/api/v1/write
    authorization: {{credentials: {TOKEN}}}
    queue_config: {{batch_send_deadline: 1s}}
""")
        log = open(os.path.join(prom_dir, "log"), "w")
        prom = subprocess.Popen(
            ["/usr/bin/prometheus", "--config.file=" + os.path.join(prom_dir, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(prom_dir, "data"),
             f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=log, stderr=subprocess.STDOUT)
        try:
            def landed():
                data = prom_query(s.url, 'up{job="prometheus",replica="e2e"}')
                return bool(data["result"]), data
            data = wait_for(landed, 60, "samples from Prometheus's remote write")
            self.assertEqual(data["result"][0]["value"][1], "1")
            count = prom_query(s.url, 'count({job="prometheus"})')
            self.assertGreater(int(count["result"][0]["value"][1]), 100)
            status, metrics, _ = request(s.url + "/metrics")
            self.assertIn("platops_remote_write", metrics)
        finally:
            prom.terminate()
            prom.wait(30)
            log.close()

    def test_a_real_prometheus_sends_alerts_to_platops(self):
        if not os.path.exists("/usr/bin/prometheus"):
            self.fail("prometheus is not installed: run scripts/install-deps")
        s = self.start()
        prom_dir = os.path.join(self.dir, "prometheus-alerts")
        os.makedirs(prom_dir)
        prom_port = free_port()
        with open(os.path.join(prom_dir, "rules.yml"), "w") as f:
            f.write("""groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: page}
        annotations: {summary: "value {{ $value }}"}
""")
        with open(os.path.join(prom_dir, "prometheus.yml"), "w") as f:
            f.write(f"""global:
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["127.0.0.1:{s.port}"]}}]
      path_prefix: /alertmanager
      api_version: v2
      authorization: {{credentials: {TOKEN}}}
""")
        log = open(os.path.join(prom_dir, "log"), "w")
        prom = subprocess.Popen(
            ["/usr/bin/prometheus", "--config.file=" + os.path.join(prom_dir, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(prom_dir, "data"),
             f"--web.listen-address=127.0.0.1:{prom_port}",
             # The first alert may go out before the Alertmanager list is known; resend soon.
             "--rules.alert.resend-delay=1s"], stdout=log, stderr=subprocess.STDOUT)
        try:
            def received():
                if prom.poll() is not None:
                    raise AssertionError(open(os.path.join(prom_dir, "log")).read())
                _, body, _ = request(s.url + "/alertmanager/api/v2/alerts")
                alerts = json.loads(body)
                return bool(alerts), alerts
            alerts = wait_for(received, 60, "an alert from Prometheus")
            a = alerts[0]
            self.assertEqual(a["labels"], {"alertname": "AlwaysFiring", "severity": "page"})
            self.assertEqual(a["annotations"], {"summary": "value 1"})
            self.assertEqual(a["status"]["state"], "active")
            self.assertEqual(a["receivers"], [{"name": "default"}])
            self.assertTrue(a["generatorURL"].startswith("http://"))
            self.assertEqual(len(a["fingerprint"]), 16)
        finally:
            prom.terminate()
            prom.wait(30)
            log.close()

    def test_rules_and_an_alertmanager_config_file(self):
        rules = os.path.join(self.dir, "rules.yml")
        with open(rules, "w") as f:
            f.write("""groups:
  - name: self
    interval: 1s
    rules:
      - record: e2e:up:sum
        expr: sum(up)
      - alert: PlatopsScraped
        expr: up{job="platops"} == 1
        labels: {severity: info, team: ops}
        annotations: {summary: "{{ $labels.instance }} is up ({{ $value }})"}
""")
        am = os.path.join(self.dir, "alertmanager.yml")
        with open(am, "w") as f:
            f.write("""global: {resolve_timeout: 2m}
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: ['team="ops"']
      receiver: ops
receivers:
  - name: default
  - name: ops
    webhook_configs: [{url: "http://127.0.0.1:9/hook"}]
  - name: pager
    pagerduty_configs: [{routing_key: secret-key}]
""")
        s = self.start(env={"PLATOPS_ALERTING_RULE_FILES": rules,
                            "PLATOPS_ALERTING_ALERTMANAGER_CONFIG": am,
                            "PLATOPS_METRICS_SELF_SCRAPE_INTERVAL": "1s"})
        # The unsupported receiver kind is reported by name at start.
        wait_for(lambda: ("receivers[2].pagerduty_configs" in s.output(), None), 10,
                 "the unsupported receiver kind in the log")

        def fired():
            _, body, _ = request(s.url + "/alertmanager/api/v2/alerts")
            alerts = json.loads(body)
            return bool(alerts), alerts
        alerts = wait_for(fired, 60, "the rule's alert in the alert store")
        a = alerts[0]
        self.assertEqual(a["labels"]["alertname"], "PlatopsScraped")
        self.assertEqual(a["receivers"], [{"name": "ops"}])
        self.assertTrue(a["annotations"]["summary"].endswith("is up (1)"))
        self.assertIn("/graph?g0.expr=", a["generatorURL"])
        _, body, _ = request(s.url + "/prometheus/api/v1/rules")
        group = json.loads(body)["data"]["groups"][0]
        self.assertEqual(group["name"], "self")
        self.assertEqual(group["file"], rules)
        self.assertEqual([r["health"] for r in group["rules"]], ["ok", "ok"])
        self.assertEqual(group["rules"][1]["state"], "firing")
        self.assertEqual(group["rules"][1]["query"], 'up{job="platops"} == 1')
        _, body, _ = request(s.url + "/prometheus/api/v1/alerts")
        self.assertEqual(json.loads(body)["data"]["alerts"][0]["state"], "firing")
        self.assertEqual(prom_query(s.url, "e2e:up:sum")["result"][0]["value"][1], "1")
        _, metrics, _ = request(s.url + "/metrics")
        self.assertIn(f'platops_rule_group_evaluations_total{{rule_group="{rules};self"}}', metrics)
        self.assertIn('platops_alerts_received_total{source="rule",status="firing"}', metrics)
        _, body, _ = request(s.url + "/alertmanager/api/v2/receivers")
        self.assertEqual(json.loads(body), [{"name": "default"}, {"name": "ops"}, {"name": "pager"}])
        _, body, _ = request(s.url + "/alertmanager/api/v2/status")
        original = json.loads(body)["config"]["original"]
        self.assertIn("<secret>", original)
        self.assertNotIn("secret-key", original)

    def test_a_bad_rule_file_stops_the_start_with_promtools_words(self):
        rules = os.path.join(self.dir, "bad.yml")
        with open(rules, "w") as f:
            f.write("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n")
        path = os.path.join(self.dir, "data")
        os.makedirs(path)
        env = dict(os.environ, PLATOPS_ALERTING_RULE_FILES=rules,
                   PLATOPS_BOOTSTRAP_TOKEN=TOKEN)
        r = subprocess.run([BINARY, "serve", "--data-dir", path, "--listen",
                            f"127.0.0.1:{free_port()}"], env=env, capture_output=True,
                           text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('group "g", rule 1, "A": could not parse expression', r.stdout + r.stderr)

    def test_a_webhook_receiver_gets_alertmanager_v4_payloads(self):
        with RecordingHook() as hook:
            am = os.path.join(self.dir, "alertmanager.yml")
            with open(am, "w") as f:
                f.write(f"""route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: hook
    webhook_configs:
      - url: {hook.url}/alerts
        signing_secret: e2e-signing-secret
        http_config:
          basic_auth: {{username: hook, password: hook-pw}}
""")
            s = self.start(env={"PLATOPS_ALERTING_ALERTMANAGER_CONFIG": am,
                                "PLATOPS_ALERTING_EXTERNAL_URL": "http://platops.example"})
            status, _, _ = request(s.url + "/alertmanager/api/v2/alerts", "POST", body=[
                {"labels": {"alertname": "DiskFull", "instance": "db-1"},
                 "annotations": {"summary": "disk full"}}])
            self.assertEqual(status, 200)
            wait_for(lambda: (bool(hook.received), hook.received), 30, "the webhook notification")
            path, headers, raw = hook.received[0]
            msg = json.loads(raw)
            self.assertEqual(path, "/alerts")
            self.assertEqual(headers["Content-Type"], "application/json")
            # http_config's basic_auth, and the body's signature under signing_secret.
            self.assertEqual(headers["Authorization"],
                             "Basic " + base64.b64encode(b"hook:hook-pw").decode())
            expected = hmac.new(b"e2e-signing-secret", raw, hashlib.sha256).hexdigest()
            self.assertEqual(headers["X-Platops-Signature"], "sha256=" + expected)
            self.assertEqual(msg["version"], "4")
            self.assertEqual(msg["status"], "firing")
            self.assertEqual(msg["receiver"], "hook")
            self.assertEqual(msg["groupKey"], '{}:{alertname="DiskFull"}')
            self.assertEqual(msg["groupLabels"], {"alertname": "DiskFull"})
            self.assertEqual(msg["externalURL"], "http://platops.example")
            self.assertEqual(msg["truncatedAlerts"], 0)
            self.assertEqual(msg["alerts"][0]["labels"], {"alertname": "DiskFull", "instance": "db-1"})
            self.assertEqual(msg["alerts"][0]["annotations"], {"summary": "disk full"})
            self.assertEqual(msg["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z")
            # Resolution is sent too (send_resolved defaults to true for webhooks).
            status, _, _ = request(s.url + "/alertmanager/api/v2/alerts", "POST", body=[
                {"labels": {"alertname": "DiskFull", "instance": "db-1"},
                 "endsAt": "2020-01-01T00:00:00Z"}])
            self.assertEqual(status, 200)
            wait_for(lambda: (any(m["status"] == "resolved" for _, _, m in hook.json()),
                              hook.received), 30, "the resolved notification")
            _, metrics, _ = request(s.url + "/metrics")
            self.assertIn('platops_alerts_received_total{source="api",status="firing"} 1', metrics)
            self.assertIn('platops_alerts_received_total{source="api",status="resolved"} 1', metrics)
            self.assertRegex(metrics, r'platops_notifications_total\{receiver="hook",'
                                      r'integration="webhook\[0\]"\} [12]')
            self.assertIn("platops_notification_latency_seconds_count", metrics)
            # Every delivery attempt is on record.
            # The attempt is recorded just after the receiver answered.
            def ok_attempts():
                status, body, _ = request(s.url + "/api/v1/notifications?receiver=hook&status=ok")
                self.assertEqual(status, 200)
                items = json.loads(body)["items"]
                return len(items) >= 2, items
            attempts = wait_for(ok_attempts, 30, "two recorded attempts")
            # The URL is sealed like every receiver secret; the row shows it without its path.
            with sqlite3.connect(os.path.join(s.data_dir, "platops.db")) as db:
                targets = {t for (t,) in db.execute(
                    "SELECT target FROM notification_outbox WHERE kind = 'webhook'")}
                # The credentials are sealed with the URL: in clear nowhere in the row.
                rows = db.execute("SELECT target, request, headers, sealed_secret"
                                  " FROM notification_outbox WHERE kind = 'webhook'").fetchall()
            for row in rows:
                self.assertNotIn("hook-pw", "".join(row))
                self.assertNotIn("e2e-signing-secret", "".join(row))
            self.assertEqual(targets, {f"{hook.url}/<secret>"})
            self.assertEqual(attempts[0]["status_code"], 200)
            self.assertEqual(attempts[0]["receiver"], "hook")
            status, body, _ = request(s.url + "/api/v1/notifications?status=lost")
            self.assertEqual(status, 400)
            self.assertEqual(json.loads(body)["error"]["field"], "status")

    def test_slack_and_email_receivers_get_rendered_notifications(self):
        mails = []

        class Smtp(socketserver.StreamRequestHandler):
            def handle(self):
                def w(line):
                    self.wfile.write((line + "\r\n").encode())
                w("220 localhost ESMTP e2e")
                mail = {"rcpt": []}
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode().strip()
                    up = cmd.upper()
                    if up.startswith("EHLO") or up.startswith("HELO"):
                        w("250-localhost")
                        w("250 8BITMIME")
                    elif up.startswith("MAIL FROM:"):
                        mail["from"] = cmd[10:]
                        w("250 OK")
                    elif up.startswith("RCPT TO:"):
                        mail["rcpt"].append(cmd[8:])
                        w("250 OK")
                    elif up == "DATA":
                        w("354 go ahead")
                        data = b""
                        while True:
                            chunk = self.rfile.readline()
                            if chunk in (b".\r\n", b".\n", b""):
                                break
                            data += chunk
                        mail["data"] = data.decode()
                        mails.append(dict(mail))
                        w("250 queued")
                    elif up == "QUIT":
                        w("221 bye")
                        return
                    else:
                        w("250 OK")

        slack = RecordingHook()
        smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
        smtp.daemon_threads = True
        threading.Thread(target=smtp.serve_forever, daemon=True).start()
        try:
            slack_url = f"{slack.url}/services/T0/B0/s3cr3tT0ken"
            tmpl = os.path.join(self.dir, "custom.tmpl")
            with open(tmpl, "w") as f:
                f.write('{{ define "custom.title" }}[{{ .Status | toUpper }}] '
                        '{{ .CommonLabels.alertname }} on {{ .CommonLabels.instance }}{{ end }}')
            am = os.path.join(self.dir, "alertmanager.yml")
            with open(am, "w") as f:
                f.write(f"""route:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
templates: ['{tmpl}']
receivers:
  - name: team
    slack_configs:
      - api_url: {slack_url}
        channel: '#ops'
        title: '{{{{ template "custom.title" . }}}}'
    email_configs:
      - to: 'On Call <oncall@example.org>'
        from: platops@example.org
        smarthost: 127.0.0.1:{smtp.server_address[1]}
        require_tls: false
""")
            s = self.start(env={"PLATOPS_ALERTING_ALERTMANAGER_CONFIG": am,
                                "PLATOPS_ALERTING_EXTERNAL_URL": "http://platops.example"})
            status, _, _ = request(s.url + "/alertmanager/api/v2/alerts", "POST", body=[
                {"labels": {"alertname": "DiskFull", "instance": "db-1"},
                 "annotations": {"summary": "disk full"}}])
            self.assertEqual(status, 200)
            wait_for(lambda: (bool(slack.received) and bool(mails), (slack.received, mails)), 30,
                     "the Slack and email notifications")
            path, _, msg = slack.json()[0]
            self.assertEqual(path, "/services/T0/B0/s3cr3tT0ken")
            self.assertEqual(msg["channel"], "#ops")
            self.assertIn("[FIRING] DiskFull on db-1", json.dumps(msg["blocks"]))
            self.assertEqual(msg["attachments"][0]["color"], "danger")
            mail = mails[0]
            self.assertEqual(mail["from"], "<platops@example.org>")
            self.assertEqual(mail["rcpt"], ["<oncall@example.org>"])
            self.assertIn("Subject: [FIRING:1] DiskFull", mail["data"])
            self.assertIn("multipart/alternative", mail["data"])
            self.assertIn("text/html", mail["data"])
            # The Slack URL is a secret: sealed in the store, never in clear.
            key = os.path.join(s.data_dir, "secret.key")
            self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
            with sqlite3.connect(os.path.join(s.data_dir, "platops.db")) as db:
                rows = db.execute("SELECT target, request, headers, sealed_secret"
                                  " FROM notification_outbox WHERE kind = 'slack'").fetchall()
            self.assertTrue(rows)
            for row in rows:
                self.assertNotIn("s3cr3tT0ken", "".join(row))
            def ok_attempts():
                status, body, _ = request(s.url + "/api/v1/notifications?receiver=team&status=ok")
                self.assertEqual(status, 200)
                items = json.loads(body)["items"]
                return len(items) >= 2, items
            wait_for(ok_attempts, 30, "the Slack and email attempts on record")
        finally:
            slack.stop()
            smtp.shutdown()
            smtp.server_close()

    def test_an_alertmanager_file_is_applied_with_platops_apply(self):
        with RecordingHook() as hook:
            s = self.start()
            am = os.path.join(self.dir, "alertmanager.yml")
            with open(am, "w") as f:
                f.write(f"""route:
  receiver: applied
  group_wait: 0s
receivers:
  - name: applied
    webhook_configs:
      - url: {hook.url}/t0k3n
""")
            out = cli("apply", "-f", am, server=s)
            self.assertIn("alertmanagerconfig/alertmanager", out.stdout)
            status, body, _ = request(s.url + "/alertmanager/api/v2/receivers")
            self.assertEqual([r["name"] for r in json.loads(body)], ["applied"])
            status, _, _ = request(s.url + "/alertmanager/api/v2/alerts", "POST", body=[
                {"labels": {"alertname": "Applied"}}])
            self.assertEqual(status, 200)
            wait_for(lambda: (bool(hook.received), hook.received), 30,
                     "the applied receiver's webhook")
            self.assertEqual(hook.received[0][0], "/t0k3n")
            # The URL is a secret: neither the export nor the status shows it.
            export_dir = os.path.join(self.dir, "export")
            cli("export", "-o", export_dir, server=s)
            exported = ""
            for name in os.listdir(export_dir):
                with open(os.path.join(export_dir, name)) as f:
                    exported += f.read()
            self.assertIn("AlertmanagerConfig", exported)
            self.assertIn("sbx1:", exported)
            self.assertNotIn("t0k3n", exported)
            _, status_body, _ = request(s.url + "/alertmanager/api/v2/status")
            self.assertNotIn("t0k3n", status_body)
            # A bad file is refused and changes nothing.
            with open(am, "w") as f:
                f.write("route:\n  receiver: nobody\nreceivers:\n  - name: applied\n")
            bad = cli("apply", "-f", am, server=s, check=False)
            self.assertNotEqual(bad.returncode, 0)
            status, body, _ = request(s.url + "/alertmanager/api/v2/receivers")
            self.assertEqual([r["name"] for r in json.loads(body)], ["applied"])

    def test_a_route_document_replaces_the_routing_tree(self):
        with RecordingHook() as hook:
            am = os.path.join(self.dir, "alertmanager.yml")
            with open(am, "w") as f:
                f.write(f"""route:
  receiver: platform
  group_wait: 0s
receivers:
  - name: platform
    webhook_configs: [{{url: '{hook.url}/platform'}}]
  - name: payments
    webhook_configs: [{{url: '{hook.url}/payments'}}]
""")
            s = self.start(env={"PLATOPS_ALERTING_ALERTMANAGER_CONFIG": am})
            route = os.path.join(self.dir, "route.yaml")
            with open(route, "w") as f:
                f.write("""kind: Route
receiver: platform
group_wait: 0s
routes:
  - matchers: ['service="payments"']
    receiver: payments
""")
            out = cli("apply", "-f", route, server=s)
            self.assertIn("route/root", out.stdout)

            def post(name, service):
                status, _, _ = request(s.url + "/alertmanager/api/v2/alerts", "POST", body=[
                    {"labels": {"alertname": name, "service": service}}])
                self.assertEqual(status, 200)

            def paths_for(name):
                return [p for p, _, m in hook.json()
                        if m["alerts"][0]["labels"]["alertname"] == name]
            # The Route is read back after the apply: wait until it routes.
            def routed():
                post("Checkout", "payments")
                got = paths_for("Checkout")
                return bool(got), got
            self.assertEqual(wait_for(routed, 30, "the routed notification")[0], "/payments")
            _, status_body, _ = request(s.url + "/alertmanager/api/v2/status")
            shown = json.loads(json.loads(status_body)["config"]["original"])
            self.assertEqual(shown["route"]["routes"][0]["receiver"], "payments")
            # A route naming a receiver the configuration lacks is refused; nothing changes.
            with open(route, "w") as f:
                f.write("kind: Route\nreceiver: nobody\n")
            bad = cli("apply", "-f", route, server=s, check=False)
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn('undefined receiver "nobody"', bad.stdout + bad.stderr)
            # Deleted, the file's own route is back.
            gone = cli("delete", "route", "root", server=s)
            self.assertIn("deleted route/root", gone.stderr)
            def back():
                post("Ledger", "payments")
                got = paths_for("Ledger")
                return bool(got), got
            self.assertEqual(wait_for(back, 30, "the file's route again")[0], "/platform")
            again = cli("delete", "route", "root", server=s, check=False)
            self.assertNotEqual(again.returncode, 0)
            # A Route that no longer fits the file after a restart: the server starts, says
            # why, and routes by the file's own route.
            with open(route, "w") as f:
                f.write("kind: Route\nreceiver: payments\ngroup_wait: 0s\n")
            cli("apply", "-f", route, server=s)
            s.stop()
            with open(am, "w") as f:
                f.write(f"""route:
  receiver: platform
  group_wait: 0s
receivers:
  - name: platform
    webhook_configs: [{{url: '{hook.url}/platform'}}]
""")
            s = self.start(env={"PLATOPS_ALERTING_ALERTMANAGER_CONFIG": am})
            self.assertIn("the applied Route does not fit", s.output())
            _, status_body, _ = request(s.url + "/alertmanager/api/v2/status")
            shown = json.loads(json.loads(status_body)["config"]["original"])
            self.assertEqual(shown["route"]["receiver"], "platform")

    def test_amtool_adds_queries_and_expires_silences(self):
        if not os.path.exists("/usr/bin/amtool"):
            self.fail("amtool is not installed: run scripts/install-deps")
        s = self.start()
        http_config = os.path.join(self.dir, "amtool-http.yml")
        with open(http_config, "w") as f:
            f.write(f"authorization: {{credentials: {TOKEN}}}\n")

        def amtool(*args):
            r = subprocess.run(
                ["/usr/bin/amtool", f"--alertmanager.url={s.url}/alertmanager",
                 f"--http.config.file={http_config}", *args],
                capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, f"amtool {args}: {r.stdout}{r.stderr}")
            return r.stdout

        amtool("alert", "add", "alertname=DiskFull", "instance=db-1", "severity=page",
               "--annotation=summary=disk full")
        alerts = json.loads(amtool("alert", "query", "-o", "json"))
        self.assertEqual([a["labels"]["instance"] for a in alerts], ["db-1"])

        silence_id = amtool("silence", "add", "instance=db-1", "--comment=maintenance",
                            "--author=alice", "--duration=1h").strip()
        self.assertRegex(silence_id, r"^[0-9a-f-]{36}$")
        silences = json.loads(amtool("silence", "query", "-o", "json"))
        self.assertEqual([x["id"] for x in silences], [silence_id])
        self.assertEqual(silences[0]["createdBy"], "alice")
        # platops tells how many current alerts a silence matches (amtool drops the field).
        _, body, _ = request(s.url + "/alertmanager/api/v2/silence/" + silence_id)
        self.assertEqual(json.loads(body)["matchedAlerts"], 1)
        # The alert is now suppressed: amtool hides it unless asked for silenced alerts.
        self.assertEqual(json.loads(amtool("alert", "query", "-o", "json")), [])
        shown = json.loads(amtool("alert", "query", "--silenced", "-o", "json"))
        self.assertEqual(shown[0]["status"]["silencedBy"], [silence_id])

        amtool("silence", "expire", silence_id)
        self.assertEqual(json.loads(amtool("silence", "query", "-o", "json")), [])
        expired = json.loads(amtool("silence", "query", "--expired", "-o", "json"))
        self.assertEqual(expired[0]["status"]["state"], "expired")
        self.assertIn("receiver: default", amtool("config", "show"))

        # Bad input gets Alertmanager's answers.
        status, body, _ = request(s.url + "/alertmanager/api/v2/alerts", "POST",
                                  body=b'[{"labels":{"0bad":"x"}}]')
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body), 'invalid label set: invalid name "0bad"')
        status, body, _ = request(s.url + "/alertmanager/api/v2/alerts", "POST", body=b'{}')
        self.assertEqual(status, 400)
        status, _, _ = request(s.url + "/alertmanager/api/v2/alerts", token=None)
        self.assertEqual(status, 401)

    def test_cli_exit_codes(self):
        s = self.start(args=("--demo",))
        self.assertEqual(cli("service", "get", "nope", server=s, check=False).returncode, 1)
        self.assertEqual(cli("service", "frobnicate", server=s, check=False).returncode, 2)
        got = cli("service", "get", "payments-api", "-o", "json", server=s)
        self.assertEqual(json.loads(got.stdout)["slug"], "payments-api")
        env_server = dict(os.environ, PLATOPS_SERVER="http://127.0.0.1:1", PLATOPS_TOKEN=TOKEN)
        p = subprocess.run([BINARY, "service", "list"], capture_output=True, text=True,
                           env=env_server, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)

    def make_service(self, s, slug="web"):
        status, body, _ = request(s.url + "/api/v1/teams", "POST", {"slug": "core", "name": "Core"})
        self.assertIn(status, (201, 409), body)
        status, body, _ = request(s.url + "/api/v1/services", "POST",
                                  {"slug": slug, "name": slug, "team": "core"})
        self.assertEqual(status, 201, body)

    def check_status(self, s, check_id):
        status, body, _ = request(s.url + "/api/v1/checks/" + check_id)
        self.assertEqual(status, 200, body)
        return json.loads(body)["status"]

    def test_http_check_against_a_local_target(self):
        s = self.start()
        self.make_service(s)
        target = RecordingHook()
        self.addCleanup(target.stop)
        status, body, _ = request(s.url + "/api/v1/checks", "POST", {
            "service": "web", "name": "home", "type": "http", "interval": "1s",
            "timeout": "800ms", "max_attempts": 2, "retry_interval": "1s",
            "http": {"url": f"http://127.0.0.1:{target.port}/", "body_contains": "ok"}})
        self.assertEqual(status, 201, body)

        def state_is(state, state_type):
            def probe():
                st = self.check_status(s, "web.home")
                return st["state"] == state and st["state_type"] == state_type, st
            return probe

        wait_for(state_is("OK", "hard"), 10, "the check to run OK")
        sample = 'probe_success{service="web",check="home",kind="http"} '
        _, metrics, _ = request(s.url + "/metrics", token=None)
        self.assertIn(sample + "1", metrics)

        # Without its target the check fails twice (max_attempts 2) and becomes HARD CRITICAL.
        target.stop()
        st = wait_for(state_is("CRITICAL", "hard"), 15, "HARD CRITICAL after the target stopped")
        self.assertEqual(st["attempt"], 2, st)
        self.assertTrue(st["last_result"]["message"], st)
        _, metrics, _ = request(s.url + "/metrics", token=None)
        self.assertIn(sample + "0", metrics)

        def state_events():
            _, body, _ = request(s.url + "/api/v1/events?subject_type=check&subject_id=web.home"
                                 "&action=check.state_changed")
            changes = [(e["payload"]["from"], e["payload"]["to"]) for e in json.loads(body)["items"]]
            return ("OK", "CRITICAL") in changes, changes

        wait_for(state_events, 5, "a check.state_changed event OK -> CRITICAL")

    def test_heartbeat_pings_flip_the_state(self):
        s = self.start()
        self.make_service(s)
        token = "e2e-heartbeat-token-0001"
        status, body, _ = request(s.url + "/api/v1/checks", "POST", {
            "service": "web", "name": "backup", "type": "heartbeat",
            "heartbeat": {"period": "1h", "token": token}})
        self.assertEqual(status, 201, body)
        self.assertEqual(json.loads(body)["ping_url"], "/ping/" + token)
        self.assertEqual(self.check_status(s, "web.backup")["state"], "PENDING")
        # As a cron job would: curl -fsS --data-raw "$output" http://.../ping/<token>, no auth.
        status, body, headers = request(s.url + "/ping/" + token, "POST", b"backup done",
                                        token=None, headers={"Content-Type": "text/plain"})
        self.assertEqual((status, body), (200, "OK\n"))
        self.assertTrue(headers["Content-Type"].startswith("text/plain"), headers)
        st = self.check_status(s, "web.backup")
        self.assertEqual(st["state"], "OK", st)
        self.assertIn("last_ping", st)
        status, body, _ = request(s.url + f"/ping/{token}/fail", token=None)
        self.assertEqual((status, body), (200, "OK\n"))
        self.assertEqual(self.check_status(s, "web.backup")["state"], "CRITICAL")
        status, body, _ = request(s.url + f"/ping/{token}/0", token=None)
        self.assertEqual(self.check_status(s, "web.backup")["state"], "OK")
        status, body, _ = request(s.url + "/ping/not-a-known-token-000", token=None)
        self.assertEqual((status, body), (404, "not found\n"))

    def test_a_failing_check_raises_and_resolves_check_failed(self):
        s = self.start()
        self.make_service(s)
        token = "e2e-heartbeat-token-0002"
        status, body, _ = request(s.url + "/api/v1/checks", "POST", {
            "service": "web", "name": "backup", "type": "heartbeat", "severity": "warning",
            "heartbeat": {"period": "1h", "token": token}})
        self.assertEqual(status, 201, body)
        request(s.url + f"/ping/{token}/fail", token=None)

        def alerts():
            status, body, _ = request(s.url + "/alertmanager/api/v2/alerts")
            self.assertEqual(status, 200, body)
            return [a for a in json.loads(body) if a["labels"]["alertname"] == "CheckFailed"]
        firing = wait_for(lambda: (bool(alerts()), alerts()), 30, "CheckFailed to fire")
        self.assertEqual(firing[0]["labels"], {"alertname": "CheckFailed", "service": "web",
                                               "check": "web.backup", "kind": "heartbeat",
                                               "severity": "warning"})
        self.assertEqual(firing[0]["annotations"]["state"], "CRITICAL")
        request(s.url + f"/ping/{token}", token=None)
        wait_for(lambda: (not alerts(), alerts()), 30, "CheckFailed to resolve")

        def history():
            status, body, _ = request(
                s.url + "/api/v1/alerts/history?matcher=" +
                urllib.parse.quote('alertname="CheckFailed"'))
            self.assertEqual(status, 200, body)
            items = json.loads(body)["items"]
            return [(i["state"], i["source"]) for i in items] == [
                ("resolved", "check"), ("firing", "check")], items
        wait_for(history, 30, "the firing and the resolve in the alert history")
        _, metrics, _ = request(s.url + "/metrics")
        self.assertIn('platops_alerts_received_total{source="check",status="firing"}', metrics)

    def test_rule_groups_applied_as_documents_are_evaluated(self):
        s = self.start()
        conf = os.path.join(self.dir, "rules.yaml")
        with open(conf, "w") as f:
            f.write("""kind: RuleGroup
name: e2e
interval: 1s
rules:
  - alert: AlwaysOn
    expr: vector(1)
    labels: {severity: info}
    annotations: {summary: "value {{ $value }}"}
""")
        first = cli("apply", "-f", conf, server=s)
        self.assertIn("create", first.stdout)

        def rules():
            status, body, _ = request(s.url + "/prometheus/api/v1/rules")
            self.assertEqual(status, 200, body)
            groups = json.loads(body)["data"]["groups"]
            names = [(g["file"], g["name"]) for g in groups]
            return ("RuleGroup/e2e", "e2e") in names, names
        wait_for(rules, 10, "the applied group in /rules")

        def alerts():
            status, body, _ = request(s.url + "/alertmanager/api/v2/alerts")
            found = [a for a in json.loads(body) if a["labels"]["alertname"] == "AlwaysOn"]
            return bool(found), found
        fired = wait_for(alerts, 30, "AlwaysOn from the applied group")
        self.assertEqual(fired[0]["annotations"]["summary"], "value 1")
        # A bad expression is refused with promtool's words and the field.
        with open(conf, "w") as f:
            f.write("kind: RuleGroup\nname: e2e\nrules:\n  - alert: X\n    expr: sum(\n")
        bad = cli("apply", "-f", conf, server=s, check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("rules[0].expr", bad.stdout + bad.stderr)
        self.assertIn("could not parse expression", bad.stdout + bad.stderr)

    def test_apply_checks_from_yaml_is_idempotent(self):
        s = self.start()
        conf = os.path.join(self.dir, "conf")
        os.makedirs(conf)
        with open(os.path.join(conf, "all.yaml"), "w") as f:
            f.write("""kind: Team
slug: core
name: Core
---
kind: Service
slug: web
name: Web
team: core
---
kind: Check
service: web
name: backup
type: heartbeat
heartbeat: {period: 1h, grace: 10m, token: e2e-apply-heartbeat-0001}
---
kind: Check
service: web
name: port
type: tcp
enabled: false
tcp: {host: 127.0.0.1, port: 1}
---
kind: MaintenanceWindow
name: web-sundays
services: [web]
weekly: [{day: sun, start: "02:00", end: "04:00"}]
time_zone: Europe/Berlin
""")
        first = cli("apply", "-f", conf, server=s)
        self.assertIn("create", first.stdout)

        def events():
            _, body, _ = request(s.url + "/api/v1/events?limit=1000")
            return [(e["seq"], e["action"]) for e in json.loads(body)["items"]]

        before = events()
        self.assertIn("check.created", [a for _, a in before])
        again = cli("apply", "-f", conf, server=s)
        self.assertIn("unchanged", again.stdout)
        self.assertNotIn("create ", again.stdout)
        self.assertNotIn("update ", again.stdout)
        self.assertEqual(events(), before)
        status, body, _ = request(s.url + "/api/v1/checks?service=web")
        self.assertEqual([c["id"] for c in json.loads(body)["items"]], ["web.backup", "web.port"])
        status, body, _ = request(s.url + "/api/v1/maintenance-windows/web-sundays")
        self.assertEqual(status, 200, body)


if __name__ == "__main__":
    unittest.main()

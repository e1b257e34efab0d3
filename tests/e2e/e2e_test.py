#!/usr/bin/env python3
"""End-to-end tests of platops: the real binary on 127.0.0.1 with a temporary data dir."""

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
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


if __name__ == "__main__":
    unittest.main()

"""Fixtures for advisor tests: real Prometheus scraping a real node_exporter / our exporter, and tiny fake APIs."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from perfadvisor.advisor.cli import cli
from tests.support.exporter import exporter_binary, start_exporter
from tests.support.leak import leak_group, scraped_leak
from tests.support.procs import need_binary
from tests.support.prometheus import start_prometheus

XSS = "<script>alert(1)</script>"
# Short windows so rules evaluate on the seconds of history a test has.
SHORT = ["--set", "lookback=20s", "--set", "step=1s", "--set", "rate_window=4s", "--set", "host.for_short=2s",
         "--set", "host.for_medium=2s", "--set", "host.for_long=2s", "--set", "process.for_short=2s",
         "--set", "process.leak_lookback=20s"]
HISTORY = 22  # seconds of scrapes the fixtures wait for: enough for the 20 s windows in SHORT


def advisor(*args: str, env: dict | None = None):
    """Run the CLI in-process like a user would; returns click's Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False,
                                env={"PERFADVISOR_PROMETHEUS_URL": None, "PERFADVISOR_CONFIG": None, **(env or {})})


@pytest.fixture(scope="session")
def node_prometheus(tmp_path_factory):
    """Prometheus scraping prometheus-node-exporter twice: as job "node", and relabelled with a hostile instance."""
    tmp = tmp_path_factory.mktemp("prom-node")
    with start_exporter(tmp / "exporter", need_binary("prometheus-node-exporter"), "--log.level=warn") as ne:
        xss_job = {"job_name": "xss", "metrics_path": "/metrics", "static_configs": [{"targets": [ne.address]}],
                   "relabel_configs": [{"target_label": "instance", "replacement": XSS}]}
        with start_prometheus(tmp / "prometheus", {"node": [ne.address]}, metrics_path="/metrics",
                              extra_scrape_configs=[xss_job]) as prom:
            prom.wait_for_series("rate(node_cpu_seconds_total[4s])", min_results=2)
            time.sleep(HISTORY)
            yield prom


LEAK_GROUP = leak_group()


@pytest.fixture(scope="session")
def exporter_prometheus(tmp_path_factory):
    """Prometheus scraping our perfadvisor-exporter while a child process leaks ~2 MB/s (groupname LEAK_GROUP)."""
    with scraped_leak(tmp_path_factory.mktemp("prom-exp"), LEAK_GROUP, exporter_binary(),
                      "--collector.processes.top-n=1000", "--no-collector.textfile", "--log.level=warn",
                      job="perfadvisor", metrics_path="/api/metrics", history=HISTORY) as scraped:
        yield scraped.prometheus


class FakeAPI:
    """A tiny HTTP server standing in for a misbehaving Prometheus; records the requests it got."""

    def __init__(self, behaviour: str, delay: float = 0.0, tls: tuple | None = None):
        self.behaviour, self.delay, self.requests = behaviour, delay, []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                api.requests.append((self.path, dict(self.headers), body))
                if api.delay:
                    time.sleep(api.delay)
                if api.behaviour == "500":
                    self._send(500, b'{"status":"error","errorType":"internal","error":"boom"}')
                elif api.behaviour == "badjson":
                    self._send(200, b"<html>this is a proxy login page</html>")
                else:  # "empty": a valid, empty answer with a warning
                    data = {"status": "success", "warnings": ["partial response: store gateway down"],
                            "data": {"resultType": "matrix" if "range" in self.path else "vector", "result": []}}
                    self._send(200, json.dumps(data).encode())

            def _send(self, code, payload):
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*map(str, tls[:2]))
            if len(tls) > 2:  # a client CA: mutual TLS
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(str(tls[2]))
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api():
    servers = []

    def make(behaviour: str, delay: float = 0.0, tls: tuple | None = None) -> FakeAPI:
        s = FakeAPI(behaviour, delay, tls)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.close()

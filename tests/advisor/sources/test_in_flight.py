"""How `advisor run` talks to a Prometheus: `--concurrency` bounds the queries in flight at once (the evaluator
runs more rules than that, so analysis does not hold a slot), and the environment's proxy settings, read once
per source, still route every query."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.advisor.conftest import advisor


class CountingAPI:
    """An empty but valid Prometheus API that answers after `delay` and records the most requests it held at once
    and the request lines it got."""

    def __init__(self, delay: float):
        self.delay, self.now, self.most, self.lines = delay, 0, 0, []
        lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _answer(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    api.now += 1
                    api.most = max(api.most, api.now)
                    api.lines.append(self.requestline)
                try:
                    time.sleep(api.delay)
                    kind = "matrix" if "query_range" in self.path else "vector"
                    body = json.dumps({"status": "success", "data": {"resultType": kind, "result": []}}).encode()
                finally:
                    with lock:
                        api.now -= 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def counting_api():
    made = []

    def make(delay: float = 0.0) -> CountingAPI:
        made.append(CountingAPI(delay))
        return made[-1]
    yield make
    for api in made:
        api.close()


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_bounds_the_queries_in_flight(counting_api, concurrency):
    api = counting_api(delay=0.02)
    res = advisor("run", "--prometheus", api.url, "--concurrency", str(concurrency), "--format", "json")
    assert res.exit_code == 0, res.output
    assert len(api.lines) > 50                  # every built-in rule asked, and the metric checks after them
    assert api.most == concurrency              # reached, never exceeded


def test_proxy_settings_from_the_environment_route_every_query(counting_api):
    proxy = counting_api()
    res = advisor("run", "--prometheus", "http://prometheus.invalid:9090", "--format", "json",
                  env={"HTTP_PROXY": proxy.url, "http_proxy": proxy.url, "NO_PROXY": "", "no_proxy": ""})
    assert res.exit_code == 0, res.output
    assert proxy.lines and all(" http://prometheus.invalid:9090/api/v1/" in line for line in proxy.lines)

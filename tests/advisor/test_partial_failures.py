"""Some queries failing on a real Prometheus: one clean line per failing rule, or the run's one-line error and
exit 3, and never a traceback (the CLI runs as its own process so thread and shutdown noise would show)."""
import json
import os
import pty
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import requests

from .conftest import SHORT

pytestmark = pytest.mark.slow


class FailingProxy:
    """Forwards API calls to a real Prometheus (after `delay` seconds), except queries matching `pattern`,
    answered at once with `code`."""

    def __init__(self, upstream: str, pattern: str, code: int, delay: float = 0.0):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                query = parse_qs(body.decode()).get("query", [""])[0]
                if re.search(pattern, query):
                    proxy.failed += 1
                    kind = "bad_data" if code < 500 else "internal"
                    payload = json.dumps({"status": "error", "errorType": kind, "error": "injected"}).encode()
                    status = code
                else:
                    time.sleep(delay)
                    up = requests.post(upstream + self.path, data=body, timeout=10,
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
                    payload, status = up.content, up.status_code
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.failed = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(node_prometheus):
    made = []

    def make(pattern: str, code: int, delay: float = 0.0) -> FailingProxy:
        made.append(FailingProxy(node_prometheus.url, pattern, code, delay))
        return made[-1]
    yield make
    for p in made:
        p.close()


def advisor_process(*args: str, tty: bool = False) -> subprocess.CompletedProcess:
    """The CLI as its own process; with `tty`, stderr is a terminal so the progress bar runs too."""
    cmd = [sys.executable, "-c", "from perfadvisor.advisor.cli import main; main()", *args]
    env = {"PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "default", "TERM": "xterm"}
    if not tty:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, text=True, env=env)
        os.close(slave)
        out, chunks = proc.communicate(timeout=120)[0], []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:   # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    err = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace")).replace("\r", "\n")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def no_noise(stderr: str) -> None:
    assert "Traceback" not in stderr and "CancelledError" not in stderr and "exception calling" not in stderr, \
        stderr


def test_rejected_queries_mark_their_rules_only(proxy):
    p = proxy(r"node_load", 400)
    r = advisor_process("run", "--prometheus", p.url, "--format", "json", "--concurrency", "4", *SHORT)
    no_noise(r.stderr)
    assert r.returncode == 0, r.stderr
    assert p.failed
    results = {x["id"]: x for x in json.loads(r.stdout)["rules"]}
    failed = [x for x in results.values() if not x["evaluated"] and "query failed" in (x.get("reason") or "")]
    assert failed and all("bad_data: injected" in x["reason"] for x in failed), failed
    assert any(x["evaluated"] for x in results.values())


@pytest.mark.parametrize("concurrency", ["1", "8"])
def test_server_errors_end_the_run_with_one_line(proxy, concurrency):
    p = proxy(r"node_filesystem", 500)
    r = advisor_process("run", "--prometheus", p.url, "--concurrency", concurrency, *SHORT)
    no_noise(r.stderr)
    assert r.returncode == 3, r.stderr
    assert r.stderr.startswith("advisor: error: Prometheus at ") and r.stderr.count("\n") == 1, r.stderr
    assert "HTTP 500: injected" in r.stderr


def test_server_errors_on_a_terminal_leave_only_the_error_line(proxy):
    """With the progress bar running, rules dropped from the queue after the failure print nothing."""
    # The first rule's query fails; the next rule's answer is slow, so the run stops while the rest are queued.
    p = proxy(r"^1 - sum by \(instance\) \(rate\(node_cpu_seconds_total", 500, delay=0.5)
    r = advisor_process("run", "--prometheus", p.url, "--concurrency", "1", *SHORT, tty=True)
    no_noise(r.stderr)
    assert r.returncode == 3, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip() and "evaluating rules" not in x]
    assert lines == [lines[-1]] and lines[-1].startswith("advisor: error: Prometheus at "), r.stderr

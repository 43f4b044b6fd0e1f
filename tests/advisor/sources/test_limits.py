"""A hostile or broken Prometheus cannot hang the advisor or exhaust its memory: each request is bounded as a
whole (a server dripping a byte at a time times out), answers are capped in size. The advisor runs as its own
process; the harness bounds its wall time (subprocess timeout) and reads its own peak RSS (wait4's rusage)."""
from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

PEAK_RSS_LIMIT = 400 << 20    # the advisor's own footprint is ~100 MB; the cap adds at most 64 MiB of body


class RawServer:
    """A TCP server that answers every connection with `handler(conn)`; enough HTTP for a misbehaving API."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.handler, self.connections, self.closed = handler, 0, False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            conn.settimeout(60)
            conn.recv(65536)   # the request (small form POST)
            self.handler(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.closed = True
        self.sock.close()


@pytest.fixture
def raw_server():
    made = []

    def make(handler) -> RawServer:
        made.append(RawServer(handler))
        return made[-1]
    yield make
    for s in made:
        s.close()


def run_advisor(*args: str, env: dict | None = None, timeout: float = 60) -> tuple[int, str, str, int]:
    """The CLI as its own process: (exit code, stdout, stderr, peak RSS in bytes). Address space is capped at
    4 GiB so a regression fails with MemoryError instead of taking the shared machine's memory."""
    cmd = [sys.executable, "-c", "from perfadvisor.advisor.cli import main; main()", *args]
    full_env = {"PATH": "/usr/bin:/bin", "MALLOC_ARENA_MAX": "2", **(env or {})}

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, preexec_fn=cap)
    killer = threading.Timer(timeout, lambda: os.kill(proc.pid, signal.SIGKILL))
    killer.start()
    out, err = [], []
    readers = [threading.Thread(target=lambda f, acc: acc.append(f.read()), args=(proc.stdout, out)),
               threading.Thread(target=lambda f, acc: acc.append(f.read()), args=(proc.stderr, err))]
    for t in readers:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    killer.cancel()
    for t in readers:
        t.join()
    assert proc.returncode != -signal.SIGKILL, f"advisor still running after {timeout}s: {err[0].decode()[-2000:]}"
    return proc.returncode, out[0].decode(), err[0].decode(), usage.ru_maxrss * 1024


def one_line_exit_3(code: int, stderr: str, *needles: str) -> None:
    assert code == 3, stderr
    assert stderr.startswith("advisor: error: ") and stderr.count("\n") == 1, stderr
    for n in needles:
        assert n in stderr, stderr


HEAD_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
ANSWER = b'{"status":"success","data":{"resultType":"vector","result":[]}}'


def drip_body(conn):
    conn.sendall(HEAD_OK + b"Content-Length: %d\r\n\r\n" % len(ANSWER))
    for b in ANSWER:
        conn.sendall(bytes([b]))
        time.sleep(0.5)


def drip_headers(conn):
    for b in HEAD_OK + b"X-Padding: " + b"x" * 1000:
        conn.sendall(bytes([b]))
        time.sleep(0.5)


@pytest.mark.parametrize("handler", [drip_body, drip_headers], ids=["body", "headers"])
def test_a_dripping_server_times_out_as_a_whole(raw_server, handler):
    """Each read gets a byte within the timeout, so only a deadline on the whole request ends it. With
    --timeout 1s and two retries every query is over within 3 s; the run ends at the first failure."""
    srv = raw_server(handler)
    url = srv.url.replace("http://", "http://admin:hunter2@")
    code, out, err, _ = run_advisor("run", "--prometheus", url, "--timeout", "1s", "--concurrency", "2",
                                    env={"PERFADVISOR_PROMETHEUS_TOKEN": "s3cret-token"}, timeout=30)
    one_line_exit_3(code, err, f"Prometheus at {srv.url}/api/v1/", "timed out after 1s")
    assert "hunter2" not in out + err and "s3cret" not in out + err


def test_retries_stay_within_the_total_budget(raw_server):
    """timeout × (retries + 1): with 1s and 2 retries, the backoff leaves room for two whole attempts."""
    srv = raw_server(drip_body)
    code, _, err, _ = run_advisor("run", "--prometheus", srv.url, "--timeout", "1s", "--concurrency", "1",
                                  timeout=30)
    one_line_exit_3(code, err, "timed out after 1s (after 2 attempts)")
    assert srv.connections == 2


def endless(conn):
    """A valid-looking matrix answer that never ends, sent as fast as the client reads."""
    conn.sendall(HEAD_OK + b"\r\n" + b'{"status":"success","data":{"resultType":"matrix","result":[')
    item = b'{"metric":{"instance":"host-0001:9100","job":"node"},"values":[[1700000000,"0.5"]]},' * 1000
    while True:
        conn.sendall(item)


def test_an_endless_answer_stops_at_the_cap(raw_server):
    srv = raw_server(endless)
    code, _, err, rss = run_advisor("run", "--prometheus", srv.url, "--concurrency", "4", timeout=60)
    one_line_exit_3(code, err, f"Prometheus at {srv.url}/api/v1/", "larger than the 64 MiB limit")
    assert rss < PEAK_RSS_LIMIT, f"peak RSS {rss >> 20} MiB"


def test_the_cap_is_configurable_and_content_length_is_checked_first(raw_server, tmp_path):
    def huge(conn):   # declares 10 GB and sends nothing: refused without reading or waiting
        conn.sendall(HEAD_OK.replace(b"Connection: close\r\n", b"") + b"Content-Length: 10000000000\r\n\r\n")
        time.sleep(30)
    srv = raw_server(huge)
    code, _, err, _ = run_advisor("run", "--prometheus", srv.url, timeout=20)
    one_line_exit_3(code, err, "larger than the 64 MiB limit (Content-Length)")

    srv = raw_server(endless)
    code, _, err, rss = run_advisor("run", "--prometheus", srv.url,
                                    env={"PERFADVISOR_PROMETHEUS_MAX_ANSWER_BYTES": str(1 << 20)}, timeout=60)
    one_line_exit_3(code, err, "larger than the 1 MiB limit", "PERFADVISOR_PROMETHEUS_MAX_ANSWER_BYTES")
    cfg = tmp_path / "advisor.yaml"
    cfg.write_text(f"prometheus:\n  url: {srv.url}\n  max_answer_bytes: 2097152\n")
    code, _, err, _ = run_advisor("run", "--config", str(cfg), timeout=60)
    one_line_exit_3(code, err, "larger than the 2 MiB limit")
    code, _, err, _ = run_advisor("run", "--prometheus", srv.url,
                                  env={"PERFADVISOR_PROMETHEUS_MAX_ANSWER_BYTES": "lots"}, timeout=60)
    assert code == 2 and err.count("\n") == 1 and "PERFADVISOR_PROMETHEUS_MAX_ANSWER_BYTES" in err, err


def test_a_large_valid_answer_within_the_cap_is_read(raw_server):
    """A few MB of range points, read in chunks, arrive whole."""
    series = b",".join(b'{"metric":{"instance":"h%d"},"values":[%s]}'
                       % (i, b",".join(b'[%d,"%d.25"]' % (1700000000 + 60 * t, t) for t in range(120)))
                       for i in range(2000))
    body = b'{"status":"success","data":{"resultType":"matrix","result":[' + series + b"]}}"

    def big(conn):
        conn.sendall(HEAD_OK + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    srv = raw_server(big)
    code, out, err, rss = run_advisor("query", "--prometheus", srv.url, "--start", "1700000000",
                                      "--end", "1700007200", "--step", "60", "count(up)", timeout=120)
    assert code == 0, err
    assert out.count('"metric"') == 2000 and out.count('"59.25"') == 2000
    assert rss < PEAK_RSS_LIMIT, f"peak RSS {rss >> 20} MiB"

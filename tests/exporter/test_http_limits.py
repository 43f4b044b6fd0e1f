"""The exporter's limits over real sockets: stream cap and interval bounds, malformed and oversized requests,
clients that send nothing. Each asserts what a client sees (status line, closed connection) and what the log
says; durations are bounded by socket timeouts, never asserted."""
from __future__ import annotations

import logging
import re
import resource
import socket
import time

import pytest
import requests

from .core_support import make_specs, running

STATUS = re.compile(rb"^HTTP/1\.[01] (\d\d\d) ")


def exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send data, half-close, and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def status_of(answer: bytes) -> int:
    m = STATUS.match(answer)
    assert m, answer[:200]
    return int(m.group(1))


def open_stream(port: int, interval: str = "3600") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET /api/metrics/stream?interval={interval} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = b""
    while b"event: summary" not in head:
        chunk = sock.recv(4096)
        assert chunk, head
        head += chunk
    assert status_of(head) == 200
    return sock


@pytest.fixture()
def http_log(caplog):
    caplog.set_level(logging.DEBUG, logger="perfadvisor.exporter")
    return caplog


def internal_errors(caplog) -> list[str]:
    return [r.getMessage() + str(getattr(r, "kv", "")) for r in caplog.records
            if r.levelno >= logging.ERROR or r.getMessage() in ("request failed", "connection error")
            or "Traceback" in r.getMessage() or "AttributeError" in str(getattr(r, "kv", ""))]


def test_streams_have_their_own_cap_and_free_it_when_the_client_leaves(http_log):
    with running(make_specs(failing=False), web_max_requests=2, web_max_streams=2) as s:
        streams = [open_stream(s.port), open_stream(s.port)]
        try:
            r = requests.get(s.url + "/api/metrics/stream", params={"interval": "1"}, timeout=10)
            assert r.status_code == 503 and r.json()["error"] == "too many concurrent streams (--web.max-streams=2)"
            # two streams waiting an hour between events take none of the two request slots
            assert [requests.get(s.url + "/metrics", timeout=10).status_code for _ in range(5)] == [200] * 5
        finally:
            for sock in streams:
                sock.close()
        # the streams notice their clients left long before their next event, and free their slots
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = requests.get(s.url + "/api/metrics/stream", params={"interval": "1", "count": "1"}, timeout=10)
            if r.status_code == 200:
                break
            time.sleep(0.2)
        assert r.status_code == 200 and r.text.startswith("event: summary")
    assert sum(rec.getMessage() == "client went away" for rec in http_log.records) >= 2
    assert not internal_errors(http_log)


@pytest.mark.parametrize("request_bytes,code", [
    (b"GET /\r\n", 505),                                       # HTTP/0.9
    (b"GET / HTTP/0.9\r\n\r\n", 505),
    (b"GET / HTTP/2.0\r\n\r\n", 505),
    (b"GET /metrics?password=hunter2 HTTP/1.1 extra\r\n\r\n", 400),
    (b"GET / HTTX/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.x\r\n\r\n", 400),
    (b"G\x00T / HTTP/1.1\r\n\r\n", 400),
    (b"BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 405),
    (b"OPTIONS * HTTP/1.1\r\n\r\n", 405),
])
def test_malformed_requests_get_a_status_line_and_no_internal_error(http_log, request_bytes, code):
    with running(make_specs(failing=False)) as s:
        answer = exchange(s.port, request_bytes)
        assert status_of(answer) == code and b"hunter2" not in answer
        head = answer.split(b"\r\n\r\n", 1)[0].lower()
        assert b"content-type: application/json" in head and b"connection: close" in head
        if code == 405:
            assert b"allow: get, head" in head
        assert requests.get(s.url + "/health/live", timeout=10).status_code == 200
    assert not internal_errors(http_log)
    assert not [r for r in http_log.records if "hunter2" in r.getMessage()]


def test_request_line_and_headers_are_bounded(http_log):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with running(make_specs(failing=False)) as s:
        assert status_of(exchange(s.port, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n")) == 414
        assert status_of(exchange(s.port, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")) == 431
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(101))
        assert status_of(exchange(s.port, b"GET / HTTP/1.1\r\n" + many + b"\r\n")) == 431
        # the largest request the limits let through, several times: memory stays bounded
        largest = b"".join(b"X-H%d: %s\r\n" % (i, b"a" * 65000) for i in range(99))
        for _ in range(5):
            assert status_of(exchange(s.port, b"GET /health HTTP/1.1\r\n" + largest + b"\r\n")) == 200
        assert requests.get(s.url + "/health/live", timeout=10).status_code == 200
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 100, f"peak RSS grew {grown_mib:.0f} MiB"
    assert not internal_errors(http_log)


def test_clients_that_send_nothing_hold_no_scrape_slot_and_are_dropped(http_log):
    with running(make_specs(failing=False), web_max_requests=1) as s:
        s.servers[0].RequestHandlerClass.timeout = 1  # the idle timeout, shortened for the test
        silent = [socket.create_connection(("127.0.0.1", s.port), timeout=10) for _ in range(10)]
        partial = [socket.create_connection(("127.0.0.1", s.port), timeout=10) for _ in range(10)]
        try:
            for sock in partial:
                sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
            assert [requests.get(s.url + "/metrics", timeout=10).status_code for _ in range(3)] == [200] * 3
            for sock in silent + partial:  # the server closes them after the idle timeout, without an answer
                assert sock.recv(100) == b""
        finally:
            for sock in silent + partial:
                sock.close()
    assert not [r for r in http_log.records if r.levelno >= logging.ERROR]

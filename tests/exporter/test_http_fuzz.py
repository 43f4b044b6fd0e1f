"""Property-based test of the request parsing: garbled request lines and headers sent to a real server.

Every answer must start with an ``HTTP/1.x NNN`` status line (or the connection is closed with no answer), the
server must keep serving, and nothing may reach the log as an internal error.
"""
from __future__ import annotations

import logging
import re
import socket

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .core_support import make_specs, running

STATUS = re.compile(rb"^HTTP/1\.[01] [1-5]\d\d [^\r\n]*\r\n")

METHODS = st.sampled_from([b"GET", b"HEAD", b"POST", b"BREW", b"get", b"G\x00T", b"", b"PRI"])
PATHS = st.one_of(st.sampled_from([b"/", b"/metrics", b"/api/metrics/summary", b"/health", b"/health/live",
                                   b"/api/metrics?collect[]=static", b"/api/metrics/stream?count=1&interval=0.5",
                                   b"/api/metrics/stream?interval=%FF", b"*", b"http://x/metrics", b"//metrics"]),
                  st.binary(max_size=40))
VERSIONS = st.one_of(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/0.9", b"HTTP/2.0", b"HTTP/1", b"HTTP/1.1.1",
                                      b"HTTP/01.01", b"http/1.1", b""]), st.binary(max_size=12))
SEPARATORS = st.sampled_from([b" ", b"  ", b"\t", b" \x0b "])
HEADER = st.tuples(st.one_of(st.sampled_from([b"Host", b"Accept", b"Accept-Encoding", b"Content-Length",
                                              b"Transfer-Encoding", b"Authorization", b"Connection",
                                              b"X-Prometheus-Scrape-Timeout-Seconds", b"Expect"]),
                             st.binary(max_size=12)),
                   st.one_of(st.sampled_from([b"gzip", b"-1", b"nan", b"1e999", b"close", b"100-continue",
                                              b"Basic !!", b"application/openmetrics-text;version=x"]),
                             st.binary(max_size=30)))
pytestmark = pytest.mark.timeout(120)  # the wall-clock bound; hypothesis' own deadline is off (shared CPUs)

LINE_ENDS = st.sampled_from([b"\r\n", b"\n", b"\r"])


@st.composite
def requests_bytes(draw) -> bytes:
    if draw(st.booleans()):
        line = draw(METHODS) + draw(SEPARATORS) + draw(PATHS) + draw(SEPARATORS) + draw(VERSIONS)
    else:
        line = draw(st.binary(max_size=80))
    end = draw(LINE_ENDS)
    headers = b"".join(name + draw(st.sampled_from([b": ", b":", b" : ", b""])) + value + end
                       for name, value in draw(st.lists(HEADER, max_size=6)))
    return line + end + headers + end + draw(st.binary(max_size=20))


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def fuzzed():
    logger = logging.getLogger("perfadvisor.exporter")
    records, level = Records(), logger.level
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    try:
        with running(make_specs(failing=False)) as s:
            yield s, records
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(raw=requests_bytes())
def test_garbled_requests_get_a_status_line_or_a_clean_close(fuzzed, raw):
    server, records = fuzzed
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)  # the server sees the end of the request instead of waiting for more
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer == b"" or STATUS.match(answer), (raw, answer[:200])
    internal = [r for r in records.records if r.levelno >= logging.ERROR or r.getMessage() == "connection error"]
    assert not internal, [(r.getMessage(), getattr(r, "kv", None)) for r in internal]


def test_the_server_still_serves_after_the_fuzzing(fuzzed):
    server, records = fuzzed
    assert requests.get(server.url + "/health/live", timeout=10).status_code == 200
    assert requests.get(server.url + "/metrics", timeout=10).status_code == 200
    assert not [r for r in records.records if "Traceback" in r.getMessage() or r.exc_info]

"""The exporter over real HTTP on a loopback port: statuses, content types, encodings, endpoints."""
from __future__ import annotations

import gzip
import http.client
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as parse

from tests.support.procs import need_binary

from .core_support import Counting, Gate, Host, make_specs, running


def samples(text: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in parse(text) for s in f.samples}


@pytest.fixture(scope="module")
def server():
    with running(make_specs()) as s:
        yield s


def test_metrics_on_both_paths(server):
    for path in ("/api/metrics", "/metrics"):
        r = requests.get(server.url + path, headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        got = samples(r.text)
        assert got[("test_static_value", (("kind", "plain"),))] == 42.0
        assert got[("test_static_value", (("kind", 'quote" back\\ nl\n ü'),))] == 1.0
        assert got[("test_static_events_total", ())] == 7.0
        assert got[("node_scrape_collector_success", (("collector", "static"),))] == 1.0
        assert got[("node_scrape_collector_success", (("collector", "failing"),))] == 0.0
        assert ("node_scrape_collector_duration_seconds", (("collector", "failing"),)) in got
        assert any(k[0] == "perfadvisor_exporter_build_info" for k in got)
        assert ("process_resident_memory_bytes", ()) in got
        assert got[("perfadvisor_exporter_scrapes_total", ())] >= 1


def test_custom_telemetry_path():
    with running(make_specs(failing=False), web_telemetry_path="/custom") as s:
        assert requests.get(s.url + "/custom").status_code == 200
        assert requests.get(s.url + "/metrics").status_code == 200
        assert requests.get(s.url + "/api/metrics").status_code == 404


def test_gzip_when_accepted(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip, deflate"})
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200 and r.getheader("Content-Encoding") == "gzip"
    assert int(r.getheader("Content-Length")) == len(body)
    assert b"test_static_value" in gzip.decompress(body)
    conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip;q=0"})
    r = conn.getresponse()
    assert r.getheader("Content-Encoding") is None and b"test_static_value" in r.read()
    conn.close()


def test_openmetrics_when_asked(server):
    accept = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    r = requests.get(server.url + "/metrics", headers={"Accept": accept})
    assert r.headers["Content-Type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert r.text.endswith("# EOF\n")
    fams = {f.name: f for f in om_parse(r.text)}
    assert fams["test_static_events"].type == "counter"


def test_keep_alive_two_requests_one_connection(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/metrics")
    first = conn.getresponse()
    first.read()
    sock = conn.sock
    assert first.status == 200 and first.getheader("Connection") != "close" and sock is not None
    conn.request("GET", "/health")
    second = conn.getresponse()
    assert second.status == 200 and second.read()
    assert conn.sock is sock  # same TCP connection reused
    conn.close()


def test_concurrent_scrapes_share_one_collection():
    Counting.calls = 0
    with running(make_specs(failing=False), collectors_counting=True,
                 collectors_config_counting_delay=0.5) as s:
        s.app.health.ready.wait(10)
        before = Counting.calls
        start = threading.Barrier(10)

        def scrape(_):
            start.wait()
            return requests.get(s.url + "/metrics").status_code

        with ThreadPoolExecutor(10) as pool:
            codes = list(pool.map(scrape, range(10)))
        assert codes == [200] * 10
        assert Counting.calls - before <= 3  # 10 scrapes, one (or a couple of) collections


def test_collect_filter_and_unknown_collector(server):
    r = requests.get(server.url + "/metrics", params=[("collect[]", "static")])
    got = samples(r.text)
    assert r.status_code == 200
    assert {dict(k[1]).get("collector") for k in got if k[0] == "node_scrape_collector_success"} == {"static"}
    r = requests.get(server.url + "/metrics", params=[("exclude[]", "failing")])
    assert ("node_scrape_collector_success", (("collector", "failing"),)) not in samples(r.text)
    r = requests.get(server.url + "/metrics", params=[("collect[]", "static"), ("collect[]", "nope")])
    assert r.status_code == 400 and "'nope'" in r.json()["error"] and "static" in r.json()["error"]
    r = requests.get(server.url + "/metrics", params=[("collect[]", "counting")])
    assert r.status_code == 400 and "not enabled" in r.json()["error"]


def test_404_405_and_landing(server):
    r = requests.get(server.url + "/nope")
    assert r.status_code == 404 and r.json()["error"] == "no such endpoint: /nope"
    r = requests.post(server.url + "/metrics", data=b"x")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"
    r = requests.get(server.url + "/")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert 'href="/api/metrics"' in r.text and 'href="/health/ready"' in r.text
    r = requests.head(server.url + "/metrics")
    assert r.status_code == 200 and int(r.headers["Content-Length"]) > 0 and r.content == b""


def test_health_endpoints(server):
    assert requests.get(server.url + "/health/live").json() == {"status": "alive"}
    h = requests.get(server.url + "/health").json()
    assert h["status"] == "ok" and h["collectors"] == ["static", "failing"] and h["uptime_seconds"] >= 0
    assert h["version"]
    requests.get(server.url + "/metrics")
    d = requests.get(server.url + "/health/detailed").json()
    assert d["status"] == "degraded" and d["failing"] == ["failing"]
    assert d["collector_status"]["failing"]["last_error"] == "RuntimeError: disk on fire"
    assert d["collector_status"]["static"]["success"] is True
    assert d["collector_status"]["static"]["last_duration_seconds"] >= 0
    p = requests.get(server.url + "/health/performance").json()
    assert p["scrapes_total"] >= 1 and p["rss_bytes"] > 0 and p["cpu_seconds"] > 0
    assert set(p["scrape_latency_ms"]) == {"p50", "p90", "p99"} and p["scrape_latency_ms"]["p99"] > 0


def test_ready_only_after_first_collection_and_request_cap():
    Gate.gate.clear()
    with running(make_specs(failing=False), collectors_gate=True, web_max_requests=1) as s:
        try:
            r = requests.get(s.url + "/health/ready")
            assert r.status_code == 503 and r.json()["status"] == "starting"
            # one scrape holds the only request slot (it waits for the same collection) ...
            t = threading.Thread(target=requests.get, args=(s.url + "/metrics",))
            t.start()
            for _ in range(100):
                if s.app.selfmetrics.in_flight:
                    break
                threading.Event().wait(0.05)
            r = requests.get(s.url + "/health")
            assert r.status_code == 503 and "--web.max-requests=1" in r.json()["error"]
            assert requests.get(s.url + "/health/live").status_code == 200  # probes are never capped
        finally:
            Gate.gate.set()
        t.join(10)
        assert s.app.health.ready.wait(10)
        assert requests.get(s.url + "/health/ready").json() == {"status": "ready"}
        text = requests.get(s.url + "/metrics").text
        assert samples(text)[("perfadvisor_exporter_requests_rejected_total", ())] >= 1


def test_collector_timeout_reports_failure_but_scrape_succeeds():
    Gate.gate.clear()
    try:
        with running(make_specs(failing=False), collectors_gate=True, scrape_timeout_seconds=0.3) as s:
            r = requests.get(s.url + "/metrics")
            assert r.status_code == 200
            got = samples(r.text)
            assert got[("node_scrape_collector_success", (("collector", "gate"),))] == 0.0
            assert got[("node_scrape_collector_success", (("collector", "static"),))] == 1.0
            d = requests.get(s.url + "/health/detailed").json()
            assert "timed out" in d["collector_status"]["gate"]["last_error"]
    finally:
        Gate.gate.set()


def test_summary_figures():
    specs = make_specs(failing=False, static=False)
    Host.cpu = {"user": 30.0, "system": 10.0, "idle": 60.0}
    with running(specs, collectors_host=True) as s:
        s.app.health.ready.wait(10)
        first = requests.get(s.url + "/api/metrics/summary").json()
        assert first["memory_percent"] == 25.0
        assert (first["load1"], first["load5"], first["load15"]) == (0.5, 0.25, 0.125)
        assert first["filesystems"] == [{"mountpoint": "/", "device": "/dev/sda1", "fstype": "ext4",
                                         "used_percent": 75.0, "size_bytes": 200.0}]
        assert [g["groupname"] for g in first["top_process_groups"]["by_rss"]] == ["nginx", "postgres"]
        Host.cpu = {"user": 45.0, "system": 15.0, "idle": 90.0}  # +20 busy of +50 total
        second = requests.get(s.url + "/api/metrics/summary").json()
        assert second["cpu_percent"] == 40.0


def test_summary_tolerates_missing_families(server):
    r = requests.get(server.url + "/api/metrics/summary")
    assert r.status_code == 200
    body = r.json()
    assert body["cpu_percent"] is None and body["memory_percent"] is None and body["filesystems"] == []
    assert body["collectors_failed"] == ["failing"]


def test_sse_stream(server):
    r = requests.get(server.url + "/api/metrics/stream", params={"interval": "0.5", "count": "2"}, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
    events = [e for e in r.text.split("\n\n") if e.strip()]
    assert len(events) == 2
    assert all(e.startswith("event: summary\n") and "\ndata: {" in e for e in events)
    for bad in ("0.1", "abc", "nan", "inf", "1e9", "86401", "3600.5"):
        r = requests.get(server.url + "/api/metrics/stream", params={"interval": bad})
        assert r.status_code == 400
        assert r.json()["error"] == f"interval must be a number of seconds from 0.5 to 3600, got {bad!r}"
    for bad in ("0", "²", "-1"):
        r = requests.get(server.url + "/api/metrics/stream", params={"count": bad})
        assert r.status_code == 400 and r.json()["error"].startswith("count must be a positive integer")


def test_sse_client_going_away_is_quiet(server, caplog):
    import logging
    import time

    caplog.set_level(logging.DEBUG, logger="perfadvisor.exporter")
    with requests.get(server.url + "/api/metrics/stream", params={"interval": "0.5"}, stream=True, timeout=10) as r:
        first = next(r.iter_lines())
        assert first == b"event: summary"
    # the server notices on its next write, ends the stream quietly and keeps serving others
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(rec.getMessage() == "client went away" for rec in caplog.records):
        time.sleep(0.1)
    assert any(rec.getMessage() == "client went away" and rec.levelname == "DEBUG" for rec in caplog.records)
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING and rec.name.endswith("http")]
    assert requests.get(server.url + "/health/live").status_code == 200


def test_promtool_accepts_the_output(server):
    promtool = need_binary("promtool")
    text = requests.get(server.url + "/metrics").text
    out = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def _promtool_findings(promtool: str, text: str) -> tuple[int, list[str]]:
    out = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    return out.returncode, [line.strip() for line in (out.stdout + out.stderr).splitlines() if line.strip()]


def _scrape_console_script(argv: list[str], ready_path: str = "/health/ready") -> str:
    import sys
    from pathlib import Path

    from tests.support.procs import free_port, stop, wait_http

    port = free_port()
    exe = argv[0] if argv[0].startswith("/") else str(Path(sys.executable).with_name(argv[0]))
    proc = subprocess.Popen([exe, f"--web.listen-address=127.0.0.1:{port}", *argv[1:]], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}{ready_path}", proc=proc)
        r = requests.get(f"http://127.0.0.1:{port}/metrics")
        assert r.status_code == 200
        return r.text
    finally:
        stop(proc)


def test_promtool_accepts_default_collectors_output():
    """Whatever collectors are registered by default, through the console script, as Prometheus would scrape.

    Established exporters' names trip some naming lints (node_exporter's node_netstat_Tcp_* camelCase,
    node_entropy_*_bits units; process-exporter's counters without _total); they are kept so existing
    dashboards work. So a finding passes only if node_exporter's own output has the same finding, or it is
    the _total lint on a namedprocess_* counter. Any other finding, or a parse error (exit 1), fails.
    """
    promtool = need_binary("promtool")
    node_exporter = need_binary("prometheus-node-exporter", "node_exporter")
    text = _scrape_console_script(["perfadvisor-exporter"])
    assert "node_scrape_collector_success" in text
    code, findings = _promtool_findings(promtool, text)
    _, theirs = _promtool_findings(promtool, _scrape_console_script([node_exporter], ready_path="/metrics"))
    problems = [f for f in findings if f not in theirs
                and not (f.startswith("namedprocess_") and 'should have "_total" suffix' in f)]
    assert code in (0, 3) and not problems, "\n".join(problems)


def _ipv6_loopback() -> bool:
    import socket
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_listen_address():
    with running(make_specs(failing=False), web_listen_address="[::1]:0") as s:
        assert s.url.startswith("http://[::1]:")
        assert requests.get(s.url + "/health/live").status_code == 200


@pytest.mark.slow
def test_real_prometheus_scrapes_the_exporter(tmp_path):
    """Prometheus negotiates OpenMetrics and gzip and keeps its connection: the scrape must be healthy."""
    from tests.support.prometheus import start_prometheus

    with running(make_specs()) as s:
        prom = start_prometheus(tmp_path, {"perfadvisor": [f"127.0.0.1:{s.port}"]})
        try:
            up = prom.wait_for_series('up{job="perfadvisor"} == 1', timeout=60)
            assert up["result"][0]["value"][1] == "1"
            data = prom.wait_for_series('node_scrape_collector_success{collector="failing"}')
            assert data["result"][0]["value"][1] == "0"
            data = prom.wait_for_series('test_static_value{kind="quote\\" back\\\\ nl\\n ü"}')
            assert data["result"][0]["value"][1] == "1"
            data = prom.wait_for_series("test_static_events_total")
            assert data["result"][0]["value"][1] == "7"
        finally:
            prom.stop()


def test_prometheus_scrape_timeout_header_shortens_the_collection():
    with running(make_specs(failing=False), collectors_counting=True, collectors_config_counting_delay=1.5) as s:
        assert s.app.health.ready.wait(10)  # the first collection (configured timeout 10 s) took 1.5 s
        r = requests.get(s.url + "/metrics", headers={"X-Prometheus-Scrape-Timeout-Seconds": "0.8"}, timeout=5)
        assert r.status_code == 200
        got = samples(r.text)
        assert got[("node_scrape_collector_success", (("collector", "counting"),))] == 0.0
        assert got[("node_scrape_collector_success", (("collector", "static"),))] == 1.0
        d = requests.get(s.url + "/health/detailed").json()
        assert d["collector_status"]["counting"]["last_error"] == "timed out after 0.3s"


def test_several_listen_addresses():
    with running(make_specs(failing=False), web_listen_address=("127.0.0.1:0", "127.0.0.1:0")) as s:
        assert len(s.urls) == 2 and s.urls[0] != s.urls[1]
        for url in s.urls:
            assert requests.get(url + "/metrics").status_code == 200


def test_get_with_a_body_answers_and_closes(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/health", body=b"GET /nope HTTP/1.1\r\n\r\n")
    r = conn.getresponse()
    assert r.status == 200 and r.getheader("Connection") == "close" and r.read()
    conn.close()


def test_every_route_is_served_and_listed_on_the_landing_page(server):
    from perfadvisor.exporter.routes import ROUTES

    page = requests.get(server.url + "/").text
    for r in ROUTES:
        assert (f'href="{r.path}"' in page) == bool(r.title), r.path
        assert requests.head(server.url + r.path).status_code != 404, r.path

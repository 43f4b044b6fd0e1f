"""The haproxy collector against a real HAProxy 2.6 in front of nginx, with two servers of weight 1 and 5;
its output is checked against HAProxy's own Prometheus exporter on the same instance."""
from __future__ import annotations

import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from perfadvisor.exporter.collectors.haproxy import families_from_rows, parse_csv
from tests.support.procs import free_port
from tests.support.services import start_haproxy, start_nginx, stop_server

from .conftest import scrape


@pytest.fixture(scope="module")
def lb(tmp_path_factory):
    with start_nginx(tmp_path_factory.mktemp("nginx"), "location / { }", {"index.html": b"hello\n"}) as web:
        front = free_port()
        body = f"""frontend fe
    bind 127.0.0.1:{front}
    default_backend be

backend be
    balance roundrobin
    server light 127.0.0.1:{web.port} weight 1 check inter 500ms
    server heavy 127.0.0.1:{web.port} weight 5 check inter 500ms
"""
        with start_haproxy(tmp_path_factory.mktemp("haproxy"), body) as hap:
            for _ in range(60):
                requests.get(f"http://127.0.0.1:{front}/", timeout=5, headers={"Connection": "close"})
            csv_url = f"http://127.0.0.1:{hap.port}/stats;csv"
            deadline = time.monotonic() + 10  # until both servers have a finished health check
            while "L4OK" not in requests.get(csv_url, timeout=5).text.split("heavy", 1)[-1].split("\n")[0]:
                assert time.monotonic() < deadline, "health checks did not complete"
                time.sleep(0.2)
            yield hap, csv_url, web


def test_weights_and_session_skew(lb):
    hap, csv_url, _ = lb
    s = scrape("haproxy", {"url": csv_url})
    base = {"target": csv_url, "proxy": "be"}
    light, heavy = {**base, "server": "light"}, {**base, "server": "heavy"}
    assert s.value("perfadvisor_haproxy_up", {"target": csv_url}) == 1
    assert s.value("haproxy_server_weight", light) == 1
    assert s.value("haproxy_server_weight", heavy) == 5
    assert s.value("haproxy_backend_weight", base) == 6
    assert s.value("haproxy_server_sessions_total", light) == 10
    assert s.value("haproxy_server_sessions_total", heavy) == 50
    assert s.value("haproxy_backend_sessions_total", base) == 60
    assert s.value("haproxy_frontend_sessions_total", {"target": csv_url, "proxy": "fe"}) == 60
    assert s.value("haproxy_backend_http_responses_total", {**base, "code": "2xx"}) == 60
    assert s.value("haproxy_server_status", {**heavy, "state": "UP"}) == 1
    assert s.value("haproxy_server_status", {**heavy, "state": "DOWN"}) == 0
    assert s.value("haproxy_backend_status", {**base, "state": "UP"}) == 1
    assert s.value("haproxy_server_check_status", {**light, "state": "L4OK"}) == 1
    assert s.value("haproxy_backend_current_queue", base) == 0
    assert s.value("haproxy_server_current_sessions", light) == 0
    assert s.value("haproxy_backend_response_time_average_seconds", base) >= 0
    assert s.value("haproxy_server_connection_errors_total", heavy) == 0
    assert s.value("haproxy_backend_response_errors_total", base) == 0


def test_names_and_values_match_haproxys_own_exporter(lb):
    hap, csv_url, _ = lb
    s = scrape("haproxy", {"url": csv_url})
    theirs = {}
    text = requests.get(f"http://127.0.0.1:{hap.port}/metrics", timeout=5).text
    for fam in text_string_to_metric_families(text):
        for x in fam.samples:
            theirs[(x.name, tuple(sorted(x.labels.items())))] = x.value
    ours = {}
    for fam in s.families:
        for x in fam.samples:
            # stats_fe counts our own reads; perfadvisor_* is ours alone
            if x.name.startswith("haproxy_") and x.labels["proxy"] != "stats_fe":
                labels = {k: v for k, v in x.labels.items() if k != "target"}
                ours[(x.name, tuple(sorted(labels.items())))] = x.value
    assert len(ours) > 150
    assert sorted(k for k in ours if k not in theirs) == []
    steady = ("weight", "sessions_total", "status", "check_status", "http_responses_total", "bytes_out_total")
    differ = {k: (v, theirs[k]) for k, v in ours.items() if k[0].endswith(steady) and v != theirs[k]}
    assert differ == {}


def test_every_upstream_looking_name_is_one_haproxys_exporter_publishes(lb, closed_port):
    """URL target, socket target (adds haproxy_process_*) and a down target: every family that is not
    perfadvisor_* is a name in HAProxy's built-in exporter's output for the same instance."""
    from .test_probe_peer_parity import series

    hap, csv_url, _ = lb
    theirs = series(requests.get(f"http://127.0.0.1:{hap.port}/metrics", timeout=5).text)
    ours: set[str] = set()
    for target in ({"url": csv_url}, {"socket": hap.extra["socket"]},
                   {"url": f"http://127.0.0.1:{closed_port}/stats;csv", "timeout": "1s"}):
        ours |= series(scrape("haproxy", target).text).keys()
    assert sorted(n for n in ours if not n.startswith("perfadvisor_") and n not in theirs) == []
    assert {"perfadvisor_haproxy_up", "haproxy_process_max_connections", "haproxy_server_weight"} <= ours


def test_stats_socket(lb):
    hap, _, _ = lb
    sock = hap.extra["socket"]
    s = scrape("haproxy", {"socket": sock})
    t = {"target": sock}
    assert s.value("perfadvisor_haproxy_up", t) == 1
    assert s.value("haproxy_server_weight", {**t, "proxy": "be", "server": "heavy"}) == 5
    assert s.value("haproxy_process_max_connections", t) == 256  # maxconn in the global section
    assert s.value("haproxy_process_current_connections", t) >= 0
    assert 0 <= s.value("haproxy_process_idle_time_percent", t) <= 100
    assert s.value("haproxy_process_requests_total", t) >= 60
    theirs = {}
    text = requests.get(f"http://127.0.0.1:{hap.port}/metrics", timeout=5).text
    for fam in text_string_to_metric_families(text):
        for x in fam.samples:
            theirs[(x.name, tuple(sorted(x.labels.items())))] = x.value
    process = {(x.name, tuple(sorted((k, v) for k, v in x.labels.items() if k != "target"))): x.value
               for fam in s.families for x in fam.samples if x.name.startswith("haproxy_process_")}
    # the parser renames a counter written without _total (failed_resolutions) to name_total
    assert len(process) > 25 and sorted(k for k in process if k not in theirs and (k[0] + "_total", k[1]) not in theirs) == []
    steady = ("max_connections", "hard_max_connections", "max_fds", "max_sockets", "nbthread", "start_time_seconds",
              "build_info", "listeners")
    assert {k: v for k, v in process.items() if k[0].endswith(steady) and v != theirs[k]} == {}


def test_backend_algorithm_from_the_stats_socket(lb):
    hap, csv_url, _ = lb
    sock = hap.extra["socket"]
    s = scrape("haproxy", {"socket": sock})
    assert s.value("perfadvisor_haproxy_backend_info", {"target": sock, "proxy": "be", "algorithm": "roundrobin"}) == 1
    # one series per backend, none for frontends or servers
    assert sorted(x.labels["proxy"] for x in s.samples("perfadvisor_haproxy_backend_info")) == ["be"]
    # the stats page leaves the algorithm empty without `stats show-legends`: no series rather than algorithm=""
    assert not scrape("haproxy", {"url": csv_url}).samples("perfadvisor_haproxy_backend_info")


def test_backend_algorithm_from_csv_rows():
    header = "# pxname,svname,type,status,weight,algo\n"
    text = header + "skewed,BACKEND,1,UP,4,first\nskewed,s1,2,UP,1,\nweb,FRONTEND,0,OPEN,,\nh,BACKEND,1,UP,1,source\n"
    f = families_from_rows(parse_csv(text), {"target": "t"})
    got = sorted((x.labels["proxy"], x.labels["algorithm"], x.value) for fam in f.metrics()
                 for x in fam.samples if x.name == "perfadvisor_haproxy_backend_info")
    assert got == [("h", "source", 1.0), ("skewed", "first", 1.0)]


def test_down_haproxy(tmp_path, hung_port):
    with start_haproxy(tmp_path, "") as hap:
        url = f"http://127.0.0.1:{hap.port}/stats;csv"
        assert scrape("haproxy", {"url": url}).value("perfadvisor_haproxy_up") == 1
        stop_server(hap)
        hung = f"http://127.0.0.1:{hung_port}/stats;csv"
        s = scrape("haproxy", {"url": url, "timeout": "1s"}, {"url": hung, "timeout": "1s"},
                   {"socket": hap.extra["socket"], "timeout": "1s"})
        assert [x.value for x in s.samples("perfadvisor_haproxy_up")] == [0, 0, 0]
        assert s.seconds < 5

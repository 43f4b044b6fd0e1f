"""The loadbalancer pack against a real HAProxy (read through its stats CSV by our exporter) in front of a
real nginx, and that nginx's stub_status: a `balance first` backend whose servers are weighted 1:3, a
roundrobin backend with the same weights, a backend with a dead server, a roundrobin backend with one slow
server, a backend whose only server takes one request at a time, a server whose port comes and goes, and nginx
pushed to its worker_connections limit."""
from __future__ import annotations

import contextlib
import selectors
import socket
import time

import pytest
import requests

from tests.support.procs import closed_port, free_port
from tests.support.services import start_haproxy, start_nginx
from tests.support.services_extra import HAPROXY_FIRST_AND_ROUNDROBIN, start_flapping_listener, start_slow_http

from .conftest import Workload, exporter_and_prometheus, findings, poll_report

SETS = ("rate_window=10s", "lookback=15s", "step=1s", "nginx_max_connections=256")
# The second listener accepts only once data has arrived (TCP_DEFER_ACCEPT), so a connection that has sent
# part of its request header is never idle, and nginx cannot reclaim it when it runs out of connections.
NGINX_BODY = """
        listen 127.0.0.1:{held} deferred;
        location = /stub_status { stub_status; }
"""
HAPROXY_BODY = HAPROXY_FIRST_AND_ROUNDROBIN + """
backend broken
    server alive 127.0.0.1:{web} check inter 500ms
    server dead 127.0.0.1:{dead} check inter 500ms fall 1

frontend fe_mixed
    bind 127.0.0.1:{mixed}
    default_backend mixed

backend mixed
    balance roundrobin
    server m1 127.0.0.1:{web}
    server m2 127.0.0.1:{web}
    server m3 127.0.0.1:{web}
    server slow 127.0.0.1:{slow}

frontend fe_queue
    bind 127.0.0.1:{queue}
    default_backend queued

backend queued
    server q1 127.0.0.1:{slow} maxconn 1

backend flappy
    server steady 127.0.0.1:{web} check inter 300ms
    server flaky 127.0.0.1:{flaky} check inter 300ms fall 1 rise 1
"""


def _hold(port: int, n: int) -> list[socket.socket]:
    """n client connections to nginx, each in the middle of sending its request header: nginx keeps them until
    client_header_timeout and cannot reclaim them when it runs out of connections."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        socks.append(s)
    return socks


def _dropped(socks: list[socket.socket], timeout: float = 10.0) -> int:
    """How many of socks nginx closed without answering (it accepts, finds no free connection, closes)."""
    closed: set[socket.socket] = set()
    deadline = time.monotonic() + timeout
    # selectors, not select.select: the test process may hold descriptors numbered above FD_SETSIZE.
    with selectors.DefaultSelector() as sel:
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        while not closed and time.monotonic() < deadline:
            for key, _ in sel.select(0.5):
                s = key.fileobj
                try:
                    if s.recv(1024) == b"":
                        closed.add(s)
                except OSError:  # reset
                    closed.add(s)
                if s in closed:
                    sel.unregister(s)
    return len(closed)


@pytest.fixture(scope="module")
def lb_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("lb")
    with contextlib.ExitStack() as stack:
        held_port = free_port()
        web = stack.enter_context(start_nginx(base / "nginx", NGINX_BODY.replace("{held}", str(held_port)),
                                              {"index.html": b"hello\n"}))
        slow = stack.enter_context(start_slow_http(0.3))
        flaky = stack.enter_context(start_flapping_listener(1.5))
        first, rr, mixed, queue = free_port(), free_port(), free_port(), free_port()
        dead = stack.enter_context(closed_port())
        body = HAPROXY_BODY.format(first=first, rr=rr, web=web.port, dead=dead, slow=slow, mixed=mixed,
                                   queue=queue, flaky=flaky)
        (base / "haproxy").mkdir()
        lb = stack.enter_context(start_haproxy(base / "haproxy", body))
        # the stats socket (level admin) shows each backend's `balance` algorithm; the stats page would only
        # with `stats show-legends`
        collectors = {"haproxy": {"targets": [{"socket": lb.extra["socket"]}]},
                      "nginx": {"targets": [{"url": f"http://127.0.0.1:{web.port}/stub_status"}]}}
        prom = stack.enter_context(exporter_and_prometheus(base / "stack", collectors))
        prom.wait_for_series("perfadvisor_haproxy_up == 1")
        prom.wait_for_series("nginx_up == 1")

        def traffic():
            # new connection per request: every request is a new session for HAProxy to balance. While nginx
            # is out of connections (below) some answers are 502; the sessions count all the same.
            for port in (first, rr):
                requests.get(f"http://127.0.0.1:{port}/index.html", headers={"Connection": "close"}, timeout=5)
        stack.enter_context(Workload(traffic, pause=0.05))

        def get(port):
            return lambda: requests.get(f"http://127.0.0.1:{port}/", headers={"Connection": "close"}, timeout=10)
        # 8 clients on a roundrobin backend with one slow server: most are waiting on it at any moment;
        # 3 clients on a backend whose only server takes one request at a time: 2 always queue.
        for port, clients in ((mixed, 8), (queue, 3)):
            for _ in range(clients):
                stack.enter_context(Workload(get(port)))
        expected = ("lb-haproxy-uneven-distribution", "lb-haproxy-server-down", "lb-haproxy-queueing",
                    "lb-haproxy-response-time-outlier", "lb-haproxy-consider-leastconn", "lb-haproxy-server-flapping",
                    "lb-nginx-connections-near-limit", "lb-nginx-dropped-connections")
        # The range rules need `lookback` of history; the nginx burst is a one-off event inside `rate_window`,
        # so it happens once the HAProxy findings are there.
        poll_report(prom.url, "loadbalancer", SETS, lambda r: all(findings(r, rid) for rid in expected[:6]))
        # nginx's only worker has 256 connection slots: hold 215 of them, then briefly ask for 60 more, which
        # nginx accepts and drops ("worker_connections are not enough").
        held = _hold(held_port, 215)
        stack.callback(lambda: [s.close() for s in held])
        prom.wait_for_series("nginx_connections_active > 215")
        burst = _hold(held_port, 60)
        try:
            assert _dropped(burst) > 0
        finally:
            for s in burst:
                s.close()
        report = poll_report(prom.url, "loadbalancer", SETS, lambda r: all(findings(r, rid) for rid in expected))
        yield report, {"stats": lb.extra["socket"],
                       "nginx": f"http://127.0.0.1:{web.port}/stub_status"}


def test_uneven_distribution_names_the_overloaded_server(lb_env):
    report, where = lb_env
    uneven = findings(report, "lb-haproxy-uneven-distribution")
    assert [(f["labels"]["proxy"], f["labels"]["server"]) for f in uneven] == [("skewed", "s1")]
    f = uneven[0]
    # s1 takes every new session for a quarter of the weight
    assert f["value"] == pytest.approx(4.0, rel=0.05)
    assert f["labels"]["target"] == where["stats"]
    assert "Server s1 in backend skewed receives 4" in f["recommendation"]
    assert "leastconn" in f["recommendation"]
    shares = {s["labels"]["server"]: s["value"] for s in f["evidence"][0]["series"]}
    assert shares["s1"] == pytest.approx(1.0) and shares.get("s2", 0) == 0


def test_uneven_distribution_is_explained_by_balance_first(lb_env):
    report, _ = lb_env
    f = findings(report, "lb-haproxy-uneven-distribution")[0]
    algorithm = {e["title"]: e["series"] for e in f["evidence"]}["Balancing algorithm"]
    assert [(s["labels"]["proxy"], s["labels"]["algorithm"]) for s in algorithm] == [("skewed", "first")]
    text = f["recommendation"]
    assert "The backend uses `balance first`, which concentrates traffic by design" in text
    # not the generic list of causes
    assert "hashing algorithm" not in text and "stickiness" not in text


def test_roundrobin_backend_following_its_weights_is_even(lb_env):
    report, _ = lb_env
    rule = next(r for r in report["rules"] if r["id"] == "lb-haproxy-uneven-distribution")
    # s1, s2, a, b, m1-m3, slow and q1 are all judged; only s1 fires (roundrobin follows the weights)
    assert rule["evaluated"] and rule["targets"] == 9
    assert not [f for f in findings(report, "lb-haproxy-uneven-distribution") if f["labels"]["proxy"] != "skewed"]


def test_dead_server_is_reported_down(lb_env):
    report, _ = lb_env
    # the flapping server may be caught DOWN too; the steady and the healthy ones never are
    down = [f for f in findings(report, "lb-haproxy-server-down") if f["labels"]["server"] != "flaky"]
    assert [(f["labels"]["proxy"], f["labels"]["server"]) for f in down] == [("broken", "dead")]
    text = down[0]["recommendation"]
    assert "server dead of backend broken DOWN" in text
    check = {e["title"]: e["series"] for e in down[0]["evidence"]}["Last health check result"]
    assert check[0]["labels"]["state"] in ("L4CON", "L4TOUT", "SOCKERR")


def test_nginx_near_its_connection_limit_and_dropping(lb_env):
    report, where = lb_env
    near = findings(report, "lb-nginx-connections-near-limit")
    assert [f["labels"]["target"] for f in near] == [where["nginx"]]
    assert near[0]["value"] > 0.8 and "worker_connections" in near[0]["recommendation"]
    dropped = findings(report, "lb-nginx-dropped-connections")
    assert [f["labels"]["target"] for f in dropped] == [where["nginx"]]
    assert dropped[0]["value"] >= 1 and "worker_rlimit_nofile" in dropped[0]["recommendation"]


def test_slow_server_is_an_outlier_and_leastconn_is_advised(lb_env):
    report, _ = lb_env
    outlier = findings(report, "lb-haproxy-response-time-outlier")
    assert [(f["labels"]["proxy"], f["labels"]["server"]) for f in outlier] == [("mixed", "slow")]
    assert outlier[0]["value"] > 3 and "Server slow of backend mixed" in outlier[0]["recommendation"]
    advice = findings(report, "lb-haproxy-consider-leastconn")
    assert [f["labels"]["proxy"] for f in advice] == ["mixed"]
    assert "`balance leastconn`" in advice[0]["recommendation"]


def test_queueing_backend(lb_env):
    report, _ = lb_env
    queued = findings(report, "lb-haproxy-queueing")
    assert [f["labels"]["proxy"] for f in queued] == ["queued"]
    assert queued[0]["value"] >= 1 and "maxconn" in queued[0]["recommendation"]
    per_server = {e["title"]: e["series"] for e in queued[0]["evidence"]}["Queued per server"]
    assert per_server[0]["labels"]["server"] == "q1"


def test_flapping_server(lb_env):
    report, _ = lb_env
    flapping = findings(report, "lb-haproxy-server-flapping")
    assert [(f["labels"]["proxy"], f["labels"]["server"]) for f in flapping] == [("flappy", "flaky")]
    assert flapping[0]["value"] >= 2 and "timeout check" in flapping[0]["recommendation"]

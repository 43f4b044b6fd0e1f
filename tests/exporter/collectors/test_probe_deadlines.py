"""Every probe answers ``*_up 0`` for a hung target (a port that accepts and never answers) within its configured
timeout plus a small constant, whatever its client library does (libpq's 2 s connect-timeout floor, per-read
socket timeouts): the runner in collectors/_probe.py enforces the deadline around the library."""
from __future__ import annotations

import threading
import time

import pytest

from perfadvisor.exporter.collectors._probe import Families, InFlight, run_targets
from perfadvisor.exporter.registry import CollectorContext, all_collectors

from .conftest import scrape

SLACK = 0.6  # seconds over the configured timeout a scrape may take here: the runner's 0.25 s grace + scheduling


def _targets(port: int) -> dict[str, tuple[dict, str]]:
    hung = f"127.0.0.1:{port}"
    return {
        "postgres": ({"dsn": f"host=127.0.0.1 port={port} user=postgres", "password": "x"}, "pg_up"),
        "redis": ({"address": hung}, "redis_up"),
        "nginx": ({"url": f"http://{hung}/stub_status"}, "nginx_up"),
        "haproxy": ({"url": f"http://{hung}/stats;csv"}, "perfadvisor_haproxy_up"),
        "haproxy-socket": ({"socket": f"ipv4@{hung}"}, "perfadvisor_haproxy_up"),
        "http_probe": ({"url": f"http://{hung}/"}, "probe_success"),
    }


@pytest.mark.parametrize("timeout,seconds", [("1s", 1.0), ("500ms", 0.5)])
@pytest.mark.parametrize("probe", ["postgres", "redis", "nginx", "haproxy", "haproxy-socket", "http_probe"])
def test_hung_target_is_down_within_its_timeout(hung_port, probe, timeout, seconds):
    target, up = _targets(hung_port)[probe]
    s = scrape(probe.split("-")[0], {**target, "timeout": timeout})
    assert [x.value for x in s.samples(up)] == [0]
    assert s.seconds < seconds + SLACK, f"{probe} with timeout {timeout} answered after {s.seconds:.2f}s"


def test_a_probe_that_ignores_its_timeout_is_answered_for_and_holds_one_thread():
    release = threading.Event()

    def stuck(target, timeout):  # a client library that never gives up
        release.wait(30)
        return Families()

    def down(target, why):
        f = Families()
        f.gauge("x_up", "up", {"t": target["t"]}, 0)
        f.gauge("x_why", "why", {"t": target["t"], "why": why}, 1)
        return f

    inflight = InFlight()
    targets = [{"t": "a", "timeout": "300ms"}]
    before = threading.active_count()
    try:
        start = time.monotonic()
        first = run_targets(targets, stuck, down, inflight=inflight, key=lambda t: t["t"])
        assert time.monotonic() - start < 0.3 + SLACK
        whys = [s.labels["why"] for m in first.metrics() if m.name == "x_why" for s in m.samples]
        assert whys == ["no answer within 0.55s"]
        for _ in range(3):  # later scrapes while the first probe is still stuck: no second probe is started
            start = time.monotonic()
            again = run_targets(targets, stuck, down, inflight=inflight, key=lambda t: t["t"])
            assert time.monotonic() - start < 0.3 + SLACK
            whys = [s.labels["why"] for m in again.metrics() if m.name == "x_why" for s in m.samples]
            assert whys == ["the previous probe of this target is still running"]
        assert threading.active_count() == before + 1
    finally:
        release.set()


def test_a_slow_target_does_not_delay_the_others():
    """Targets are judged each by their own deadline: one overrunning target is down, the others are up."""
    def probe(target, timeout):
        time.sleep(target["sleep"])
        f = Families()
        f.gauge("x_up", "up", {"t": target["t"]}, 1)
        return f

    def down(target, why):
        f = Families()
        f.gauge("x_up", "up", {"t": target["t"]}, 0)
        return f

    targets = [{"t": "slow", "timeout": "200ms", "sleep": 1.5}, {"t": "ok", "timeout": "1s", "sleep": 0.3}]
    start = time.monotonic()
    out = run_targets(targets, probe, down)
    assert time.monotonic() - start < 1.0 + SLACK
    ups = {s.labels["t"]: s.value for m in out.metrics() for s in m.samples}
    assert ups == {"slow": 0, "ok": 1}


def test_a_hung_postgres_collector_reused_across_scrapes_stays_bounded(hung_port):
    """libpq gives up on the connection after 2 s however short the timeout; the scrape does not wait for it,
    and the next scrape does not start a second connection attempt while the first is still pending."""
    target = {"dsn": f"host=127.0.0.1 port={hung_port} user=postgres", "password": "x", "timeout": "500ms"}
    collector = all_collectors()["postgres"].factory(CollectorContext(settings={"targets": [target]}))
    threads = threading.active_count()
    for _ in range(3):
        start = time.monotonic()
        ups = [s.value for f in collector.collect() for s in f.samples if s.name == "pg_up"]
        assert ups == [0]
        assert time.monotonic() - start < 0.5 + SLACK
    assert threading.active_count() <= threads + 1

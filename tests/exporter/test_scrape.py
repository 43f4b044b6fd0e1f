"""Collection orchestration: failures and timeouts stay inside their collector; concurrent callers share a run."""
from __future__ import annotations

import threading
import time

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from perfadvisor.exporter.config import build_config
from perfadvisor.exporter.registry import CollectorContext
from perfadvisor.exporter.scrape import Scraper, build_collectors

from .core_support import Failing, make_specs, spec


class Fixed:
    def __init__(self, *families):
        self.families = families

    def collect(self):
        return list(self.families)


class Sleeper:
    def __init__(self, seconds: float):
        self.seconds, self.calls = seconds, 0
        self.release = threading.Event()

    def collect(self):
        self.calls += 1
        self.release.wait(self.seconds)
        yield GaugeMetricFamily("test_sleeper", "Slept.", value=self.calls)


def values(collection, name: str) -> dict[str, float]:
    return {s.labels.get("collector", ""): s.value for f in collection.families for s in f.samples if s.name == name}


def test_failing_collector_is_reported_not_raised():
    scraper = Scraper({"ok": Fixed(GaugeMetricFamily("test_ok", "ok", value=1)), "bad": Failing(CollectorContext())})
    try:
        c = scraper.collect()
        assert values(c, "node_scrape_collector_success") == {"ok": 1.0, "bad": 0.0}
        assert "test_ok" in [f.name for f in c.families]
        bad = next(o for o in c.outcomes if o.collector == "bad")
        assert bad.error == "RuntimeError: disk on fire" and not bad.success
    finally:
        scraper.close()


def test_timeout_and_still_running_collector():
    slow = Sleeper(5)
    scraper = Scraper({"slow": slow, "ok": Fixed(GaugeMetricFamily("test_ok", "ok", value=1))}, timeout=0.2)
    try:
        c = scraper.collect()
        assert values(c, "node_scrape_collector_success") == {"slow": 0.0, "ok": 1.0}
        assert next(o for o in c.outcomes if o.collector == "slow").error == "timed out after 0.2s"
        time.sleep(0.1)
        c = scraper.collect()  # the first run is still stuck: no second thread is spent on it
        assert next(o for o in c.outcomes if o.collector == "slow").error == "previous collection still running"
        assert slow.calls == 1
    finally:
        slow.release.set()
        scraper.close()


def test_singleflight_shares_one_collection():
    sleeper = Sleeper(0.3)
    scraper = Scraper({"s": sleeper})
    results = []
    try:
        threads = [threading.Thread(target=lambda: results.append(scraper.collect())) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sleeper.calls == 1
        assert len({r.seq for r in results}) == 1
        scraper.collect()  # no caching beyond the flight
        assert sleeper.calls == 2
    finally:
        scraper.close()


def test_filter_runs_only_the_named_collectors():
    a, b = Sleeper(0.3), Sleeper(0.3)
    scraper = Scraper({"a": a, "b": b}, workers=2)
    try:
        c = scraper.collect(frozenset({"a"}))
        assert values(c, "node_scrape_collector_success") == {"a": 1.0}
        assert (a.calls, b.calls) == (1, 0)
    finally:
        scraper.close()


def test_same_family_from_two_collectors_is_merged(caplog):
    g1 = GaugeMetricFamily("test_shared", "Shared.", labels=["src"])
    g1.add_metric(["one"], 1)
    g2 = GaugeMetricFamily("test_shared", "Shared.", labels=["src"])
    g2.add_metric(["two"], 2)
    clash = CounterMetricFamily("test_shared", "Other type.", value=1)
    scraper = Scraper({"one": Fixed(g1), "two": Fixed(g2), "three": Fixed(clash)})
    try:
        fams = [f for f in scraper.collect().families if f.name == "test_shared"]
        assert len(fams) == 1 and fams[0].type == "gauge"
        assert sorted(s.labels["src"] for s in fams[0].samples) == ["one", "two"]
        conflicts = [r for r in caplog.records if r.getMessage().startswith("metric family exported with two types")]
        assert [r.kv for r in conflicts] == [{"family": "test_shared", "first": "gauge", "dropped": "counter"}]
    finally:
        scraper.close()


def test_collector_that_fails_to_build_fails_each_scrape():
    class Unbuildable:
        def __init__(self, ctx):
            raise FileNotFoundError("no /proc/pressure")

    specs = {**make_specs(failing=False), "broken": spec("broken", Unbuildable)}
    config = build_config(specs, {})
    scraper = Scraper(build_collectors(specs, config))
    try:
        c = scraper.collect()
        assert values(c, "node_scrape_collector_success")["broken"] == 0.0
        assert values(c, "node_scrape_collector_success")["static"] == 1.0
    finally:
        scraper.close()


def test_yielding_garbage_is_a_failure():
    scraper = Scraper({"junk": Fixed("not a family")})
    try:
        c = scraper.collect()
        assert c.outcomes[0].error.startswith("TypeError: collect() yielded str")
    finally:
        scraper.close()


def test_listeners_see_each_collection():
    seen = []
    scraper = Scraper({"ok": Fixed()}, on_collection=[seen.append])
    try:
        scraper.collect()
        scraper.collect()
        assert [c.seq for c in seen] == [1, 2]
        assert seen[0].started_at <= time.time()
    finally:
        scraper.close()


def test_fast_collectors_share_a_thread_and_a_hang_cancels_the_rest():
    class Hang:
        def __init__(self):
            self.block = threading.Event()
            self.release = threading.Event()

        def collect(self):
            if self.block.is_set():
                self.release.wait(5)
            yield GaugeMetricFamily("test_hang", "Hangs on demand.", value=1)

    hang = Hang()
    scraper = Scraper({"hang": hang, "after": Fixed(GaugeMetricFamily("test_after", "after", value=1))}, timeout=0.3)
    try:
        assert values(scraper.collect(), "node_scrape_collector_success") == {"hang": 1.0, "after": 1.0}
        hang.block.set()  # both are fast now, so they share one thread: "after" waits behind "hang"
        errors = {o.collector: o.error for o in scraper.collect().outcomes}
        assert errors == {"hang": "timed out after 0.3s", "after": "not run: queued behind a collector that timed out"}
        time.sleep(0.1)  # the stuck run is now older than the timeout
        errors = {o.collector: o.error for o in scraper.collect().outcomes}
        assert errors == {"hang": "previous collection still running", "after": None}
    finally:
        hang.release.set()
        scraper.close()


def test_overlapping_filtered_collections_both_succeed():
    sleeper = Sleeper(0.3)
    scraper = Scraper({"s": sleeper, "other": Fixed()}, timeout=5)
    results = {}
    try:
        t = threading.Thread(target=lambda: results.update(a=scraper.collect(frozenset({"s"}))))
        t.start()
        time.sleep(0.1)
        results["b"] = scraper.collect(frozenset({"s", "other"}))  # a different flight, "s" is mid-run
        t.join()
        assert values(results["a"], "node_scrape_collector_success") == {"s": 1.0}
        assert values(results["b"], "node_scrape_collector_success") == {"s": 1.0, "other": 1.0}
        assert sleeper.calls == 2
    finally:
        scraper.close()

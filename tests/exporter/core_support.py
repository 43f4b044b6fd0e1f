"""Tiny collectors and a real in-thread server for the exporter core tests (never registered globally)."""
from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from perfadvisor.exporter.config import build_config
from perfadvisor.exporter.registry import CollectorContext, CollectorSpec
from perfadvisor.exporter.scrape import build_collectors
from perfadvisor.exporter.server import ExporterServer
from perfadvisor.exporter.webconfig import WebConfig


class Static:
    """A gauge with awkward label values and a counter; the label value comes from the collector's settings."""

    def __init__(self, ctx: CollectorContext):
        self.label = ctx.settings.get("label", "plain")

    def collect(self):
        g = GaugeMetricFamily("test_static_value", "A static test gauge.", labels=["kind"])
        g.add_metric([self.label], 42.0)
        g.add_metric(['quote" back\\ nl\n ü'], 1.0)
        yield g
        yield CounterMetricFamily("test_static_events", "A static test counter.", value=7)


class Counting:
    """Counts its collect() calls and takes a little while, to show concurrent scrapes sharing one run."""

    calls = 0
    lock = threading.Lock()

    def __init__(self, ctx: CollectorContext):
        self.delay = float(ctx.settings.get("delay", 0.3))

    def collect(self):
        with Counting.lock:
            Counting.calls += 1
        time.sleep(self.delay)
        yield GaugeMetricFamily("test_counting_calls", "collect() calls so far.", value=Counting.calls)


class Failing:
    def __init__(self, ctx: CollectorContext):
        pass

    def collect(self):
        raise RuntimeError("disk on fire")


class Gate:
    """Blocks in collect() until the test opens the gate (readiness and request-cap tests)."""

    gate = threading.Event()

    def __init__(self, ctx: CollectorContext):
        pass

    def collect(self):
        Gate.gate.wait(10)
        yield GaugeMetricFamily("test_gate_open", "The gate opened.", value=1)


class Host:
    """node_exporter / process-exporter families with known values, for the summary endpoint."""

    cpu = {"user": 30.0, "system": 10.0, "idle": 60.0}

    def __init__(self, ctx: CollectorContext):
        pass

    def collect(self):
        c = CounterMetricFamily("node_cpu_seconds", "Seconds the CPUs spent in each mode.", labels=["cpu", "mode"])
        for mode, v in Host.cpu.items():
            c.add_metric(["0", mode], v)
        yield c
        yield GaugeMetricFamily("node_memory_MemTotal_bytes", "Memory.", value=1000.0)
        yield GaugeMetricFamily("node_memory_MemAvailable_bytes", "Memory.", value=750.0)
        for n, v in (("1", 0.5), ("5", 0.25), ("15", 0.125)):
            yield GaugeMetricFamily(f"node_load{n}", "Load.", value=v)
        labels = ["device", "fstype", "mountpoint"]
        size = GaugeMetricFamily("node_filesystem_size_bytes", "Size.", labels=labels)
        avail = GaugeMetricFamily("node_filesystem_avail_bytes", "Avail.", labels=labels)
        size.add_metric(["/dev/sda1", "ext4", "/"], 200.0)
        avail.add_metric(["/dev/sda1", "ext4", "/"], 50.0)
        yield size
        yield avail
        mem = GaugeMetricFamily("namedprocess_namegroup_memory_bytes", "Mem.", labels=["groupname", "memtype"])
        mem.add_metric(["postgres", "resident"], 500.0)
        mem.add_metric(["nginx", "resident"], 900.0)
        mem.add_metric(["nginx", "virtual"], 9000.0)
        yield mem


def spec(name: str, cls: type, default: bool = True, schema: Mapping[str, Any] | None = None) -> CollectorSpec:
    return CollectorSpec(name, cls, default, (cls.__doc__ or "").strip().split("\n")[0], dict(schema or {}))


STATIC_SCHEMA = {"properties": {"label": {"type": "string", "default": "plain", "description": "Label value."},
                                "enabled_paths": {"type": "array", "items": {"type": "string"}},
                                "strict": {"type": "boolean", "default": False, "description": "Be strict."},
                                "limit": {"type": "integer", "minimum": 1, "description": "A limit."}},
                 "additionalProperties": False}


def make_specs(**only: bool) -> dict[str, CollectorSpec]:
    """The test collectors, by name; pass name=False to leave one out."""
    all_specs = {
        "static": spec("static", Static, schema=STATIC_SCHEMA),
        "counting": spec("counting", Counting, default=False, schema={"properties": {"delay": {"type": "number"}}}),
        "failing": spec("failing", Failing),
        "gate": spec("gate", Gate, default=False),
        "host": spec("host", Host, default=False),
    }
    return {n: s for n, s in all_specs.items() if only.get(n, True)}


@contextlib.contextmanager
def running(specs: Mapping[str, CollectorSpec] | None = None, web: WebConfig | None = None,
            **explicit: Any) -> Iterator[ExporterServer]:
    """A real exporter on a free loopback port, with explicit settings (Setting.param names)."""
    specs = make_specs() if specs is None else specs
    config = build_config(specs, {"web_listen_address": "127.0.0.1:0", **explicit})
    server = ExporterServer(config, build_collectors(specs, config), web, known=frozenset(specs))
    server.start()
    try:
        yield server
    finally:
        server.shutdown()

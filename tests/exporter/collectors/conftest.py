"""Build one collector into a private registry, the way a scrape sees it; and, for the service-probe collectors,
real servers from tests/support/services.py and a helper that keeps one collection."""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest

from perfadvisor.exporter.registry import CollectorContext, all_collectors
from tests.support.services import closed_port, hung_port, postgres_server, redis_server  # noqa: F401


def build(name: str, settings: dict | None = None, **paths) -> tuple[CollectorRegistry, object]:
    spec = all_collectors()[name]
    collector = spec.factory(CollectorContext(settings=settings or {}, **paths))
    reg = CollectorRegistry(auto_describe=False)
    reg.register(collector)
    return reg, collector


def samples(reg: CollectorRegistry, name: str) -> dict[tuple, float]:
    """{sorted label items: value} of every sample called name."""
    return {tuple(sorted(s.labels.items())): s.value for m in reg.collect() for s in m.samples if s.name == name}


class Scrape:
    """One collection of a probe collector, kept so every assertion reads the same scrape."""

    def __init__(self, name: str, settings: dict):
        collector = all_collectors()[name].factory(CollectorContext(settings=settings))
        start = time.monotonic()
        self.families = list(collector.collect())
        self.seconds = time.monotonic() - start
        self.text = generate_latest(self).decode()

    def collect(self):  # lets generate_latest render the kept families
        return self.families

    def samples(self, name: str) -> list:
        return [s for fam in self.families for s in fam.samples if s.name == name]

    def value(self, name: str, labels: dict | None = None) -> float | None:
        """The sample whose labels include ``labels`` (exactly one must match, or None)."""
        hits = [s for s in self.samples(name) if all(s.labels.get(k) == v for k, v in (labels or {}).items())]
        assert len(hits) <= 1, f"{name}{labels} matches {len(hits)} series"
        return hits[0].value if hits else None


def scrape(name: str, *targets: dict) -> Scrape:
    return Scrape(name, {"targets": list(targets)})

"""Build one collector into a private registry, the way a scrape sees it."""
from __future__ import annotations

from prometheus_client import CollectorRegistry

from perfadvisor.exporter.registry import CollectorContext, all_collectors


def build(name: str, settings: dict | None = None, **paths) -> tuple[CollectorRegistry, object]:
    spec = all_collectors()[name]
    collector = spec.factory(CollectorContext(settings=settings or {}, **paths))
    reg = CollectorRegistry(auto_describe=False)
    reg.register(collector)
    return reg, collector


def samples(reg: CollectorRegistry, name: str) -> dict[tuple, float]:
    """{sorted label items: value} of every sample called name."""
    return {tuple(sorted(s.labels.items())): s.value for m in reg.collect() for s in m.samples if s.name == name}

"""Family, the declaration of what a collector exports: well-formed, and true of what the collectors emit."""
from __future__ import annotations

import pytest

from perfadvisor.exporter.registry import CollectorContext, Family, all_collectors


def test_every_collector_declares_its_families_as_family_records():
    for name, spec in all_collectors().items():
        families = spec.factory.families
        assert isinstance(families, tuple) and families, name
        assert all(isinstance(f, Family) for f in families), name


@pytest.mark.parametrize("bad", [
    lambda: Family("node_x", "gauge", ("device")),  # a str, not a tuple
    lambda: Family("node_x", "gauges"),
    lambda: Family("", "gauge", note="a note has no type"),
    lambda: Family("", ""),
])
def test_malformed_declarations_are_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        bad()


def test_name_notation():
    assert Family("node_filesystem_{size,free,avail}_bytes", "gauge").matches("node_filesystem_avail_bytes")
    assert not Family("node_filesystem_{size,free,avail}_bytes", "gauge").matches("node_filesystem_used_bytes")
    assert Family("pg_settings_<name>[_bytes|_seconds]", "gauge").matches("pg_settings_work_mem_bytes")
    assert Family("node_cpu_frequency_{,min_,max_}hertz", "gauge").matches("node_cpu_frequency_hertz")
    assert not Family("", "", note="every metric in *.prom files").matches("")


def _typ(t: str) -> str:
    return "untyped" if t == "unknown" else t  # prometheus_client's name for it


def test_what_the_host_collectors_emit_here_is_declared():
    undeclared = {}
    for name, spec in all_collectors().items():
        if not spec.default_enabled or name == "textfile":  # textfile publishes whatever its files hold
            continue
        declared = [f for f in spec.factory.families if f.name]
        for fam in spec.factory(CollectorContext()).collect():
            for s in fam.samples:
                types = {_typ(t) for f in declared if f.matches(s.name) for t in f.type.split("/")}
                if _typ(fam.type) not in types:
                    undeclared.setdefault(name, set()).add(f"{s.name} {fam.type}")
    assert not undeclared, undeclared


def test_label_cache_gives_the_same_exposition_as_a_plain_label_dict():
    from perfadvisor.exporter.exposition import generate_openmetrics, generate_text
    from perfadvisor.exporter.families import LabelCache, Sample, family

    cache = LabelCache("device", "ifalias", limit=3)
    awkward = ("eth0", 'say "hi"\\now\n')
    plain = family("node_x", "x", "gauge", [Sample("node_x", dict(zip(cache.names, awkward)), 1.5)])
    cached = family("node_x", "x", "gauge", [Sample("node_x", cache(*awkward), 1.5)])
    assert generate_text([cached]) == generate_text([plain])
    assert generate_openmetrics([cached]) == generate_openmetrics([plain])
    assert cache(*awkward) is cache(*awkward) and cache(*awkward) == dict(zip(cache.names, awkward))
    for i in range(10):  # devices that come and go: the cache stays bounded
        cache(f"veth{i}", "")
    assert len(cache._sets) <= 3

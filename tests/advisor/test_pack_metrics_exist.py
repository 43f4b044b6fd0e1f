"""Every metric a built-in pack reads is one the exporter publishes (or a documented external convention).

A misspelt name (say `open_filedescs` for `open_filedesc`) would make a rule report "no data" forever on every
real stack while its unit tests, written with the same misspelling, stay green. This checks the packs against the
families the collectors declare (the same lists docs/collectors.md is generated from).
"""
from __future__ import annotations

from perfadvisor.advisor.evaluate import metric_names
from perfadvisor.advisor.packs import load_builtin
from perfadvisor.exporter.registry import Family, all_collectors

# Metrics the packs read that come from somewhere else than our collectors, each with where it is documented.
EXTERNAL = {
    "cache_requests_total": "application cache convention (README, Service packs)",
}
# The runtime pack reads what the runtimes' standard client libraries publish by default (docs/packs.md#runtime-pack).
EXTERNAL.update(dict.fromkeys(
    "go_gc_duration_seconds go_gc_gomemlimit_bytes go_goroutines go_memstats_alloc_bytes_total go_memstats_heap_alloc_bytes "
    "go_memstats_next_gc_bytes go_threads jvm_gc_collection_seconds jvm_memory_bytes_max jvm_memory_bytes_used "
    "jvm_memory_max_bytes jvm_memory_pool_allocated_bytes_total jvm_memory_used_bytes jvm_threads_current jvm_threads_daemon "
    "nodejs_active_handles nodejs_active_requests_total nodejs_active_resources nodejs_eventloop_lag_p99_seconds "
    "nodejs_gc_duration_seconds nodejs_heap_size_total_bytes nodejs_heap_size_used_bytes process_cpu_seconds_total "
    "process_resident_memory_bytes python_gc_collections_total python_gc_objects_collected_total "
    "python_gc_objects_uncollectable_total python_info".split(), "runtime client libraries (docs/packs.md#runtime-pack)"))
EXTERNAL.update({f"{n}_{s}": EXTERNAL[n] for n in ("go_gc_duration_seconds", "jvm_gc_collection_seconds",
                                                  "nodejs_gc_duration_seconds") for s in ("sum", "count", "bucket")})


def _published() -> list[Family]:
    """Family declarations of every collector (the same ones docs/collectors.md is generated from)."""
    return [f for spec in all_collectors().values() for f in spec.factory.families if f.name]


def test_every_metric_a_pack_reads_is_published_by_the_exporter():
    published = _published()
    missing = {}
    for pack in load_builtin():
        for rule in pack.resolved():
            for query in [rule.query, rule.limit_query or "", *(e.query for e in rule.evidence)]:
                if not query:
                    continue
                names = metric_names(query)
                assert names or "vector(" in query, f"{rule.rule.id}: no metric found in {query!r}"
                for name in names:
                    if name not in EXTERNAL and not any(f.matches(name) for f in published):
                        missing.setdefault(name, []).append(rule.rule.id)
    assert not missing, f"metrics read by packs that no collector publishes: {missing}"


def test_the_check_catches_a_misspelt_name():
    published = _published()
    assert any(f.matches("namedprocess_namegroup_open_filedesc") for f in published)
    assert not any(f.matches("namedprocess_namegroup_open_filedescs") for f in published)
    assert Family("node_filesystem_{size,free,avail}_bytes", "gauge").matches("node_filesystem_avail_bytes")
    assert Family("pg_settings_<name>[_bytes|_seconds]", "gauge").matches("pg_settings_work_mem_bytes")

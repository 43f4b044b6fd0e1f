"""Who provides a metric: our collectors (from their Family declarations), conventions, upstream exporters."""
from __future__ import annotations

import pytest

from perfadvisor.advisor.doctor import rule_metrics
from perfadvisor.advisor.doctor.providers import describe, providers
from perfadvisor.advisor.packs import load_builtin


def test_a_redis_metric_names_the_collector_that_is_off_by_default_and_its_flag():
    found = providers("redis_keyspace_hits_total")
    assert [(p.kind, p.name) for p in found] == [("collector", "redis"), ("exporter", "redis_exporter")]
    assert found[0].to_dict() == {"kind": "collector", "name": "redis", "default_enabled": False,
                                  "flag": "--collector.redis"}
    assert "perfadvisor-exporter collector redis (off by default: enable with --collector.redis" in \
        describe("redis_keyspace_hits_total")


@pytest.mark.parametrize("metric, collector, exporter", [
    ("node_cpu_seconds_total", "cpu", "node_exporter"),
    ("node_filesystem_avail_bytes", "filesystem", "node_exporter"),
    ("namedprocess_namegroup_memory_bytes", "processes", "process-exporter"),
    ("pg_stat_user_tables_seq_scan", "postgres", "postgres_exporter"),
    ("probe_success", "http_probe", "blackbox_exporter"),
    ("haproxy_server_weight", "haproxy", "haproxy_exporter"),
    ("nginx_connections_active", "nginx", "nginx-prometheus-exporter"),
])
def test_a_metric_maps_to_its_collector_and_the_upstream_exporter_of_its_prefix(metric, collector, exporter):
    found = providers(metric)
    assert found[0].kind == "collector" and found[0].name == collector
    assert found[-1].kind == "exporter" and found[-1].name.startswith(exporter)


def test_an_on_by_default_collector_needs_no_flag():
    assert describe("node_cpu_seconds_total") == "perfadvisor-exporter collector cpu (on by default) or node_exporter"


def test_an_application_convention_says_where_it_is_documented():
    (found,) = providers("cache_requests_total")
    assert found.kind == "convention"
    assert found.doc == "docs/packs.md#application-cache-metric-convention"


def test_an_unknown_metric_has_no_provider():
    assert providers("my_app_widgets_total") == ()
    assert describe("my_app_widgets_total") == "no known provider"


def test_every_metric_a_builtin_rule_needs_has_a_provider():
    orphans = {n for p in load_builtin() for rr in p.resolved() for n in rule_metrics(rr) if not providers(n)}
    assert not orphans

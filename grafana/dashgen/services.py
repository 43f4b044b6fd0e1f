"""Services: HTTP probes (blackbox names), Redis, PostgreSQL, HAProxy and nginx (their exporters' names)."""
from __future__ import annotations

from .core import SEL, Dashboard, query_variable, stat, table, target as t, timeseries

RATE = "$__rate_interval"
# Every probe series carries `target` (one exporter probes many services), so one picker filters them all.
P = f'{SEL},target=~"$target"'
UPS = "probe_success|redis_up|pg_up|haproxy_up|nginx_up"
UP_DOWN = [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"}, "1": {"text": "UP", "color": "green"}}}]
RED_GREEN = [(None, "red"), (1, "green")]


def build() -> Dashboard:
    d = Dashboard("perfadvisor-services", "Services",
                  "Probed services: HTTP endpoints, Redis, PostgreSQL, HAProxy and nginx.",
                  key_metric="up", tags=["services"],
                  extra_variables=[query_variable(
                      "target", f'{{__name__=~"{UPS}",job=~"$job",instance=~"$instance"}}', "target",
                      title="Service")])
    d.row(
        "HTTP probes",
        timeseries("Probe success", t(f"probe_success{{{P}}}", "{{target}}"), unit="short", min=0, max=1, w=8,
                   thresholds=RED_GREEN, description="1 when the last probe of the target succeeded."),
        timeseries("Probe duration", t(f"probe_duration_seconds{{{P}}}", "{{target}}"), unit="s", min=0, w=8),
        timeseries("HTTP phases", t(f"probe_http_duration_seconds{{{P}}}", "{{target}} {{phase}}"),
                   unit="s", min=0, w=8, stack=True,
                   description="Where a request spends its time: resolve, connect, tls, processing, transfer."),
        table("HTTP status",
              f"max by (instance, target) (probe_http_status_code{{{P}}})", hide=["job"],
              rename={"Value": "HTTP status"}, w=12),
        timeseries("TLS certificate expires in",
                   t(f"probe_ssl_earliest_cert_expiry{{{P}}} - time()", "{{target}}"), unit="s", w=12,
                   thresholds=[(None, "red"), (7 * 86400, "orange"), (21 * 86400, "green")],
                   description="Only HTTPS targets have a certificate."),
    )
    d.row(
        "Redis",
        stat("Redis up", t(f"redis_up{{{P}}}", "{{target}}"), mappings=UP_DOWN, thresholds=RED_GREEN),
        stat("Clients", t(f"redis_connected_clients{{{P}}}", "{{target}}")),
        timeseries("Keyspace hit ratio",
                   t(f"rate(redis_keyspace_hits_total{{{P}}}[{RATE}]) / (rate(redis_keyspace_hits_total{{{P}}}[{RATE}]) "
                     f"+ rate(redis_keyspace_misses_total{{{P}}}[{RATE}]))", "{{target}}"),
                   unit="percentunit", min=0, max=1, w=12,
                   description="Lookups that found their key (no value while there are no lookups)."),
        timeseries("Memory used", t(f"redis_memory_used_bytes{{{P}}}", "{{target}} used"),
                   t(f"redis_memory_max_bytes{{{P}}}", "{{target}} maxmemory"), unit="bytes", min=0, w=8,
                   description="maxmemory 0 means no limit is set."),
        timeseries("Evictions", t(f"rate(redis_evicted_keys_total{{{P}}}[{RATE}])", "{{target}}"),
                   unit="short", min=0, w=8, description="Keys evicted per second to stay under maxmemory."),
        timeseries("Connected clients", t(f"redis_connected_clients{{{P}}}", "{{target}}"), unit="short",
                   min=0, w=8),
    )
    d.row(
        "PostgreSQL",
        stat("PostgreSQL up", t(f"pg_up{{{P}}}", "{{target}}"), mappings=UP_DOWN, thresholds=RED_GREEN),
        stat("Connections used",
             t(f"sum by (target) (pg_stat_activity_count{{{P}}}) / on (target) "
               f"max by (target) (pg_settings_max_connections{{{P}}})", "{{target}}"),
             unit="percentunit", thresholds=[(None, "green"), (0.8, "orange"), (0.9, "red")]),
        timeseries("Connections by state", t(f"sum by (target, state) (pg_stat_activity_count{{{P}}})",
                                             "{{target}} {{state}}"), unit="short", min=0, stack=True),
        timeseries("Buffer cache hit ratio",
                   t(f"rate(pg_stat_database_blks_hit{{{P}}}[{RATE}]) / (rate(pg_stat_database_blks_hit{{{P}}}[{RATE}]) "
                     f"+ rate(pg_stat_database_blks_read{{{P}}}[{RATE}]))", "{{target}} {{datname}}"),
                   unit="percentunit", min=0, max=1, w=8,
                   description="Blocks found in shared buffers; below ~0.99 on a busy database means too little cache."),
        timeseries("Transactions",
                   t(f"rate(pg_stat_database_xact_commit{{{P}}}[{RATE}])", "{{target}} {{datname}} commit"),
                   t(f"rate(pg_stat_database_xact_rollback{{{P}}}[{RATE}])", "{{target}} {{datname}} rollback"),
                   unit="short", min=0, w=8),
        timeseries("Deadlocks", t(f"increase(pg_stat_database_deadlocks{{{P}}}[{RATE}])", "{{target}} {{datname}}"),
                   unit="short", min=0, w=8),
    )
    d.row(
        "HAProxy and nginx",
        timeseries("HAProxy backend sessions", t(f"haproxy_backend_current_sessions{{{P}}}", "{{target}} {{proxy}}"),
                   unit="short", min=0, w=8),
        timeseries("HAProxy backend responses",
                   t(f"sum by (target, proxy, code) (rate(haproxy_backend_http_responses_total{{{P}}}[{RATE}]))",
                     "{{target}} {{proxy}} {{code}}"), unit="reqps", min=0, w=8, stack=True),
        timeseries("HAProxy servers up", t(f'haproxy_server_status{{{P},state="UP"}}', "{{target}} {{proxy}}/{{server}}"),
                   unit="short", min=0, max=1, w=8, thresholds=RED_GREEN),
        timeseries("nginx requests", t(f"rate(nginx_http_requests_total{{{P}}}[{RATE}])", "{{target}}"),
                   unit="reqps", min=0, w=12),
        timeseries("nginx connections",
                   t(f"nginx_connections_active{{{P}}}", "{{target}} active"),
                   t(f"nginx_connections_reading{{{P}}}", "{{target}} reading"),
                   t(f"nginx_connections_writing{{{P}}}", "{{target}} writing"),
                   t(f"nginx_connections_waiting{{{P}}}", "{{target}} waiting"), unit="short", min=0, w=12),
    )
    return d

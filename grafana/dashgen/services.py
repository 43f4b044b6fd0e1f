"""Services: HTTP probes (blackbox names), Redis, PostgreSQL, HAProxy and nginx (their exporters' names)."""
from __future__ import annotations

from .core import SEL, Dashboard, query_variable, stat, table, target as t, timeseries

RATE = "$__rate_interval"
P = f'{SEL},target=~"$target"'
UP_DOWN = [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"}, "1": {"text": "UP", "color": "green"}}}]
RED_GREEN = [(None, "red"), (1, "green")]


def build() -> Dashboard:
    d = Dashboard("perfadvisor-services", "Services",
                  "Probed services: HTTP endpoints, Redis, PostgreSQL, HAProxy and nginx.",
                  key_metric="up", tags=["services"],
                  extra_variables=[query_variable("target", 'probe_success{job=~"$job",instance=~"$instance"}',
                                                  "target", title="Probe target")])
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
        stat("Redis up", t(f"redis_up{{{SEL}}}", "{{instance}}"), mappings=UP_DOWN, thresholds=RED_GREEN),
        stat("Clients", t(f"redis_connected_clients{{{SEL}}}", "{{instance}}")),
        timeseries("Keyspace hit ratio",
                   t(f"rate(redis_keyspace_hits_total{{{SEL}}}[{RATE}]) / (rate(redis_keyspace_hits_total{{{SEL}}}[{RATE}]) "
                     f"+ rate(redis_keyspace_misses_total{{{SEL}}}[{RATE}]))", "{{instance}}"),
                   unit="percentunit", min=0, max=1, w=12,
                   description="Lookups that found their key (no value while there are no lookups)."),
        timeseries("Memory used", t(f"redis_memory_used_bytes{{{SEL}}}", "{{instance}} used"),
                   t(f"redis_memory_max_bytes{{{SEL}}}", "{{instance}} maxmemory"), unit="bytes", min=0, w=8,
                   description="maxmemory 0 means no limit is set."),
        timeseries("Evictions", t(f"rate(redis_evicted_keys_total{{{SEL}}}[{RATE}])", "{{instance}}"),
                   unit="short", min=0, w=8, description="Keys evicted per second to stay under maxmemory."),
        timeseries("Connected clients", t(f"redis_connected_clients{{{SEL}}}", "{{instance}}"), unit="short",
                   min=0, w=8),
    )
    d.row(
        "PostgreSQL",
        stat("PostgreSQL up", t(f"pg_up{{{SEL}}}", "{{instance}}"), mappings=UP_DOWN, thresholds=RED_GREEN),
        stat("Connections used",
             t(f"sum by (instance) (pg_stat_activity_count{{{SEL}}}) / on (instance) "
               f"max by (instance) (pg_settings_max_connections{{{SEL}}})", "{{instance}}"),
             unit="percentunit", thresholds=[(None, "green"), (0.8, "orange"), (0.9, "red")]),
        timeseries("Connections by state", t(f"sum by (instance, state) (pg_stat_activity_count{{{SEL}}})",
                                             "{{instance}} {{state}}"), unit="short", min=0, stack=True),
        timeseries("Buffer cache hit ratio",
                   t(f"rate(pg_stat_database_blks_hit{{{SEL}}}[{RATE}]) / (rate(pg_stat_database_blks_hit{{{SEL}}}[{RATE}]) "
                     f"+ rate(pg_stat_database_blks_read{{{SEL}}}[{RATE}]))", "{{instance}} {{datname}}"),
                   unit="percentunit", min=0, max=1, w=8,
                   description="Blocks found in shared buffers; below ~0.99 on a busy database means too little cache."),
        timeseries("Transactions",
                   t(f"rate(pg_stat_database_xact_commit{{{SEL}}}[{RATE}])", "{{instance}} {{datname}} commit"),
                   t(f"rate(pg_stat_database_xact_rollback{{{SEL}}}[{RATE}])", "{{instance}} {{datname}} rollback"),
                   unit="short", min=0, w=8),
        timeseries("Deadlocks", t(f"increase(pg_stat_database_deadlocks{{{SEL}}}[{RATE}])", "{{instance}} {{datname}}"),
                   unit="short", min=0, w=8),
    )
    d.row(
        "HAProxy and nginx",
        timeseries("HAProxy backend sessions", t(f"haproxy_backend_current_sessions{{{SEL}}}", "{{instance}} {{proxy}}"),
                   unit="short", min=0, w=8),
        timeseries("HAProxy backend responses",
                   t(f"sum by (instance, proxy, code) (rate(haproxy_backend_http_responses_total{{{SEL}}}[{RATE}]))",
                     "{{instance}} {{proxy}} {{code}}"), unit="reqps", min=0, w=8, stack=True),
        timeseries("HAProxy servers up", t(f"haproxy_server_status{{{SEL}}}", "{{instance}} {{proxy}}/{{server}}"),
                   unit="short", min=0, max=1, w=8, thresholds=RED_GREEN),
        timeseries("nginx requests", t(f"rate(nginx_http_requests_total{{{SEL}}}[{RATE}])", "{{instance}}"),
                   unit="reqps", min=0, w=12),
        timeseries("nginx connections",
                   t(f"nginx_connections_active{{{SEL}}}", "{{instance}} active"),
                   t(f"nginx_connections_reading{{{SEL}}}", "{{instance}} reading"),
                   t(f"nginx_connections_writing{{{SEL}}}", "{{instance}} writing"),
                   t(f"nginx_connections_waiting{{{SEL}}}", "{{instance}} waiting"), unit="short", min=0, w=12),
    )
    return d
